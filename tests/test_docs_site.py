"""The docs website: `python tools/build_site.py` builds it offline, and headless Chromium reads it from 127.0.0.1.

Every page is screenshotted at desktop (1280 px) and mobile (390 px) width, under `desktop/` and `mobile/` of
$MEDFAST_SCREENSHOTS if set (else a pytest temporary folder); MEDFAST_DOCS_ROOT=<project copy> checks the site of
another copy of the project (a scratch tutorial, say).
"""
import ast, functools, hashlib, html.parser, http.server, json, os, re, shutil, stat, sys, threading, urllib.error, urllib.request
from pathlib import Path
from urllib.parse import urlsplit
import pytest
from conftest import ROOT, run, needs_browser, requests

PROJ = Path(os.environ.get('MEDFAST_DOCS_ROOT') or ROOT)
WIDTHS = {'desktop': (1280, 900), 'mobile': (390, 844)}


def _digest(root):
    "What nbdev's docs pre-processing writes in a project (config, sidebar, `_modidx.py`, `_proc/`, `_docs/`), by path"
    files = [*(root/'nbs').glob('*.yml'), root/'nbs'/'styles.css', root/'medfast'/'_modidx.py']
    res = {p.relative_to(root).as_posix(): hashlib.sha1(p.read_bytes()).hexdigest() for p in files if p.exists()}
    return {**res, **{d: 'exists' for d in ('_proc', '_docs', 'nbs/_proc', 'nbs/_docs') if (root/d).exists()}}


@pytest.fixture(scope='module')
def build(tmp_path_factory):
    "Run the documented command once; `curl`, `sudo`, `dpkg` and `wget` on PATH only record that they were called"
    tmp = tmp_path_factory.mktemp('docs')
    fake = tmp/'bin'; fake.mkdir()
    for cmd in ('curl', 'sudo', 'dpkg', 'wget'):
        f = fake/cmd
        f.write_text(f'#!/bin/sh\necho {cmd} "$@" >> {tmp}/installer-calls\nexit 1\n')
        f.chmod(f.stat().st_mode | stat.S_IEXEC)
    env = {**os.environ, 'PATH': f'{fake}{os.pathsep}{os.environ["PATH"]}'}
    before = _digest(PROJ)
    r = run([sys.executable, 'tools/build_site.py', '--root', str(PROJ), '--out', str(tmp/'_site')], check=False, env=env, timeout=600)
    after = _digest(PROJ)
    return dict(out=tmp/'_site', r=r, changed=sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k)),
                installer=(tmp/'installer-calls').read_text() if (tmp/'installer-calls').exists() else '')


@pytest.fixture(scope='module')
def site(build):
    assert build['r'].returncode == 0, f"tools/build_site.py failed\n{build['r'].stdout}\n{build['r'].stderr}"
    return build['out']


def test_build_is_offline_and_leaves_the_tree_alone(build, site):
    "No Quarto install attempted; the build worked on a copy, so nbdev rewrote nothing in the working tree"
    assert not build['installer'], f"the build tried to install Quarto: {build['installer']}"
    assert not build['changed'], f"the docs build changed {build['changed']}"
    assert 'broken link' not in build['r'].stdout and 'warning' not in build['r'].stdout, build['r'].stdout


def test_quarto_config_is_what_nbdev_writes(tmp_path, monkeypatch):
    "nbs/nbdev.yml is exactly what nbdev-docs and nbdev-proc-nbs regenerate from pyproject.toml, so running them leaves git clean"
    from nbdev.quarto import refresh_quarto_yml
    shutil.copy(PROJ/'pyproject.toml', tmp_path)
    (tmp_path/'nbs').mkdir()
    monkeypatch.chdir(tmp_path)
    refresh_quarto_yml()
    assert (PROJ/'nbs'/'nbdev.yml').read_text() == (tmp_path/'nbs'/'nbdev.yml').read_text()


def _modidx(): return ast.literal_eval((PROJ/'medfast'/'_modidx.py').read_text().split('d = ', 1)[1])

def _sym_pages():
    "{page.html: [public top-level symbols documented there]} from medfast/_modidx.py"
    d = _modidx()
    res = {}
    for mod, syms in d['syms'].items():
        for full, (url, src) in syms.items():
            name = full[len(mod)+1:]
            if '.' in name or name.startswith('_'): continue
            page, _, anchor = url.partition('#')
            res.setdefault(page, []).append((name, anchor, src))
    return res


