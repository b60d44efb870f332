"""Full-scale run of the Alzheimer brain-MRI tutorial: every experiment of `nbs/tutorials/alzheimer_mri.ipynb` on a larger
parquet phantom, with more epochs and three seeds each. Writes `benchmarks/results/alzheimer_mri.{md,csv}`.
`--part leakage` runs the tutorial's leakage section instead: a phantom with several slices per subject, a model trained on a
random slice split and on a subject split, each scored on its validation slices and on held-out test subjects, three seeds;
it writes `benchmarks/results/alzheimer_mri_leakage.{md,csv}`.

Usage: OMP_NUM_THREADS=1 python benchmarks/alzheimer_mri.py [--part rows|leakage] [--scale 0.04] [--epochs 4] [--seeds 0 1 2]"""
import argparse, time
from pathlib import Path
import medfast.core
import numpy as np, pandas as pd, torch
from fastai.vision.all import set_seed, Adam, SGD
from medfast.core import work_dir
from medfast.phantoms import make_alzheimer_mri, scale_counts, ALZHEIMER_MRI, ALZHEIMER_CLASSES
from medfast.sources import parquet_table
from medfast.sampling import class_counts, weighted_dls, stratified_split, patient_split, leakage_audit
from medfast.playbook import tiny_cnn
from medfast.data import table_dls
from medfast.learner import freeze_blocks
from medfast.heads import deep_head_kwargs
from medfast.learner import classifier_learner, fine_tune_recipe
from medfast.interpret import per_class_report, summary_metrics
from _report import md_table, split_runs, write_split_report

ARCH, BS = 'tf_efficientnet_lite0', 32
NO_AUG = dict(do_flip=False, max_rotate=0., max_zoom=1., max_lighting=0.)
DEEP = dict(attention=False)
EXPERIMENTS = {  # the tutorial's rows, in the author's order
    '1 baseline': dict(),
    '2 + augmentation': dict(aug=True),
    '3 + weighted sampler': dict(aug=True, sampler=True),
    '4 + freeze first 3 blocks': dict(aug=True, sampler=True, frozen=3),
    '5 + deep head': dict(aug=True, sampler=True, frozen=3, head=DEEP),
    '6 - augmentation': dict(sampler=True, frozen=3, head=DEEP),
    '7 + class-weighted loss': dict(sampler=True, frozen=3, head=DEEP, weighted_loss=True),
    '8 SGD instead of Adam': dict(sampler=True, frozen=3, head=DEEP, opt_func=SGD, lr=3e-2),
    '9 + attention, freeze 1 block': dict(sampler=True, frozen=1, head=dict(attention=True), opt_func=SGD, lr=3e-2),
}

def experiment(df, size, epochs, aug=False, sampler=False, frozen=None, head=None, weighted_loss=False, opt_func=Adam, lr=3e-3, seed=0):
    "Train one configuration; return summary metrics and the per-class report on the test split"
    dls = table_dls(df, size=size, bs=BS, modality='mri', x_col='image', presize=1., seed=seed, **({} if aug else NO_AUG))
    if sampler: dls = weighted_dls(dls)
    kw = {} if head is None else deep_head_kwargs(dls, ARCH, hidden=128, **head)
    set_seed(seed)
    learn = classifier_learner(dls, ARCH, weighted_loss=weighted_loss, opt_func=opt_func, **kw)
    if frozen is None: fine_tune_recipe(learn, epochs=epochs - 1, freeze_epochs=1, lr=lr, progress=False)
    else: freeze_blocks(learn, frozen); fine_tune_recipe(learn, epochs=0, freeze_epochs=epochs, lr=lr, progress=False)
    with learn.no_bar(): probs, targs = learn.get_preds()
    return summary_metrics(probs, targs, dls.vocab), per_class_report(probs, targs, dls.vocab)


def write(res:pd.DataFrame, counts:dict, args:dict, wall:float, out:Path):
    "Write the runs so far to `alzheimer_mri.csv` and their mean ± sd per experiment to `alzheimer_mri.md`"
    out.mkdir(parents=True, exist_ok=True)
    res.to_csv(out/'alzheimer_mri.csv', index=False)
    cols = ['accuracy', 'balanced_accuracy', 'macro_f1'] + [c for c in res if c.startswith('f1 ')]
    agg = res.groupby('experiment', sort=False)[cols].agg(['mean', 'std'])
    md = pd.DataFrame({c: agg[(c, 'mean')].map('{:.3f}'.format) + ' ± ' + agg[(c, 'std')].map('{:.3f}'.format) for c in cols})
    md.insert(0, 'seeds', res.groupby('experiment', sort=False).seed.apply(lambda s: ' '.join(map(str, s))))
    tr, te = counts['train'], counts['test']
    (out/'alzheimer_mri.md').write_text(
        f"# Alzheimer brain MRI, full phantom run\n\n"
        f"`python benchmarks/alzheimer_mri.py` ({', '.join(f'{k}={v}' for k, v in args.items())}, arch={ARCH} with offline ImageNet weights, bs={BS}).\n"
        f"Phantom: `make_alzheimer_mri(counts=scale_counts(ALZHEIMER_MRI, {args['scale']}, min_n=12), size=64, seed=0)`, parquet layout; "
        f"train {sum(tr.values())} ({', '.join(f'{k} {v}' for k, v in tr.items())}), test {sum(te.values())} ({', '.join(f'{k} {v}' for k, v in te.items())}).\n"
        f"Metrics on the test split, mean ± sd over the seeds listed. {len(res)} runs, wall time {wall/60:.1f} min on one CPU thread "
        f"of a shared machine ({res.seconds.mean():.0f} s per run).\n\n" + md_table(md.reset_index()) + '\n')

