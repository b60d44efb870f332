"""Train medfast's recipe on the real PneumoniaMNIST and report it on the official test set.

Train and val are used for training and model selection (the recipe keeps the epoch with the best
validation balanced accuracy); the test split is touched once, for the final report. Writes
benchmarks/results/pneumoniamnist.json and appends a row to benchmarks/results/pneumoniamnist.csv.

    python benchmarks/pneumoniamnist.py --size 64 --epochs 6
"""
import argparse, json, os, platform, time, warnings
from pathlib import Path
warnings.filterwarnings('ignore', category=FutureWarning)
import pandas as pd, torch
from fastai.vision.all import set_seed
from medfast.data import real_data, table_dls
from medfast.sources import medmnist_table
from medfast.sampling import oversample
from medfast.learner import classifier_learner, fine_tune_recipe
from medfast.interpret import interpret_learner

# MedMNIST v2 (Yang et al. 2023), PneumoniaMNIST test AUC / ACC
REFERENCE = {'ResNet-18 (28)': (0.944, 0.854), 'ResNet-50 (224)': (0.962, 0.884), 'Google AutoML Vision': (0.991, 0.946)}

def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--arch', default='tf_efficientnet_lite0')
    p.add_argument('--size', type=int, default=64)
    p.add_argument('--bs', type=int, default=64)
    p.add_argument('--epochs', type=int, default=6)
    p.add_argument('--freeze-epochs', type=int, default=1)
    p.add_argument('--lr', type=float, default=2e-3)
    p.add_argument('--balance', choices=['none', 'oversample', 'weighted'], default='oversample')
    p.add_argument('--no-pretrained', dest='pretrained', action='store_false', help='random initial weights')
    p.add_argument('--seed', type=int, default=42)
    p.add_argument('--out', default=str(Path(__file__).parent/'results'))
    a = p.parse_args()
    root = real_data('pneumoniamnist', required=True)
    npz, names = root/'pneumoniamnist.npz', ['NORMAL', 'PNEUMONIA']
    set_seed(a.seed)
    df = medmnist_table(npz, names)                      # train + val (is_valid)
    test = medmnist_table(npz, names, valid='test').query('is_valid')
    dls = table_dls(oversample(df, 1.0, seed=a.seed) if a.balance == 'oversample' else df, size=a.size, bs=a.bs,
                    x_col='image', presize=1.0, seed=a.seed)
    learn = classifier_learner(dls, a.arch, pretrained=a.pretrained, weighted_loss=a.balance == 'weighted')
    t0 = time.perf_counter()
    hist = fine_tune_recipe(learn, epochs=a.epochs, freeze_epochs=a.freeze_epochs, lr=a.lr, progress=False)
    train_s = time.perf_counter() - t0
    rep = interpret_learner(learn, dl=dls.test_dl(test, with_labels=True))
    res = dict(dataset='PneumoniaMNIST', split='test', n_test=len(test), **vars(a), **rep.summary,
               train_minutes=round(train_s/60, 2), best_epoch=int(hist[hist.best].epoch.iloc[0]),
               valid_balanced_accuracy=float(hist.balanced_accuracy.max()),
               cpu=platform.processor() or platform.machine(), threads=torch.get_num_threads(),
               cuda=torch.cuda.is_available(), reference=REFERENCE)
    out = Path(a.out); out.mkdir(parents=True, exist_ok=True)
    (out/'pneumoniamnist.json').write_text(json.dumps(res, indent=1))
    row = pd.DataFrame([{k: v for k, v in res.items() if k != 'reference'}])
    csv = out/'pneumoniamnist.csv'
    row.to_csv(csv, mode='a', header=not csv.exists(), index=False)
    print(hist.round(4).to_string())
    print(rep.table.round(3).to_string())
    print(json.dumps({k: res[k] for k in ('auroc', 'accuracy', 'balanced_accuracy', 'train_minutes')}))
    for k, (auc, acc) in REFERENCE.items(): print(f"{k:22s} AUC {auc:.3f} ACC {acc:.3f}")

if __name__ == '__main__': main()
