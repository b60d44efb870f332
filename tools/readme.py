"""Write README.md from nbs/index.ipynb, offline (`nbdev-readme` needs Quarto).

Markdown cells are copied, visible code cells become ```python blocks, and their text
outputs (stdout and plain-text results) become plain ``` blocks; `#| hide` cells and
images are left out. `python tools/readme.py --check` exits 1 when README.md is stale.
"""
import json, sys
from pathlib import Path

root = Path(__file__).resolve().parents[1]

def _src(c): return ''.join(c['source']).strip()

def _outputs(c):
    "Text of a code cell's stream and plain-text outputs (no images, no HTML)"
    res = []
    for o in c.get('outputs', []):
        if o['output_type'] == 'stream': res.append(''.join(o['text']))
        elif 'text/plain' in o.get('data', {}) and 'image/png' not in o['data'] and 'text/html' not in o['data']:
            res.append(''.join(o['data']['text/plain']))
    return '\n'.join(r.rstrip() for r in res if r.strip())

def render(nb_path=root/'nbs'/'index.ipynb'):
    "README text for the notebook at `nb_path`"
    parts = []
    for c in json.loads(Path(nb_path).read_text())['cells']:
        src = _src(c)
        if not src or src.startswith('#| hide'): continue
        if c['cell_type'] == 'markdown': parts.append(src)
        else:
            parts.append(f"```python\n{src}\n```")
            if out := _outputs(c): parts.append(f"```\n{out}\n```")
    return '<!-- generated from nbs/index.ipynb by tools/readme.py: edit the notebook, not this file -->\n\n' + '\n\n'.join(parts) + '\n'

if __name__ == '__main__':
    txt, readme = render(), root/'README.md'
    if '--check' in sys.argv:
        ok = readme.exists() and readme.read_text() == txt
        print('README.md is in step with nbs/index.ipynb' if ok else 'README.md is stale: run python tools/readme.py')
        sys.exit(0 if ok else 1)
    readme.write_text(txt)
    print(f'wrote {readme}')
