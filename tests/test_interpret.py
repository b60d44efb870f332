"Multi-label interpretation (issue 13) against scikit-learn: per-label table, confusion counts, co-occurrence, JSON, bad input"
import functools, json
import numpy as np, pytest
import sklearn.metrics as skm
from medfast.core import DataError
from medfast import interpret
from medfast.interpret import (label_report, label_confusion, label_cooccurrence, label_metrics, label_top_losses,
                               check_multilabel, check_task, ClassifierReport)

VOCAB = ['Effusion', 'Nodule', 'Mass', 'Hernia']

@pytest.fixture(scope='module')
def preds():
    rng = np.random.default_rng(7)
    targs = (rng.random((400, 4)) < [0.3, 0.1, 0.05, 0]).astype(int)
    probs = 1/(1 + np.exp(-(rng.normal(0, 1, targs.shape) + 2*targs - 1.5)))
    return probs, targs

def test_label_report_matches_sklearn(preds):
    probs, targs = preds
    thr = np.array([0.3, 0.4, 0.5, 0.6])
    tab = label_report(probs, targs, VOCAB, thr, n_boot=20)
    for j, l in enumerate(VOCAB[:3]):
        y, p, hat = targs[:, j], probs[:, j], probs[:, j] >= thr[j]
        assert tab.auroc[l] == pytest.approx(skm.roc_auc_score(y, p))
        assert tab.ap[l] == pytest.approx(skm.average_precision_score(y, p))
        assert tab.sensitivity[l] == pytest.approx(skm.recall_score(y, hat))
        assert tab.specificity[l] == pytest.approx(skm.recall_score(1 - y, ~hat))
        assert tab.auroc_lo[l] <= tab.auroc[l] <= tab.auroc_hi[l]
    assert tab.positives.tolist() == targs.sum(0).tolist()
    assert tab.prevalence.tolist() == pytest.approx(targs.mean(0).tolist())

def test_finding_without_positives_is_reported(preds):
    probs, targs = preds
    tab = label_report(probs, targs, VOCAB, n_boot=20)
    assert np.isnan(tab.auroc.Hernia) and np.isnan(tab.sensitivity.Hernia) and tab.note.Hernia.startswith('no positives')
    assert tab.note.Effusion == ''
    m = label_metrics(probs, targs, VOCAB, n_boot=20)
    assert m['per_label']['Hernia']['auroc'] is None and m['per_label']['Hernia']['note'].startswith('no positives')
    assert m['macro_auroc'] == pytest.approx(np.mean([skm.roc_auc_score(targs[:, j], probs[:, j]) for j in range(3)]), abs=1e-6)
    assert m['macro_ap'] == pytest.approx(np.mean([skm.average_precision_score(targs[:, j], probs[:, j]) for j in range(3)]), abs=1e-6)
    assert json.loads(json.dumps(m, allow_nan=False)) == m

def test_bootstrap_is_seeded(preds):
    probs, targs = preds
    a, b = (label_report(probs, targs, VOCAB, n_boot=10, seed=s) for s in (1, 1))
    assert a.equals(b)
    assert not a.equals(label_report(probs, targs, VOCAB, n_boot=10, seed=2))

def test_confusion_and_cooccurrence_match_sklearn(preds):
    probs, targs = preds
    cm = label_confusion(probs, targs, VOCAB, 0.4)
    ref = skm.multilabel_confusion_matrix(targs, (probs >= 0.4).astype(int))
    assert cm[['tn', 'fp', 'fn', 'tp']].values.tolist() == ref.reshape(4, 4).tolist()
    co = label_cooccurrence(targs, targs, VOCAB)
    assert np.diag(co).tolist() == targs.sum(0).tolist()
    assert co.loc['Effusion', 'Nodule'] == int(((targs[:, 0] == 1) & (targs[:, 1] == 1)).sum())

def test_top_losses_are_per_label_bce(preds):
    probs, targs = preds
    tl = label_top_losses(probs, targs, VOCAB, k=3)
    for l, g in tl.groupby(level='label'):
        j = VOCAB.index(l)
        ref = [skm.log_loss([targs[i, j]], [probs[i, j]], labels=[0, 1]) for i in g.index.get_level_values('idx')]
        assert g.loss.tolist() == pytest.approx(ref, rel=1e-5)
        bce = -(targs[:, j]*np.log(probs[:, j]) + (1 - targs[:, j])*np.log(1 - probs[:, j]))  # per item, as log_loss above
        assert sorted(g.index.get_level_values('idx')) == sorted(np.argsort(-bce)[:3]) and g.loss.max() == pytest.approx(bce.max(), rel=1e-5)

def test_report_and_bad_input(preds, tmp_path, monkeypatch):
    probs, targs = preds
    monkeypatch.setattr(interpret, 'label_report', functools.partial(label_report, n_boot=20))  # the files, not the intervals, are under test
    rep = ClassifierReport(probs, targs, VOCAB, thresholds=[0.5]*4)
    assert rep.multi_label and list(rep.metrics['per_label']) == VOCAB
    assert [f.name for f in rep.save(tmp_path, k=2, dpi=40)] == ['confusion.png', 'cooccurrence.png', 'metrics.json', 'per_label.csv', 'roc_pr.png', 'top_losses.csv']
    with pytest.raises(ValueError, match='apply the sigmoid'): check_multilabel(probs*3, targs, VOCAB)
    with pytest.raises(ValueError, match='2 thresholds for 4 labels'): label_report(probs, targs, VOCAB, [0.5, 0.5])
    with pytest.raises(DataError, match='chestmnist.npz: has multi-label targets') as e: check_task(False, targs, 'chestmnist.npz')
    assert e.value.path == 'chestmnist.npz'
    with pytest.raises(DataError, match='labels.csv: has single-label targets'): check_task(True, targs.argmax(1), 'labels.csv')
