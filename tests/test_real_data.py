"The real reference data in ../shared/data (or $MEDFAST_DATA) loads as documented; skipped where absent."
import numpy as np, pytest
from medfast.data import real_data, read_image

def _need(name):
    p = real_data(name)
    if p is None: pytest.skip(f"real dataset {name!r} not found: set MEDFAST_DATA or provide ../shared/data/{name}")
    return p

def test_pneumoniamnist_official_counts():
    from medfast.sources import read_medmnist
    d = read_medmnist(_need('pneumoniamnist')/'pneumoniamnist.npz')
    assert {s: len(y) for s, (x, y) in d.items()} == {'train': 4708, 'val': 524, 'test': 624}
    assert np.bincount(d['train'][1]).tolist() == [1214, 3494] and d['train'][0].shape[1:] == (28, 28)

def test_nih_107_images_and_rgba():
    from medfast.sources import nih_table, NIH_LABELS
    p = _need('nih_chestxray14')
    t = nih_table(p/'labels.csv', p/'images')
    assert len(t) == 107 and t.label.str.split('|').explode().replace('', np.nan).dropna().isin(NIH_LABELS).all()
    assert all(read_image(f).mode == 'L' for f in t.file[:10])

def test_nih_full_table_splits_by_patient():
    from medfast.sources import nih_table
    from medfast.sampling import patient_split
    t = patient_split(nih_table(_need('nih_chestxray14')/'Data_Entry_2017_v2020.csv.gz'), 0.2, label_delim='|', seed=0)
    assert len(t) == 112_120 and not set(t[t.is_valid].patient) & set(t[~t.is_valid].patient)
    assert 0.15 < t.is_valid.mean() < 0.25

def test_all_real_dicoms_display():
    from medfast.dicom import dicom_image
    files = sorted(_need('dicom').glob('*.dcm'))
    assert len(files) == 10
    for f in files:
        a = np.asarray(dicom_image(f).convert('L'))
        assert a.std() > 20 and ((a > 10) & (a < 245)).mean() > 0.15, f.name

def test_real_dicom_class_folders_through_folder_dls(tmp_path):
    "The real DICOM files (CT, MR, CR, US: different sizes, bit depths, compressions) as class folders read through folder_dls"
    import shutil
    from medfast.data import folder_dls
    import medfast.dicom  # registers .dcm with folder_dls
    files = {f.name: f for f in _need('dicom').glob('*.dcm')}
    groups = {'CR': ['siim_acr_pneumothorax_1.2.276.0.7230010.3.1.4.8323329.6904.1517875201.850819.dcm', 'torchxrayvision_Fake_MONOHR1.dcm'],
              'MR_CT': ['MR-SIEMENS-DICOM-WithOverlays.dcm', 'emri_small.dcm', '693_UNCI.dcm', 'US1_UNCI.dcm']}  # the smaller files, of every kind but JPEG 2000
    for c, names in groups.items():
        (tmp_path/'dc'/c).mkdir(parents=True)
        for n in names: shutil.copy(files[n], tmp_path/'dc'/c/n)
    dls = folder_dls(tmp_path/'dc', size=32, bs=2, n_in=1, presize=1, valid_pct=0.5, modality='xray', patient=None, seed=0)
    xb, yb = dls.one_batch()
    assert tuple(xb.shape) == (2, 1, 32, 32) and dls.vocab == ['CR', 'MR_CT'] and len(dls.items) == 6
    assert len(dls.valid_ds) >= 2 and len(dls.skipped) == 0
    assert xb.std() > 0.05  # windowed images, not blank
