"Bad input on disk gets a clear error naming the file and the fix (a `DataError`), or an explicit, counted skip: one table of named cases per entry point."
import os, shutil, warnings
from pathlib import Path
import numpy as np, pandas as pd, pydicom, pytest
from PIL import Image
from medfast.core import DataError
from medfast.phantoms import make_chest_xray, make_nih_chestxray, make_alzheimer_mri
from medfast.data import scan_folders, folder_dls, read_image, table_dls
from medfast.sources import nih_table, nih_dls, parquet_table, read_medmnist, medmnist_table
from medfast.dicom import read_dicom, write_dicom, dicom_image

@pytest.fixture(scope='module')
def fx(tmp_path_factory):
    "Small valid inputs of every kind, made once: a split chest X-ray layout, an NIH layout, an Alzheimer parquet, a DICOM slice"
    root = tmp_path_factory.mktemp('fx')
    cxr = make_chest_xray(root, counts={'train': {'NORMAL': 6, 'PNEUMONIA': 4}, 'val': {'NORMAL': 2, 'PNEUMONIA': 2}}, size=32)
    nih = make_nih_chestxray(root, n_patients=6, size=32)
    alz = make_alzheimer_mri(root, counts={'train': {'Non_Demented': 3, 'Mild_Demented': 3}}, size=32)
    return dict(cxr=cxr, nih=nih, pq=alz/'data'/'train-00000-of-00001.parquet', jpeg=next((cxr/'train'/'NORMAL').iterdir()).read_bytes())

def _bare(d, fx):
    "A bare two-class copy of the training folder"
    shutil.copytree(fx['cxr']/'train', d/'xr')
    return d/'xr'

def _split(d, fx):
    "A copy of the split layout (train/ and val/)"
    shutil.copytree(fx['cxr'], d/'cx')
    return d/'cx'

def _scan(d, fx, damage):
    "scan_folders on a bare copy damaged by `damage(folder, jpeg bytes)`"
    x = _bare(d, fx); damage(x, fx['jpeg'])
    return lambda: scan_folders(x)

def _fdls(d, fx, damage, **kw):
    "folder_dls on a split copy damaged by `damage(folder)`"
    x = _split(d, fx); damage(x)
    return lambda: folder_dls(x, size=16, bs=2, **kw)

def _csv(d, fx, edit, **kw):
    "nih_table (or nih_dls with dls=True) on an edited copy of the phantom label file"
    df = edit(pd.read_csv(fx['nih']/'Data_Entry_2017.csv'))
    df.to_csv(d/'t.csv', index=False)
    if kw.pop('dls', False): return lambda: nih_dls(d/'t.csv', fx['nih']/'images', size=16, bs=2, **kw)
    return lambda: nih_table(d/'t.csv', fx['nih']/'images', **kw)

def _csv_text(d, text):
    (d/'t.csv').write_bytes(text)
    return lambda: nih_table(d/'t.csv')

def _pq(d, fx, edit, **kw):
    edit(pd.read_parquet(fx['pq'])).to_parquet(d/'train-x.parquet')
    return lambda: parquet_table(d/'train-x.parquet', **kw)

OK2 = dict(train_images=np.zeros((4, 8, 8), np.uint8), train_labels=np.array([[0], [1], [1], [0]], np.uint8),
           val_images=np.zeros((2, 8, 8), np.uint8), val_labels=np.array([[0], [1]], np.uint8))
OK3 = {**OK2, 'train_images': np.zeros((4, 8, 8, 8), np.uint8), 'val_images': np.zeros((2, 8, 8, 8), np.uint8)}

def _npz(d, base=OK2, table=False, vocab=None, **arrays):
    np.savez(d/'m.npz', **{**base, **arrays})
    return (lambda: medmnist_table(d/'m.npz', vocab)) if table else (lambda: read_medmnist(d/'m.npz', splits=('train', 'val')))

