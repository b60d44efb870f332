"""Run the imbalance playbook's grid and record it: benchmarks/results/playbook.csv (one row per dataset, remedy, seed) and playbook.md (mean ± sd).

Usage: python benchmarks/playbook.py [--scale full|ci|quick] [--threads 1]; a scale other than `full` writes playbook_<scale>.{csv,md}.
"""
import argparse, platform, time
from pathlib import Path
import torch
from medfast.playbook import run_playbook, summarise_trials, METRICS, PLAYBOOK

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--scale', default='full', choices=list(PLAYBOOK))
    ap.add_argument('--threads', type=int, default=1, help='torch CPU threads (1 avoids oversubscription on shared cores)')
    ap.add_argument('--out', default=str(Path(__file__).parent/'results'))
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    t = time.perf_counter()
    res = run_playbook(a.scale, verbose=True)
    wall = time.perf_counter() - t
    out = Path(a.out); out.mkdir(parents=True, exist_ok=True)
    stem = 'playbook' if a.scale == 'full' else f'playbook_{a.scale}'
    res.to_csv(out/f'{stem}.csv', index=False)
    summ = summarise_trials(res).reset_index()
    cols = ['dataset', 'remedy'] + METRICS + ['s_per_epoch', 'seeds']
    summ['s_per_epoch'] = summ.s_per_epoch.map(lambda v: f"{v:.2f}")
    lines = [f"# Imbalance playbook, scale `{a.scale}`", "",
             f"Test-set metrics, mean ± sd over seeds {list(PLAYBOOK[a.scale]['seeds'])}; `s_per_epoch` is the median seconds per epoch of that remedy's own epoch "
             f"(torch threads={a.threads}, {platform.machine()}, {torch.__version__}; shared CPU, so timings are noisy). Grid: {PLAYBOOK[a.scale]['datasets']}. "
             f"Wall time {wall/60:.1f} min.", "",
             '| ' + ' | '.join(cols) + ' |', '|' + '---|'*len(cols)]
    lines += ['| ' + ' | '.join(str(r[c]) for c in cols) + ' |' for _, r in summ.iterrows()]
    (out/f'{stem}.md').write_text('\n'.join(lines) + '\n')
    print('\n'.join(lines))

if __name__ == '__main__': main()
