"The installed `medfast` command, run as a user runs it."
import pandas as pd
from conftest import BIN, run

def test_help():
    r = run([str(BIN/'medfast'), '--help'])
    assert 'data' in r.stdout

def test_data_job_on_phantoms(tmp_path):
    r = run([str(BIN/'medfast'), 'data', '--out', str(tmp_path), '--size', '32'])
    for f in ['show_batch.png', 'class_counts.csv', 'class_counts.png']: assert (tmp_path/f).stat().st_size > 0, f
    counts = pd.read_csv(tmp_path/'class_counts.csv', header=[0, 1], index_col=0)
    assert counts[('before', 'train')].tolist() == [134, 388]
    assert counts[('after', 'train')].tolist() == [388, 388]
    assert 'PNEUMONIA' in r.stdout

def test_bad_arguments_give_one_line(tmp_path):
    from medfast.phantoms import make_chest_xray
    data = str(make_chest_xray(tmp_path/'ph', counts={'train': {'NORMAL': 4, 'PNEUMONIA': 8}, 'val': {'NORMAL': 2, 'PNEUMONIA': 2}}, size=32))  # not the default phantom set: seconds, not minutes
    for args, msg in [(['--data', str(tmp_path/'missing')], 'missing: no such folder'),
                      (['--data', data, '--oversample-to', '1.5'], 'oversample_to=1.5 is impossible'),
                      (['--data', data, '--modality', 'sonar'], "modality='sonar' is unknown"),
                      (['--data', data, '--valid', 'holdout'], "no validation folder 'holdout'; pass --valid with split folders it has")]:
        r = run([str(BIN/'medfast'), 'data', '--out', str(tmp_path), '--size', '32', *args], check=False)
        assert r.returncode == 2, (args, r.stderr)
        assert r.stderr.count('\n') == 1 and r.stderr.startswith('medfast: error:') and msg in r.stderr, (args, r.stderr)
        assert 'Traceback' not in r.stderr

def test_unknown_job_is_an_argparse_error():
    r = run([str(BIN/'medfast'), 'fly'], check=False)
    assert r.returncode == 2 and 'invalid choice' in r.stderr

def test_train_job_writes_report(tmp_path):
    "`medfast train` on a small phantom set writes metrics.json (valid, test, run), figures and weights, and ends with the metrics table"
    import json
    from medfast.phantoms import make_chest_xray
    data = make_chest_xray(tmp_path/'ph', counts={'train': {'NORMAL': 20, 'PNEUMONIA': 40}, 'val': {'NORMAL': 8, 'PNEUMONIA': 8}}, size=48)
    out = tmp_path/'run'
    r = run([str(BIN/'medfast'), 'train', '--data', str(data), '--out', str(out), '--size', '32', '--epochs', '1',
             '--freeze-epochs', '1', '--lr', '1e-3', '--balance', 'weighted'])
    m = json.loads((out/'metrics.json').read_text())
    assert set(m) == {'valid', 'test', 'run', 'calibration'} and m['test'] is None  # this layout has no test/ folder
    assert {'accuracy', 'balanced_accuracy', 'macro_f1', 'mcc', 'auroc', 'per_class'} <= set(m['valid'])
    assert m['valid']['per_class']['NORMAL']['support'] == 8 and m['run']['args']['balance'] == 'weighted'
    assert r.stdout.splitlines()[-1].split()[0] == 'auroc' and 'valid' in r.stdout.splitlines()[-6]  # ends with the metrics table
    import re
    assert not re.search(r'\d+\.\d+% \[\d+/\d+', r.stdout + r.stderr), 'progress-bar frames in a pipe'
    assert sum(l.startswith('epoch ') for l in r.stdout.splitlines()) == 2  # one plain line per epoch (1 frozen + 1 unfrozen)
    assert sum(l.startswith('kept epoch ') for l in r.stdout.splitlines()) == 1  # and one line saying which epoch was kept
    for f in ['confusion.png', 'roc_pr.png', 'model.safetensors', 'model.json', 'run.json', 'history.csv']: assert (out/f).stat().st_size > 0, f
    assert not list(out.glob('*.pkl')) and not list(out.glob('*.pth')), 'a default run writes no pickle'

def test_train_bad_arguments(tmp_path):
    for args, msg in [(['--arch', 'resnet_17'], "arch='resnet_17' is neither"), (['--data', str(tmp_path/'none.npz')], 'none.npz: no such file')]:
        r = run([str(BIN/'medfast'), 'train', '--out', str(tmp_path), *args], check=False)
        assert r.returncode == 2 and r.stderr.startswith('medfast: error:') and msg in r.stderr and 'Traceback' not in r.stderr, (args, r.stderr)

