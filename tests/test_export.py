"The model format: weights as safetensors, the rest as JSON, loaded without unpickling (medfast.export)."
import json, pickle, shutil
from pathlib import Path
import numpy as np, pytest, torch
from medfast.core import DataError
from medfast.phantoms import make_chest_xray
from medfast.data import folder_dls, table_dls
from medfast.learner import classifier_learner, fine_tune_recipe
from medfast.models import small_vgg
from medfast.export import save_model, load_model, write_atomic
from fastai.torch_core import set_seed

@pytest.fixture(scope='module')
def phantom(tmp_path_factory):
    return make_chest_xray(tmp_path_factory.mktemp('ph'), counts={'train': {'NORMAL': 12, 'PNEUMONIA': 20}, 'val': {'NORMAL': 6, 'PNEUMONIA': 6}}, size=40, seed=1)

def _preds(learn, dl):
    with learn.no_bar(): return learn.get_preds(dl=dl)[0]

@pytest.mark.parametrize('arch,pretrained,n_in', [('small_vgg', False, 1), ('resnet18', False, 3), ('tf_efficientnet_lite0', True, 1)])
def test_loaded_model_predicts_like_the_trained_one(phantom, tmp_path, arch, pretrained, n_in):
    "medfast, fastai and timm architectures (the last with offline ImageNet weights and its Normalize) round-trip to 1e-5"
    from medfast.export import arch_from_name
    set_seed(0)
    dls = folder_dls(phantom, size=32, bs=8, n_in=n_in, presize=1.25, seed=0)
    learn = classifier_learner(dls, arch_from_name(arch), pretrained=pretrained, path=tmp_path)
    fine_tune_recipe(learn, epochs=1, freeze_epochs=0, lr=1e-3, progress=False)
    p0 = _preds(learn, dls.valid)
    loaded = load_model(save_model(learn, tmp_path/'m'))
    info = json.loads((tmp_path/'m'/'model.json').read_text())
    assert info['arch'] == arch and info['n_in'] == n_in and (info['normalize'] is not None) == pretrained
    torch.testing.assert_close(_preds(loaded, loaded.dls.test_dl(list(dls.valid.items.file))), p0, atol=1e-5, rtol=0)

def test_array_model_round_trip(tmp_path):
    "A model trained on a MedMNIST-style table of uint8 arrays takes arrays after loading"
    import pandas as pd
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 40)
    df = pd.DataFrame({'image': list((rng.integers(0, 60, (40, 28, 28)) + 150*y[:, None, None]).astype(np.uint8)),
                       'label': np.array(['a', 'b'])[y], 'is_valid': np.arange(40) >= 30})
    dls = table_dls(df, size=28, bs=8, n_in=1, presize=1.0, x_col='image', seed=0)
    learn = classifier_learner(dls, small_vgg, pretrained=False, path=tmp_path)
    p0 = _preds(learn, dls.valid)
    loaded = load_model(save_model(learn, tmp_path/'m'))
    assert loaded.model_info['input']['kind'] == 'array'
    torch.testing.assert_close(_preds(loaded, loaded.dls.test_dl(list(df.image[30:]))), p0, atol=1e-5, rtol=0)

class _Trojan:
    "A pickle payload: unpickling it creates the marker file"
    def __init__(self, marker): self.marker = marker
    def __reduce__(self): return (Path.touch, (Path(self.marker),))

def test_trojaned_pickle_is_never_executed(phantom, tmp_path):
    dls = folder_dls(phantom, size=32, bs=8, n_in=1, presize=1.25, seed=0)
    folder = save_model(classifier_learner(dls, small_vgg, pretrained=False, path=tmp_path), tmp_path/'run')
    marker = tmp_path/'pwned'
    payload = pickle.dumps(_Trojan(str(marker)))
    for name in ('learner.pkl', 'model.pth', 'export.pkl'): (folder/name).write_bytes(payload)
    pickle.loads(payload); assert marker.exists(); marker.unlink()  # the payload does fire when unpickled
    learn = load_model(folder)
    with learn.no_bar(): learn.get_preds(dl=learn.dls.test_dl(list(dls.valid.items.file[:2])))
    assert not marker.exists()

def test_mismatched_weights_are_refused(phantom, tmp_path):
    dls = folder_dls(phantom, size=32, bs=8, n_in=1, presize=1.25, seed=0)
    a = save_model(classifier_learner(dls, small_vgg, pretrained=False, path=tmp_path), tmp_path/'a')
    bad = tmp_path/'bad'; shutil.copytree(a, bad)
    info = json.loads((bad/'model.json').read_text()); info['arch'] = 'xresnet18_half'
    (bad/'model.json').write_text(json.dumps(info))
    with pytest.raises(DataError, match='model.safetensors: its tensors do not match') as e: load_model(bad)
    assert 'save_model' in e.value.fix
    write_atomic(bad/'model.safetensors', b'\x00' * 10)
    with pytest.raises(DataError, match='not a readable safetensors file'): load_model(bad)
    (bad/'model.json').write_text('{"format": "other"}')
    with pytest.raises(DataError, match='not a medfast model file'): load_model(bad)