def test_pages_keep_nbdev_names(site):
    "Every notebook becomes a page under nbdev's name (`02_data.ipynb` -> `data.html`), so doc links and `_modidx.py` agree"
    pages = {p.relative_to(site).as_posix() for p in site.rglob('*.html')}
    assert {'index.html', 'phantoms.html', 'data.html'} <= pages, pages
    assert not [p for p in pages if re.match(r'(.*/)?\d+[a-z]?_', p)], pages
    assert set(_sym_pages()) <= pages, set(_sym_pages()) - pages
    tuts = [p for p in (PROJ/'nbs'/'tutorials').glob('*.ipynb') if not p.name.startswith(('_', '.'))]
    assert len([p for p in pages if p.startswith('tutorials/')]) == len(tuts)
    index = json.loads((site/'search.json').read_text())
    assert {'data.html#folder_dls', 'phantoms.html#make_chest_xray'} <= {e['href'] for e in index}


# ---- in the browser ----

class _Handler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *a): pass

class _Server(http.server.ThreadingHTTPServer):
    def handle_error(self, request, addr):  # Chromium drops connections it no longer needs
        if not isinstance(sys.exc_info()[1], ConnectionError): super().handle_error(request, addr)

@pytest.fixture(scope='module')
def server(site):
    srv = _Server(('127.0.0.1', 0), functools.partial(_Handler, directory=str(site)))  # port 0: any free port
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f'http://127.0.0.1:{srv.server_address[1]}'
    srv.shutdown(); srv.server_close()


# what each page holds, read in the browser after it has loaded
_READ_PAGE = """
const heads = [...document.querySelectorAll('.cell-output-markdown h3[id], .cell-output-markdown h4[id]')].map(h => {
  const box = h.closest('.cell-output-markdown');
  const src = [...box.querySelectorAll('a')].find(a => a.textContent.trim() == 'source');
  return {id: h.id, sig: (box.querySelector('pre') || {}).innerText || '', source: src ? src.href : null};
});
return {
  title: document.title,
  ids: [...document.querySelectorAll('[id]')].map(e => e.id),
  links: [...document.querySelectorAll('a[href]')].map(a => a.href),
  doclinks: [...document.querySelectorAll('main a[href] > code, #quarto-document-content a[href] > code')].map(c => c.parentElement.href),
  resources: [...document.querySelectorAll('img[src], script[src]')].map(e => e.src)
             .concat([...document.querySelectorAll('link[rel=stylesheet][href]')].map(e => e.href)),
  images: [...document.querySelectorAll('img')].map(i => ({src: i.currentSrc.slice(0, 60), ok: i.complete, w: i.naturalWidth,
                                                          output: !!i.closest('.cell-output-display')})),
  sidebar: [...document.querySelectorAll('#quarto-sidebar a[href]')].map(a => a.href),
  heads: heads,
  math: document.querySelectorAll('math').length,
  prose: (() => { const m = (document.querySelector('main') || document.body).cloneNode(true);
                  m.querySelectorAll('pre, code, script, style').forEach(e => e.remove()); return m.textContent; })(),
  main_links: [...document.querySelectorAll('main a[href]')].map(a => a.href),
  cards: [...document.querySelectorAll('main .card')].map(c => ({href: (c.querySelector('a[href]') || {}).href || null,
          imgs: [...c.querySelectorAll('img')].map(i => i.naturalWidth)})),
};
"""


@pytest.fixture(scope='module')
def shots(tmp_path_factory):
    "Where the screenshots go: $MEDFAST_SCREENSHOTS, else a temporary folder"
    return Path(os.environ.get('MEDFAST_SCREENSHOTS') or tmp_path_factory.mktemp('screenshots'))


def _shot_name(path): return path.removesuffix('.html').replace('/', '--') + '.png'


