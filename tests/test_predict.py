"`medfast predict` as a user runs it: a saved phantom model on images, a DICOM folder, a MedMNIST .npz and a folder with bad files"
import subprocess, sys
import numpy as np, pandas as pd
import pytest
from conftest import BIN
from PIL import Image
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid
from medfast.core import DataError
from medfast.phantoms import make_chest_xray
from medfast.data import folder_dls
from medfast.dicom import write_dicom
from medfast.models import small_vgg
from medfast.learner import classifier_learner
from medfast.export import save_model, load_model
from medfast.predict import predict_files, predict_main
from fastai.torch_core import set_seed

PREDICT = [str(BIN/'medfast'), 'predict']  # the installed console script, as a user runs it


@pytest.fixture(scope='module')
def case(tmp_path_factory):
    "A model trained on a phantom and saved; its validation images as PNG files, a DICOM folder and an .npz; a folder with three bad files"
    tmp = tmp_path_factory.mktemp('predict')
    set_seed(0)
    root = make_chest_xray(tmp, counts={'train': {'NORMAL': 16, 'PNEUMONIA': 16}, 'val': {'NORMAL': 5, 'PNEUMONIA': 5}}, size=28, seed=1)
    dls = folder_dls(root, size=28, bs=16, n_in=1, presize=1.0)
    learn = classifier_learner(dls, small_vgg, pretrained=False)
    with learn.no_bar(), learn.no_logging(): learn.fit(1, 1e-2)
    run = save_model(learn, tmp/'run')
    with learn.no_bar(): probs = learn.get_preds(dl=dls.valid.new(shuffle=False, drop_last=False))[0].numpy()
    files = [str(f) for f in dls.valid.items.file]
    pixels = [np.asarray(Image.open(f).convert('L')) for f in files]
    (tmp/'dicom').mkdir(); (tmp/'bad').mkdir()
    for i, a in enumerate(pixels): write_dicom(tmp/'dicom'/f'IM{i:04d}', a.astype(np.uint16), modality='CR', slope=1., intercept=0., window=(127.5, 255))
    np.savez(tmp/'val.npz', test_images=np.stack(pixels), test_labels=np.zeros((len(files), 1), np.uint8))
    Image.fromarray(pixels[0]).save(tmp/'bad'/'good.png')
    (tmp/'bad'/'corrupt.jpeg').write_bytes(open(files[0], 'rb').read()[:100])
    (tmp/'bad'/'readme.txt').write_text('not an image')
    sr = Dataset(); sr.file_meta = FileMetaDataset(); sr.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    sr.SOPClassUID = sr.file_meta.MediaStorageSOPClassUID = '1.2.840.10008.5.1.4.1.1.88.11'
    sr.SOPInstanceUID = sr.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    sr.Modality = 'SR'; sr.save_as(tmp/'bad'/'report.dcm', enforce_file_format=True)
    return dict(tmp=tmp, run=run, probs=probs, files=files, vocab=list(dls.vocab))


