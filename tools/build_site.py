#!/usr/bin/env python
"""Build medfast's docs website offline, without Quarto: `python tools/build_site.py` -> `_site/`.

The notebooks are not run: the site shows the outputs committed in them. What happens:

1. Stage a copy of the project (`pyproject.toml`, `nbs/`, `medfast/`) in a temporary folder, so the
   build never writes into the working tree (nbdev's pre-processing rewrites `nbs/nbdev.yml`,
   `medfast/_modidx.py` and, without `custom_sidebar`, `nbs/sidebar.yml`).
2. In the stage, do what `nbdev-proc-nbs` does, minus its Quarto installer (curl + sudo dpkg):
   refresh `nbdev.yml`, build `_modidx.py`, the sidebar unless `custom_sidebar`, and
   `nbdev.serve.proc_nbs` -> `_proc/`. nbdev's processors run only the cells `show_doc` needs
   (imports, `#| export` cells, `show_doc` calls); every other cell keeps its committed output.
   `show_doc` renders with `site_renderer()`: nbdev's renderer, but a class reads `class Name(Base):` over its
   `__init__` (fastcore writes `def Name(...)`), followed by its documented methods, and `**kwargs` keeps its docments.
3. Rename each page to its nbdev `output-file` (`02_data.ipynb` -> `data.html`): smalldocs ignores
   `output-file`, and nbdev's doc links and `_modidx.py` use it.
4. Render with smalldocs (a pure-Python renderer of Quarto `_quarto.yml` projects; pinned in the
   `docs` extra), then make nbdev's absolute doc links (`https://medfast.github.io/medfast/data.html#folder_dls`)
   relative, give pandas tables Bootstrap classes, and check every local link, anchor and search entry.
5. Make the pages offline: TeX becomes MathML (latex2mathml, in the `docs` extra) instead of KaTeX from a
   CDN, the theme's web-font import goes (the system font stack remains), and plots embedded as base64
   become files under `figures/` (named by content hash), so pages load fast and nothing leaves the machine.

`nbdev-docs` still builds the same `nbs/` with Quarto wherever Quarto is installed.
Exit status 1 when a link is broken or smalldocs warns about something unexpected.
"""
import argparse, base64, functools, hashlib, html, html.parser, inspect, json, os, posixpath, re, shutil, sys, tempfile, textwrap, time
from pathlib import Path
from urllib.parse import urlsplit, unquote

import yaml

ROOT = Path(__file__).resolve().parents[1]

# smalldocs warnings expected for nbdev's standard Quarto config (nbdev.yml's `format-links`, `_quarto.yml`'s commonmark/keep-md)
_HARMLESS = ('unknown key format-links', 'format commonmark is not built', 'keep-md is ignored')

# appended to the staged styles.css only: nbs/styles.css stays the one Quarto uses
EXTRA_CSS = """
/* added by tools/build_site.py for the smalldocs render */
table.dataframe th, table.dataframe td { text-align: right; }
.smalldocs-search-results { --sd-muted: var(--bs-secondary-color); }
"""


def stage_project(root: Path, stage: Path) -> Path:
    "Copy what nbdev's docs pre-processing reads (config, notebooks, library) into `stage`"
    from nbdev.config import get_config
    cfg = get_config(root)
    skip = shutil.ignore_patterns('_proc', '_docs', '_site', '.ipynb_checkpoints', '__pycache__')
    shutil.copy2(cfg.config_file, stage/cfg.config_file.name)
    for p in (cfg.nbs_path, cfg.lib_path):
        shutil.copytree(p, stage/p.relative_to(root), ignore=skip)
    return stage


