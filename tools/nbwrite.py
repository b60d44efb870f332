"""Write a notebook from a plain-text cell script, for maintainers who build notebooks outside Jupyter.

The script separates cells by lines `%% md` or `%% code`. Usage: python tools/nbwrite.py cells.txt nbs/NN_name.ipynb
Cell ids are derived from the notebook name and the cell's position, so rewriting a notebook keeps them stable."""
import sys, json, hashlib, re
from pathlib import Path

def cells_from_text(text:str)->list:
    "Split a cell script into (kind, source) pairs"
    parts, kind, buf = [], None, []
    for line in text.splitlines():
        m = re.fullmatch(r'%% (md|code)\s*', line)
        if m:
            if kind: parts.append((kind, '\n'.join(buf).strip('\n')))
            kind, buf = m.group(1), []
        else: buf.append(line)
    if kind: parts.append((kind, '\n'.join(buf).strip('\n')))
    return parts

def write_nb(parts:list, dest:Path):
    "Write `parts` as an nbformat 4 notebook at `dest`"
    cells = []
    for i, (kind, src) in enumerate(parts):
        cid = hashlib.sha1(f"{dest.name}:{i}:{src[:40]}".encode()).hexdigest()[:8]
        c = dict(cell_type='markdown' if kind == 'md' else 'code', id=cid, metadata={}, source=src.splitlines(keepends=True))
        if kind == 'code': c.update(execution_count=None, outputs=[])
        cells.append(c)
    nb = dict(cells=cells, metadata=dict(kernelspec=dict(display_name='python3', language='python', name='python3')), nbformat=4, nbformat_minor=5)
    dest.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + '\n')

if __name__ == '__main__': write_nb(cells_from_text(Path(sys.argv[1]).read_text()), Path(sys.argv[2]))
