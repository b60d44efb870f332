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
    root = make_chest_xray(tmp_path_factory.mktemp('ph'), counts={'train': {'NORMAL': 6, 'PNEUMONIA': 4}}, sz=32)
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

def test_impossible_ratio(good):
    with pytest.raises(ValueError, match='ratio=0 is impossible'): folder_dls(good, size=32, oversample_to=0)
