"""`medfast app` as a user meets it: the page served on a free local port, an image uploaded in headless Chromium, the page's
probabilities and heatmap overlay checked against `medfast predict`, every request the browser made checked to stay on 127.0.0.1, a screenshot kept.

Set MEDFAST_APP_SHOT=<file.png> to keep the screenshot somewhere else than the test's temporary folder."""
import os, re, subprocess
from pathlib import Path
from urllib.parse import urlsplit
import numpy as np
import pytest
from conftest import BIN, needs_browser, requests
from medfast.phantoms import make_chest_xray
from medfast.data import folder_dls
from medfast.models import small_vgg
from medfast.learner import classifier_learner
from medfast.export import save_model
from medfast.predict import predict_files
from medfast.app import free_port
from fastai.torch_core import set_seed

pytestmark = needs_browser
APP = [str(BIN/'medfast'), 'app']  # the installed console script


@pytest.fixture(scope='module')
def model(tmp_path_factory):
    "A phantom model saved as a model folder, and a validation image to upload"
    pytest.importorskip('gradio', reason='the app extra is not installed: pip install "medfast[app]"')
    tmp = tmp_path_factory.mktemp('app')
    set_seed(0)
    root = make_chest_xray(tmp, counts={'train': {'NORMAL': 16, 'PNEUMONIA': 16}, 'val': {'NORMAL': 4, 'PNEUMONIA': 4}}, size=28, seed=2)
    learn = classifier_learner(folder_dls(root, size=28, bs=16, n_in=1, presize=1.0), small_vgg, pretrained=False)
    with learn.no_bar(), learn.no_logging(): learn.fit(1, 1e-2)
    return dict(tmp=tmp, run=save_model(learn, tmp/'run'), image=sorted((root/'val'/'PNEUMONIA').glob('*.jpeg'))[0])


@pytest.fixture(scope='module')
def server(model, request):
    "`medfast app` in a subprocess on a free port, until the tests are done (the browser starts while the server does)"
    port = free_port()
    p = subprocess.Popen(APP + ['--model', str(model['run']), '--port', str(port), '--cpu'], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    request.getfixturevalue('driver')
    lines = []
    for line in p.stdout:
        lines.append(line)
        if re.search(r'serving http://127\.0\.0\.1:\d+/', line): break
    if p.poll() is not None: pytest.fail('medfast app exited:\n' + ''.join(lines))
    yield f'http://127.0.0.1:{port}/'
    p.terminate()
    p.wait(20)


def test_upload_shows_the_predictions_of_medfast_predict(model, server, driver):
    "Upload a JPEG; the bars' values equal predict_files' probabilities, the decision and the heatmap overlay are shown, the screenshot is kept"
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait
    driver.get(server)
    wait = WebDriverWait(driver, 60)
    wait.until(lambda d: d.find_element(By.CSS_SELECTOR, '#upload input[type=file]')).send_keys(str(model['image']))
    wait.until(lambda d: d.find_element(By.CSS_SELECTOR, '#decision textarea').get_attribute('value'))
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, '#image img') and d.find_elements(By.CSS_SELECTOR, '#overlay img'))
    shown = {m.get_attribute('aria-label'): float(m.get_attribute('value')) for m in driver.find_elements(By.CSS_SELECTOR, '#probs meter')}
    row = predict_files(model['run'], model['image'], progress=False).iloc[0]
    assert shown.keys() == {'NORMAL', 'PNEUMONIA'}
    np.testing.assert_allclose([shown['NORMAL'], shown['PNEUMONIA']], [row.p_NORMAL, row.p_PNEUMONIA], atol=1e-6)
    assert driver.find_element(By.CSS_SELECTOR, '#decision textarea').get_attribute('value').startswith(row.decision + ' (')
    shot = Path(os.environ.get('MEDFAST_APP_SHOT') or model['tmp']/'app.png')
    driver.save_screenshot(str(shot))
    assert shot.stat().st_size > 10_000


def test_nothing_loads_from_the_internet(server, driver):
    "Every http(s) request and websocket of the page, after the upload too, goes to the local server"
    urls = requests(driver)
    web = {u for u in urls if urlsplit(u).scheme in ('http', 'https', 'ws', 'wss')}
    assert web, 'the performance log recorded no requests'
    assert {urlsplit(u).netloc for u in web} == {urlsplit(server).netloc}, sorted(u for u in web if urlsplit(u).netloc != urlsplit(server).netloc)