def _npz_bytes(d, data):
    (d/'m.npz').write_bytes(data)
    return lambda: read_medmnist(d/'m.npz')

def _truncated_npz(d):
    np.savez_compressed(d/'full.npz', **{**OK2, 'train_images': np.random.default_rng(0).integers(0, 255, (40, 28, 28), dtype=np.uint8)})
    return _npz_bytes(d, (d/'full.npz').read_bytes()[:3000])

def _dicom(d, edit=None, read=read_dicom):
    f = write_dicom(d/'x.dcm', np.arange(64, dtype=np.uint16).reshape(8, 8))
    if edit:
        ds = pydicom.dcmread(f); edit(ds); ds.save_as(f)
    return lambda: read(f)

def _jpegls(ds):
    from pydicom.uid import JPEGLSLossless
    ds.file_meta.TransferSyntaxUID = JPEGLSLossless
    ds.PixelData = pydicom.encaps.encapsulate([b'\xff\xd8\xff\xf7' + bytes(60)])

def _dicom_bytes(d, cut):
    f = write_dicom(d/'x.dcm', np.zeros((8, 8), np.uint16))
    f.write_bytes(cut(f.read_bytes()))
    return lambda: read_dicom(f)

def _dicom_folders(d, extra=None, **kw):
    for c in ('A', 'B'):
        (d/'dc'/c).mkdir(parents=True)
        for i in range(3): write_dicom(d/'dc'/c/f'{i}.dcm', np.full((16, 16), 100*i + (c == 'B')*500, np.uint16))
    if extra: extra(d/'dc')
    return lambda: folder_dls(d/'dc', size=16, bs=2, modality='ct', **kw)

def _fifo(x, j): os.mkfifo(x/'NORMAL'/'pipe.jpeg')