def main(scale=0.04, size=32, epochs=4, seeds=(0, 1, 2), out=Path(__file__).parent/'results'):
    torch.set_num_threads(1)
    t0 = time.time()
    counts = scale_counts(ALZHEIMER_MRI, scale, min_n=12)
    df = parquet_table(make_alzheimer_mri(work_dir(), counts=counts, size=64, seed=0)/'data')
    df['is_valid'] = df.split == 'test'
    rows = []
    for seed in seeds:  # seeds outside, so that a stopped run has every experiment at its first seeds
        for name, kw in EXPERIMENTS.items():
            t = time.time()
            summ, rep = experiment(df, size, epochs, seed=seed, **kw)
            rows.append(dict(experiment=name, seed=seed, **summ, **{f'f1 {c}': f for c, f in rep.f1.items()},
                             **{f'recall {c}': r for c, r in rep.recall.items()}, **{f'precision {c}': p for c, p in rep.precision.items()},
                             seconds=round(time.time() - t, 1)))
            print(name, seed, summ, flush=True)
            res = pd.DataFrame(rows)
            write(res, counts, dict(scale=scale, size=size, epochs=epochs, seeds=list(seeds)), time.time() - t0, out)
    return res

LEAK = dict(subjects=20, test_subjects=10, slices=4, epochs=10, size=32)  # per class; the tutorial's CI scale is smaller

def subject_table(root:Path)->pd.DataFrame:
    "The parquet phantom's item table with each slice's subject, from the manifest, as `patient`"
    man = pd.read_csv(root.parent/'alzheimer_mri.csv')
    return parquet_table(root/'data').merge(man[['file', 'subject']], on='file').rename(columns={'subject': 'patient'})

def leak_run(split:pd.DataFrame, test:pd.DataFrame, size:int, epochs:int, seed:int)->dict:
    "Train a small CNN from scratch on `split`; accuracy and balanced accuracy on its validation rows and on the held-out `test` subjects"
    dls = table_dls(split, size=size, bs=32, modality='mri', x_col='image', presize=1., seed=seed, audit=False, **NO_AUG)
    learn = classifier_learner(dls, tiny_cnn, pretrained=False, seed=seed)
    with learn.no_bar(), learn.no_logging():
        learn.fit_one_cycle(epochs, 3e-3)
        scores = {k: summary_metrics(*learn.get_preds(dl=dl), dls.vocab) for k, dl in (('valid', dls.valid), ('test', dls.test_dl(test, with_labels=True)))}
    return {f'{k} {m}': s[m] for k, s in scores.items() for m in ('accuracy', 'balanced_accuracy')}

def leakage(seeds=(0, 1, 2), out=Path(__file__).parent/'results', subjects=LEAK['subjects'], test_subjects=LEAK['test_subjects'],
            slices=LEAK['slices'], epochs=LEAK['epochs'], size=LEAK['size']):
    "Slice split vs subject split, scored on validation and on new subjects, for each seed; writes alzheimer_mri_leakage.{csv,md}"
    torch.set_num_threads(1)
    t0 = time.time()
    root = make_alzheimer_mri(work_dir(), subjects={'train': {c: subjects for c in ALZHEIMER_CLASSES}, 'test': {c: test_subjects for c in ALZHEIMER_CLASSES}},
                              slices_per_subject=slices, size=size, seed=0)
    df = subject_table(root)
    pool, test = df[df.split == 'train'], df[df.split == 'test']
    def run(split, seed): return dict(shared_subjects=leakage_audit(split, 'patient', None).shape[0], **leak_run(split, test, size, epochs, seed))
    splits = lambda seed: (('slice split', stratified_split(pool, 0.25, seed=seed)), ('subject split', patient_split(pool, 0.25, seed=seed)))
    res = split_runs(seeds, splits, run, out/'alzheimer_mri_leakage.csv')
    write_split_report(res, out/'alzheimer_mri_leakage.md', 'Alzheimer brain MRI phantom: slice split vs subject split',
        f"`python benchmarks/alzheimer_mri.py --part leakage` "
        f"(seeds={list(seeds)}, {subjects} training-pool and {test_subjects} test subjects per class, {slices} slices each, {size} px, "
        f"tiny_cnn from scratch, {epochs} epochs of one-cycle at 3e-3, 25% validation).\n"
        f"valid: the split's own validation slices; test: the held-out subjects of `test-00000-of-00001.parquet`. Mean ± sd over the seeds; "
        f"{len(res)} runs in {(time.time() - t0)/60:.1f} min on one CPU thread of a shared machine.")
    return res

if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--scale', type=float, default=0.04); p.add_argument('--size', type=int, default=32)
    p.add_argument('--epochs', type=int, default=4); p.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    p.add_argument('--out', type=Path, default=Path(__file__).parent/'results')
    p.add_argument('--part', choices=['rows', 'leakage'], default='rows')
    a = p.parse_args()
    if a.part == 'leakage': leakage(tuple(a.seeds), a.out)
    else: main(a.scale, a.size, a.epochs, tuple(a.seeds), a.out)