@pytest.fixture(scope='module')
def organs(tmp_path_factory):
    from medfast.phantoms import make_organ_mnist3d, ORGANS_3D
    from medfast.volumes import npz_volume_dls
    fn = make_organ_mnist3d(tmp_path_factory.mktemp('vol'), counts={s: {o: 2 for o in ORGANS_3D[:3]} for s in ('train', 'val')}, size=16)
    return npz_volume_dls(fn, ORGANS_3D[:3], bs=4)

def _vit(dls): from medfast.vit import vit_learner; return vit_learner(dls, patch=8, dim=16, depth=1, heads=2)
def _timm_vit(dls): return classifier_learner(dls, 'vit_tiny_patch16_224', pretrained=False)
def _resnet3d(dls): from medfast.volumes import volume_learner, resnet3d; return volume_learner(dls, resnet3d(n_out=dls.c, widths=(4, 8)))
def _vivit(dls):
    from medfast.volumes import volume_learner, ViViT
    return volume_learner(dls, ViViT(16, (4, 4, 4), n_out=dls.c, dim=16, depth=1, heads=2, attention='joint'))

@pytest.mark.parametrize('make,builder,arch', [(_vit, 'module', 'small_vit'), (_timm_vit, 'classifier', 'vit_tiny_patch16_224'),
                                               (_resnet3d, 'module', 'resnet3d'), (_vivit, 'module', 'vivit')])
def test_vit_and_volume_models_round_trip(phantom, organs, tmp_path, make, builder, arch):
    "SmallViT, a timm ViT, a 3D ResNet and a ViViT: saved and loaded without pickle, the same probabilities to 1e-5"
    set_seed(0)
    is_vol = make in (_resnet3d, _vivit)
    dls = organs if is_vol else folder_dls(phantom, size=32, bs=8, n_in=1, presize=1.25, seed=0)
    learn = make(dls)
    items = list(dls.valid.items.image) if is_vol else list(dls.valid.items.file)
    p0 = _preds(learn, dls.valid)
    loaded = load_model(save_model(learn, tmp_path/'m'))
    assert (loaded.model_info['builder'], loaded.model_info['arch']) == (builder, arch)
    torch.testing.assert_close(_preds(loaded, loaded.dls.test_dl(items)), p0, atol=1e-5, rtol=0)

def test_loaded_model_rebuilds_the_augmentation_for_tta(phantom, organs, tmp_path):
    "model.json keeps the DataLoaders' preset; the loaded model's TTA views differ, its plain predictions do not"
    from medfast.calibration import tta_uncertainty
    dls = folder_dls(phantom, size=32, bs=8, n_in=1, presize=1.25, seed=0, modality='ct', max_rotate=5.)
    learn = classifier_learner(dls, small_vgg, pretrained=False, path=tmp_path)
    loaded = load_model(save_model(learn, tmp_path/'m'))
    aug = json.loads((tmp_path/'m'/'model.json').read_text())['augmentation']
    assert aug['modality'] == 'ct' and aug['aug_transforms']['max_rotate'] == 5. and aug['aug_transforms']['do_flip'] is True
    assert loaded.model_info['input']['modality'] == 'ct' and loaded.model_info['format_version'] == 2
    files = list(dls.valid.items.file)
    set_seed(0)
    mean, sd, _ = tta_uncertainty(loaded, loaded.dls.test_dl(files), 3)
    assert (sd > 0).any() and mean.shape == (len(files), 2)
    torch.testing.assert_close(_preds(loaded, loaded.dls.test_dl(files)), _preds(learn, dls.valid), atol=1e-5, rtol=0)
    vol = load_model(save_model(_resnet3d(organs), tmp_path/'v'))
    assert vol.model_info['augmentation']['volume_aug']['max_zoom'] == 1.1
    set_seed(0)
    assert (tta_uncertainty(vol, vol.dls.test_dl(list(organs.valid.items.image)), 3)[1] > 0).any()

def test_format_1_files_still_load_and_newer_ones_are_refused(phantom, tmp_path):
    dls = folder_dls(phantom, size=32, bs=8, n_in=1, presize=1.25, seed=0)
    learn = classifier_learner(dls, small_vgg, pretrained=False, path=tmp_path)
    folder = save_model(learn, tmp_path/'m')
    info = json.loads((folder/'model.json').read_text())
    old = {k: v for k, v in info.items() if k != 'augmentation'} | {'format_version': 1, 'input': {k: v for k, v in info['input'].items() if k not in ('modality', 'windows')}}
    (folder/'model.json').write_text(json.dumps(old))
    loaded = load_model(folder)
    assert loaded.dls.aug_preset is None
    torch.testing.assert_close(_preds(loaded, loaded.dls.test_dl(list(dls.valid.items.file))), _preds(learn, dls.valid), atol=1e-5, rtol=0)
    (folder/'model.json').write_text(json.dumps(info | {'format_version': 99}))
    with pytest.raises(DataError, match='format_version 99 is newer') as e: load_model(folder)
    assert 'pip install -U medfast' in e.value.fix

def test_a_model_without_a_recorded_architecture_is_refused(phantom, tmp_path):
    from fastai.learner import Learner
    dls = folder_dls(phantom, size=32, bs=8, n_in=1, presize=1.25, seed=0)
    with pytest.raises(ValueError, match='records no architecture'): save_model(Learner(dls, torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(32*32, 2))), tmp_path)