# (name, make(tmp folder, fixtures) -> callable that must raise, text the message must contain: 'file: reason')
CASES = [
    # class folders: scan_folders and folder_dls
    ('folder: zero-byte image',        lambda d, fx: _scan(d, fx, lambda x, j: (x/'NORMAL'/'z.jpeg').touch()), 'z.jpeg: empty file (0 bytes)'),
    ('folder: truncated jpeg',         lambda d, fx: _scan(d, fx, lambda x, j: (x/'NORMAL'/'t.jpeg').write_bytes(j[:200])), 't.jpeg: cannot be read as an image'),
    ('folder: corrupt jpeg',           lambda d, fx: _scan(d, fx, lambda x, j: (x/'NORMAL'/'c.jpeg').write_bytes(b'\xff\xd8\xff' + bytes(64))), 'c.jpeg: cannot be read as an image'),
    ('folder: text named .png',        lambda d, fx: _scan(d, fx, lambda x, j: (x/'NORMAL'/'x.png').write_text('hello')), 'x.png: cannot be read as an image'),
    ('folder: non-image file',         lambda d, fx: _scan(d, fx, lambda x, j: (x/'NORMAL'/'notes.txt').write_text('x')), "notes.txt: not an image file (extension '.txt')"),
    ('folder: fake dicom among jpegs', lambda d, fx: _scan(d, fx, lambda x, j: (x/'NORMAL'/'scan.dcm').write_bytes(b'DICM')), 'scan.dcm: not a readable DICOM file'),
    ('folder: dangling symlink',       lambda d, fx: _scan(d, fx, lambda x, j: (x/'NORMAL'/'l.jpeg').symlink_to(x/'gone.jpeg')), 'l.jpeg: a symbolic link whose target is missing'),
    ('folder: fifo',                   lambda d, fx: _scan(d, fx, _fifo), 'pipe.jpeg: not a regular file (a FIFO'),
    ('folder: png header only',        lambda d, fx: _scan(d, fx, lambda x, j: (x/'NORMAL'/'h.png').write_bytes(b'\x89PNG\r\n\x1a\n' + bytes(30))), 'h.png: cannot be read as an image'),
    ('folder: empty class folder',     lambda d, fx: _scan(d, fx, lambda x, j: (x/'EFFUSION').mkdir()), 'EFFUSION: class folder is empty'),
    ('folder: single class',           lambda d, fx: _scan(d, fx, lambda x, j: shutil.rmtree(x/'PNEUMONIA')), "found only the class 'NORMAL'"),
    ('folder: no class folders',       lambda d, fx: ((d/'flat').mkdir(), (d/'flat'/'a.jpeg').write_bytes(fx['jpeg']), lambda: scan_folders(d/'flat'))[-1], 'flat: no class folders'),
    ('folder: missing folder',         lambda d, fx: lambda: folder_dls(d/'nowhere'), 'nowhere: no such folder'),
    ('folder: a file, not a folder',   lambda d, fx: ((d/'f.jpeg').write_bytes(fx['jpeg']), lambda: folder_dls(d/'f.jpeg'))[-1], 'f.jpeg: no such folder'),
    ('folder: class only in val',      lambda d, fx: _fdls(d, fx, lambda x: shutil.copytree(x/'val'/'NORMAL', x/'val'/'EFFUSION')), "cx/: class(es) ['EFFUSION'] have validation items but no training items"),
    ('folder: val/normal vs NORMAL',   lambda d, fx: _fdls(d, fx, lambda x: (x/'val'/'NORMAL').rename(x/'val'/'normal')), "rename the folder(s) to match the training classes {'normal': 'NORMAL'}"),
    ('folder: patient regex misses',   lambda d, fx: _fdls(d, fx, lambda x: None, valid_pct=0.3, patient=r'^(person\d+)_'), 'IM-0001-0001.jpeg: the patient= pattern'),
    ('folder: empty validation',       lambda d, fx: (lambda x: lambda: table_dls(scan_folders(x).assign(is_valid=False), size=16, source='cx/'))(_split(d, fx)), 'cx/: the validation set is empty'),
    ('folder: dicom mixed with jpegs', lambda d, fx: _dicom_folders(d, lambda r: (r/'A'/'x.jpeg').write_bytes(fx['jpeg'])), "dc: mixes ['.dcm'] files with other images"),
    ('folder: dicom with a cache',     lambda d, fx: _dicom_folders(d, cache=d/'cache'), 'dc: the presized cache reads Pillow images'),
    ('folder: broken dicom in folder', lambda d, fx: _dicom_folders(d, lambda r: (r/'B'/'bad.dcm').write_bytes(b'\x00'*200)), 'bad.dcm: not a readable DICOM file'),
    ('image: missing file',            lambda d, fx: lambda: read_image(d/'missing.png'), 'missing.png: no such file'),
    ('image: a folder',                lambda d, fx: lambda: read_image(d), 'a folder, not a file'),
    # NIH label file
    ('nih: missing column',            lambda d, fx: _csv(d, fx, lambda df: df.drop(columns='Finding Labels')), "t.csv: missing columns ['Finding Labels']"),
    ('nih: unknown label',             lambda d, fx: _csv(d, fx, lambda df: df.assign(**{'Finding Labels': 'Covid'})), "t.csv: unknown labels ['Covid']"),
    ('nih: image not on disk',         lambda d, fx: _csv(d, fx, lambda df: df.assign(**{'Image Index': 'nope.png'})), 'nope.png: listed in the label file but not in the images folder'),
    ('nih: corrupt image',             lambda d, fx: ((d/'imgs').mkdir(), shutil.copytree(fx['nih']/'images', d/'imgs', dirs_exist_ok=True),
                                                      (d/'imgs'/sorted(os.listdir(d/'imgs'))[0]).write_bytes(b'x'*10),
                                                      lambda: nih_table(fx['nih']/'Data_Entry_2017.csv', d/'imgs'))[-1], 'cannot be read as an image'),
    ('nih: zero-byte csv',             lambda d, fx: _csv_text(d, b''), 't.csv: not a readable CSV table'),
    ('nih: header-only csv',           lambda d, fx: _csv_text(d, b'Image Index,Finding Labels,Patient ID\n'), 't.csv: the table has no rows'),
    ('nih: binary junk csv',           lambda d, fx: _csv_text(d, bytes(range(256))*4), 't.csv: '),
    ('nih: missing csv',               lambda d, fx: lambda: nih_table(d/'gone.csv'), 'gone.csv: no such file'),
    ('nih: one patient',               lambda d, fx: _csv(d, fx, lambda df: df[df['Patient ID'] == 1], dls=True), 't.csv: the patient split left the validation set empty'),
    ('nih: two patients',              lambda d, fx: _csv(d, fx, lambda df: df[df['Patient ID'] <= 2], dls=True), 't.csv: the patient split left the validation set empty'),
    # MedMNIST 2D
    ('npz2d: missing file',            lambda d, fx: lambda: read_medmnist(d/'none.npz'), 'none.npz: no such file'),
    ('npz2d: missing key',             lambda d, fx: (np.savez(d/'m.npz', train_images=OK2['train_images']), lambda: read_medmnist(d/'m.npz', ('train',)))[1], "m.npz: missing keys ['train_labels']"),
    ('npz2d: wrong label count',       lambda d, fx: _npz(d, train_labels=np.zeros((3, 1), np.uint8)), 'm.npz: train_labels has shape (3,) for 4 images'),
    ('npz2d: wrong image shape',       lambda d, fx: _npz(d, train_images=np.zeros((4, 8), np.uint8)), 'm.npz: train_images has shape (4, 8)'),
    ('npz2d: float images',            lambda d, fx: _npz(d, train_images=np.zeros((4, 8, 8), np.float32)), 'm.npz: train_images has shape (4, 8, 8) and dtype float32'),
    ('npz2d: no images',               lambda d, fx: _npz(d, train_images=np.zeros((0, 8, 8), np.uint8), train_labels=np.zeros((0, 1), np.uint8)), 'm.npz: train_images has shape (0, 8, 8)'),
    ('npz2d: text file',               lambda d, fx: _npz_bytes(d, b'x'), 'm.npz: not a readable .npz file'),
    ('npz2d: .npy named .npz',         lambda d, fx: (np.save(d/'a.npy', np.zeros(3)), (d/'a.npy').rename(d/'m.npz'), lambda: read_medmnist(d/'m.npz'))[-1], 'm.npz: a single .npy array'),
    ('npz2d: truncated',               lambda d, fx: _truncated_npz(d), 'm.npz: '),
    ('npz2d: label -1',                lambda d, fx: _npz(d, train_labels=np.array([[0], [-1], [1], [0]], np.int8)), 'm.npz: train_labels[1] is -1'),
    ('npz2d: label 0.7',               lambda d, fx: _npz(d, val_labels=np.array([[0.], [0.7]])), 'm.npz: val_labels[1] is 0.7'),
    ('npz2d: label NaN',               lambda d, fx: _npz(d, train_labels=np.array([[0], [np.nan], [1], [0]])), 'm.npz: train_labels[1] is nan'),
    ('npz2d: label 255 of 2 names',    lambda d, fx: _npz(d, table=True, vocab=['normal', 'pneumonia'], train_labels=np.array([[0], [1], [255], [0]], np.uint8)), 'm.npz: train_labels[2] is 255 beyond the 2 class names'),
    ('npz2d: label 255 unnamed',       lambda d, fx: _npz(d, table=True, train_labels=np.array([[0], [1], [255], [0]], np.uint8)), 'm.npz: labels run to 255 but'),
    ('npz2d: string labels',           lambda d, fx: _npz(d, train_labels=np.array(['a', 'b', 'a', 'b'])), 'm.npz: train_labels has dtype <U1'),
    ('npz2d: multi-label value 2',     lambda d, fx: _npz(d, train_labels=np.array([[0, 1], [2, 0], [1, 1], [0, 0]], np.uint8)), 'm.npz: train_labels[1, 0] is 2; multi-label columns hold 0 or 1'),
    ('npz2d: too few finding names',   lambda d, fx: _npz(d, table=True, vocab=['a'], train_labels=np.eye(4, 3, dtype=np.uint8), val_labels=np.eye(2, 3, dtype=np.uint8)), 'm.npz: train_labels has 3 columns for 1 finding names'),
    # MedMNIST 3D
    ('npz3d: label -1',                lambda d, fx: _npz(d, OK3, train_labels=np.array([[0], [-1], [1], [0]], np.int8)), 'm.npz: train_labels[1] is -1'),
    ('npz3d: label beyond names',      lambda d, fx: _npz(d, OK3, table=True, vocab=['liver', 'kidney'], val_labels=np.array([[0], [5]], np.uint8)), 'm.npz: val_labels[1] is 5 beyond the 2 class names'),
    ('npz3d: float volumes',           lambda d, fx: _npz(d, OK3, val_images=np.zeros((2, 8, 8, 8), np.float64)), 'm.npz: val_images has shape (2, 8, 8, 8) and dtype float64'),
    ('npz3d: 5-d volumes',             lambda d, fx: _npz(d, OK3, train_images=np.zeros((4, 8, 8, 8, 2), np.uint8)), 'm.npz: train_images has shape (4, 8, 8, 8, 2)'),
    ('npz3d: wrong label count',       lambda d, fx: _npz(d, OK3, val_labels=np.zeros((5, 1), np.uint8)), 'm.npz: val_labels has shape (5,) for 2 images'),
    # Hugging Face parquet
    ('parquet: wrong columns',         lambda d, fx: _pq(d, fx, lambda df: df.rename(columns={'label': 'y'})), "train-x.parquet: missing columns ['label']"),
    ('parquet: corrupt bytes',         lambda d, fx: _pq(d, fx, lambda df: df.assign(image=[{'bytes': b'x', 'path': None}]*len(df))), 'train-x.parquet row 0: cannot be read as an image'),
    ('parquet: missing bytes',         lambda d, fx: _pq(d, fx, lambda df: df.assign(image=[{'bytes': None, 'path': 'a.png'}]*len(df))), 'train-x.parquet row 0: empty file (0 bytes)'),
    ('parquet: labels beyond names',   lambda d, fx: _pq(d, fx, lambda df: df.assign(label=df.label + 4), vocab=list('abcd')), 'train-x.parquet: labels [4, '),
    ('parquet: float labels',          lambda d, fx: _pq(d, fx, lambda df: df.assign(label=df.label + 0.5)), 'train-x.parquet: label[0] is'),
    ('parquet: NaN labels',            lambda d, fx: _pq(d, fx, lambda df: df.assign(label=[np.nan] + list(df.label[1:]))), 'train-x.parquet: label[0] is nan'),
    ('parquet: negative labels',       lambda d, fx: _pq(d, fx, lambda df: df.assign(label=-1)), 'train-x.parquet: label[0] is -1'),
    ('parquet: string labels',         lambda d, fx: _pq(d, fx, lambda df: df.assign(label='cat')), "train-x.parquet: column 'label' holds"),
    ('parquet: junk file',             lambda d, fx: ((d/'train-j.parquet').write_bytes(b'PAR1' + bytes(40)), lambda: parquet_table(d/'train-j.parquet'))[-1], 'train-j.parquet: not a readable parquet file'),
    ('parquet: truncated file',        lambda d, fx: ((d/'train-t.parquet').write_bytes(fx['pq'].read_bytes()[:500]), lambda: parquet_table(d/'train-t.parquet'))[-1], 'train-t.parquet: not a readable parquet file'),
    ('parquet: missing file',          lambda d, fx: lambda: parquet_table(d/'train-none.parquet'), 'train-none.parquet: no such file'),
    ('parquet: folder without files',  lambda d, fx: ((d/'data').mkdir(), lambda: parquet_table(d/'data'))[-1], 'data: no .parquet files given or found'),
    # DICOM
    ('dicom: without pixels',          lambda d, fx: _dicom(d, lambda ds: delattr(ds, 'PixelData')), 'x.dcm: DICOM without pixel data'),
    ('dicom: unsupported syntax',      lambda d, fx: _dicom(d, _jpegls), 'x.dcm: cannot decode pixel data in transfer syntax JPEG-LS'),
    ('dicom: no PhotometricInterpretation', lambda d, fx: _dicom(d, lambda ds: delattr(ds, 'PhotometricInterpretation')), 'x.dcm: damaged pixel data or image header'),
    ('dicom: rows too many',           lambda d, fx: _dicom(d, lambda ds: setattr(ds, 'Rows', 64)), 'x.dcm: damaged pixel data or image header'),
    ('dicom: not dicom',               lambda d, fx: ((d/'x.dcm').write_bytes(b'\x00'*10), lambda: read_dicom(d/'x.dcm'))[1], 'x.dcm: not a readable DICOM file'),
    ('dicom: zero bytes',              lambda d, fx: ((d/'x.dcm').touch(), lambda: read_dicom(d/'x.dcm'))[1], 'x.dcm: empty file (0 bytes)'),
    ('dicom: truncated',               lambda d, fx: _dicom_bytes(d, lambda b: b[:300]), 'x.dcm: '),
    ('dicom: missing file',            lambda d, fx: lambda: read_dicom(d/'gone.dcm'), 'gone.dcm: no such file'),
    ('dicom: frame out of range',      lambda d, fx: (lambda f: lambda: dicom_image(f, frame=3))(write_dicom(d/'mf.dcm', np.zeros((2, 8, 8), np.uint16))), 'mf.dcm: frame=3 out of range'),
]

