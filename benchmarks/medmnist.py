"""Candidate `medfast train` recipes on a 2D MedMNIST `.npz`, in the MedMNIST protocol.

Train on `train`, pick the epoch on `val` (best validation AUROC, restored at the end), score `test` once.
Test AUROC (binary: the positive class, index 1; multi-class: macro one-vs-rest) and accuracy at the argmax
(no threshold is fitted). Every run appends one row to `<out>/<name>.csv`; `<out>/<name>.md` is rebuilt from
the whole csv (mean ± sd over seeds) with the published PneumoniaMNIST rows beside it.

    python benchmarks/medmnist.py --data ../shared/data/pneumoniamnist/pneumoniamnist.npz --grid screen
    python benchmarks/medmnist.py --data X.npz --candidates cnn28 --seeds 0 1 2
"""
import argparse, os, platform, time
from functools import partial
from pathlib import Path
import medfast.core  # noqa: F401  (the warning filter, before fastai)
import numpy as np, pandas as pd, torch
from fastai.vision.all import set_seed, xresnet18
from fastai.callback.channelslast import ChannelsLast
from medfast.models import small_vgg
from medfast.playbook import tiny_cnn
from medfast.sources import read_medmnist, medmnist_table
from medfast.data import table_dls
from medfast.sampling import oversample
from medfast.learner import classifier_learner, fine_tune_recipe
from medfast.interpret import summary_metrics

# Published test results on PneumoniaMNIST: (AUROC, ACC)
PUBLISHED = {'MedMNIST v2 ResNet-18 (28)': (0.944, 0.854), 'MedMNIST v2 ResNet-50 (224)': (0.962, 0.884),
             'MedMNIST v2 Google AutoML Vision': (0.991, 0.946),
             'MedMNIST+ best end-to-end ACC: ResNet-18 (224)': (None, 0.911),
             'MedMNIST+ best end-to-end AUROC: VGG16 (64)': (0.987, None),
             'MedMNIST+ DINO ViT-B/16 linear probe (224)': (0.989, 0.916)}

# the candidate bodies: the playbook's stride-2 CNN, a wider one, and medfast's small VGG (the default of `medfast train` for small images)
ARCHS = {'cnn': tiny_cnn, 'cnn_wide': partial(tiny_cnn, widths=(32, 64, 128, 256)), 'vgg_cnn': small_vgg,
         'xresnet18': xresnet18, 'xresnet18_half': partial(xresnet18, widen=0.5), 'tf_efficientnet_lite0': 'tf_efficientnet_lite0'}
NO_AUG = dict(do_flip=False, max_rotate=0., max_zoom=1., max_lighting=0., max_warp=0.)

def C(arch, size, epochs=5, lr=1e-2, bs=64, balance='oversample', aug='default', pretrained=False, freeze_epochs=0, channels_last=False, tolerance=0.):
    return dict(arch=arch, size=size, epochs=epochs, lr=lr, bs=bs, balance=balance, aug=aug, pretrained=pretrained, freeze_epochs=freeze_epochs,
                channels_last=channels_last, tolerance=tolerance)

CANDIDATES = {
    'cnn28':         C('cnn', 28),                          # the playbook's winner
    'cnn28_none':    C('cnn', 28, balance='none'),
    'cnn28_noaug':   C('cnn', 28, aug='none'),
    'cnn28_e10':     C('cnn', 28, epochs=10),
    'cnn64':         C('cnn', 64),
    'cnnwide28':     C('cnn_wide', 28),
    'cnnwide64':     C('cnn_wide', 64),
    'vgg28':         C('vgg_cnn', 28, channels_last=True, tolerance='se'),  # exactly what `medfast train` runs on a 28-px file (train_defaults)
    'vgg64':         C('vgg_cnn', 64),
    'xres28':        C('xresnet18', 28),
    'xreshalf28':    C('xresnet18_half', 28),
    'xreshalf64':    C('xresnet18_half', 64),
    'effnet64':      C('tf_efficientnet_lite0', 64, epochs=4, lr=2e-3, pretrained=True, freeze_epochs=1),
}
GRIDS = {'screen': ['cnn28', 'cnnwide28', 'vgg28', 'xreshalf28', 'cnn64', 'cnnwide64', 'effnet64']}

