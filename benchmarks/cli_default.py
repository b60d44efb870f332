"""`medfast train` with no option but `--seed` and `--out`, on a MedMNIST `.npz`, one seed after another.

Runs the command a user types (the `medfast` console script, in a subprocess, stdout piped so fastai prints one
plain line per epoch) for each seed in turn, never two at once, and reads each run's `metrics.json`. Training time is
the sum of the per-epoch times the command prints (fit + per-epoch validation, 1 s resolution); wall time is the
whole command (start-up, data, fit, test scoring, export). `<out>/cli_default.csv` gets one row per run and
`<out>/cli_default.md` is rebuilt from it, with the published PneumoniaMNIST rows and the benchmark's own
`vgg28` rows (`medmnist.csv`) beside it; a hand-written `## Findings` section at the end of the markdown is kept.

    python benchmarks/cli_default.py --data ../shared/data/pneumoniamnist/pneumoniamnist.npz --seeds 0 1 2
"""
import argparse, json, os, platform, re, shutil, subprocess, sys, tempfile, time
from pathlib import Path
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from medmnist import PUBLISHED, pm  # the published rows and the mean ± sd format of the MedMNIST benchmark

def _command()->list:
    "The `medfast` console script beside this Python, or the same entry point through `python -c`"
    exe = Path(sys.executable).parent/'medfast'
    return [str(exe)] if exe.exists() else [sys.executable, '-c', 'import sys; from medfast.cli import main; sys.exit(main())']

def _train_seconds(log:str)->int:
    "Sum of the `time mm:ss` fields of the per-epoch lines `medfast train` prints in a pipe"
    return sum(int(m) * 60 + int(s) for m, s in re.findall(r'\btime (\d+):(\d\d)\b', log))

