"Fuzzing the readers: seeded truncations and byte flips of valid PNG, JPEG, DICOM, npz and parquet files may fail only with medfast's `DataError`."
import io, warnings
from pathlib import Path
import numpy as np, pandas as pd, pytest
from PIL import Image
from medfast.core import DataError
from medfast.data import read_image, real_data
from medfast.dicom import write_dicom, dicom_image
from medfast.sources import medmnist_table, parquet_table
from medfast.phantoms import chest_xray_phantom, lung_ct_phantom, make_alzheimer_mri

N = 40  # mutations per file kind and source

def _mutations(data:bytes, seed:int, n:int=N):
    "n seeded damaged copies of `data`: truncations, byte flips, and flips of a truncation"
    rng = np.random.default_rng(seed)
    for i in range(n):
        b = bytearray(data[:rng.integers(0, len(data))] if i % 3 != 1 else data)
        if i % 3 and len(b):
            for j in rng.integers(0, len(b), rng.integers(1, 16)): b[j] ^= 1 << int(rng.integers(8))
        yield bytes(b)

def _png(): b = io.BytesIO(); Image.fromarray(chest_xray_phantom(48, seed=0)[0]).save(b, format='PNG'); return b.getvalue()
def _jpeg(): b = io.BytesIO(); Image.fromarray(chest_xray_phantom(48, seed=1)[0]).save(b, format='JPEG', quality=90); return b.getvalue()

def _dicom(tmp):
    return write_dicom(tmp/'ct.dcm', (lung_ct_phantom(32, seed=0)[0] + 1024).clip(0).astype(np.uint16), window=(-600, 1500)).read_bytes()

def _npz(tmp):
    rng = np.random.default_rng(0)
    arrays = {f'{s}_{k}': v for s in ('train', 'val') for k, v in (('images', rng.integers(0, 255, (6, 8, 8), dtype=np.uint8)), ('labels', np.array([[0], [1]]*3, np.uint8)))}
    np.savez_compressed(tmp/'m.npz', **arrays)
    return (tmp/'m.npz').read_bytes()

def _parquet(tmp):
    alz = make_alzheimer_mri(tmp, counts={'train': {'Non_Demented': 2, 'Mild_Demented': 2}}, size=16)
    return (alz/'data'/'train-00000-of-00001.parquet').read_bytes()

# how each kind is read through medfast's entry point, from a file at `fn`
READ = {'png': lambda fn: read_image(fn), 'jpeg': lambda fn: read_image(fn, 'RGB'), 'dcm': lambda fn: dicom_image(fn),
        'npz': lambda fn: medmnist_table(fn), 'parquet': lambda fn: parquet_table(fn)}

def _fuzz(tmp, kind:str, data:bytes, seed:int, n:int=N):
    "Read every mutation of `data`; return (successes, DataErrors); any other exception fails the test, naming the mutation"
    ok = bad = 0
    fn = tmp/(f'train-fuzz.{kind}' if kind == 'parquet' else f'fuzz.{kind}')
    for i, b in enumerate(_mutations(data, seed, n)):
        fn.write_bytes(b)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter('ignore')
                READ[kind](fn)
            ok += 1
        except DataError as e:
            assert str(e).startswith(f"{fn}: ") or 'row' in str(e), str(e)
            bad += 1
        except Exception as e:
            pytest.fail(f"{kind} mutation {i} (seed {seed}, {len(b)} of {len(data)} bytes) raised {type(e).__name__}: {e}")
    return ok, bad

@pytest.mark.parametrize('kind', ['png', 'jpeg', 'dcm', 'npz', 'parquet'])
def test_fuzz_generated(tmp_path, kind):
    make = {'png': _png, 'jpeg': _jpeg}.get(kind)
    data = make() if make else {'dcm': _dicom, 'npz': _npz, 'parquet': _parquet}[kind](tmp_path)
    ok, bad = _fuzz(tmp_path, kind, data, seed=0)
    assert bad > 0 and ok + bad == N  # damage is found, and nothing foreign escapes

def _real(name, pattern, k):
    p = real_data(name)
    if p is None: pytest.skip(f"real dataset {name!r} not found: set MEDFAST_DATA or provide ../shared/data/{name}")
    files = sorted(p.glob(pattern), key=lambda f: f.stat().st_size)[:k]
    if not files: pytest.skip(f"no {pattern} files in {p}")
    return files

@pytest.mark.parametrize('name,pattern,kind,k,n', [('dicom', '*.dcm', 'dcm', 4, 10), ('nih_chestxray14', 'images/*.png', 'png', 2, 8),
                                                 ('pneumoniamnist', '*.npz', 'npz', 1, 6)], ids=['dicom', 'nih png', 'pneumoniamnist'])
def test_fuzz_real(tmp_path, name, pattern, kind, k, n):
    for s, f in enumerate(_real(name, pattern, k)):
        ok, bad = _fuzz(tmp_path, kind, f.read_bytes(), seed=s, n=n)
        assert ok + bad == n, f.name
