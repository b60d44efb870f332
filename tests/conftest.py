import json, os, shutil, subprocess, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

# headless Chromium, for the docs site (test_docs_site.py) and the demo app (test_app.py)
CHROMIUM = next(filter(None, map(shutil.which, ('chromium', 'chromium-browser', 'google-chrome'))), None)
DRIVER = shutil.which('chromedriver')
FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
         '--disable-component-update', '--disable-sync', '--window-size=1280,900']
needs_browser = pytest.mark.skipif(not (CHROMIUM and DRIVER), reason=
    'headless-browser checks need Chromium and its driver: apt-get install -y chromium chromium-driver')

@pytest.fixture(scope='session')
def root(): return ROOT

def run(cmd, cwd=ROOT, check=True, **kw):
    "Run a command, returning the CompletedProcess; raise with its output when `check` fails"
    r = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, **kw)
    if check and r.returncode: raise AssertionError(f"{cmd} exited {r.returncode}\n{r.stdout}\n{r.stderr}")
    return r


@pytest.fixture(scope='module')
def driver(tmp_path_factory):
    "Headless Chromium (Selenium) on a fresh profile, recording its console (`get_log('browser')`) and network (`requests`)"
    os.environ['SE_OFFLINE'] = 'true'  # Selenium Manager must not try to download a browser or driver
    webdriver = pytest.importorskip('selenium.webdriver', reason='the docs extra (selenium) is not installed')
    from selenium.webdriver.chrome.service import Service
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for f in FLAGS + [f'--user-data-dir={tmp_path_factory.mktemp("chrome")}']: opts.add_argument(f)
    opts.set_capability('goog:loggingPrefs', {'performance': 'ALL', 'browser': 'ALL'})
    d = webdriver.Chrome(service=Service(DRIVER), options=opts)
    d.set_page_load_timeout(60)
    yield d
    d.quit()


def requests(driver) -> set:
    "URLs of every network request and websocket the browser made since the last call (Chromium's performance log)"
    urls = set()
    for e in driver.get_log('performance'):
        m = json.loads(e['message'])['message']
        if m['method'] == 'Network.requestWillBeSent': urls.add(m['params']['request']['url'])
        elif m['method'] == 'Network.webSocketCreated': urls.add(m['params']['url'])
    return urls
