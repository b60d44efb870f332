"Module boundaries the library promises (issue 10): exported imports are used, data flows one way, the phantom generator stays out of real-data code"
import ast, json, re
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
MODULES = sorted(p for p in (ROOT/'medfast').glob('*.py') if not p.name.startswith('_'))
# the modules that may import the phantom generator: it writes phantoms, runs the playbook, or makes the CLI's default dataset
MAY_USE_PHANTOMS = {'phantoms', 'playbook', 'cli'}
# modules imported for what importing them does: medfast.core's warning filter, fastai's patches of Learner (lr_find, fit_one_cycle)
SIDE_EFFECTS = {'medfast.core', '.core', 'fastai.callback.schedule', 'fastai.callback.progress'}

def _imports(tree):
    "(bound name, module, imported name) for every import in a module"
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names: yield (a.asname or a.name.split('.')[0]), a.name, None
        elif isinstance(node, ast.ImportFrom) and node.module != '__future__':
            for a in node.names: yield (a.asname or a.name), ('.'*node.level) + (node.module or ''), a.name

def _used_names(tree)->set:
    "Every name loaded, and the first part of every attribute chain, in a module"
    used = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    used |= {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)}  # __all__ and string annotations
    return used

@pytest.mark.parametrize('mod', MODULES, ids=lambda p: p.stem)
def test_every_import_is_used(mod):
    "An exported module imports only names its code uses (example-only imports belong in the notebook)"
    tree = ast.parse(mod.read_text())
    used = _used_names(tree)
    unused = [f"{m}:{n or b}" for b, m, n in _imports(tree) if b not in used and m not in SIDE_EFFECTS and b != '*']
    assert not unused, f"{mod.name} imports names it never uses: {unused}"

def _medfast_deps(mod)->set:
    tree = ast.parse(mod.read_text())
    return {m.lstrip('.').split('.')[0] for _, m, _ in _imports(tree) if m.startswith('.')} - {''}

@pytest.mark.parametrize('mod', MODULES, ids=lambda p: p.stem)
def test_phantoms_only_where_they_belong(mod):
    "Real-data code never depends on the fake-data generator"
    if mod.stem in MAY_USE_PHANTOMS: return
    assert 'phantoms' not in _medfast_deps(mod), f"{mod.name} imports medfast.phantoms"

def test_data_flows_one_way():
    "Each module imports only modules whose notebooks come before its own"
    order = {}
    for nb in sorted((ROOT/'nbs').glob('*.ipynb')):
        src = ''.join(''.join(c['source']) for c in json.loads(nb.read_text())['cells'][:3])
        m = re.search(r'#\|\s*default_exp\s+(\S+)', src)
        if m: order[m.group(1)] = nb.name
    back = [(mod.stem, dep) for mod in MODULES for dep in _medfast_deps(mod) if dep in order and order[dep] >= order[mod.stem]]
    assert not back, f"imports against the notebook order (module, imported): {back}"

def test_no_error_text_parsing():
    "Errors are handled through DataError's fields, never by splitting their message"
    bad = [p.name for p in MODULES if re.search(r"str\(e\)\.split\(|\.split\('; delete", p.read_text())]
    assert not bad, f"these modules parse error messages: {bad}"
