"Bad input on disk gets a clear error naming the file and the fix, or an explicit, counted skip."
import shutil, warnings
from pathlib import Path
import numpy as np, pytest
from PIL import Image
from medfast.phantoms import make_chest_xray
from medfast.data import scan_folders, folder_dls, read_image, DataError

@pytest.fixture(scope='module')
def good(tmp_path_factory):
    "A small, valid bare two-class layout"
    root = make_chest_xray(tmp_path_factory.mktemp('ph'), counts={'train': {'NORMAL': 6, 'PNEUMONIA': 4}}, size=32)
    return root/'train'

def _jpeg(good): return next((good/'NORMAL').iterdir()).read_bytes()

# (name, how to damage a copy of the layout, text the error must contain)
CASES = [
    ('zero-byte image',     lambda d, j: (d/'NORMAL'/'z.jpeg').touch(),                               'z.jpeg: empty file (0 bytes)'),
    ('truncated jpeg',      lambda d, j: (d/'NORMAL'/'t.jpeg').write_bytes(j[:200]),                  't.jpeg: cannot be read as an image'),
    ('corrupt jpeg',        lambda d, j: (d/'NORMAL'/'c.jpeg').write_bytes(b'\xff\xd8\xff' + bytes(64)), 'c.jpeg: cannot be read as an image'),
    ('text named .png',     lambda d, j: (d/'NORMAL'/'x.png').write_text('hello'),                    'x.png: cannot be read as an image'),
    ('non-image file',      lambda d, j: (d/'NORMAL'/'notes.txt').write_text('x'),                    "notes.txt: not an image file (extension '.txt')"),
    ('dicom among jpegs',   lambda d, j: (d/'NORMAL'/'scan.dcm').write_bytes(b'DICM'),                "scan.dcm: not an image file (extension '.dcm')"),
    ('empty class folder',  lambda d, j: (d/'EFFUSION').mkdir(),                                      'EFFUSION: class folder is empty'),
    ('single class',        lambda d, j: shutil.rmtree(d/'PNEUMONIA'),                                "found only the class 'NORMAL'"),
]

@pytest.mark.parametrize('name,damage,msg', CASES, ids=[c[0] for c in CASES])
def test_bad_file_raises_naming_it(good, tmp_path, name, damage, msg):
    d = tmp_path/'xr'; shutil.copytree(good, d)
    damage(d, _jpeg(good))
    with pytest.raises(DataError, match='.*') as e: scan_folders(d)
    assert msg in str(e.value), str(e.value)

SKIPPABLE = [c for c in CASES if c[0] not in ('empty class folder', 'single class')]

@pytest.mark.parametrize('name,damage,msg', SKIPPABLE, ids=[c[0] for c in SKIPPABLE])
def test_bad_file_skipped_and_counted(good, tmp_path, name, damage, msg):
    d = tmp_path/'xr'; shutil.copytree(good, d)
    damage(d, _jpeg(good))
    with pytest.warns(UserWarning, match='skipped 1 bad file'): df = scan_folders(d, on_bad='skip')
    assert len(df) == 10 and len(df.attrs['skipped']) == 1

def test_missing_path(tmp_path):
    with pytest.raises(DataError, match='nowhere: no such folder'): scan_folders(tmp_path/'nowhere')

def test_decompression_bomb(tmp_path, monkeypatch):
    Image.fromarray(np.zeros((64, 64), np.uint8)).save(tmp_path/'big.png')
    monkeypatch.setattr(Image, 'MAX_IMAGE_PIXELS', 100)  # 64*64 > 2*100: Pillow raises DecompressionBombError
    with pytest.raises(DataError, match='big.png: .*MAX_IMAGE_PIXELS'): read_image(tmp_path/'big.png')

@pytest.mark.parametrize('mode,arr', [('I;16', np.arange(4096, dtype=np.uint16).reshape(64, 64) + 1000),
                                      ('RGBA', np.full((8, 8, 4), 90, np.uint8)),
                                      ('P', None)])
def test_awkward_formats_read_as_8bit_gray(tmp_path, mode, arr):
    im = Image.fromarray(np.full((8, 8), 7, np.uint8)).convert('P') if arr is None else Image.fromarray(arr)
    im.save(tmp_path/'a.png')
    out = read_image(tmp_path/'a.png')
    assert out.mode == 'L'
    if mode == 'I;16': assert np.asarray(out).min() == 0 and np.asarray(out).max() == 255

def test_impossible_oversample_to(good):
    with pytest.raises(ValueError, match='oversample_to=0 is impossible'): folder_dls(good, size=32, oversample_to=0)

def test_error_carries_path_reason_fix(good, tmp_path):
    d = tmp_path/'xr'; shutil.copytree(good, d)
    (d/'NORMAL'/'z.jpeg').touch()
    with pytest.raises(DataError) as e: scan_folders(d)
    assert (e.value.path.name, e.value.reason) == ('z.jpeg', 'empty file (0 bytes)') and "on_bad='skip'" in e.value.fix

# ---- the matrix across every source layout: (name, make the bad input in tmp folder -> callable that must fail, text the error must contain)
import pandas as pd
from medfast.phantoms import make_nih_chestxray, make_alzheimer_mri
from medfast.sources import nih_table, parquet_table, read_medmnist
from medfast.dicom import read_dicom, write_dicom

@pytest.fixture(scope='module')
def nih(tmp_path_factory): return make_nih_chestxray(tmp_path_factory.mktemp('nih'), n_patients=6, size=32)

