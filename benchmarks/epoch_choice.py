"""Which validation measure should pick the epoch of `medfast train`? Every epoch of the default run, scored on val and test.

Runs `medfast.cli.train_job` on a MedMNIST `.npz` exactly as `medfast train --data X --seed S [--epochs E]` does, with
one extra callback that copies the weights at the end of every epoch (no random numbers drawn, nothing else changed,
so the run is the command's own). After the run, each epoch's weights are scored on `val` and on `test`. A selection
rule (best val AUROC -- the current default --, lowest val loss, best val balanced accuracy, best val accuracy, the
last epoch) then picks an epoch per seed, on validation only; its test scores are what that rule would have reported.
`<out>/epoch_choice.csv` gets one row per (run, epoch); `<out>/epoch_choice.md` is rebuilt from the whole csv.

This is an analysis over the test split: choosing the rule by its test numbers is choosing a recipe on the test
set, and the report says so.

    python benchmarks/epoch_choice.py --data ../shared/data/pneumoniamnist/pneumoniamnist.npz --seeds 0 1 2 [--epochs 10]
"""
import argparse, os, tempfile, time
from pathlib import Path
import medfast.core  # noqa: F401  (the warning filter, before fastai)
import numpy as np, pandas as pd, torch
from fastai.callback.core import Callback
from fastai.torch_core import get_model
from medfast.cli import train_job
from medfast.sources import medmnist_table
from medfast.interpret import summary_metrics
from medfast.metrics import score_se

RULES = {'val AUROC, latest within one SE of the best (`tolerance="se"`)': ('val_auroc', 'se'), 'val AUROC (max)': ('val_auroc', max), 'val loss (min)': ('val_loss', min),
         'val balanced accuracy (max)': ('val_balanced_accuracy', max), 'val accuracy (max)': ('val_accuracy', max),
         'last epoch': ('epoch', max)}

class EpochWeights(Callback):
    "Copy the model's weights at the end of every epoch; keep a reference to the learner"
    order = 99
    def before_fit(self): self.keep = self.learn; self.states = getattr(self, 'states', [])
    def after_epoch(self): self.states.append({k: v.detach().clone() for k, v in get_model(self.learn.model).state_dict().items()})

def _scores(learn, dl, vocab)->dict:
    "Summary metrics and the mean negative log-likelihood of the true class"
    with learn.no_bar(): p, t = learn.get_preds(dl=dl)
    nll = float(-torch.log(p[torch.arange(len(t)), t].clamp_min(1e-7)).mean())
    m = summary_metrics(p, t, vocab)
    return {**m, 'loss': nll, 'auroc_se': score_se('auroc', m['auroc'], t.numpy())}

def run_one(data:str, seed:int, epochs:int|None)->list:
    "One default run; a row per epoch with its val and test scores"
    cb, t0 = EpochWeights(), time.perf_counter()
    with tempfile.TemporaryDirectory() as d:
        m = train_job(data, out=d, seed=seed, epochs=epochs, progress=False, cbs=[cb])
    learn, vocab = cb.keep, list(cb.keep.dls.vocab)
    test = medmnist_table(data, valid='test').query('is_valid').reset_index(drop=True)
    tdl, vdl = learn.dls.test_dl(test, with_labels=True), learn.dls.valid.new(shuffle=False, drop_last=False)
    rows = []
    for i, st in enumerate(cb.states):
        get_model(learn.model).load_state_dict(st)
        v, t = _scores(learn, vdl, vocab), _scores(learn, tdl, vocab)
        rows.append(dict(seed=seed, epochs=len(cb.states), epoch=i, **{f'val_{k}': x for k, x in v.items()}, **{f'test_{k}': x for k, x in t.items()},
                         reported_test_auroc=m['test']['auroc'], reported_test_accuracy=m['test']['accuracy'],
                         when=time.strftime('%Y-%m-%d %H:%M', time.gmtime()), run_s=round(time.perf_counter() - t0), data=Path(data).name))
    return rows

def _pick(r:pd.DataFrame, col:str, rule)->pd.Series:
    "The row (epoch) a rule picks from one run's rows"
    if rule == 'se':  # the latest epoch within one standard error of the best, as KeepBestCallback(tolerance='se') keeps it
        best = r.loc[r[col].idxmax()]
        return r[r[col] >= best[col] - best[f'{col}_se']].iloc[-1]
    return r.loc[r[col].idxmax() if rule is max else r[col].idxmin()]

