"Pretrained EfficientNet-Lite models and learners are built with every network connection refused"
import socket, tempfile
import pytest, torch
from fastai.vision.all import Normalize, risinstance

from medfast.models import OFFLINE_WEIGHTS, create_timm, offline_weights_file
from medfast.learner import classifier_learner
from medfast.phantoms import make_chest_xray
from medfast.data import folder_dls


@pytest.fixture
def no_network(monkeypatch):
    "Make any attempt to open a network connection fail loudly"
    def refuse(*args, **kwargs): raise AssertionError(f"network access attempted: {args}")
    monkeypatch.setattr(socket.socket, 'connect', refuse)
    monkeypatch.setattr(socket.socket, 'connect_ex', refuse)
    monkeypatch.setattr(socket, 'create_connection', refuse)
    monkeypatch.setenv('HF_HUB_OFFLINE', '1')


@pytest.mark.parametrize('arch', list(OFFLINE_WEIGHTS))
@pytest.mark.parametrize('n_in', [1, 3])
def test_create_timm_offline(no_network, arch, n_in):
    pytest.importorskip(OFFLINE_WEIGHTS[arch].replace('-', '_'))
    m = create_timm(arch, n_in=n_in, n_out=0)
    ref = torch.load(offline_weights_file(arch), map_location='cpu', weights_only=True)
    stem = next(iter(ref.values()))
    want = stem.sum(1, keepdim=True) if n_in == 1 else stem
    torch.testing.assert_close(m.conv_stem.weight.detach(), want)


def test_classifier_learner_offline(no_network):
    counts = {'train': {'NORMAL': 8, 'PNEUMONIA': 8}, 'val': {'NORMAL': 4, 'PNEUMONIA': 4}}
    path = make_chest_xray(tempfile.mkdtemp(), size=32, counts=counts)
    dls = folder_dls(path, size=32, bs=8, n_in=1)
    learn = classifier_learner(dls)
    assert learn.model[0].model.conv_stem.in_channels == 1
    norm = dls.after_batch.fs.filter(risinstance(Normalize))
    assert len(norm) == 1 and norm[0].mean.flatten().tolist() == [0.5]


def test_plain_timm_pretrained_would_download(no_network):
    "Guard on the fixture itself: timm's default path (the hub) must fail here"
    import timm
    with pytest.raises(Exception):
        timm.create_model('tf_efficientnet_lite0', pretrained=True)