@pytest.mark.parametrize('make,msg', [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_raises_naming_file_and_fix(fx, tmp_path, make, msg):
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        f = make(tmp_path, fx)
        with pytest.raises(DataError) as e: f()
    err = e.value
    assert msg in str(err), str(err)
    assert str(err).startswith(f"{err.path}: ") and Path(str(err.path)).name, str(err)  # names the file (or folder) first
    assert err.fix and str(err).endswith(err.fix), f"no fix in: {err}"

SKIPPABLE = ['folder: zero-byte image', 'folder: truncated jpeg', 'folder: corrupt jpeg', 'folder: text named .png', 'folder: non-image file',
             'folder: fake dicom among jpegs', 'folder: dangling symlink', 'folder: fifo', 'folder: png header only']

@pytest.mark.parametrize('name', SKIPPABLE)
def test_bad_file_skipped_and_counted(fx, tmp_path, name):
    damage = next(c for c in CASES if c[0] == name)[1]
    scan = damage(tmp_path, fx)  # a scan of the damaged bare copy
    x = tmp_path/'xr'
    with pytest.raises(DataError) as e: scan()
    assert "on_bad='skip'" in e.value.fix  # the hint names an option that exists
    with pytest.warns(UserWarning, match='skipped 1 bad file'): df = scan_folders(x, on_bad='skip')
    assert len(df) == 10 and len(df.attrs['skipped']) == 1
    with pytest.warns(UserWarning, match='skipped 1 bad file'): dls = folder_dls(x, size=16, bs=2, on_bad='skip', valid_pct=0.3)
    assert dls.skipped.file.map(lambda f: Path(f).name).tolist() == [Path(e.value.path).name] and dls.skipped.reason[0] == e.value.reason

def test_csv_missing_image_skipped_and_counted(fx, tmp_path):
    df = pd.read_csv(fx['nih']/'Data_Entry_2017.csv')
    pd.concat([df, df.iloc[:1].assign(**{'Image Index': 'nope.png'})]).to_csv(tmp_path/'t.csv', index=False)
    with pytest.raises(DataError) as e: nih_table(tmp_path/'t.csv', fx['nih']/'images')
    assert "on_bad='skip'" in e.value.fix
    t = nih_table(tmp_path/'t.csv', fx['nih']/'images', on_bad='skip')
    assert len(t) == len(df) and [Path(s['file']).name for s in t.attrs['skipped']] == ['nope.png']

def test_parquet_bad_bytes_skipped_and_counted(fx, tmp_path):
    df = pd.read_parquet(fx['pq'])
    df.assign(image=[{'bytes': b'x', 'path': None}] + list(df.image[1:])).to_parquet(tmp_path/'train-x.parquet')
    with pytest.raises(DataError) as e: parquet_table(tmp_path/'train-x.parquet')
    assert "on_bad='skip'" in e.value.fix
    t = parquet_table(tmp_path/'train-x.parquet', on_bad='skip')
    assert len(t) == len(df) - 1 and [s['file'] for s in t.attrs['skipped']] == ['train-x.parquet row 0']

@pytest.mark.parametrize('call', [lambda p: scan_folders(p, on_bad='ignore'), lambda p: nih_table(p/'x.csv', on_bad='ignore'),
                                  lambda p: parquet_table(p, on_bad='ignore')], ids=['scan_folders', 'nih_table', 'parquet_table'])
def test_unknown_on_bad(tmp_path, call):
    with pytest.raises(ValueError, match="on_bad='ignore' must be 'raise' or 'skip'"): call(tmp_path)

def test_duplicates_across_split_warn_naming_files(fx, tmp_path):
    x = _split(tmp_path, fx)
    shutil.copy(next((x/'train'/'NORMAL').iterdir()), x/'val'/'NORMAL'/'copy.jpeg')
    with pytest.warns(UserWarning, match=r'1 exact duplicate\(s\) across training and validation \(IM-\d+-\d+\.jpeg = copy\.jpeg\)'):
        dls = folder_dls(x, size=16, bs=2)
    assert dls.leakage.kind.tolist() == ['exact duplicate']
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        assert folder_dls(x, size=16, bs=2, audit=False).leakage is None

def test_rgb_and_channel_npz_are_2d_and_volumes_3d(tmp_path):
    for name, shape, ndim in (('rgb', (4, 8, 8, 3), 2), ('chan', (4, 8, 8, 1), 2), ('vol', (4, 8, 8, 8), 3)):
        np.savez(tmp_path/f'{name}.npz', **{**OK2, 'train_images': np.zeros(shape, np.uint8), 'val_images': np.zeros((2, *shape[1:]), np.uint8)})
        assert medmnist_table(tmp_path/f'{name}.npz').attrs['ndim'] == ndim, name

def test_dicom_window_width_zero_and_nan_pixels_read(tmp_path):
    f = write_dicom(tmp_path/'w.dcm', np.arange(64, dtype=np.uint16).reshape(8, 8), modality='MR', window=(40, 0))
    assert np.asarray(dicom_image(f)).std() > 0
    Image.fromarray(np.array([[0., np.nan], [1., 2.]], np.float32)).save(tmp_path/'n.tiff')
    assert np.asarray(read_image(tmp_path/'n.tiff')).tolist() == [[0, 0], [128, 255]]

def test_decompression_bomb(tmp_path, monkeypatch):
    Image.fromarray(np.zeros((64, 64), np.uint8)).save(tmp_path/'big.png')
    monkeypatch.setattr(Image, 'MAX_IMAGE_PIXELS', 100)
    with pytest.raises(DataError, match='big.png: .*MAX_IMAGE_PIXELS'): read_image(tmp_path/'big.png')

def test_impossible_oversample_to(fx):
    with pytest.raises(ValueError, match='oversample_to=0 is impossible'): folder_dls(fx['cxr'], size=16, oversample_to=0)

def test_matrix_is_large_enough(): assert len(CASES) >= 50