@functools.lru_cache(None)
def site_renderer():
    "nbdev's `show_doc` renderer, with classes shown as classes (bases, `__init__`, documented methods) and `**kwargs` docments shown"
    from nbdev.showdoc import BasicMarkdownRenderer, NbdevLookup, _ext_link
    from fastcore.docments import DocmentText, docments, _fmt_sig

    class ClassDocment(DocmentText):
        "fastcore's signature text, `**kwargs` comments included, and `class Name(Base):` over `__init__` for a class"
        def __init__(self, obj, maxline=110, docstring=False):
            super().__init__(obj, maxline=maxline, docstring=docstring)
            self.dm = docments(obj, full=True, args_kwargs=True)
            self.dm.pop('self', None)
        def __str__(self):
            o = self.obj
            if not inspect.isclass(o): return super().__str__()
            bases = [b.__name__ for b in o.__bases__ if b is not object and not b.__name__.startswith('_')]
            head = f"class {o.__name__}" + (f"({', '.join(bases)})" if bases else '') + ':'
            if not self.params: return head
            return head + '\n' + textwrap.indent(_fmt_sig('__init__', self.params, self._ret_str, self.maxline - 4), '    ')
        __repr__ = __str__

    def _methods(cls):
        "Public methods and properties written in `cls`'s body with their own docstring (nbdev shows `@patch`ed ones itself)"
        for k, v in vars(cls).items():
            f = v.fget if isinstance(v, property) else getattr(v, '__func__', v)
            if k.startswith('_') or not inspect.isfunction(f) or not f.__doc__: continue
            if f.__code__.co_qualname.endswith(f'{cls.__name__}.{f.__name__}'): yield k, v

    class SiteRenderer(BasicMarkdownRenderer):
        "nbdev's `BasicMarkdownRenderer` with `ClassDocment` signatures and, for a class, a section per documented method"
        def __init__(self, sym, name=None, title_level=3, maxline=110):
            super().__init__(sym, name=name, title_level=title_level, maxline=maxline)
            if isinstance(self.dm, DocmentText): self.dm = ClassDocment(self.sym, maxline=maxline)
        def _repr_markdown_(self):
            md = super()._repr_markdown_()
            if not inspect.isclass(self.sym): return md
            for k, v in _methods(self.sym):
                r = SiteRenderer(v, name=f'{self.nm}.{k}', title_level=self.title_level + 1)
                src = NbdevLookup().code(f'{self.fn}.{k}')
                md += '\n\n' + (_ext_link(src, 'source', 'style="float:right; font-size:smaller"') + '\n\n' if src else '')
                md += f"{'#' * r.title_level} {r.nm}\n\n" + super(BasicMarkdownRenderer, r)._repr_markdown_()
            return md
    return SiteRenderer


def proc_nbs_offline(stage: Path, n_workers: int = 0) -> Path:
    "nbdev's `_pre_docs` (what `nbdev-proc-nbs` runs) without `_ensure_quarto`, `show_doc` rendering with `site_renderer()`; returns `_proc/`"
    import nbdev.showdoc
    from nbdev.config import get_config
    from nbdev.quarto import refresh_quarto_yml, nbdev_sidebar
    from nbdev.doclinks import _build_modidx
    from nbdev.serve import proc_nbs
    cwd, renderer = os.getcwd(), nbdev.showdoc.BasicMarkdownRenderer
    os.chdir(stage)  # nbdev calls a bare get_config() downstream
    nbdev.showdoc.BasicMarkdownRenderer = site_renderer()  # show_doc's default renderer, looked up when it is called
    try:
        cfg = get_config()
        refresh_quarto_yml()
        _build_modidx()
        nbdev_sidebar.__wrapped__(path=cfg.nbs_path, file_re=r'\.(?:ipynb|qmd|md)$')  # no-op with custom_sidebar
        return proc_nbs(cfg.nbs_path, n_workers=n_workers, force=True)
    finally: os.chdir(cwd); nbdev.showdoc.BasicMarkdownRenderer = renderer


def _frontmatter(p: Path):
    "(frontmatter dict, setter) of a processed notebook (raw first cell) or .qmd/.md page (YAML header)"
    if p.suffix == '.ipynb':
        nb = json.loads(p.read_text())
        cells = nb.get('cells', [])
        if cells and cells[0]['cell_type'] == 'raw':
            m = re.match(r'^---\n(.*?)\n---', ''.join(cells[0]['source']), re.S)
            if m:
                def _set(fm):
                    cells[0]['source'] = '---\n' + yaml.safe_dump(fm, sort_keys=False) + '---\n\n'
                    p.write_text(json.dumps(nb, indent=1))
                return yaml.safe_load(m.group(1)) or {}, _set
    elif p.suffix in ('.qmd', '.md'):
        txt = p.read_text()
        m = re.match(r'^---\n(.*?)\n---\n', txt, re.S)
        if m:
            def _set(fm): p.write_text('---\n' + yaml.safe_dump(fm, sort_keys=False) + '---\n' + txt[m.end():])
            return yaml.safe_load(m.group(1)) or {}, _set
    return {}, None