def test_train_scores_test_split_once(tmp_path):
    "A test/ folder not used for validation is scored at the end, with the weights validation chose"
    import json
    from medfast.phantoms import make_chest_xray
    counts = {'train': {'NORMAL': 20, 'PNEUMONIA': 40}, 'val': {'NORMAL': 8, 'PNEUMONIA': 8}, 'test': {'NORMAL': 10, 'PNEUMONIA': 14}}
    data = make_chest_xray(tmp_path/'ph', counts=counts, size=48)
    out = tmp_path/'run'
    r = run([str(BIN/'medfast'), 'train', '--data', str(data), '--out', 'run', '--size', '32', '--epochs', '1',  # --out relative to the working folder
             '--freeze-epochs', '0', '--lr', '1e-3', '--arch', 'resnet18', '--no-pretrained'], cwd=tmp_path)
    assert (out/'model.safetensors').is_file() and (out/'model.json').is_file() and not (out/'run').exists()
    m = json.loads((out/'metrics.json').read_text())
    assert m['test']['n'] == 24 and m['valid']['n'] == 16
    assert {c: v['support'] for c, v in m['test']['per_class'].items()} == {'NORMAL': 10, 'PNEUMONIA': 14}
    assert m['test']['decision'] == 'argmax' and 0 <= m['test']['auroc'] <= 1
    assert r.stdout.splitlines()[-6].split() == ['valid', 'test']

def test_train_caches_large_images(tmp_path):
    "Folders of images much larger than the item size are read through the presized cache; small ones are not"
    import os
    from medfast.phantoms import make_chest_xray
    counts = {'train': {'NORMAL': 8, 'PNEUMONIA': 8}, 'val': {'NORMAL': 4, 'PNEUMONIA': 4}}
    big, small = (make_chest_xray(tmp_path/n, counts=counts, size=s) for n, s in (('big', 300), ('small', 64)))
    for data, cached in ((big, 24), (small, 0)):
        cache = tmp_path/f'cache-{data.parent.name}'
        run([str(BIN/'medfast'), 'train', '--data', str(data), '--out', str(tmp_path/f'run-{data.parent.name}'), '--size', '32', '--epochs', '1',
             '--freeze-epochs', '0', '--lr', '1e-3', '--arch', 'resnet18', '--no-pretrained', '--bs', '8'], env={**os.environ, 'MEDFAST_CACHE': str(cache)})
        assert len(list((cache/'presized').glob('*.png'))) == cached, data

def _tiny_npz(fn, n=(40, 16, 16)):
    "A MedMNIST-style file of 28-px images of two classes, dark and bright"
    import numpy as np
    rng, arrs = np.random.default_rng(0), {}
    for s, k in zip(('train', 'val', 'test'), n):
        y = rng.integers(0, 2, k)
        arrs[f'{s}_images'] = (rng.integers(0, 60, (k, 28, 28)) + 150*y[:, None, None]).astype(np.uint8)
        arrs[f'{s}_labels'] = y[:, None].astype(np.uint8)
    np.savez(fn, **arrs)
    return fn

def _stop_after(n):
    "A callback that interrupts training, like Ctrl-C, after `n` epochs of the recipe (after their checkpoint)"
    from fastai.callback.core import Callback
    from medfast.export import CheckpointCallback
    class StopAfter(Callback):
        order = CheckpointCallback.order + 1
        def after_epoch(self):
            if self.learn.recipe_state['offset'] + self.epoch + 1 == n: raise KeyboardInterrupt
    return StopAfter()

import pytest

@pytest.mark.parametrize('arch,freeze,stop', [('small_vgg', 0, 2), ('tf_efficientnet_lite0', 1, 1)], ids=['mid-phase', 'phase-boundary'])
def test_resume_reaches_the_uninterrupted_weights(tmp_path, arch, freeze, stop):
    "A run interrupted after epoch `stop` and resumed ends with the weights and metrics of the same run left alone"
    import contextlib, io, json, torch
    from safetensors.torch import load_file
    from medfast.cli import train_job
    kw = dict(data=str(_tiny_npz(tmp_path/'t.npz')), arch=arch, size=28, bs=8, epochs=2, freeze_epochs=freeze, lr=1e-2, progress=False)
    with contextlib.redirect_stdout(io.StringIO()):
        whole = train_job(out=str(tmp_path/'whole'), **kw)
        with pytest.raises(KeyboardInterrupt): train_job(out=str(tmp_path/'cut'), cbs=[_stop_after(stop)], **kw)
        cut = tmp_path/'cut'
        assert not (cut/'metrics.json').exists() and (cut/'checkpoints'/f'epoch-{stop:03d}'/'state.json').is_file()
        assert json.loads((cut/'run.json').read_text())['status'] == 'training'
        resumed = train_job(out=str(cut), resume=True, **kw)
    a, b = (load_file(str(tmp_path/d/'model.safetensors')) for d in ('whole', 'cut'))
    assert a.keys() == b.keys()
    for k in a: torch.testing.assert_close(b[k], a[k], atol=1e-6, rtol=0)
    assert resumed['valid'] == whole['valid'] and resumed['test'] == whole['test']
    import pandas as pd
    h0, h1 = (pd.read_csv(tmp_path/d/'history.csv') for d in ('whole', 'cut'))
    assert len(h1) == len(h0) == 2 + freeze and (h1.best == h0.best).all()
    torch.testing.assert_close(torch.tensor(h1.valid_loss.values), torch.tensor(h0.valid_loss.values), atol=1e-6, rtol=0)

