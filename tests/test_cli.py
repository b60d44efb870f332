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
                      (['--oversample-to', '1.5'], 'ratio=1.5 is impossible'),
                      (['--modality', 'sonar'], "modality='sonar' is unknown"),
                      (['--valid', 'holdout'], "no rows in split folder(s) ['holdout']")]:
        r = run([str(BIN/'medfast'), 'data', '--out', str(tmp_path), '--size', '32', *args], check=False)
        assert r.returncode == 2, (args, r.stderr)
        assert r.stderr.count('\n') == 1 and r.stderr.startswith('medfast: error:') and msg in r.stderr, (args, r.stderr)
        assert 'Traceback' not in r.stderr

def test_unknown_job_is_an_argparse_error():
    r = run([str(BIN/'medfast'), 'fly'], check=False)
    assert r.returncode == 2 and 'invalid choice' in r.stderr
