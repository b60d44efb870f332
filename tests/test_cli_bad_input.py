"`medfast` command-line mistakes, table-driven: each ends with exit status 2 and one message naming the file or flag at fault and the fix."
import json
import numpy as np, pytest
from medfast.cli import main
from medfast.phantoms import make_chest_xray

@pytest.fixture(scope='module')
def ph(tmp_path_factory):
    "A small phantom pneumonia layout (38 training images), written once"
    return make_chest_xray(tmp_path_factory.mktemp('ph'), counts={'train': {'NORMAL': 14, 'PNEUMONIA': 24}, 'val': {'NORMAL': 4, 'PNEUMONIA': 4}}, size=32, seed=3)

def _layout(root, counts):
    "A class-folder layout with the given images per split and class"
    from PIL import Image
    rng = np.random.default_rng(0)
    for split, cls in counts.items():
        for c, n in cls.items():
            (root/split/c).mkdir(parents=True, exist_ok=True)
            for i in range(n): Image.fromarray(rng.integers(0, 255, (32, 32), dtype=np.uint8)).save(root/split/c/f"{i}.png")
    return root

def _npz(fn):
    rng = np.random.default_rng(0)
    np.savez(fn, **{f'{s}_{k}': (rng.integers(0, 255, (n, 28, 28)) if k == 'images' else rng.integers(0, 2, (n, 1))).astype(np.uint8)
                    for s, n in (('train', 20), ('val', 8), ('test', 8)) for k in ('images', 'labels')})
    return fn

def _earlier_run(d): d.mkdir(); (d/'metrics.json').write_text('{}'); return d
def _foreign(d): d.mkdir(); (d/'metrics.json').write_text('{}'); (d/'thesis.docx').write_text('x'); return d
def _corrupt(root):
    _layout(root, {'train': {'a': 10, 'b': 10}, 'val': {'a': 3, 'b': 3}})
    (root/'train'/'a'/'broken.png').write_bytes(b'\x89PNG\r\n\x1a\n' + b'\x00'*20)
    return root