def rename_to_output_file(proc: Path) -> dict:
    "Rename pages to their `output-file`; return {old html path: new html path}, POSIX, relative to `proc`"
    mapping, src_map = {}, {}
    for p in sorted(proc.rglob('*')):
        rel = p.relative_to(proc)
        if p.suffix not in ('.ipynb', '.qmd', '.md') or any(s.startswith(('.', '_')) for s in rel.parts[:-1]): continue
        fm, setfm = _frontmatter(p)
        of = fm.pop('output-file', None)
        if not of or setfm is None: continue
        setfm(fm)
        new = p.with_name(Path(of).stem + p.suffix)
        if new == p: continue
        if new.exists(): raise SystemExit(f'two pages would be {new.relative_to(proc)}: {rel} and {new.name}')
        p.rename(new)
        old_rel, new_rel = rel.as_posix(), new.relative_to(proc).as_posix()
        src_map[old_rel] = new_rel
        mapping[Path(old_rel).with_suffix('.html').as_posix()] = Path(new_rel).with_suffix('.html').as_posix()
    def _walk(o):
        if isinstance(o, dict): return {k: _walk(v) for k, v in o.items()}
        if isinstance(o, list): return [_walk(v) for v in o]
        if isinstance(o, str): return src_map.get(o[2:] if o.startswith('./') else o, o)
        return o
    for y in ('_quarto.yml', 'sidebar.yml', 'nbdev.yml'):  # sidebar and navbar entries name the source files
        f = proc/y
        if f.exists() and src_map: f.write_text(yaml.safe_dump(_walk(yaml.safe_load(f.read_text())), sort_keys=False))
    return mapping


def _renamed_link(w: str, mapping: dict) -> bool:
    "Is `w` smalldocs' 'broken link' warning for a link to a renamed page (fixed by `postprocess`)?"
    m = re.match(r'^(.*?): broken link (\S+)$', w)
    if not m: return False
    target = posixpath.normpath(posixpath.join(posixpath.dirname(m.group(1)), urlsplit(m.group(2)).path))
    return re.sub(r'\.(ipynb|qmd|md)$', '.html', target) in mapping


_re_attr = re.compile(r'''(\b(?:href|src)=)(["'])(.*?)\2''')

def postprocess(site: Path, doc_prefix: str, mapping: dict) -> int:
    "Make links to the hosted site relative and links to old page names point at the new ones; return #links changed"
    n = 0
    for f in site.rglob('*.html'):
        rel_dir = f.parent.relative_to(site).as_posix()
        up = '' if rel_dir == '.' else '../' * (rel_dir.count('/') + 1)
        def _fix(m):
            nonlocal n
            url = new = m.group(3)
            if doc_prefix and url.startswith(doc_prefix): new = up + (url[len(doc_prefix):] or 'index.html')
            sp = urlsplit(new)
            if not sp.scheme and not sp.netloc and sp.path:
                target = posixpath.normpath(posixpath.join(rel_dir, sp.path))
                if target in mapping: new = posixpath.relpath(mapping[target], rel_dir) + ('#' + sp.fragment if sp.fragment else '')
            n += new != url
            return m.group(1) + m.group(2) + new + m.group(2)
        txt = f.read_text()
        out = _re_attr.sub(_fix, txt)
        # pandas tables get Bootstrap's table classes, as Quarto's HTML table processing gives them
        out = out.replace('<table border="1" class="dataframe">', '<table class="dataframe table table-sm table-striped small w-auto">')
        if out != txt: f.write_text(out)
    return n


_re_math = re.compile(r'<span class="math (inline|display)">\\[(\[](.*?)\\[)\]]</span>', re.S)
_re_cdn = re.compile(r'<(?:link|script)\b[^>]*\bhttps?://cdn\.jsdelivr\.net/npm/katex[^>]*>(?:\s*</script>)?\n?')
_re_font = re.compile(r'@import url\(https?://[^)]*\);?')
_re_inline_img = re.compile(r'(<img\b[^>]*?\bsrc=")data:image/(png|gif|jpeg|svg\+xml);base64,([^"]+)(")')


def _mathml(m) -> str:
    "A KaTeX/MathJax span as MathML, which browsers draw without any script"
    from latex2mathml.converter import convert
    return convert(html.unescape(m.group(2)), display='block' if m.group(1) == 'display' else 'inline')


def make_offline(site: Path) -> dict:
    "Nothing from the internet: TeX as MathML (no KaTeX from a CDN), no web-font import, inline plots as files; return counts"
    n = dict(math=0, images=0, fonts=0)
    figs = site/'figures'
    for f in site.rglob('*.html'):
        txt = f.read_text()
        out, k = _re_math.subn(_mathml, txt); n['math'] += k
        out = _re_cdn.sub('', out)
        up = '../' * (len(f.relative_to(site).parts) - 1)
        def _file(m):
            data = base64.b64decode(m.group(3))
            name = hashlib.sha1(data).hexdigest()[:16] + '.' + {'svg+xml': 'svg', 'jpeg': 'jpg'}.get(m.group(2), m.group(2))
            figs.mkdir(exist_ok=True)
            (figs/name).write_bytes(data)
            n['images'] += 1
            return f'{m.group(1)}{up}figures/{name}{m.group(4)}'
        out = _re_inline_img.sub(_file, out)
        if out != txt: f.write_text(out)
    for css in site.rglob('*.css'):
        txt = css.read_text()
        out, k = _re_font.subn('', txt); n['fonts'] += k
        if k: css.write_text(out)
    return n


