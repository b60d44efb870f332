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
    "`medfast train` on a small phantom set writes metrics.json with the summary and per-class table, figures and weights"
    import json
    from medfast.phantoms import make_chest_xray
    data = make_chest_xray(tmp_path/'ph', counts={'train': {'NORMAL': 20, 'PNEUMONIA': 40}, 'val': {'NORMAL': 8, 'PNEUMONIA': 8}}, size=48)
    out = tmp_path/'run'
    r = run([str(BIN/'medfast'), 'train', '--data', str(data), '--out', str(out), '--size', '32', '--epochs', '1',
             '--freeze-epochs', '1', '--lr', '1e-3', '--balance', 'weighted'])
    m = json.loads((out/'metrics.json').read_text())
    assert {'accuracy', 'balanced_accuracy', 'macro_f1', 'auroc', 'per_class'} <= set(m)
    assert m['per_class']['NORMAL']['support'] == 8
    for f in ['confusion.png', 'roc_pr.png', 'model.pth', 'learner.pkl', 'history.csv']: assert (out/f).stat().st_size > 0, f

def test_train_bad_arguments(tmp_path):
    for args, msg in [(['--arch', 'resnet_17'], "arch='resnet_17' is neither"), (['--data', str(tmp_path/'none.npz')], 'none.npz: no such file')]:
        r = run([str(BIN/'medfast'), 'train', '--out', str(tmp_path), *args], check=False)
        assert r.returncode == 2 and r.stderr.startswith('medfast: error:') and msg in r.stderr and 'Traceback' not in r.stderr, (args, r.stderr)
