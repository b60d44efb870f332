"Heatmaps and lesion scores against independent implementations: Grad-CAM by hand, the SmallViT's own rollout, brute-force scores"
import numpy as np, pytest, torch, torch.nn as nn, torch.nn.functional as F
from fastai.torch_core import TensorImageBW
from medfast.cams import cam_maps, heatmaps, pointing_game, topk_iou, rollout_maps
from medfast.vit import SmallViT, attention_map

def _net():
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 6, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(6, 2))

def _gradcam_by_hand(net, xb, cls):
    "Grad-CAM from autograd: feature maps weighted by their mean gradient, ReLU, each map scaled to [0, 1]"
    feats = net[:4](xb).detach().requires_grad_()
    net[4:](feats)[:, cls].sum().backward()
    cam = F.relu((feats.grad.mean((2, 3), keepdim=True)*feats).sum(1)).detach()
    cam = cam - cam.flatten(1).min(1)[0][:, None, None]
    return cam/cam.flatten(1).max(1)[0].clamp(min=1e-7)[:, None, None]

def test_gradcam_matches_hand_computation_and_fastai_tensors():
    net, xb = _net().eval(), torch.randn(3, 1, 12, 12, generator=torch.Generator().manual_seed(1))
    ours = cam_maps(net, TensorImageBW(xb), 1, layer=net[3])
    assert ours.shape == (3, 12, 12)
    torch.testing.assert_close(ours, _gradcam_by_hand(net, xb, 1), atol=1e-4, rtol=1e-4)

def test_per_image_targets():
    net, xb = _net().eval(), torch.randn(2, 1, 12, 12)
    both = heatmaps(net, xb, [0, 1], layer=net[3])
    torch.testing.assert_close(both[1], heatmaps(net, xb[1:], 1, layer=net[3])[0])

def test_rollout_matches_smallvit_attention_map():
    torch.manual_seed(0)
    vit, xb = SmallViT(16, 4, 1, 2, dim=16, depth=3, heads=2).eval(), torch.randn(2, 1, 16, 16)
    ref = F.interpolate(attention_map(vit, xb, layer=None)[:, None], size=(16, 16), mode='bilinear', align_corners=False)[:, 0]
    ref = ref - ref.flatten(1).min(1)[0][:, None, None]
    torch.testing.assert_close(rollout_maps(vit, xb), ref/ref.flatten(1).max(1)[0][:, None, None])

def test_scores_match_brute_force():
    rng = np.random.default_rng(0)
    maps, masks = torch.tensor(rng.random((20, 10, 10))), torch.tensor(rng.random((20, 10, 10)) < 0.1)
    hit, iou = pointing_game(maps, masks, tol=1), topk_iou(maps, masks, k=0.1)
    for i in range(20):
        r, c = np.unravel_index(maps[i].argmax().item(), (10, 10))
        assert hit[i].item() == bool(masks[i, max(r - 1, 0):r + 2, max(c - 1, 0):c + 2].any())
        top = np.zeros(100, bool); top[np.argsort(-maps[i].flatten().numpy())[:10]] = True
        m = masks[i].flatten().numpy()
        assert iou[i].item() == pytest.approx((top & m).sum()/max((top | m).sum(), 1))