# name: (argv after `medfast train`, with {ph} {tmp} placeholders and callables run first; strings the message must hold)
CASES = {
    'zero-training-steps':     (['--data', '{ph}', '--bs', '64'], ['38 training images', 'no full batch of 64', 'zero steps', '--bs 16']),
    'lr-zero':                 (['--lr', '0'], ['--lr', 'not a positive rate', '--lr 1e-3']),
    'lr-negative':             (['--lr=-1e-3'], ['--lr', 'not a positive rate', '--lr find']),
    'lr-not-a-number':         (['--lr', 'abc'], ["--lr: 'abc' is not a number", '--lr 1e-3']),
    'lr-infinite':             (['--lr', 'inf'], ['--lr', 'not a positive rate']),
    'tolerance-not-a-number':  (['--tolerance', '1se'], ["--tolerance: '1se' is not a number", '--tolerance se', '0 (the single best epoch)']),
    'tolerance-negative':      (['--tolerance=-0.01'], ['--tolerance', 'not a tolerance >= 0', '--tolerance 0']),
    'bs-zero':                 (['--bs', '0'], ['--bs: 0 is below 1', 'pass 1 or more']),
    'bs-not-a-number':         (['--bs', 'x'], ["--bs: 'x' is not a whole number"]),
    'size-zero':               (['--size', '0'], ['--size: 0 is below 1']),
    'epochs-negative':         (['--epochs', '-1'], ['--epochs: -1 is below 0', 'pass 0 or more']),
    'balance-unknown':         (['--balance', 'smote'], ['--balance', "invalid choice: 'smote'", 'oversample']),
    'on-bad-unknown':          (['--on-bad', 'maybe'], ['--on-bad', "invalid choice: 'maybe'", 'skip']),
    'arch-unknown':            (['--data', '{ph}', '--arch', 'resnet_17'], ["arch='resnet_17' is neither", 'try small_vgg']),
    'data-missing-folder':     (['--data', '{tmp}/nowhere'], ['nowhere: no such folder', 'pass the folder that holds the class folders']),
    'data-missing-npz':        (['--data', '{tmp}/none.npz'], ['none.npz: no such file', 'check the path']),
    'valid-folder-missing':    (['--data', '{ph}', '--valid', 'holdout'], ["no validation folder 'holdout'", '--valid', "'val'"]),
    'class-missing-in-train':  (['--data', (_layout, {'train': {'a': 8, 'b': 8}, 'val': {'a': 2, 'b': 2, 'c': 2}})], ["['c'] have validation items but no training items", 'add training items']),
    'class-missing-in-valid':  (['--data', (_layout, {'train': {'a': 8, 'b': 8, 'c': 8}, 'val': {'a': 2, 'b': 2}})], ["class 'c' has no validation images", '--valid val,test']),
    'bad-image-names-the-flag': (['--data', (_corrupt,)], ['broken.png', '--on-bad skip']),
    'out-is-a-file':           (['--out', '{tmp}/afile'], ['afile: is a file, not a folder', 'pass a new or empty folder to --out']),
    'out-under-a-file':        (['--out', '{tmp}/afile/run'], ['run: cannot be written', 'pass a folder you can write to --out']),
    'out-holds-earlier-run':   (['--out', (_earlier_run,)], ["holds an earlier run's files (metrics.json)", '--overwrite', '--resume']),
    'overwrite-foreign-files': (['--out', (_foreign,), '--overwrite'], ['holds files medfast did not write (thesis.docx)', 'new or empty folder to --out']),
    'resume-nothing':          (['--out', '{tmp}/fresh', '--resume'], ['run.json: no such file', 'without --resume']),
    'resume-and-overwrite':    (['--out', (_earlier_run,), '--resume', '--overwrite'], ['--overwrite and --resume exclude each other']),
}

def _argv(args, tmp, ph):
    res = []
    for a in args:
        if isinstance(a, tuple): f, *rest = a; res.append(str(f(tmp/f'made-{len(res)}', *rest)))
        else: res.append(a.format(tmp=tmp, ph=ph))
    return res

@pytest.mark.parametrize('name', list(CASES))
def test_bad_train_input(name, ph, tmp_path, capsys):
    (tmp_path/'afile').write_text('not a folder')
    args, expected = CASES[name]
    argv = ['train', '--out', str(tmp_path/'run'), '--size', '28', '--epochs', '1', '--arch', 'small_vgg', '--lr', '1e-2', '--bs', '4']
    try: status = main(argv + _argv(args, tmp_path, ph))  # later flags win
    except SystemExit as e: status = e.code
    err = capsys.readouterr().err
    assert status == 2, (name, err)
    assert 'Traceback' not in err and 'error:' in err.strip().splitlines()[-1], err
    for s in expected: assert s in err, (name, s, err)

def test_data_job_refuses_a_file(tmp_path, capsys):
    assert main(['data', '--data', str(_npz(tmp_path/'x.npz')), '--out', str(tmp_path/'o')]) == 2
    err = capsys.readouterr().err
    assert 'x.npz: is a file; medfast data reads class folders' in err and 'medfast train --data' in err

def test_on_bad_skip_is_the_way_out(tmp_path, capsys):
    "The flag the error names works: the corrupt image is skipped and counted, and training runs"
    data = _corrupt(tmp_path/'c')
    with pytest.warns(UserWarning, match=r'skipped 1 bad file'):
        assert main(['train', '--data', str(data), '--out', str(tmp_path/'run'), '--size', '28', '--epochs', '1', '--arch', 'small_vgg', '--lr', '1e-2', '--bs', '8', '--on-bad', 'skip']) == 0
    assert json.loads((tmp_path/'run'/'metrics.json').read_text())['valid']['n'] == 6