def run_one(data:str, seed:int, out:Path)->dict:
    "One `medfast train --data DATA --seed SEED --out OUT` run; its test/valid metrics, times and machine load"
    out.mkdir(parents=True, exist_ok=True)
    load0, t0 = os.getloadavg(), time.perf_counter()
    env = {**os.environ, 'OMP_NUM_THREADS': os.environ.get('OMP_NUM_THREADS', '1')}
    p = subprocess.run(_command() + ['train', '--data', data, '--seed', str(seed), '--out', str(out)],
                       capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t0
    (out/'stdout.txt').write_text(p.stdout + p.stderr)
    if p.returncode: raise SystemExit(f"seed {seed}: medfast train exited {p.returncode}\n{p.stderr[-3000:]}")
    m = json.loads((out/'metrics.json').read_text())
    r = m['run']['recipe']
    return dict(seed=seed, arch=r['arch'], size=r['size'], bs=r['bs'], epochs=r['epochs'], lr=r['lr'], tolerance=r.get('tolerance', 0.),
                **{f'test_{k}': m['test'][k] for k in ('auroc', 'accuracy', 'balanced_accuracy', 'macro_f1', 'mcc')},
                **{f'val_{k}': m['valid'][k] for k in ('auroc', 'accuracy')},
                train_s=_train_seconds(p.stdout), wall_s=round(wall, 1), reported_wall_s=m['run']['wall_seconds'],
                threads=m['run']['threads'], omp_num_threads=env['OMP_NUM_THREADS'],
                load1_start=round(load0[0], 2), load5_start=round(load0[1], 2), load1_end=round(os.getloadavg()[0], 2),
                when=time.strftime('%Y-%m-%d %H:%M', time.gmtime()), data=Path(data).name, medfast=m['run']['versions']['medfast'])

def _benchmark_rows(results:Path)->list:
    "The `vgg28` rows of the MedMNIST benchmark (the recipe `train_defaults` chose), one line per tag"
    f = results/'medmnist.csv'
    if not f.exists(): return []
    res = pd.read_csv(f).query("candidate == 'vgg28'")
    return [f"| benchmark `vgg28` ({tag}, `medmnist.py`) | {pm(g.test_auroc)} | {pm(g.test_accuracy)} | {len(g)} ({' '.join(map(str, g.seed))}) | "
            f"{g.train_s.median():.0f} | {g.total_s.median():.0f} | {max(g.load_start.max(), g.load_end.max()):.1f} |"
            for tag, g in res.groupby('tag', sort=False)]

def write_md(csv:Path, md:Path)->str:
    "Rebuild the markdown report from every row of the csv"
    res = pd.read_csv(csv)
    r = res.iloc[-1]
    lines = [f"# `medfast train` defaults on `{r.data}`", "",
             f"`medfast train --data {r.data} --seed S --out DIR`, nothing else, run by `benchmarks/cli_default.py` one seed after another. "
             f"Recipe chosen by `train_defaults`: `{r.arch}` from scratch at {r['size']} px, bs {r.bs}, {r.epochs} epochs, lr {r.lr}, oversampled, "
             f"{'the latest epoch within one standard error of the best val AUROC kept' if str(r.get('tolerance')) == 'se' else 'the epoch with the best val AUROC kept'}, "
             "`test` scored once. ACC at the argmax. Training: the sum of the per-epoch times printed (fit + validation); wall: the whole command. "
             f"CPU: {platform.machine()}, {os.cpu_count()} cores shared with other sessions; load: 1-/5-minute load average at the start of the run.", "",
             "| seed | test AUROC | test ACC | test bal. acc | val AUROC | train s | wall s | threads | load 1m / 5m at start | when (UTC) |", "|---|---|---|---|---|---|---|---|---|---|"]
    lines += [f"| {x.seed} | {x.test_auroc:.3f} | {x.test_accuracy:.3f} | {x.test_balanced_accuracy:.3f} | {x.val_auroc:.3f} | {x.train_s} | {x.wall_s:.0f} | "
              f"{x.threads} | {x.load1_start:.2f} / {x.load5_start:.2f} | {x.when} |" for x in res.itertuples()]
    lines += ["", "| | test AUROC | test ACC | seeds | train s/run (median) | wall s/run (median) | peak load |", "|---|---|---|---|---|---|---|",
              f"| **`medfast train` defaults** | **{pm(res.test_auroc)}** | **{pm(res.test_accuracy)}** | {len(res)} ({' '.join(map(str, res.seed))}) | "
              f"{res.train_s.median():.0f} | {res.wall_s.median():.0f} | {max(res.load1_start.max(), res.load1_end.max()):.1f} |"]
    lines += _benchmark_rows(csv.parent)
    if 'pneumonia' in str(r.data).lower(): lines += [f"| published: {k} | {a or '–'} | {b or '–'} | | | | |" for k, (a, b) in PUBLISHED.items()]
    findings = md.read_text().partition('\n## Findings')[2] if md.exists() else ''
    md.write_text('\n'.join(lines) + '\n' + (f'\n## Findings{findings}' if findings else ''))
    return '\n'.join(lines)

def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--data', default='../shared/data/pneumoniamnist/pneumoniamnist.npz', help='a 2D MedMNIST .npz')
    p.add_argument('--seeds', nargs='*', type=int, default=[0, 1, 2])
    p.add_argument('--out', default=str(Path(__file__).parent/'results'), help='folder of cli_default.csv and .md')
    p.add_argument('--runs', default=None, help='folder for the runs\' outputs (default: a temporary folder, removed)')
    p.add_argument('--report-only', action='store_true', help='rebuild the markdown from the csv')
    a = p.parse_args()
    out = Path(a.out); out.mkdir(parents=True, exist_ok=True)
    csv, md = out/'cli_default.csv', out/'cli_default.md'
    if not a.report_only:
        runs = Path(a.runs or tempfile.mkdtemp(prefix='cli_default-'))
        for seed in a.seeds:
            row = run_one(a.data, seed, runs/f'seed{seed}')
            pd.DataFrame([row]).to_csv(csv, mode='a', header=not csv.exists(), index=False)
            print(f"seed {seed}: test AUROC {row['test_auroc']:.3f} ACC {row['test_accuracy']:.3f}, train {row['train_s']} s, wall {row['wall_s']:.0f} s, load {row['load1_start']}", flush=True)
        if a.runs is None: shutil.rmtree(runs)
    print(write_md(csv, md))

if __name__ == '__main__': main()
