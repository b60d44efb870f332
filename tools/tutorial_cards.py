#!/usr/bin/env python
"""Draw the thumbnails of the tutorials index cards: `python tools/tutorial_cards.py` -> `nbs/images/tutorials/*.png`.

Each is a seeded phantom of the tutorial's modality (the playbook's is its recorded results), so the
files are reproducible and hold no real patient data."""
import argparse
from pathlib import Path

import matplotlib
matplotlib.use('Agg')
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from medfast.phantoms import brain_mri_phantom, chest_xray_phantom, lung_ct_phantom, nih_xray_phantom, organ_volume_phantom

ROOT = Path(__file__).resolve().parents[1]


def _row(imgs, titles, fn):
    "Save gray images side by side, with small titles, as a 3:2 thumbnail"
    fig, axs = plt.subplots(1, len(imgs), figsize=(3, 2), dpi=100)
    for ax, im, t in zip(np.atleast_1d(axs), imgs, titles):
        ax.imshow(_norm(np.asarray(im, dtype=float)), cmap='gray', vmin=0, vmax=1); ax.set_title(t, fontsize=8); ax.axis('off')
    fig.tight_layout(pad=0.3); fig.savefig(fn); plt.close(fig)


def _norm(a): return (a - a.min()) / (np.ptp(a) or 1)


def _lung(hu): return np.clip(hu, -1000, 200)  # a lung window, in Hounsfield units


def draw(out: Path):
    "Write one thumbnail per tutorial into `out`"
    out.mkdir(parents=True, exist_ok=True)
    _row([chest_xray_phantom(128, False, seed=1)[0], chest_xray_phantom(128, True, seed=2)[0]], ['normal', 'pneumonia'], out/'pneumonia.png')
    _row([brain_mri_phantom(96, 0, seed=3), brain_mri_phantom(96, 3, seed=3)], ['non-demented', 'moderate'], out/'alzheimer_mri.png')
    _row([_lung(lung_ct_phantom(96, False, seed=4)[0]), _lung(lung_ct_phantom(96, True, seed=5)[0])], ['non-COVID', 'COVID'], out/'covid_ct.png')
    vol = organ_volume_phantom('liver', 28, seed=6)
    _row([vol[d] for d in (8, 14, 20)], [f'slice {d}' for d in (8, 14, 20)], out/'organmnist3d.png')
    _row([nih_xray_phantom(128, ['Effusion'], seed=7)[0], nih_xray_phantom(128, ['Cardiomegaly', 'Nodule'], seed=8)[0]],
         ['Effusion', 'Cardiomegaly + Nodule'], out/'nih_chestxray.png')
    res = pd.read_csv(ROOT/'benchmarks/results/playbook.csv')
    res = res[res.dataset == res.dataset.iloc[0]].groupby('remedy')['balanced_accuracy'].mean().sort_values()
    fig, ax = plt.subplots(figsize=(3, 2), dpi=100)
    ax.barh(res.index, res.values, color='tab:blue'); ax.set_xlim(0.5, 1); ax.tick_params(labelsize=7)
    ax.set_xlabel('balanced accuracy (phantom 1:10)', fontsize=7)
    fig.tight_layout(pad=0.3); fig.savefig(out/'imbalance_playbook.png'); plt.close(fig)


if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--out', default=str(ROOT/'nbs/images/tutorials'), help='folder to write into (default: %(default)s)')
    draw(Path(ap.parse_args().out))