@pytest.mark.parametrize('sig', ['SIGINT', 'SIGTERM'])
def test_signal_leaves_no_report_and_the_last_checkpoint(tmp_path, sig):
    "An interrupted `medfast train` exits 130 with no metrics.json and a complete last checkpoint"
    import json, signal, subprocess, time
    from safetensors.torch import load_file
    out = tmp_path/'run'
    p = subprocess.Popen([str(BIN/'medfast'), 'train', '--data', str(_tiny_npz(tmp_path/'t.npz', (64, 16, 16))), '--out', str(out), '--arch', 'small_vgg',
                          '--size', '28', '--bs', '8', '--epochs', '200', '--lr', '1e-2'], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    t0 = time.time()
    while not list(out.glob('checkpoints/epoch-*')) and time.time() - t0 < 240 and p.poll() is None: time.sleep(0.2)
    p.send_signal(getattr(signal, sig))
    _, err = p.communicate(timeout=120)
    assert p.returncode == 130, err
    assert '--resume' in err and 'Traceback' not in err
    assert not (out/'metrics.json').exists() and not list(out.glob('.report-*')) and not (out/'model.safetensors').exists()
    cks = sorted((out/'checkpoints').iterdir())
    assert [c.name[:6] for c in cks] == ['epoch-'], cks  # one checkpoint, no half-written temporary folder
    state = json.loads((cks[0]/'state.json').read_text())
    assert state['epoch'] >= 1 and load_file(str(cks[0]/'model.safetensors'))

def test_pickle_only_when_asked(tmp_path, capsys):
    "--pickle writes learner.pkl and says what a pickle means; --overwrite clears that run"
    from medfast.cli import train_job
    kw = dict(data=str(_tiny_npz(tmp_path/'t.npz')), out=str(tmp_path/'run'), arch='small_vgg', size=28, bs=8, epochs=1, lr=1e-2, progress=False)
    train_job(pickle=True, **kw)
    assert (tmp_path/'run'/'learner.pkl').stat().st_size > 0 and 'runs any code it contains' in capsys.readouterr().out
    train_job(overwrite=True, **kw)
    assert not (tmp_path/'run'/'learner.pkl').exists() and (tmp_path/'run'/'model.safetensors').is_file()


def _train(*args, check=True):
    return run([str(BIN/'medfast'), 'train', '--arch', 'small_vgg', '--size', '32', '--bs', '16', '--epochs', '1', '--lr', '1e-2', *args], check=check)

def test_train_on_an_nih_label_table(tmp_path):
    "A multi-label NIH layout it has never seen: split by patient, per-label metrics.json, figures, thresholds kept in model.json"
    import json
    from medfast.phantoms import make_nih_chestxray
    root = make_nih_chestxray(tmp_path, n_patients=40, size=48, seed=3)
    csv = next(root.glob('*.csv'))
    r = _train('--data', str(csv), '--images', str(root/'images'), '--out', str(tmp_path/'run'))
    m = json.loads((tmp_path/'run'/'metrics.json').read_text())
    assert {'macro_auroc', 'macro_ap', 'per_label'} <= set(m['valid']) and m['test'] is None
    assert set(m['valid']['per_label']) == set(json.loads((tmp_path/'run'/'model.json').read_text())['vocab'])
    assert len(m['calibration']['temperature']) == len(m['valid']['per_label'])  # one temperature per label
    assert json.loads((tmp_path/'run'/'model.json').read_text())['decision']['thresholds'] is not None
    for f in ('per_label.csv', 'cooccurrence.png', 'confusion.png', 'gradcam.png', 'calibration.png'): assert (tmp_path/'run'/f).stat().st_size > 0, f
    assert 'macro_auroc' in r.stdout
    r = _train('--data', str(csv), '--out', str(tmp_path/'run2'), check=False)
    assert r.returncode == 2 and '--images DIR' in r.stderr, r.stderr

def test_train_on_a_multi_label_npz(tmp_path):
    "A ChestMNIST-style .npz (one 0/1 column per finding): validation picks, test scored once, per label"
    import json, numpy as np
    rng = np.random.default_rng(0)
    arrs = {}
    for s, n in [('train', 64), ('val', 24), ('test', 24)]:
        y = (rng.random((n, 3)) < 0.4).astype(np.uint8)
        arrs[f'{s}_images'] = (rng.integers(0, 50, (n, 28, 28)) + 60*y[:, :1, None]).astype(np.uint8)
        arrs[f'{s}_labels'] = y
    np.savez(tmp_path/'chest.npz', **arrs)
    _train('--data', str(tmp_path/'chest.npz'), '--labels', 'a,b,c', '--size', '28', '--out', str(tmp_path/'run'))
    m = json.loads((tmp_path/'run'/'metrics.json').read_text())
    assert sorted(m['test']['per_label']) == ['a', 'b', 'c'] and m['test']['n'] == 24
