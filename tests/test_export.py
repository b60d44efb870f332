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