def test_command_reproduces_the_learners_probabilities(case):
    "One run of the command over PNG/JPEG files, a DICOM folder, an .npz and a bad folder: every image's row matches the learner to 1e-5, three skips counted"
    t = case['tmp']
    r = subprocess.run(PREDICT + ['--model', str(case['run']), *case['files'], str(t/'dicom'), str(t/'val.npz'), str(t/'bad'),
                                  '--out', str(t/'out'/'p.csv'), '--cpu'], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    df = pd.read_csv(t/'out'/'p.csv')
    n = len(case['files'])
    assert list(df.columns) == ['input', *[f'p_{v}' for v in case['vocab']], 'decision']
    assert len(df) == 3*n + 1
    cols = [f'p_{v}' for v in case['vocab']]
    for part in (df.iloc[:n], df.iloc[n:2*n], df.iloc[2*n:3*n]): np.testing.assert_allclose(part[cols].to_numpy(), case['probs'], atol=1e-5)
    assert df.input.iloc[2*n] == f"{t/'val.npz'}[test][0]"
    assert df.input.iloc[-1].endswith('good.png')
    assert (df.decision == np.array(case['vocab'])[df[cols].to_numpy().argmax(1)]).all()
    skipped = pd.read_csv(t/'out'/'p.skipped.csv')
    assert sorted(skipped.input.str.rsplit('/', n=1).str[-1]) == ['corrupt.jpeg', 'readme.txt', 'report.dcm']
    assert 'skipped 3 input(s)' in r.stdout and 'DICOM without pixel data' in r.stdout


def test_python_twin_gives_the_same_table(case):
    "predict_files on the model folder and on the loaded Learner agree with the command's learner"
    a = predict_files(case['run'], case['files'], progress=False)
    b = predict_files(load_model(case['run']), case['files'], bs=3, progress=False)
    np.testing.assert_allclose(a.iloc[:, 1:-1].to_numpy(), case['probs'], atol=1e-5)
    pd.testing.assert_frame_equal(a, b)


def test_bad_input_raises_with_its_name(case):
    "--on-bad raise stops at the first bad file with one line naming it; a missing model folder gives one clear line"
    with pytest.raises(DataError, match='corrupt.jpeg: cannot be read'): predict_files(case['run'], case['tmp']/'bad', on_bad='raise', progress=False)


def test_command_errors_are_one_line(case, capsys):
    t = case['tmp']
    assert predict_main(['--model', str(case['run']), str(t/'bad'), '--on-bad', 'raise', '--out', str(t/'x.csv')]) == 2
    assert predict_main(['--model', str(t/'missing-run'), str(t/'bad')]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 2 and 'corrupt.jpeg' in err[0] and 'model.json: no such file' in err[1], err


def test_train_then_predict_reproduces_the_report(tmp_path):
    "`medfast train` then `medfast predict` on the same validation images: the probabilities of the report's valid_predictions.csv to 1e-5"
    root = make_chest_xray(tmp_path, counts={'train': {'NORMAL': 16, 'PNEUMONIA': 16}, 'val': {'NORMAL': 5, 'PNEUMONIA': 5}}, size=32, seed=2)
    run = tmp_path/'run'
    r = subprocess.run([str(BIN/'medfast'), 'train', '--data', str(root), '--out', str(run), '--arch', 'small_vgg', '--size', '32',
                        '--bs', '8', '--epochs', '1', '--lr', '1e-2'], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    assert {'model.safetensors', 'model.json', 'calibration.png', 'gradcam.png', 'valid_predictions.csv'} <= {p.name for p in run.iterdir()}
    assert not list(run.glob('*.pkl'))
    rep = pd.read_csv(run/'valid_predictions.csv')
    r = subprocess.run(PREDICT + ['--model', str(run), *rep.input, '--out', str(tmp_path/'p.csv'), '--cpu'], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    got = pd.read_csv(tmp_path/'p.csv').set_index('input').loc[rep.input]
    cols = [c for c in rep.columns if c.startswith('p_')]
    np.testing.assert_allclose(got[cols].to_numpy(), rep[cols].to_numpy(), atol=1e-5)


def test_command_tta_on_a_model_folder(case, capsys):
    "`medfast predict --tta` on a saved folder: per-class TTA means that sum to one, an uncertainty column, decisions from the means; a format-1 folder gives one error line"
    import json, shutil
    t = case['tmp']
    r = subprocess.run(PREDICT + ['--model', str(case['run']), *case['files'], '--tta', '4', '--out', str(t/'tta.csv'), '--cpu'], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    df = pd.read_csv(t/'tta.csv')
    cols = [f'p_{v}' for v in case['vocab']]
    assert list(df.columns) == ['input', *cols, 'decision', 'uncertainty'] and len(df) == len(case['files'])
    np.testing.assert_allclose(df[cols].sum(axis=1), 1, atol=1e-5)
    assert (df.uncertainty >= 0).all() and (df.uncertainty > 0).any()
    assert np.abs(df[cols].to_numpy() - case['probs']).mean() < 0.2
    assert (df.decision == np.array(case['vocab'])[df[cols].to_numpy().argmax(1)]).all()
    old = t/'run-v1'; shutil.copytree(case['run'], old, dirs_exist_ok=True)
    info = json.loads((old/'model.json').read_text()); info.pop('augmentation'); info['format_version'] = 1
    (old/'model.json').write_text(json.dumps(info))
    assert predict_main(['--model', str(old), case['files'][0], '--tta', '--out', str(t/'x.csv')]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and 'records no augmentation preset' in err[0], err
