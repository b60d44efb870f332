"""Patient leakage: what a random image split does to the validation metrics of the phantom chest X-rays, against a patient split and the held-out test set (3 seeds).

Run: `OMP_NUM_THREADS=1 python benchmarks/leak.py [--n 150] [--epochs 8]`; writes benchmarks/results/leak.{csv,md}.
Per seed, `make_chest_xray` writes a balanced training folder (1-3 images per patient sharing their anatomy, Kaggle names) and a test folder
of other patients. `folder_dls(valid_pct=0.2)` splits the training folder by patient (`patient='auto'`) or by image (`patient=None`); three
models are scored on that validation split and on the test folder: the tutorial's four-layer CNN with the X-ray augmentation, the same CNN
without augmentation trained longer (a model that can memorise), and a 1-nearest-neighbour classifier on the pixels (a pure memoriser).
"""
import argparse, json, platform, time, warnings
from pathlib import Path
import medfast.core
import numpy as np, pandas as pd, torch
from PIL import Image
from fastai.torch_core import set_seed
from medfast.core import work_dir
from medfast.phantoms import make_chest_xray
from medfast.data import folder_dls
from medfast.learner import classifier_learner
from medfast.metrics import summary_scores
from medfast.playbook import tiny_cnn
from _report import md_table

NO_AUG = dict(max_rotate=0, max_zoom=1.0, max_lighting=0, max_warp=0, p_affine=0, p_lighting=0)


def split_dls(path:Path, split:str, size:int, seed:int, **kwargs):
    "DataLoaders of the training folder split by patient or by image; the random split's shared-patient warning is the point, so it is silenced"
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        return folder_dls(path, size=size, bs=32, valid_pct=0.2, patient='auto' if split == 'patient' else None, n_in=1, seed=seed, **kwargs)

def _scores(probs, targs)->dict:
    s = summary_scores(probs, targs)
    return dict(auroc=s['auroc'], accuracy=s['accuracy'])

def cnn_trial(dls, epochs:int, seed:int)->dict:
    "Validation and test AUROC/accuracy of the four-layer CNN trained on `dls`"
    set_seed(seed)
    learn = classifier_learner(dls, tiny_cnn, pretrained=False)
    with learn.no_bar(), learn.no_logging():
        learn.fit_one_cycle(epochs, 1e-2)
        pv, tv = learn.get_preds()
        test = dls.heldout[dls.heldout.split == 'test']
        pt, tt = learn.get_preds(dl=dls.test_dl(test, with_labels=True))
    return {**{f'valid_{k}': v for k, v in _scores(pv, tv).items()}, **{f'test_{k}': v for k, v in _scores(pt, tt).items()}}

def nn1_trial(path:Path, dls, size:int)->dict:
    "Validation and test scores of 1-nearest-neighbour on standardised pixels, fitted on the same training images (probability = neighbour's class)"
    def load(files):
        x = np.stack([np.asarray(Image.open(path/f).convert('L').resize((size, size))).ravel().astype(float) for f in files])
        return (x - x.mean(1, keepdims=True))/x.std(1, keepdims=True).clip(1e-6)
    items, vocab = dls.train_ds.items.drop_duplicates('file'), list(dls.vocab)
    xtr, ytr = load(items.file), items.label.map(vocab.index).to_numpy()
    out = {}
    for name, df in (('valid', dls.valid_ds.items), ('test', dls.heldout[dls.heldout.split == 'test'])):
        pred = ytr[(load(df.file) @ xtr.T).argmax(1)]
        out.update({f'{name}_{k}': v for k, v in _scores(np.eye(len(vocab))[pred], df.label.map(vocab.index).to_numpy()).items()})
    return out

def trial(seed:int, n:int, n_test:int, epochs:int, size:int=32)->list:
    "All models under both splits for one seed"
    path = make_chest_xray(work_dir(), {'train': {'NORMAL': n, 'PNEUMONIA': n}, 'test': {'NORMAL': n_test, 'PNEUMONIA': n_test}}, size=2*size, seed=seed)
    rows = []
    for split in ('random', 'patient'):
        dls, t = split_dls(path, split, size, seed), time.perf_counter()
        base = dict(seed=seed, split=split, n_valid=len(dls.valid_ds))
        rows.append(dict(base, model='CNN, X-ray augmentation', **cnn_trial(dls, epochs, seed), fit_s=round(time.perf_counter() - t, 1)))
        t = time.perf_counter()
        rows.append(dict(base, model=f'CNN, no augmentation, {2*epochs} epochs', **cnn_trial(split_dls(path, split, size, seed, **NO_AUG), 2*epochs, seed), fit_s=round(time.perf_counter() - t, 1)))
        rows.append(dict(base, model='1-NN on pixels', **nn1_trial(path, dls, size), fit_s=0.))
        man = pd.read_csv(path.parent/'chest_xray.csv').assign(file=lambda d: d.file.str.replace('\\', '/'))
        pat = dict(zip(man.file.map(lambda f: Path(f).name), man.patient))
        vp = {pat[Path(f).name] for f in dls.valid_ds.items.file}
        tp = {pat[Path(f).name] for f in dls.train_ds.items.file}
        for r in rows[-3:]: r['valid_patients_in_train'] = round(len(vp & tp)/len(vp), 3)
    return rows

def report(df:pd.DataFrame, meta:dict, out:Path):
    "Write leak.csv (with the validation-minus-test AUROC gap) and leak.md: mean and sd over the seeds, and every seed"
    cols = ['valid_auroc', 'test_auroc', 'valid_accuracy', 'test_accuracy']
    df = df.assign(gap_auroc=df.valid_auroc - df.test_auroc)
    df.to_csv(out/'leak.csv', index=False)
    agg = df.groupby(['model', 'split'], sort=False)[cols + ['gap_auroc', 'valid_patients_in_train']].agg(['mean', 'std']).round(3)
    agg.columns = [f'{a} {b}' for a, b in agg.columns]
    md = ['# Patient leakage on the phantom chest X-rays', '', f"Run: `python benchmarks/leak.py --n {meta['train_per_class']} --epochs {meta['epochs']}`", '', __doc__.split('\n\n', 1)[-1].strip().partition('\n')[2], '',
          '```json', json.dumps(meta), '```', '', '## Mean and sd over 3 seeds', '', '`gap_auroc` is validation minus test AUROC: how far validation flatters the model.', '',
          md_table(agg.reset_index()), '', '## Per seed', '', md_table(df.round(3))]
    (out/'leak.md').write_text('\n'.join(md) + '\n')

def main(n=150, n_test=60, epochs=8, seeds=(0, 1, 2), size=32, out=Path(__file__).parent/'results'):
    torch.set_num_threads(1)
    t0, c0 = time.perf_counter(), time.process_time()
    rows = []
    for s in seeds:
        rows += trial(s, n, n_test, epochs, size)
        pd.DataFrame(rows).to_csv(out/'leak.csv', index=False)
        print(s, round(time.perf_counter() - t0), flush=True)
    meta = dict(train_per_class=n, test_per_class=n_test, phantom_size=2*size, size=size, valid_pct=0.2, epochs=epochs, lr=1e-2, seeds=list(seeds), arch='tiny_cnn',
                wall_s=round(time.perf_counter() - t0), cpu_s=round(time.process_time() - c0), torch_threads=1, machine=platform.processor() or platform.machine())
    report(pd.DataFrame(rows), meta, out)

if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--n', type=int, default=150); ap.add_argument('--n-test', type=int, default=60); ap.add_argument('--epochs', type=int, default=8)
    a = ap.parse_args()
    main(a.n, a.n_test, a.epochs)