def load_tables(fn):
    "(train+val table, test table, class names, n_in) of a 2D MedMNIST file"
    arrays = read_medmnist(fn)
    x, y = arrays['train']
    if y.ndim != 1 or x.ndim != 3 and x.shape[-1] != 3: raise SystemExit(f"{fn}: this benchmark takes single-label 2D files (got images {x.shape}, labels {y.shape})")
    k = int(max(a[1].max() for a in arrays.values())) + 1
    names = [f'c{i}' for i in range(k)]
    tv = medmnist_table(fn, names)
    test = medmnist_table(fn, names, valid='test').query('is_valid').reset_index(drop=True)
    return tv, test, names, 3 if x.ndim == 4 else 1

def run_one(tv, test, names, n_in, cand, seed):
    "Train one candidate with `seed`; return its validation and test metrics and times"
    c, t0 = CANDIDATES[cand], time.perf_counter()
    load0 = os.getloadavg()[0]
    set_seed(seed)
    df = oversample(tv, 1.0, seed=seed) if c['balance'] == 'oversample' else tv
    modality = 'xray' if n_in == 1 else 'natural'
    channels = 3 if c['pretrained'] else n_in
    dls = table_dls(df, size=c['size'], bs=c['bs'], modality=modality, n_in=channels, presize=1.0, x_col='image', seed=seed,
                    **(NO_AUG if c['aug'] == 'none' else {}))
    learn = classifier_learner(dls, ARCHS[c['arch']], pretrained=c['pretrained'])
    if c['channels_last']: learn.add_cb(ChannelsLast())
    t1 = time.perf_counter()
    hist = fine_tune_recipe(learn, epochs=c['epochs'], freeze_epochs=c['freeze_epochs'], lr=c['lr'], monitor='auroc', tolerance=c['tolerance'], progress=False)
    train_s = time.perf_counter() - t1
    with learn.no_bar():
        vp, vt = learn.get_preds(dl=dls.valid.new(shuffle=False, drop_last=False))
        tp, tt = learn.get_preds(dl=dls.test_dl(test, with_labels=True))
    vocab = list(dls.vocab)
    val, tst = summary_metrics(vp, vt, vocab), summary_metrics(tp, tt, vocab)
    return dict(candidate=cand, seed=seed, **c, n_in=channels, modality=modality if c['aug'] != 'none' else 'none',
                epochs_run=len(hist), best_epoch=int(hist[hist.best].epoch.iloc[0]),
                **{f'val_{k}': v for k, v in val.items()}, **{f'test_{k}': v for k, v in tst.items()},
                train_s=round(train_s, 1), total_s=round(time.perf_counter() - t0, 1), threads=torch.get_num_threads(),
                load_start=round(load0, 1), load_end=round(os.getloadavg()[0], 1), when=time.strftime('%H:%M', time.gmtime()))

def pm(s): return f"{s.mean():.3f} ± {s.std(ddof=1):.3f}" if len(s) > 1 else f"{s.mean():.3f}"

