"""Heatmaps: which CAM library works offline with medfast's learners, and how well Grad-CAM finds the phantom lesions (3 seeds).

Run: `OMP_NUM_THREADS=1 python benchmarks/cams.py [--n 150] [--epochs 12]`; writes benchmarks/results/cams.{csv,md}.
Part 1 runs Grad-CAM from grad-cam (`pytorch_grad_cam`), captum and torchcam on fastai learners of four CNNs with one- and three-channel
stems, on a fastai batch as the DataLoaders give it, and times a second call on 16 images of 64 pixels.
Part 2 trains the playbook's four-layer CNN on a balanced 64-pixel phantom chest X-ray set per seed (phantom and training seed) and
scores the maps of the validation pneumonia images against their lesion masks: pointing game (strict, and within 3 pixels) and the IoU
of the top 5% of the map, for the trained model, the same network untrained, and a random map.
"""
import argparse, json, platform, time
from pathlib import Path
import medfast.core
import numpy as np, pandas as pd, torch
from PIL import Image
from fastai.torch_core import set_seed
from captum.attr import LayerGradCam, LayerAttribution
from torchcam.methods import GradCAM as TorchcamGradCAM
from pytorch_grad_cam import GradCAM
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget
from medfast.core import work_dir
from medfast.phantoms import make_chest_xray
from medfast.sampling import split_by_folder
from medfast.data import table_dls
from medfast.learner import classifier_learner
from medfast.models import small_vgg, xresnet18_half
from medfast.playbook import tiny_cnn
from medfast.cams import cam_maps, occlusion_maps, random_maps, lesion_scores
from _report import md_table


def phantom_table(n:int, n_valid:int, size:int, seed:int):
    "A balanced phantom chest X-ray table with pixels in `image`, and the folder holding the lesion masks"
    root = make_chest_xray(work_dir(), {'train': {'NORMAL': n, 'PNEUMONIA': n}, 'val': {'NORMAL': n_valid, 'PNEUMONIA': n_valid}}, size=size, seed=seed, severity=(0.35, 0.5))
    df = pd.read_csv(root.parent/'chest_xray.csv')
    return split_by_folder(df.assign(image=[np.asarray(Image.open(root/f)) for f in df.file])), root.parent/'chest_xray_masks'

def _library(lib, model, layer, xb):
    "Grad-CAM of class 1 with one library, on the batch as fastai gives it (plain=False) or as a plain tensor"
    if lib.startswith('grad-cam'):
        x = xb.as_subclass(torch.Tensor) if lib.endswith('plain tensor') else xb
        with GradCAM(model, [layer]) as cam: return cam(x, [ClassifierOutputTarget(1)]*len(x))
    if lib == 'captum': return LayerAttribution.interpolate(LayerGradCam(model, layer).attribute(xb, target=1, relu_attributions=True), xb.shape[-2:], 'bilinear')
    with TorchcamGradCAM(model, layer) as ext: return ext(1, model(xb))[0]

def compare_libraries(df):
    "Part 1: works / fails and seconds per call for each library, architecture and stem"
    rows = []
    for n_in in (1, 3):
        xb = table_dls(df, size=64, bs=16, presize=1, n_in=n_in, x_col='image').valid.one_batch()[0]
        for arch in (small_vgg, xresnet18_half, 'resnet18', 'tf_efficientnet_lite0'):
            learn = classifier_learner(table_dls(df, size=64, bs=16, presize=1, n_in=n_in, x_col='image'), arch, pretrained=False)
            m = learn.model.eval()
            for lib in ('grad-cam, fastai batch', 'grad-cam, plain tensor', 'captum', 'torchcam'):
                row = dict(n_in=n_in, arch=arch if isinstance(arch, str) else arch.__name__, library=lib)
                try:
                    _library(lib, m, m[0], xb)
                    t = time.perf_counter(); out = _library(lib, m, m[0], xb)
                    row.update(works=True, seconds=round(time.perf_counter() - t, 3), map_shape=str(tuple(np.shape(out))))
                except Exception as e: row.update(works=False, error=f"{type(e).__name__}: {str(e)[:60]}")
                rows.append(row)
    return pd.DataFrame(rows)

