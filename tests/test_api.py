"""The API pages tell the truth: every exported function and class of every medfast module, as its docs page renders it.

For each module's `__all__`: every parameter has a docments comment, none renders with a type guessed from its default
(`NoneType=None`, `function=`), no default is mutable or in random order (a `set`), and the site's `show_doc` renderer
(`site_renderer` in tools/build_site.py) shows classes as `class Name`, never as `def Name`. One test per module, so a
failure names the module, and its message lists every offender as `module.name(param): problem`.
"""
import importlib, importlib.util, inspect, pkgutil, re
import pytest
from fastcore.docments import docments
import medfast
from conftest import ROOT

MODULES = sorted(m.name for m in pkgutil.iter_modules(medfast.__path__) if not m.name.startswith('_'))


def _site_renderer():
    spec = importlib.util.spec_from_file_location('build_site', ROOT/'tools'/'build_site.py')
    mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)
    return mod.site_renderer()


def _exported(mod):
    "(name, object) of the module's own public functions and classes"
    for name in getattr(mod, '__all__', []):
        o = getattr(mod, name)
        if callable(o) and getattr(o, '__module__', '') == mod.__name__: yield name, o


def _param_problems(o) -> list:
    "(parameter, problem) of a function, or of a class's `__init__`, as show_doc renders it"
    f = o.__init__ if inspect.isclass(o) else o
    if not inspect.isfunction(inspect.unwrap(f)): return []  # a builtin's `__init__` (an exception's) has no docments to show
    try: sig, docs = inspect.signature(f), docments(f, full=True, args_kwargs=True)
    except (ValueError, TypeError): return []
    res = []
    for p in sig.parameters.values():
        if p.name in ('self', 'cls') or p.kind == p.VAR_POSITIONAL: continue
        if not docs.get(p.name, {}).get('docment'): res.append((p.name, 'no docments comment'))
        if p.annotation is inspect.Parameter.empty and p.default is not inspect.Parameter.empty:
            if p.default is None: res.append((p.name, 'renders as NoneType=None: annotate it, e.g. `x:int|None=None`'))
            elif callable(p.default): res.append((p.name, f'renders as {type(p.default).__name__}=: annotate it, e.g. `f:Callable=...`'))
        if isinstance(p.default, (set, frozenset, list, dict)): res.append((p.name, f'{type(p.default).__name__} default: mutable (a set in random order); use a tuple or None'))
    return res


@pytest.mark.parametrize('module', MODULES)
def test_exported_parameters_are_typed_and_documented(module):
    "Every parameter of an exported function or class has a docments comment and an annotation wherever its default would guess one"
    mod = importlib.import_module(f'medfast.{module}')
    bad = [f'{module}.{name}({p}): {why}' for name, o in _exported(mod) for p, why in _param_problems(o)]
    if bad: pytest.fail(f'{len(bad)} parameter(s) of medfast.{module} render badly on its API page:\n  ' + '\n  '.join(bad), pytrace=False)


@pytest.mark.parametrize('module', MODULES)
def test_signatures_render_as_written(module):
    "show_doc's markdown (the site's renderer) shows classes as classes, no guessed types, and nothing that changes between builds"
    R, mod = _site_renderer(), importlib.import_module(f'medfast.{module}')
    bad = []
    for name, o in _exported(mod):
        md = R(o)._repr_markdown_()
        sig = re.search(r'```python\n(.*?)\n```', md, re.S).group(1)
        if inspect.isclass(o) and not sig.startswith(f'class {name}'): bad.append(f'{module}.{name}: rendered as {sig.splitlines()[0]!r}')
        for pat, why in [(r':NoneType\b', 'NoneType annotation'), (r':function\b', 'function annotation'), (r' at 0x[0-9a-f]+', 'a memory address (changes every build)')]:
            if re.search(pat, sig): bad.append(f'{module}.{name}: {why} in {sig!r}'[:300])
    if bad: pytest.fail(f'{len(bad)} symbol(s) of medfast.{module} render badly:\n  ' + '\n  '.join(bad), pytrace=False)


class Toy:
    "A toy"
    def __init__(self, a:int=1): pass  # how many
    def grow(self, by:int=2):  # how much
        "Grow the toy"
    def forward(self, x): pass


def test_classes_show_their_methods():
    "A class's page shows `class Name(Base):` over its `__init__`, then each documented method of its body under its own heading"
    from medfast.core import DataError
    R = _site_renderer()
    md = R(DataError)._repr_markdown_()
    assert 'class DataError(ValueError):\n    def __init__(\n' in md and '# what is wrong with it' in md, md
    md = R(Toy)._repr_markdown_()
    assert '#### Toy.grow' in md and '*Grow the toy*' in md and 'def grow(' in md, md
    assert 'forward' not in md, md  # undocumented methods are left out