@pytest.fixture(scope='module')
def pages(site, server, driver, shots):
    """Every page of the site opened in Chromium at each of `WIDTHS` and screenshotted: {path: what _READ_PAGE saw at desktop
    width, plus `errors` (the console's, at either width), `requests` (the network log's URLs) and `overflow` (px of sideways scroll on mobile)}"""
    from selenium.webdriver.support.ui import WebDriverWait
    res, files = {}, sorted(site.rglob('*.html'))
    requests(driver)  # start the network log afresh
    for kind, (w, h) in WIDTHS.items():
        driver.set_window_size(w, h)
        (shots/kind).mkdir(parents=True, exist_ok=True)
        for f in files:
            path = f.relative_to(site).as_posix()
            driver.get(f'{server}/{path}')
            WebDriverWait(driver, 20).until(lambda d: d.execute_script(
                "return document.readyState == 'complete' && [...document.images].every(i => i.complete)"))
            p = res.setdefault(path, {'errors': [], 'requests': set()})
            if kind == 'desktop': p.update(driver.execute_script(_READ_PAGE))
            else: p['overflow'] = driver.execute_script('return document.documentElement.scrollWidth - document.documentElement.clientWidth')
            p['errors'] += [f"{kind}: {e['message']}" for e in driver.get_log('browser') if e['level'] == 'SEVERE']
            p['requests'] |= requests(driver)
            driver.save_screenshot(str(shots/kind/_shot_name(path)))
    driver.set_window_size(*WIDTHS['desktop'])
    return res


def _local(server, url): return url.startswith(server + '/')

def _our_error(server, msg):
    "A console error about this site (Chromium's own request for /favicon.ico aside)"
    url = next((w for w in msg.split() if '://' in w), '')
    return not ('Failed to load resource' in msg and url.endswith('/favicon.ico'))


@needs_browser
def test_no_broken_internal_links(server, pages):
    "Every same-site link, image, script and stylesheet loads, every #anchor exists, and the console shows no errors"
    status = {}
    def _ok(path):
        if path not in status:
            try: status[path] = urllib.request.urlopen(f'{server}{path}', timeout=10).status
            except urllib.error.HTTPError as e: status[path] = e.code
        return status[path] == 200
    bad = []
    for page, p in pages.items():
        for url in p['links'] + p['resources']:
            if not _local(server, url): continue
            sp = urlsplit(url)
            path = sp.path + ('index.html' if sp.path.endswith('/') else '')
            if not _ok(path): bad.append((page, url, f'HTTP {status[path]}'))
            elif sp.fragment and path.endswith('.html') and sp.fragment not in pages.get(path.lstrip('/'), {}).get('ids', []):
                bad.append((page, url, 'no such anchor'))
        bad += [(page, e, 'console') for e in p['errors'] if _our_error(server, e)]
        bad += [(page, url, 'from another host') for url in p['resources'] if not _local(server, url)]
    assert not bad, '\n'.join(map(str, bad))


@needs_browser
def test_doc_links_stay_in_the_site(server, pages):
    "nbdev's cross-reference links (`folder_dls` in backticks) point into this site, not at the hosted one"
    links = [(page, u) for page, p in pages.items() for u in p['doclinks']]
    assert len(links) > 5, links
    outside = [(page, u) for page, u in links if not _local(server, u) and 'medfast.github.io' in u]
    assert not outside, outside
    fastai = {u.split('#')[0] for page, u in links if u.startswith('https://docs.fast.ai/')}
    assert 'https://docs.fast.ai/learner.html' in fastai, sorted(fastai)  # fastai's names in backticks link to its docs


@needs_browser
def test_sidebar_lists_every_page(server, pages):
    "The sidebar reaches every page of the site (nbs/sidebar.yml lists each notebook)"
    side = {urlsplit(u).path.lstrip('/') or 'index.html' for u in pages['index.html']['sidebar'] if _local(server, u)}
    assert 'data.html' in side and 'phantoms.html' in side, side
    missing = sorted(set(pages) - side)
    assert not missing, f'pages missing from nbs/sidebar.yml: {missing}'


@needs_browser
def test_api_pages_show_signatures_and_source(pages):
    "Each exported public function or class has a heading, its signature with docments, and a [source] link to its line"
    for page, anchor, fn in [('data.html', 'folder_dls', 'folder_dls'), ('phantoms.html', 'make_chest_xray', 'make_chest_xray')]:
        head = {h['id']: h for h in pages[page]['heads']}[anchor]
        assert re.search(rf'(def|class) {fn}\b', head['sig']) and '# ' in head['sig'], head['sig']  # docments are comments
    problems, cfg = [], _modidx()['settings']
    blob = re.escape(f"{cfg['git_url']}/blob/{cfg['branch']}/")
    for page, syms in _sym_pages().items():
        heads = {h['id']: h for h in pages[page]['heads']}
        for name, anchor, src in syms:
            h = heads.get(anchor)
            if h is None: problems.append((page, name, 'no heading')); continue
            if not re.search(rf'\b{re.escape(name)}\b', h['sig']): problems.append((page, name, 'no signature'))
            m = re.match(rf'{blob}(.+?)#L(\d+)$', h['source'] or '')
            if not m or m.group(1) != src: problems.append((page, name, f"source link {h['source']}")); continue
            lines = (PROJ/src).read_text().splitlines()[int(m.group(2))-1:int(m.group(2))+9]
            if not any(re.search(rf'\b(def|class) {re.escape(name)}\b', l) for l in lines):
                problems.append((page, name, f'{src}#L{m.group(2)} is not where it is defined'))
    assert not problems, problems


