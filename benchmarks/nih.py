"""NIH ChestX-ray14 multi-label phantom: direct fine-tuning vs ImageNet features + probe vs CXR-trained ViT features + probe, 3 seeds.

Run: `OMP_NUM_THREADS=1 python benchmarks/nih.py [--patients 300] [--seeds 3]`; writes benchmarks/results/nih.{csv,md}.
The seed project fine-tuned a ViT on a related chest X-ray task, froze it, and trained a linear classifier on its embeddings
with minority augmentation and majority undersampling. Here, per seed:
  direct     EfficientNet-Lite0 (offline ImageNet weights) fine-tuned on the multi-label phantom: 1 frozen + `--epochs` unfrozen
             epochs, the best epoch by validation macro AUROC kept (`fine_tune_recipe`), so its number is slightly optimistic;
  imagenet   the same network frozen at its ImageNet weights, embeddings extracted once, a linear probe on rebalanced embeddings
             (`rebalance_features`: no-finding images undersampled, rare findings drawn again with feature noise);
  cxr_vit    a `SmallViT` trained from scratch on the phantom pneumonia task (the related single-label chest task), frozen, the
             same probe on its embeddings. No ViT weights exist offline, so it starts from random weights, not ImageNet.
Every approach is scored on the same patient-split validation set (macro AUROC and AP over the findings with both outcomes).
The CSV is written after each seed, so an interrupted run keeps what it finished.
"""
import argparse, json, platform, time
from pathlib import Path
import medfast.core
import numpy as np, pandas as pd, torch
from fastai.torch_core import set_seed
from medfast.core import work_dir
from medfast.phantoms import make_nih_chestxray, make_chest_xray
from medfast.data import folder_dls
from medfast.sources import nih_dls
from medfast.vit import vit_learner
from medfast.learner import classifier_learner, fine_tune_recipe
from medfast.features import extract_features, frozen_embedder, fit_probe
from medfast.interpret import label_metrics
from _report import md_table


def _scores(probs, targs, vocab)->dict:
    m = label_metrics(probs, targs, vocab, n_boot=0)
    return dict(macro_auroc=m['macro_auroc'], macro_ap=m['macro_ap'], **{f"auroc_{l}": v['auroc'] for l, v in m['per_label'].items()})

def _probe(feats, vocab, seed, epochs):
    (xtr, ytr), (xva, yva) = feats
    learn = fit_probe(xtr, ytr, xva, yva, epochs=epochs, rebalance={}, weighted=False, seed=seed)
    with learn.no_bar(): p, t = learn.get_preds()
    return _scores(p, t, vocab)

def _features(model, dls):
    return [extract_features(model, dls.test_dl(d.items, with_labels=True)) for d in (dls.train, dls.valid)]

def main(patients=300, size=64, vit_size=32, epochs=2, vit_epochs=12, probe_epochs=20, seeds=3, out=Path(__file__).parent/'results'):
    torch.set_num_threads(1)
    t0, rows = time.perf_counter(), []
    nih = make_nih_chestxray(work_dir(), n_patients=patients, size=size, seed=0)
    dls = nih_dls(nih/'Data_Entry_2017.csv', nih/'images', size=size, bs=32, n_in=1, presize=1., seed=42)
    dls_vit = nih_dls(nih/'Data_Entry_2017.csv', nih/'images', size=vit_size, bs=32, n_in=1, presize=1., seed=42)
    cxr = make_chest_xray(work_dir(), size=2*vit_size, seed=0, counts={'train': {'NORMAL': 200, 'PNEUMONIA': 200}, 'val': {'NORMAL': 50, 'PNEUMONIA': 50}})
    dls_cxr = folder_dls(cxr, size=vit_size, bs=32, n_in=1, presize=1.)
    vocab = list(dls.vocab)
    imagenet = _features(classifier_learner(dls, pretrained=True).model, dls)
    for seed in range(seeds):
        t = time.perf_counter()
        rows.append(dict(approach='imagenet', seed=seed, **_probe(imagenet, vocab, seed, probe_epochs), task_auroc=None, s=round(time.perf_counter() - t)))
        t = time.perf_counter(); set_seed(seed)
        vit = vit_learner(dls_cxr, patch=4, dim=64, depth=3, heads=4)
        with vit.no_bar(), vit.no_logging(): vit.fit_one_cycle(vit_epochs, 3e-3)
        task = dict(zip(vit.recorder.metric_names[1:-1], vit.recorder.values[-1]))['auroc']
        rows.append(dict(approach='cxr_vit', seed=seed, **_probe(_features(vit.model, dls_vit), vocab, seed, probe_epochs), task_auroc=task, s=round(time.perf_counter() - t)))
        t = time.perf_counter(); set_seed(seed)
        learn = classifier_learner(dls, pretrained=True)
        fine_tune_recipe(learn, epochs=epochs, freeze_epochs=1, lr=2e-3, progress=False)
        with learn.no_bar(): p, y = learn.get_preds()
        rows.append(dict(approach='direct', seed=seed, **_scores(p, y, vocab), task_auroc=None, s=round(time.perf_counter() - t)))
        pd.DataFrame(rows).to_csv(out/'nih.csv', index=False)
        print(seed, round(time.perf_counter() - t0), [(r['approach'], round(r['macro_auroc'], 3)) for r in rows[-3:]], flush=True)
    df = pd.DataFrame(rows)
    summ = df.groupby('approach', sort=False)[['macro_auroc', 'macro_ap']].agg(['mean', 'std']).round(3)
    summ = pd.DataFrame({'approach': summ.index, **{f"{m} (mean ± sd)": [f"{a:.3f} ± {b:.3f}" for a, b in summ[m].values] for m in ('macro_auroc', 'macro_ap')}})
    per = df.groupby('approach', sort=False)[[c for c in df if c.startswith('auroc_')]].mean().round(3).reset_index()
    meta = dict(patients=patients, train=len(dls.train_ds), valid=len(dls.valid_ds), size=size, vit_size=vit_size, epochs=epochs, vit_epochs=vit_epochs,
                probe_epochs=probe_epochs, seeds=seeds, valid_positives=dict(zip(vocab, dls.valid.items.label.str.split('|').explode().value_counts().reindex(vocab, fill_value=0).tolist())),
                cxr_vit_task_auroc=round(float(df.task_auroc.dropna().mean()), 3), wall_s=round(time.perf_counter() - t0), torch_threads=1, machine=platform.processor() or platform.machine())
    md = ['# NIH ChestX-ray14 phantom: three ways to a multi-label classifier', '', f"Run: `python benchmarks/nih.py --patients {patients} --seeds {seeds}`", '',
          '```json', json.dumps(meta), '```', '', '## Validation macro AUROC and AP, mean ± sd over seeds', '', md_table(summ), '',
          '## Per-finding AUROC, mean over seeds', '', md_table(per), '',
          f"The CXR-trained SmallViT reached a pneumonia-task validation AUROC of {meta['cxr_vit_task_auroc']} (mean over seeds) before it was frozen.", '']
    (out/'nih.md').write_text('\n'.join(md) + '\n')

if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--patients', type=int, default=300); ap.add_argument('--seeds', type=int, default=3)
    a = ap.parse_args()
    main(a.patients, seeds=a.seeds)