def lesion_trial(seed:int, n:int, epochs:int, size:int=64, n_valid:int=50):
    "Part 2 for one seed: lesion scores of trained, untrained and random maps"
    df, mroot = phantom_table(n, n_valid, size, seed)
    dls = table_dls(df, size=size, bs=16, presize=1, n_in=1, x_col='image', seed=seed)
    set_seed(seed)
    learn, untrained = classifier_learner(dls, tiny_cnn, pretrained=False), classifier_learner(dls, tiny_cnn, pretrained=False)
    t = time.perf_counter()
    with learn.no_bar(), learn.no_logging(): learn.fit_one_cycle(epochs, 1e-2)
    fit_s = time.perf_counter() - t
    auroc = float(learn.validate()[-1])
    sick = df[df.is_valid & (df.label == 'PNEUMONIA')].reset_index(drop=True)
    xb = torch.cat([b[0] for b in learn.dls.test_dl(sick)])
    masks = torch.tensor(np.stack([np.asarray(Image.open(mroot/f)) > 0 for f in sick['mask']]))
    maps = {'random map': random_maps(masks.float(), seed),
            'untrained Grad-CAM': cam_maps(untrained.model, xb, 1, min_size=16),
            'trained Grad-CAM': cam_maps(learn.model, xb, 1, min_size=16),
            'trained Grad-CAM++': cam_maps(learn.model, xb, 1, 'gradcam++', min_size=16),
            'trained Grad-CAM, last layer': cam_maps(learn.model, xb, 1, min_size=2),
            'trained occlusion': occlusion_maps(learn.model, xb, 1, window=8, stride=4)}
    return [dict(seed=seed, map=k, **{f'hit_rate_tol{tol}': lesion_scores(m, masks, tol=tol)['hit_rate'] for tol in (0, 3)},
                 iou_top5=lesion_scores(m, masks, k=0.05)['iou'], lesion_share=masks.float().mean().item(), valid_auroc=auroc, fit_s=round(fit_s, 1))
            for k, m in maps.items()]

def main(n=150, epochs=12, seeds=(0, 1, 2), out=Path(__file__).parent/'results'):
    torch.set_num_threads(1)
    t0, c0 = time.perf_counter(), time.process_time()
    libs = compare_libraries(phantom_table(40, 16, 64, 0)[0])
    rows = []
    for s in seeds:
        rows += lesion_trial(s, n, epochs)
        pd.DataFrame(rows).to_csv(out/'cams.csv', index=False)
        print(s, round(time.perf_counter() - t0), flush=True)
    df = pd.DataFrame(rows)
    score_cols = ['hit_rate_tol0', 'hit_rate_tol3', 'iou_top5']
    agg = df.groupby('map', sort=False)[score_cols].agg(['mean', 'std']).round(3)
    agg.columns = [f'{a} {b}' for a, b in agg.columns]
    meta = dict(train_per_class=n, valid_pneumonia=50, size=64, epochs=epochs, lr=1e-2, seeds=list(seeds), arch='tiny_cnn', cam_layer='min_size=16 (16x16 of 64 px)',
                wall_s=round(time.perf_counter() - t0), cpu_s=round(time.process_time() - c0), torch_threads=1, machine=platform.processor() or platform.machine())
    md = ['# Heatmaps: CAM libraries and lesion scores', '', f"Run: `python benchmarks/cams.py --n {n} --epochs {epochs}`", '',
          *([f"A smaller configuration than the defaults (150 images per class, 12 epochs), to keep the run near 10 minutes on a shared 2-core machine.", ''] if (n, epochs) != (150, 12) else []),
          '```json', json.dumps(meta), '```', '', '## Grad-CAM libraries on fastai learners (16 images, 64 px, second call)', '',
          md_table(libs.fillna('')), '', '## Lesion scores on validation pneumonia images, mean and sd over 3 seeds', '',
          md_table(agg.reset_index()), '', '## Per seed', '', md_table(df.round(3))]
    (out/'cams.md').write_text('\n'.join(md) + '\n')

if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--n', type=int, default=150); ap.add_argument('--epochs', type=int, default=12)
    a = ap.parse_args()
    main(a.n, a.epochs)
