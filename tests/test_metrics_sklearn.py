"Each medfast metric, run through fastai's validation loop on random inputs, against scikit-learn (or imbalanced-learn)"
import medfast.core  # its warning filter, before fastai is imported
import numpy as np, pytest, torch
import sklearn.metrics as skm
from torch import nn
from fastai.learner import Learner
from fastai.data.core import DataLoaders
from fastai.losses import CrossEntropyLossFlat, BCEWithLogitsLossFlat
from imblearn.metrics import geometric_mean_score
from sklearn.calibration import calibration_curve
from medfast.metrics import (imbalance_metrics, class_metrics, multilabel_metrics, ece, ece_score, gmean_score, specificity_score, bootstrap_ci,
                             bootstrap_table, summary_scores, macro_auroc_score, has_both_outcomes, multilabel_scores)
from medfast.losses import pos_weights

def _validate(ms, logits, targs, loss):
    ds = [(torch.tensor(i), t) for i, t in enumerate(targs)]
    learn = Learner(DataLoaders.from_dsets(ds, ds, bs=37), nn.Embedding.from_pretrained(logits), loss_func=loss, metrics=ms)
    return dict(zip([m.name for m in learn.metrics], learn.validate()[1:]))

def _ref_ece(y, p, n_bins=15):
    "ECE from scikit-learn's calibration_curve: bin-size-weighted |fraction positive - mean probability|"
    frac, mean_p = calibration_curve(y, p, n_bins=n_bins, strategy='uniform')
    nb = np.bincount(np.searchsorted(np.linspace(0, 1, n_bins + 1)[1:-1], p), minlength=n_bins)
    return (nb[nb > 0]*np.abs(frac - mean_p)).sum()/len(y)

def _single(seed, n_out, n=300):
    g = torch.Generator().manual_seed(seed)
    targs = torch.randint(0, n_out, (n,), generator=g)
    logits = torch.randn(n, n_out, generator=g) + 1.5*nn.functional.one_hot(targs, n_out)*torch.rand(n, 1, generator=g)
    return logits, targs

@pytest.mark.parametrize('seed', range(4))
@pytest.mark.parametrize('n_out', [2, 4])
def test_single_label(seed, n_out):
    logits, targs = _single(seed, n_out)
    vocab = [f'c{i}' for i in range(n_out)]
    r = _validate(imbalance_metrics(n_out) + class_metrics(vocab) + [ece()], logits, targs, CrossEntropyLossFlat())
    probs, preds, t = logits.softmax(1).numpy(), logits.argmax(1).numpy(), targs.numpy()
    assert r['balanced_accuracy'] == pytest.approx(skm.balanced_accuracy_score(t, preds))
    assert r['macro_f1'] == pytest.approx(skm.f1_score(t, preds, average='macro'))
    assert r['auroc'] == pytest.approx(skm.roc_auc_score(t, probs[:, 1]) if n_out == 2 else skm.roc_auc_score(t, probs, multi_class='ovr'), abs=1e-6)
    assert r['mcc'] == pytest.approx(skm.matthews_corrcoef(t, preds))
    assert r['gmean'] == pytest.approx(geometric_mean_score(t, preds, average='multiclass'))
    for i, c in enumerate(vocab):
        assert r[f'sensitivity_{c}'] == pytest.approx(skm.recall_score(t == i, preds == i))
        assert r[f'specificity_{c}'] == pytest.approx(skm.recall_score(t != i, preds != i))
    assert r['ece'] == pytest.approx(_ref_ece(preds == t, probs.max(1)), abs=1e-5)

@pytest.mark.parametrize('seed', range(4))
def test_multi_label(seed):
    g = torch.Generator().manual_seed(seed)
    targs = (torch.rand(200, 5, generator=g) < torch.tensor([0.4, 0.2, 0.1, 0.05, 0.3])).float()
    logits = torch.randn(200, 5, generator=g) + 2*targs*torch.rand(200, 1, generator=g)
    names = list('abcde')
    r = _validate(multilabel_metrics(names) + [ece(multi_label=True)], logits, targs, BCEWithLogitsLossFlat())
    p, t = torch.sigmoid(logits).numpy(), targs.numpy()
    assert r['macro_auroc'] == pytest.approx(skm.roc_auc_score(t, p, average='macro'))
    assert r['macro_ap'] == pytest.approx(skm.average_precision_score(t, p, average='macro'))
    for j, l in enumerate(names):
        assert r[f'auroc_{l}'] == pytest.approx(skm.roc_auc_score(t[:, j], p[:, j]))
        assert r[f'ap_{l}'] == pytest.approx(skm.average_precision_score(t[:, j], p[:, j]))
    assert r['ece'] == pytest.approx(np.mean([_ref_ece(t[:, j], p[:, j]) for j in range(5)]), abs=1e-5)

