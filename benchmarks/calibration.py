"""Temperature scaling on phantom chest X-rays, 3 seeds: ECE, adaptive ECE and MCE on the test set before and after, with bootstrap intervals.

Run: `OMP_NUM_THREADS=1 python benchmarks/calibration.py [--epochs 30]`; writes benchmarks/results/calibration.{csv,md}.
Per seed (phantom and training seed): the playbook's 1:4 phantom at 28 px (100 training, 250 validation, 375 test images), its
four-layer CNN trained 30 epochs without weight decay (overconfident, as small-data models are), a temperature fitted on
validation by `calibrate_learner`, and the errors measured on the test set, which the temperature never saw. Also the TTA check:
test error rate in the least and most uncertain quarter of 8 augmented views.
"""
import argparse, json, platform, time
from pathlib import Path
import medfast.core
import numpy as np, pandas as pd, torch
from fastai.torch_core import set_seed
from fastcore.basics import noop
from medfast.data import table_dls
from medfast.learner import classifier_learner
from medfast.playbook import imbalanced_phantom, tiny_cnn
from medfast.calibration import calibrate_learner, calibration_table, tta_uncertainty, uncertainty_table
from _report import md_table


def trial(seed:int, epochs:int)->list:
    "Calibration errors on the test set before and after temperature scaling, and the TTA error split, for one seed"
    spl, test_df = imbalanced_phantom(imbalance=4, n_normal=80, n_valid=200, n_test=300, seed=seed)
    dls = table_dls(spl, size=28, bs=32, presize=1, n_in=1, x_col='image', seed=seed)
    set_seed(seed)
    learn = classifier_learner(dls, tiny_cnn, pretrained=False, wd=0.)
    with learn.no_bar(), learn.no_logging(): learn.fit_one_cycle(epochs, 1e-2)
    tdl = learn.dls.test_dl(test_df, with_labels=True)
    with learn.no_bar(): before, yt = learn.get_preds(dl=tdl)
    cal = calibrate_learner(learn)
    with learn.no_bar(): after, _ = learn.get_preds(dl=tdl)
    tab = calibration_table(before.numpy(), after.numpy(), yt.numpy(), n_boot=500, seed=seed)
    set_seed(seed)
    ut = uncertainty_table(*tta_uncertainty(learn, tdl, n=8))
    return [dict(seed=seed, error=m, temperature=round(cal['temperature'], 3), valid_ece_before=cal['ece_before'], valid_ece_after=cal['ece_after'],
                 **tab.loc[m].round(4).to_dict(), tta_error_least_uncertain=round(ut.error_rate.iloc[0], 3), tta_error_most_uncertain=round(ut.error_rate.iloc[-1], 3))
            for m in tab.index]

def main(epochs=30, seeds=(0, 1, 2), out=Path(__file__).parent/'results'):
    torch.set_num_threads(1)
    t0, rows = time.perf_counter(), []
    for s in seeds:
        rows += trial(s, epochs)
        pd.DataFrame(rows).to_csv(out/'calibration.csv', index=False)
        print(s, round(time.perf_counter() - t0), flush=True)
    df = pd.DataFrame(rows)
    agg = df.groupby('error', sort=False)[['before value', 'after value']].agg(['mean', 'std']).round(4)
    agg.columns = [f'{a} {b}' for a, b in agg.columns]
    meta = dict(train=100, valid=250, test=375, imbalance=4, size=28, epochs=epochs, lr=1e-2, wd=0, seeds=list(seeds), n_boot=500, tta_views=8,
                wall_s=round(time.perf_counter() - t0), torch_threads=1, machine=platform.processor() or platform.machine())
    md = ['# Temperature scaling: calibration errors on the test set', '', f"Run: `python benchmarks/calibration.py --epochs {epochs}`", '',
          '```json', json.dumps(meta), '```', '', '## Mean and sd over 3 seeds', '', md_table(agg.reset_index()), '',
          '## Per seed, with 95% bootstrap intervals', '', md_table(df)]
    (out/'calibration.md').write_text('\n'.join(md) + '\n')

if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--epochs', type=int, default=30)
    main(ap.parse_args().epochs)