def write_md(csv, md, data_name):
    "Rebuild the markdown table (mean ± sd per candidate) from every row of the csv"
    res = pd.read_csv(csv)
    cols = ['recipe', 'size', 'test AUROC', 'test ACC (argmax)', 'test bal. acc', 'val AUROC', 'seeds', 'epochs', 'train s/run', 'total s/run', 'threads', 'peak load']
    rows = []
    for (cand, tag), g in res.groupby(['candidate', 'tag'], sort=False):
        r = g.iloc[0]
        desc = (f"{r.arch} {'pretrained' if r.pretrained else 'scratch'}, {r.n_in}ch, bs {r.bs}, lr {r.lr:g}, "
                f"{'1 frozen + ' if r.freeze_epochs else ''}one-cycle, {r.balance}, aug {r.modality}"
                f"{', channels-last' if str(r.get('channels_last')) == 'True' else ''}{', epoch: latest within 1 SE of the best val AUROC' if r.get('tolerance') == 'se' else ''}")
        rows.append([f"`{cand}` ({tag}): {desc}", r['size'], pm(g.test_auroc), pm(g.test_accuracy), pm(g.test_balanced_accuracy), pm(g.val_auroc),
                     f"{len(g)} ({' '.join(map(str, g.seed))})", f"{r.epochs} (best {'/'.join(map(str, g.best_epoch))})",
                     f"{g.train_s.median():.0f}", f"{g.total_s.median():.0f}", int(r.threads), f"{max(g.load_start.max(), g.load_end.max()):.1f}"])
    lines = [f"# MedMNIST protocol: `{data_name}`", "",
             "Official splits: trained on `train`, epoch chosen on `val` (best validation AUROC, or the latest epoch within one standard error of it where the recipe says so; weights restored), `test` scored once. "
             "AUROC of the positive class (binary) or macro one-vs-rest; ACC at the argmax (no fitted threshold). Mean ± sd over the seeds listed. "
             f"Times are medians per run in seconds: training only (the one-cycle fit with its per-epoch validation) and total (data, model, fit, prediction). "
             f"CPU: {platform.machine()}, {os.cpu_count()} cores shared with other sessions (peak load: the highest 1-minute load average seen at the start or end of a run; "
             f"above ~2 the runs were slowed by other work), torch {torch.__version__}.", "",
             '| ' + ' | '.join(cols) + ' |', '|' + '---|'*len(cols)]
    lines += ['| ' + ' | '.join(map(str, r)) + ' |' for r in rows]
    if 'pneumonia' in data_name.lower():
        lines += [f"| published: {k} | | {a or '–'} | {b or '–'} | | | | | | | | |" for k, (a, b) in PUBLISHED.items()]
    findings = md.read_text().partition('\n## Findings')[2] if md.exists() else ''  # written by hand after the runs: kept
    md.write_text('\n'.join(lines) + '\n' + (f'\n## Findings{findings}' if findings else ''))
    return '\n'.join(lines)

def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--data', required=True, help='a 2D MedMNIST .npz (train/val/test images and labels)')
    p.add_argument('--candidates', nargs='*', default=None, help=f'names in CANDIDATES: {list(CANDIDATES)}')
    p.add_argument('--grid', default=None, choices=list(GRIDS), help='a named list of candidates')
    p.add_argument('--seeds', nargs='*', type=int, default=[0, 1, 2])
    p.add_argument('--threads', type=int, default=1, help='torch CPU threads')
    p.add_argument('--out', default=str(Path(__file__).parent/'results'))
    p.add_argument('--epochs', type=int, default=None, help='override every candidate\'s epochs (quick checks)')
    p.add_argument('--tag', default='run', help='label of this batch of runs (kept in the csv, grouped apart in the table)')
    p.add_argument('--name', default='medmnist', help='stem of the csv and md written under --out')
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    cands = (GRIDS[a.grid] if a.grid else []) + (a.candidates or [])
    if not cands: cands = ['cnn28']
    bad = [c for c in cands if c not in CANDIDATES]
    if bad: raise SystemExit(f"unknown candidates {bad}; choose from {list(CANDIDATES)}")
    if a.epochs: [CANDIDATES[c].update(epochs=a.epochs) for c in cands]
    tv, test, names, n_in = load_tables(a.data)
    out = Path(a.out); out.mkdir(parents=True, exist_ok=True)
    csv, md = out/f'{a.name}.csv', out/f'{a.name}.md'
    for cand in cands:
        for seed in a.seeds:
            row = run_one(tv, test, names, n_in, cand, seed)
            row.update(data=Path(a.data).name, tag=a.tag)
            old = pd.read_csv(csv) if csv.exists() else None  # rows of earlier runs keep their columns; new columns are empty for them
            pd.concat([old, pd.DataFrame([row])], ignore_index=True).to_csv(csv, index=False)
            print(f"{cand} seed {seed}: test AUROC {row['test_auroc']:.3f} ACC {row['test_accuracy']:.3f} "
                  f"(val AUROC {row['val_auroc']:.3f}, best epoch {row['best_epoch']}), train {row['train_s']:.0f} s, total {row['total_s']:.0f} s, load {row['load_start']}", flush=True)
    print(write_md(csv, md, Path(a.data).name))

if __name__ == '__main__': main()
