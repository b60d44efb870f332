"""ViViT vs 3D ResNet on the 3D organ phantoms: validation accuracy, seconds per epoch and peak memory.

Run: `python benchmarks/volumes.py [--epochs 12] [--seeds 3]`; writes benchmarks/results/volumes.{csv,md}.
Each run trains in a fresh process so that its peak memory (max RSS, and CUDA peak when on a GPU) is its own.
"""
import argparse, resource, statistics, sys, tempfile, time, platform
import multiprocessing as mp
from pathlib import Path
import pandas as pd

MODELS = {'ViViT (factorised)': ('vivit', dict(attention='factorised')), 'ViViT (joint)': ('vivit', dict(attention='joint')),
          '3D ResNet': ('resnet3d', dict())}

def _run(name, seed, epochs, fn, threads, q):
    import torch, warnings
    torch.set_num_threads(threads)
    warnings.filterwarnings('ignore')
    from fastai.torch_core import set_seed
    from medfast.phantoms import ORGANS_3D
    from medfast.volumes import npz_volume_dls, ViViT, resnet3d, volume_learner
    kind, kw = MODELS[name]
    set_seed(seed)
    dls = npz_volume_dls(fn, ORGANS_3D, bs=8, seed=seed)
    model = ViViT(n_out=dls.c, **kw) if kind == 'vivit' else resnet3d(n_out=dls.c, **kw)
    learn = volume_learner(dls, model, patience=None)
    if torch.cuda.is_available(): learn.to('cuda'); dls.to('cuda'); torch.cuda.reset_peak_memory_stats()
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    times = []
    from fastai.callback.core import Callback
    class EpochTimer(Callback):
        def before_epoch(self): self.t = time.perf_counter()
        def after_epoch(self): times.append(time.perf_counter() - self.t)
    with learn.no_bar(), learn.no_logging(): learn.fit_one_cycle(epochs, 2e-3, cbs=EpochTimer())
    vals = dict(zip(learn.recorder.metric_names[1:-1], learn.recorder.values[-1]))
    q.put(dict(model=name, seed=seed, params=sum(p.numel() for p in model.parameters()), accuracy=vals['accuracy'],
               balanced_accuracy=vals['balanced_accuracy'], s_per_epoch=statistics.median(times),
               peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss/1024, rss_growth_mb=(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss0)/1024,
               cuda_peak_mb=torch.cuda.max_memory_allocated()/2**20 if torch.cuda.is_available() else float('nan')))

def _md(df:pd.DataFrame)->str:
    "A pipe table of `df` with its index, without the optional `tabulate` dependency"
    cols = [df.index.name or ''] + list(df.columns)
    rows = [[str(i)] + [f"{v:g}" if isinstance(v, float) else str(v) for v in r] for i, r in zip(df.index, df.values.tolist())]
    return '\n'.join('| ' + ' | '.join(r) + ' |' for r in [cols, ['---']*len(cols), *rows])

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--epochs', type=int, default=12)
    ap.add_argument('--seeds', type=int, default=3)
    ap.add_argument('--threads', type=int, default=1, help='torch CPU threads; 1 keeps timings stable on a shared machine')
    ap.add_argument('--out', default=str(Path(__file__).parent/'results'))
    a = ap.parse_args(argv)
    from medfast.phantoms import make_organ_mnist3d
    fn = make_organ_mnist3d(tempfile.mkdtemp(), seed=0)
    ctx, rows = mp.get_context('spawn'), []
    for name in MODELS:
        for seed in range(a.seeds):
            q = ctx.Queue()
            p = ctx.Process(target=_run, args=(name, seed, a.epochs, fn, a.threads, q)); p.start()
            rows.append(q.get()); p.join()
            print(rows[-1], flush=True)
    runs = pd.DataFrame(rows)
    summ = runs.groupby('model', sort=False).agg(params=('params', 'first'), accuracy=('accuracy', 'median'), balanced_accuracy=('balanced_accuracy', 'median'),
                                                 s_per_epoch=('s_per_epoch', 'median'), peak_rss_mb=('peak_rss_mb', 'median'),
                                                 rss_growth_mb=('rss_growth_mb', 'median'), cuda_peak_mb=('cuda_peak_mb', 'median')).round(3)
    out = Path(a.out); out.mkdir(parents=True, exist_ok=True)
    runs.to_csv(out/'volumes.csv', index=False)
    import torch
    dev = torch.cuda.get_device_name() if torch.cuda.is_available() else f"CPU ({a.threads} torch thread(s), machine shared with other jobs)"
    (out/'volumes.md').write_text(
        f"# ViViT vs 3D ResNet on 3D organ phantoms\n\n`python benchmarks/volumes.py --epochs {a.epochs} --seeds {a.seeds} --threads {a.threads}` on {dev}, {platform.python_version()} / torch {torch.__version__}.\n"
        f"Phantom OrganMNIST3D (`make_organ_mnist3d`, 28³, 6 organs, 115 train / 25 validation volumes, imbalanced 40:5), batch 8, one-cycle at 2e-3, no early stopping.\n"
        f"Medians over {a.seeds} seeds; per-run rows in volumes.csv. Chance: accuracy 0.32 (majority class), balanced accuracy 0.167.\n"
        f"Memory: peak RSS of the training process (includes the ~0.5 GB of Python, torch and fastai) and its growth during training; CUDA peak when on a GPU.\n\n"
        + _md(summ) + "\n")
    print(summ.to_string())

if __name__ == '__main__': main()