@needs_browser
def test_plots_load(pages):
    "Every image on every page decodes (naturalWidth > 0), and the notebooks' plots are there"
    imgs = [(page, i) for page, p in pages.items() for i in p['images']]
    assert not [(page, i) for page, i in imgs if not (i['ok'] and i['w'] > 0)]
    assert any(i['output'] and i['w'] > 100 for _, i in imgs), imgs


@needs_browser
def test_search_finds_a_function(server, driver):
    "Typing a function's name into the search box lists its API entry, and the hit opens it"
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait
    driver.get(server + '/index.html')
    driver.find_element(By.CSS_SELECTOR, '#quarto-search input').send_keys('folder_dls')
    hits = WebDriverWait(driver, 10).until(lambda d: d.find_elements(By.CSS_SELECTOR, '.smalldocs-search-results a.search-result'))
    hit = next((h for h in hits if h.get_attribute('href').endswith('/data.html#folder_dls')), None)
    assert hit, [h.get_attribute('href') for h in hits]
    hit.click()
    WebDriverWait(driver, 10).until(lambda d: d.current_url.endswith('/data.html#folder_dls'))
    assert driver.find_element(By.ID, 'folder_dls').is_displayed()


@needs_browser
def test_every_page_is_screenshotted(pages, shots):
    "Each page at each width left a screenshot with something on it (a blank page compresses to a few kB)"
    small = [(kind, p) for kind in WIDTHS for p in pages if (shots/kind/_shot_name(p)).stat().st_size < 10_000]
    assert not small, small


@needs_browser
def test_nothing_is_requested_from_another_host(server, pages):
    "Chromium's network log: every http(s) request and websocket of every page goes to the local server"
    web = {(page, u) for page, p in pages.items() for u in p['requests'] if urlsplit(u).scheme in ('http', 'https', 'ws', 'wss')}
    assert len(web) > len(pages), 'the performance log recorded too few requests'
    assert not [(page, u) for page, u in web if not _local(server, u)], sorted((page, u) for page, u in web if not _local(server, u))


@needs_browser
def test_pages_fit_a_phone(pages):
    "At 390 px nothing but a code block or table scrolls sideways: the page itself never does"
    wide = {page: p['overflow'] for page, p in pages.items() if p['overflow'] > 2}
    assert not wide, f'pages wider than a phone (px of sideways scroll): {wide}'


def _tex_pages() -> dict:
    "{page: number of TeX spans (`$...$`, `$$...$$`) in its notebook's markdown cells}"
    res = {}
    for nb in (PROJ/'nbs').rglob('*.ipynb'):
        rel = nb.relative_to(PROJ/'nbs')
        if any(s.startswith(('_', '.')) for s in rel.parts): continue
        md = ''.join(''.join(c['source']) for c in json.loads(nb.read_text())['cells'] if c['cell_type'] == 'markdown')
        n = len(re.findall(r'\$\$.+?\$\$|\$[^$\n]+\$', md, re.S))
        if n: res[rel.with_name(re.sub(r'^\d+[a-z]?_', '', rel.stem) + '.html').as_posix()] = n
    return res


@needs_browser
def test_maths_is_rendered(pages):
    "Every TeX span of a notebook's prose is a MathML `math` element on its page, and no page's prose shows raw TeX"
    tex = _tex_pages()
    assert tex, 'no notebook has TeX: the check checks nothing'
    few = {page: (n, pages[page]['math']) for page, n in tex.items() if pages[page]['math'] < n}
    assert not few, f'pages with fewer math elements than TeX spans in their source (spans, math): {few}'
    raw = {page: re.findall(r'.{0,30}(?:\\\(|\\\[|\$\$).{0,30}', p['prose']) for page, p in pages.items()}
    assert not {k: v for k, v in raw.items() if v}, {k: v for k, v in raw.items() if v}