def test_gmean_and_bootstrap():
    rng = np.random.default_rng(0)
    t, p = rng.integers(0, 3, 500), rng.integers(0, 3, 500)
    assert gmean_score(p, t) == pytest.approx(geometric_mean_score(t, p))
    ci = bootstrap_ci(lambda p, t: skm.balanced_accuracy_score(t, p), p, t, n_boot=200)
    assert ci['lo'] <= ci['value'] <= ci['hi'] and ci['value'] == pytest.approx(skm.balanced_accuracy_score(t, p))

@pytest.mark.parametrize('seed', range(3))
@pytest.mark.parametrize('n_out', [2, 3])
def test_summary_scores(seed, n_out):
    "summary_scores, the one summary behind interpret, the playbook and bootstrap_table, against scikit-learn and imbalanced-learn"
    logits, targs = _single(seed, n_out)
    probs, t = logits.softmax(1).numpy(), targs.numpy()
    preds = probs.argmax(1)
    s = summary_scores(probs, t)
    assert s['accuracy'] == pytest.approx(skm.accuracy_score(t, preds))
    assert s['balanced_accuracy'] == pytest.approx(skm.balanced_accuracy_score(t, preds))
    assert s['macro_f1'] == pytest.approx(skm.f1_score(t, preds, average='macro'))
    assert s['mcc'] == pytest.approx(skm.matthews_corrcoef(t, preds))
    assert s['gmean'] == pytest.approx(geometric_mean_score(t, preds, average='multiclass'))
    assert s['auroc'] == pytest.approx(skm.roc_auc_score(t, probs[:, 1]) if n_out == 2 else skm.roc_auc_score(t, probs, multi_class='ovr'))
    assert s['sensitivity'] == pytest.approx(skm.recall_score(t == 1, preds == 1))
    assert specificity_score(preds, t, 1) == pytest.approx(skm.recall_score(t != 1, preds != 1))
    assert s['ece'] == pytest.approx(_ref_ece(preds == t, probs.max(1)), abs=1e-6) and s['ece'] == ece_score(probs, t)
    tab = bootstrap_table(probs, t, n_boot=20)  # a few resamples: the interval only has to hold the value
    assert tab.value.to_dict() == pytest.approx({k: s[k] for k in tab.index})
    assert ((tab.lo <= tab.value) & (tab.value <= tab.hi)).all()

def test_predictions_first():
    "Targets passed first are caught, not silently scored"
    t, p = np.array([0, 1, 1, 0]), np.full((4, 2), 0.5)
    for f in (ece_score, summary_scores):
        with pytest.raises(ValueError, match='probabilities first'): f(t, p)
    with pytest.raises(ValueError, match='preds has 3 items'): gmean_score([0, 1, 1], t)

def test_macro_auroc_and_pos_weights():
    rng = np.random.default_rng(0)
    t = (rng.random((300, 4)) < [0.3, 0.1, 0.05, 0.]).astype(int)
    p = rng.random((300, 4)) + t
    assert [has_both_outcomes(t[:, j]) for j in range(4)] == [True, True, True, False]
    assert macro_auroc_score(p, t) == pytest.approx(skm.roc_auc_score(t[:, :3], p[:, :3], average='macro'))
    assert np.isnan(multilabel_scores(p, t).auroc.iloc[3])
    w = pos_weights(t[:, :3])
    assert torch.allclose(w, torch.tensor((300 - t[:, :3].sum(0))/t[:, :3].sum(0), dtype=torch.float32))
    assert pos_weights(t[:, :3], max_weight=5.).max() == 5.
