"""Print a notebook as a cell script (the inverse of tools/nbwrite.py): python tools/nbread.py nbs/X.ipynb > cells.txt"""
import sys, json
from pathlib import Path

def nb_to_text(path)->str:
    "The notebook's cells as `%% md` / `%% code` blocks, outputs dropped"
    cells = json.loads(Path(path).read_text())['cells']
    return '\n\n'.join(f"%% {'md' if c['cell_type'] == 'markdown' else 'code'}\n" + ''.join(c['source']) for c in cells) + '\n'

if __name__ == '__main__': sys.stdout.write(nb_to_text(sys.argv[1]))