def pm(s): return f"{s.mean():.3f} ± {s.std(ddof=1):.3f}" if len(s) > 1 else f"{s.mean():.3f}"

def write_md(csv:Path, md:Path)->str:
    "Per schedule and rule: the epoch picked per seed and its test scores, mean ± sd"
    res = pd.read_csv(csv)
    lines = [f"# Choosing the epoch of `medfast train` on `{res.data.iloc[-1]}`", "",
             "Each run is `medfast train --data X --seed S [--epochs E]` (the `train_job` call of the command, one extra callback copying the weights after every epoch). "
             "Every epoch's weights are then scored on `val` and `test`; a rule picks one epoch per seed **on validation only**, and the table gives the test scores of the epochs it picked. "
             "Loss: mean negative log-likelihood of the true class. ACC at the argmax. Choosing a rule by these test numbers is choosing a recipe on the test set: read them as a study of the rules, with 3 seeds.", ""]
    for E, g in res.groupby('epochs'):
        g = g.sort_values(['seed', 'epoch'])
        seeds = sorted(g.seed.unique())
        lines += [f"## {E} epochs, seeds {' '.join(map(str, seeds))}", "",
                  "| rule | epoch picked per seed | test AUROC | test ACC | test bal. acc | min test ACC |", "|---|---|---|---|---|---|"]
        for name, (col, f) in RULES.items():
            picks = [_pick(r, col, f) for _, r in g.groupby('seed')]
            p = pd.DataFrame(picks)
            lines.append(f"| {name} | {' / '.join(str(int(x)) for x in p.epoch)} | {pm(p.test_auroc)} | {pm(p.test_accuracy)} | {pm(p.test_balanced_accuracy)} | {p.test_accuracy.min():.3f} |")
        lines += ["", "| seed | epoch | val loss | val AUROC (SE) | val bal. acc | val ACC | test loss | test AUROC | test ACC | test bal. acc |", "|---|---|---|---|---|---|---|---|---|---|"]
        lines += [f"| {x.seed} | {x.epoch} | {x.val_loss:.3f} | {x.val_auroc:.4f} ({x.val_auroc_se:.4f}) | {x.val_balanced_accuracy:.3f} | {x.val_accuracy:.3f} | {x.test_loss:.3f} | "
                  f"{x.test_auroc:.3f} | {x.test_accuracy:.3f} | {x.test_balanced_accuracy:.3f} |" for x in g.sort_values(['seed', 'epoch']).itertuples()]
        lines.append("")
    findings = md.read_text().partition('\n## Findings')[2] if md.exists() else ''
    md.write_text('\n'.join(lines) + (f'\n## Findings{findings}' if findings else ''))
    return '\n'.join(lines)

def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--data', default='../shared/data/pneumoniamnist/pneumoniamnist.npz', help='a 2D MedMNIST .npz')
    p.add_argument('--seeds', nargs='*', type=int, default=[0, 1, 2])
    p.add_argument('--epochs', type=int, default=None, help="the command's --epochs (default: the recipe's own)")
    p.add_argument('--out', default=str(Path(__file__).parent/'results'))
    p.add_argument('--name', default='epoch_choice', help='stem of the csv and md written under --out')
    p.add_argument('--report-only', action='store_true', help='rebuild the markdown from the csv')
    a = p.parse_args()
    out = Path(a.out); out.mkdir(parents=True, exist_ok=True)
    csv, md = out/f'{a.name}.csv', out/f'{a.name}.md'
    if not a.report_only:
        torch.set_num_threads(int(os.environ.get('OMP_NUM_THREADS', '1')))
        for s in a.seeds:
            rows = run_one(a.data, s, a.epochs)
            pd.DataFrame(rows).to_csv(csv, mode='a', header=not csv.exists(), index=False)
            print(f"seed {s}: reported test AUROC {rows[0]['reported_test_auroc']:.3f} ACC {rows[0]['reported_test_accuracy']:.3f}", flush=True)
    print(write_md(csv, md))

if __name__ == '__main__': main()
