"Calibration errors and temperature scaling against independent implementations (torchmetrics, a brute-force search)"
import json
import numpy as np, pytest, torch
from torchmetrics.classification import BinaryCalibrationError, MulticlassCalibrationError
from medfast.calibration import calibration_errors, fit_temperature, reliability_bins
from medfast.decisions import Decision

def _softmax_case(seed, n=1500, c=3, scale=3.):
    rng = np.random.default_rng(seed)
    z = torch.tensor(rng.normal(0, 1, (n, c))*scale)
    return z, torch.distributions.Categorical(logits=z/scale).sample()

@pytest.mark.parametrize('seed,c', [(0, 2), (1, 3), (2, 5)])
def test_ece_and_mce_match_torchmetrics(seed, c):
    z, y = _softmax_case(seed, c=c)
    p = torch.softmax(z, 1)
    e = calibration_errors(p.numpy(), y.numpy(), n_bins=15)
    assert e['ece'] == pytest.approx(MulticlassCalibrationError(c, 15, 'l1')(p, y).item(), abs=1e-6)
    assert e['mce'] == pytest.approx(MulticlassCalibrationError(c, 15, 'max')(p, y).item(), abs=1e-6)

def test_per_label_ece_matches_torchmetrics_binary():
    rng = np.random.default_rng(3)
    p = rng.random((1000, 3))
    y = (rng.random((1000, 3)) < p**2).astype(int)
    for j in range(3):
        ours = calibration_errors(p[:, [j]], y[:, [j]], 10)['ece']
        assert ours == pytest.approx(BinaryCalibrationError(10, 'l1')(torch.tensor(p[:, j]), torch.tensor(y[:, j])).item(), abs=1e-6)

def test_adaptive_ece_matches_equal_count_bins():
    z, y = _softmax_case(4, n=1000)
    p = torch.softmax(z, 1).numpy()
    conf, ok = p.max(1), (p.argmax(1) == y.numpy())
    order = np.argsort(conf, kind='stable')
    ref = sum(len(b)*abs(ok[b].mean() - conf[b].mean()) for b in np.array_split(order, 10))/len(conf)
    assert calibration_errors(p, y.numpy(), 10)['adaptive_ece'] == pytest.approx(ref, abs=1e-9)
    assert reliability_bins(p, y.numpy(), 10, adaptive=True)['count'].tolist() == [100]*10

@pytest.mark.parametrize('true_t', [0.5, 2.5])
def test_temperature_is_the_nll_minimum(true_t):
    z, y = _softmax_case(5, scale=true_t)
    grid = np.exp(np.linspace(np.log(0.1), np.log(10), 2001))
    nll = [torch.nn.functional.cross_entropy(z/t, y).item() for t in grid]
    assert fit_temperature(z, y) == pytest.approx(grid[int(np.argmin(nll))], rel=0.01)

def test_temperature_lowers_ece_of_overconfident_logits():
    z, y = _softmax_case(6, n=3000, scale=3.)
    t = fit_temperature(z[:1500], y[:1500])
    before = calibration_errors(torch.softmax(z[1500:], 1).numpy(), y[1500:].numpy())['ece']
    after = calibration_errors(torch.softmax(z[1500:]/t, 1).numpy(), y[1500:].numpy())['ece']
    assert t > 1.5 and after < before

def test_decision_temperature_is_json():
    d = Decision(torch.nn.CrossEntropyLoss(), multi_label=True, temperature=np.array([1.5, 2.]))
    assert json.loads(json.dumps({'temperature': d.temperature})) == {'temperature': [1.5, 2.]}
    assert json.dumps(Decision(torch.nn.CrossEntropyLoss(), temperature=torch.tensor(2.)).temperature) == '2.0'