class _Page(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(); self.ids, self.links = set(), []
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if a.get('id'): self.ids.add(a['id'])
        if tag == 'a' and a.get('name'): self.ids.add(a['name'])
        self.links += [a[k] for k in ('href', 'src') if a.get(k)]


def check_links(site: Path) -> list:
    "Broken local links as (page, url, why), search.json entries included; external URLs and data: URIs are not checked"
    site = site.resolve()
    pages = {}
    for f in site.rglob('*.html'):
        p = _Page(); p.feed(f.read_text()); pages[f] = p
    def _check(src, base, url):
        sp = urlsplit(url)
        if sp.scheme or sp.netloc: return []
        target = (base/unquote(sp.path)).resolve() if sp.path else src
        if target.is_dir(): target = target/'index.html'
        if not target.exists(): return [(src.relative_to(site).as_posix(), url, 'missing file')]
        if sp.fragment and target in pages and unquote(sp.fragment) not in pages[target].ids:
            return [(src.relative_to(site).as_posix(), url, 'missing anchor')]
        return []
    bad = [b for f, p in pages.items() for url in p.links for b in _check(f, f.parent, url)]
    idx = site/'search.json'
    if idx.exists(): bad += [b for e in json.loads(idx.read_text()) for b in _check(idx, site, e['href'])]
    return bad


def build_site(root=ROOT, out=None, n_workers: int = 0, quiet: bool = False) -> dict:
    "Build the site of the project at `root` into `out` (default `root/_site`); return out, pages renamed, warnings, broken links, timings"
    import smalldocs.site
    from nbdev.config import get_config
    root = Path(root).resolve()
    out = Path(out).resolve() if out else root/'_site'
    cfg = get_config(root)
    doc_prefix = (cfg.doc_host.rstrip('/') + cfg.doc_baseurl.rstrip('/') + '/') if cfg.get('doc_host') else ''
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix='medfast-docs-') as tmp:
        proc = proc_nbs_offline(stage_project(root, Path(tmp)), n_workers=n_workers)
        t1 = time.perf_counter()
        mapping = rename_to_output_file(proc)
        css = proc/'styles.css'
        css.write_text((css.read_text() if css.exists() else '') + EXTRA_CSS)
        q = yaml.safe_load((proc/'nbdev.yml').read_text()) or {}
        q.setdefault('project', {})['output-dir'] = '_out'  # render inside the stage whatever nbdev.yml says (_docs)
        (proc/'nbdev.yml').write_text(yaml.safe_dump(q, sort_keys=False))
        site = smalldocs.site.build(proc, quiet=True)
        warns = [w for w in site.warnings if not any(h in w for h in _HARMLESS) and not _renamed_link(w, mapping)]
        if out.exists(): shutil.rmtree(out)
        shutil.copytree(proc/'_out', out)
    nfix = postprocess(out, doc_prefix, mapping)
    offline = make_offline(out)
    bad = check_links(out)
    t2 = time.perf_counter()
    if not quiet:
        for w in warns: print('smalldocs warning:', w)
        for b in bad: print('broken link:', *b)
        print(f'{len(list(out.rglob("*.html")))} pages in {out}; {nfix} links rewritten; '
              f'nbdev processing {t1-t0:.1f}s, render and checks {t2-t1:.1f}s')
    return dict(out=out, mapping=mapping, warnings=warns, broken=bad, offline=offline, seconds=t2-t0, proc_seconds=t1-t0)


if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--root', default=str(ROOT), help='project root (default: this repository)')
    ap.add_argument('--out', default=None, help='output folder (default: ROOT/_site)')
    ap.add_argument('--workers', type=int, default=0, help='nbdev processing workers (0: in this process, fastest for a few notebooks)')
    a = ap.parse_args()
    r = build_site(a.root, a.out, n_workers=a.workers)
    sys.stdout.flush(); sys.stderr.flush()
    # skip interpreter teardown: each IPython shell nbdev used for show_doc runs gc.collect() at exit, ~5 s in all
    os._exit(1 if r['broken'] or r['warnings'] else 0)