@needs_browser
def test_tutorials_index_links_every_tutorial(server, pages):
    "The tutorials index reaches every tutorial page (through its cards, when it has cards), and every card links to a live page"
    idx = pages['tutorials/index.html']
    tuts = {p for p in pages if p.startswith('tutorials/') and p != 'tutorials/index.html'}
    links = [c['href'] for c in idx['cards']] if idx['cards'] else idx['main_links']
    linked = {urlsplit(u).path.lstrip('/') for u in links if u and _local(server, u)}
    assert tuts <= linked, f'tutorials not linked from the index: {sorted(tuts - linked)}'
    dead = [c for c in idx['cards'] if not (c['href'] and urlsplit(c['href']).path.lstrip('/') in pages)]
    assert not dead, f'cards without a link to a page of the site: {dead}'
    assert all(w > 0 for c in idx['cards'] for w in c['imgs']), idx['cards']
    assert all(pages[p]['title'] for p in linked & set(pages)), 'a linked tutorial page has no title'


class _Outputs(html.parser.HTMLParser):
    "The text of a page's cell outputs (what running the notebook printed or displayed), one string per output"
    def __init__(self):
        super().__init__(); self.depth, self.outs = 0, []
    def handle_starttag(self, tag, attrs):
        if self.depth: self.depth += tag == 'div'
        elif tag == 'div' and 'cell-output' in (dict(attrs).get('class') or '').split(): self.depth = 1; self.outs.append('')
    def handle_endtag(self, tag):
        if self.depth and tag == 'div': self.depth -= 1
    def handle_data(self, data):
        if self.depth: self.outs[-1] += data


def _machine_paths():
    "Absolute paths of the machine that ran the notebooks or builds the site: checkout, home, temporary folder, virtualenv"
    import tempfile
    ps = {str(PROJ), str(ROOT), str(Path.home()), tempfile.gettempdir(), sys.prefix, '/tmp/', '/work/', '/root/', '/home/'}
    return sorted(p.rstrip('/') + '/' for p in ps if len(p) > 1)

_FRAME = re.compile(r'\d+\.\d+% \[\d+/\d+|█|━━')
_WARNING = re.compile(r'\b\w*Warning\b[:(]|\bwarnings\.warn\b|^\s*warn\(', re.M)


def test_outputs_read_clean(site):
    "No saved output shows a progress-bar frame, a warning, or a path of the machine that made it"
    bad = []
    for f in sorted(site.rglob('*.html')):
        p = _Outputs(); p.feed(f.read_text())
        for out in p.outs:
            for what, hit in [('progress frame', _FRAME.search(out)), ('warning', _WARNING.search(out)),
                              ('machine path', next((m for m in _machine_paths() if m in out), None))]:
                if hit: bad.append((f.relative_to(site).as_posix(), what, out.strip()[:120]))
    assert not bad, '\n'.join(map(str, bad))


def test_pages_are_offline_and_light(site):
    "Maths is MathML, nothing is fetched from another host (no KaTeX CDN, no web fonts), plots are files, and pages stay small"
    bad = []
    for f in sorted(site.rglob('*.html')):
        txt, page = f.read_text(), f.relative_to(site).as_posix()
        prose = re.sub(r'<(pre|code)\b.*?</\1>', '', txt, flags=re.S)  # code cells may show such strings
        if re.search(r'<(?:script|img)\b[^>]*\bsrc="https?://|<link\b[^>]*\brel="stylesheet"[^>]*\bhref="https?://', txt): bad.append((page, 'external resource'))
        if 'data:image/' in prose: bad.append((page, 'inline image'))
        if re.search(r'\\\(|\\\[', prose): bad.append((page, 'raw TeX'))
        if f.stat().st_size > 600_000: bad.append((page, f'{f.stat().st_size:,} bytes'))
    bad += [(c.relative_to(site).as_posix(), 'css import') for c in site.rglob('*.css') if re.search(r'@import url\(["\']?https?:', c.read_text())]
    assert not bad, bad
    assert '<math' in (site/'losses.html').read_text()
    assert (site/'favicon.svg').exists() and 'rel="icon"' in (site/'index.html').read_text()
