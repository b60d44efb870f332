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
    for args, msg in [(['--data', str(tmp_path/'missing')], 'missing: no such folder'),
                      (['--oversample-to', '1.5'], 'oversample_to=1.5 is impossible'),
                      (['--modality', 'sonar'], "modality='sonar' is unknown"),
                      (['--valid', 'holdout'], "no rows in split folder(s) ['holdout']")]:
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
    assert set(m) == {'valid', 'test', 'run'} and m['test'] is None  # this layout has no test/ folder
    assert {'accuracy', 'balanced_accuracy', 'macro_f1', 'mcc', 'auroc', 'per_class'} <= set(m['valid'])
    assert m['valid']['per_class']['NORMAL']['support'] == 8 and m['run']['args']['balance'] == 'weighted'
    assert r.stdout.splitlines()[-1].split()[0] == 'auroc' and 'valid' in r.stdout.splitlines()[-6]  # ends with the metrics table
    import re
    assert not re.search(r'\d+\.\d+% \[\d+/\d+', r.stdout + r.stderr), 'progress-bar frames in a pipe'
    assert sum(l.startswith('epoch ') for l in r.stdout.splitlines()) == 2  # one plain line per epoch (1 frozen + 1 unfrozen)
    for f in ['confusion.png', 'roc_pr.png', 'model.pth', 'learner.pkl', 'history.csv']: assert (out/f).stat().st_size > 0, f

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
    assert (out/'learner.pkl').is_file() and (out/'model.pth').is_file() and not (out/'run').exists()
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
             '--freeze-epochs', '0', '--lr', '1e-3', '--arch', 'resnet18', '--no-pretrained'], env={**os.environ, 'MEDFAST_CACHE': str(cache)})
        assert len(list((cache/'presized').glob('*.png'))) == cached, data