@pytest.fixture(scope='module')
def alz(tmp_path_factory): return make_alzheimer_mri(tmp_path_factory.mktemp('alz'), counts={'train': {'Non_Demented': 3, 'Mild_Demented': 3}}, size=32)

def _csv(nih, d, fn):
    df = fn(pd.read_csv(nih/'Data_Entry_2017.csv')); df.to_csv(d/'t.csv', index=False)
    return lambda: nih_table(d/'t.csv', nih/'images')

def _pq(alz, d, fn):
    fn(pd.read_parquet(alz/'data'/'train-00000-of-00001.parquet')).to_parquet(d/'train-x.parquet')
    return lambda: parquet_table(d/'train-x.parquet')

def _npz(d, **arrays):
    ok = dict(train_images=np.zeros((4, 8, 8), np.uint8), train_labels=np.zeros((4, 1), np.uint8))
    np.savez(d/'m.npz', **{**ok, **arrays})
    return lambda: read_medmnist(d/'m.npz', splits=('train',))

def _dicom(d, fn):
    f = write_dicom(d/'x.dcm', np.zeros((8, 8), np.uint16)); fn(f)
    return lambda: read_dicom(f)

def _no_pixels(f):
    import pydicom
    ds = pydicom.dcmread(f); del ds.PixelData; ds.save_as(f)

def _jpegls(f):
    import pydicom
    from pydicom.uid import JPEGLSLossless
    ds = pydicom.dcmread(f); ds.file_meta.TransferSyntaxUID = JPEGLSLossless
    ds.PixelData = pydicom.encaps.encapsulate([b'\xff\xd8\xff\xf7' + bytes(60)]); ds.save_as(f, enforce_file_format=True)

SOURCES = [
    ('csv missing column',      lambda d, nih, alz: _csv(nih, d, lambda df: df.drop(columns='Finding Labels')), "missing columns ['Finding Labels']"),
    ('csv unknown label',       lambda d, nih, alz: _csv(nih, d, lambda df: df.assign(**{'Finding Labels': 'Covid'})), "unknown labels ['Covid']"),
    ('csv image not on disk',   lambda d, nih, alz: _csv(nih, d, lambda df: df.assign(**{'Image Index': 'nope.png'})), 'nope.png: listed in the label file but not in the images folder'),
    ('parquet wrong columns',   lambda d, nih, alz: _pq(alz, d, lambda df: df.rename(columns={'label': 'y'})), "missing columns ['label']"),
    ('parquet corrupt bytes',   lambda d, nih, alz: _pq(alz, d, lambda df: df.assign(image=[{'bytes': b'x', 'path': None}]*len(df))), 'train-x.parquet row 0: cannot be read as an image'),
    ('npz missing key',         lambda d, nih, alz: (np.savez(d/'m.npz', train_images=np.zeros((4, 8, 8), np.uint8)), lambda: read_medmnist(d/'m.npz', ('train',)))[1], "missing keys ['train_labels']"),
    ('npz wrong label shape',   lambda d, nih, alz: _npz(d, train_labels=np.zeros((3, 1), np.uint8)), 'train_labels has shape (3,) for 4 images'),
    ('npz wrong image shape',   lambda d, nih, alz: _npz(d, train_images=np.zeros((4, 8), np.uint8)), 'train_images has shape (4, 8)'),
    ('npz not an npz',          lambda d, nih, alz: ((d/'m.npz').write_text('x'), lambda: read_medmnist(d/'m.npz'))[1], 'm.npz: not a readable .npz file'),
    ('dicom without pixels',    lambda d, nih, alz: _dicom(d, _no_pixels), 'x.dcm: DICOM without pixel data'),
    ('dicom unsupported syntax', lambda d, nih, alz: _dicom(d, _jpegls), 'x.dcm: cannot decode pixel data in transfer syntax JPEG-LS'),
    ('dicom not dicom',         lambda d, nih, alz: ((d/'x.dcm').write_bytes(b'\x00'*10), lambda: read_dicom(d/'x.dcm'))[1], 'x.dcm: not a readable DICOM file'),
    ('nonexistent dicom',       lambda d, nih, alz: lambda: read_dicom(d/'gone.dcm'), 'gone.dcm: no such file'),
]

@pytest.mark.parametrize('name,make,msg', SOURCES, ids=[c[0] for c in SOURCES])
def test_source_bad_input_raises_naming_it(nih, alz, tmp_path, name, make, msg):
    with pytest.raises(DataError) as e: make(tmp_path, nih, alz)()
    assert msg in str(e.value), str(e.value)

def test_csv_missing_image_skipped_and_counted(nih, tmp_path):
    df = pd.read_csv(nih/'Data_Entry_2017.csv')
    pd.concat([df, df.iloc[:1].assign(**{'Image Index': 'nope.png'})]).to_csv(tmp_path/'t.csv', index=False)
    t = nih_table(tmp_path/'t.csv', nih/'images', on_bad='skip')
    assert len(t) == len(df) and [Path(s['file']).name for s in t.attrs['skipped']] == ['nope.png']

def test_parquet_bad_bytes_skipped_and_counted(alz, tmp_path):
    df = pd.read_parquet(alz/'data'/'train-00000-of-00001.parquet')
    df.assign(image=[{'bytes': b'x', 'path': None}] + list(df.image[1:])).to_parquet(tmp_path/'train-x.parquet')
    t = parquet_table(tmp_path/'train-x.parquet', on_bad='skip')
    assert len(t) == len(df) - 1 and [s['file'] for s in t.attrs['skipped']] == ['train-x.parquet row 0']

def test_matrix_is_large_enough(): assert len(CASES) + len(SOURCES) + 3 >= 15
