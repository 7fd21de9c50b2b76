"""Tests for estimators.kernels: the numba and NumPy paths give the same numbers, and sklearn's."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from sklearn.neural_network._stochastic_optimizers import AdamOptimizer, SGDOptimizer

from estimators import MLPClassifier, kernels

SAME = dict(rtol=1e-10, atol=1e-10)
needs_numba = pytest.mark.skipif(not kernels.HAVE_NUMBA, reason="numba is not installed (extra 'fast')")


@pytest.fixture
def numpy_path(monkeypatch):
    monkeypatch.setattr(kernels, "USE_NUMBA", False)


def arrays(seed, count, shape=(37, 11), dtype=np.float64):
    rng = np.random.default_rng(seed)
    return [rng.normal(size=shape).astype(dtype) for _ in range(count)]


def run_both(step, count, monkeypatch, **kwargs):
    """The arrays after three steps on each path, but the gradient (scratch space): ``{path: arrays}``."""
    results = {}
    for use_numba in (True, False):
        monkeypatch.setattr(kernels, "USE_NUMBA", use_numba)
        state = arrays(0, count)
        for _ in range(3):
            state[1][...] = arrays(1, 1)[0]  # a fresh gradient each step
            step(*state, **kwargs)
        results[kernels.kernel_path()] = state[:1] + state[2:]
    return results


@needs_numba
@pytest.mark.parametrize("nesterov", [True, False])
@pytest.mark.parametrize("decay, divisor", [(0.0, 1.0), (1e-3, 1.0), (0.2, 32.0)])
def test_sgd_step_is_the_same_on_both_paths(monkeypatch, nesterov, decay, divisor):
    results = run_both(kernels.sgd_step, 3, monkeypatch, rate=0.05, momentum=0.9, nesterov=nesterov,
                       decay=decay, divisor=divisor)
    assert set(results) == {"numba", "numpy"}
    for ours, theirs in zip(results["numba"], results["numpy"]):
        np.testing.assert_allclose(ours, theirs, **SAME)


@needs_numba
@pytest.mark.parametrize("decay, divisor", [(0.0, 1.0), (1e-3, 1.0), (0.2, 32.0)])
def test_adam_step_is_the_same_on_both_paths(monkeypatch, decay, divisor):
    # v, a running mean of squares, starts non-negative
    results = run_both(lambda p, g, m, v, **kw: kernels.adam_step(p, g, m, np.abs(v, out=v), **kw), 4,
                       monkeypatch, rate=0.01, betas=(0.9, 0.999), epsilon=1e-8, decay=decay, divisor=divisor)
    for ours, theirs in zip(results["numba"], results["numpy"]):
        np.testing.assert_allclose(ours, theirs, **SAME)



@pytest.mark.parametrize("nesterov", [True, False])
def test_sgd_step_is_sklearns_update_of_the_decayed_gradient(each_path, nesterov):
    param, grad = arrays(2, 2)
    expected_grad = (grad + 0.2 * param) / 32.0  # sklearn's order: alpha * coef added, then divided
    theirs = [param.copy()]
    sklearn_sgd = SGDOptimizer(theirs, 0.05, momentum=0.9, nesterov=nesterov)
    velocity = np.zeros_like(param)
    for _ in range(2):
        expected_grad = (grad + 0.2 * theirs[0]) / 32.0
        sklearn_sgd.update_params(theirs, [expected_grad])
        squares = kernels.sgd_step(param, grad.copy(), velocity, 0.05, 0.9, nesterov, decay=0.2, divisor=32.0)
        assert squares[1] == pytest.approx(np.sum(expected_grad**2), rel=1e-12)  # the gradient norm's
    np.testing.assert_allclose(param, theirs[0], **SAME)
    np.testing.assert_allclose(velocity, sklearn_sgd.velocities[0], **SAME)


def test_adam_step_is_sklearns_update(each_path):
    param, grad = arrays(3, 2)
    theirs = [param.copy()]
    sklearn_adam = AdamOptimizer(theirs, 0.01)
    m, v = np.zeros_like(param), np.zeros_like(param)
    for t in range(1, 4):
        sklearn_adam.update_params(theirs, [grad.copy()])
        rate = 0.01 * np.sqrt(1 - 0.999**t) / (1 - 0.9**t)
        kernels.adam_step(param, grad.copy(), m, v, rate, (0.9, 0.999), 1e-8)
    np.testing.assert_allclose(param, theirs[0], **SAME)
    np.testing.assert_allclose(m, sklearn_adam.ms[0], **SAME)


@pytest.mark.parametrize("shape", [(37, 11), (5,), (16, 16)])  # a partial last lane, fewer than a lane, whole lanes
@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_a_step_returns_the_squares_of_the_param_before_it_and_of_the_gradient_used(each_path, shape, solver):
    param, grad, first, second = arrays(5, 4, shape=shape)
    before, used = param.copy(), (grad + 0.2 * param) / 32.0
    if solver == "sgd":
        squares = kernels.sgd_step(param, grad, first, 0.05, 0.9, True, decay=0.2, divisor=32.0)
    else:
        squares = kernels.adam_step(param, grad, first, np.abs(second), 0.01, (0.9, 0.999), 1e-8,
                                    decay=0.2, divisor=32.0)
    assert not np.array_equal(param, before)
    np.testing.assert_allclose(squares, [np.sum(before**2), np.sum(used**2)], rtol=1e-12)


def test_a_strided_array_is_refused(each_path):
    param, grad, velocity = arrays(4, 3, shape=(8, 6))
    with pytest.raises(ValueError, match="C-contiguous"):
        kernels.sgd_step(param[:, ::2], grad[:, ::2], velocity[:, ::2], 0.1, 0.9, True)


@needs_numba
@pytest.mark.parametrize("solver", ["sgd", "adam"])
@pytest.mark.parametrize("dtype, close", [("float64", SAME), ("float32", dict(rtol=1e-6, atol=1e-10))])
def test_a_whole_fit_is_the_same_on_both_paths(monkeypatch, digits, solver, dtype, close):
    # The sums of squares run in another order on each path: float32 rounds them apart in the 7th digit.
    X, y = digits
    fits = {}
    for use_numba in (True, False):
        monkeypatch.setattr(kernels, "USE_NUMBA", use_numba)
        fits[use_numba] = MLPClassifier((24, 12), solver=solver, alpha=1e-3, batch_size=64, max_iter=4,
                                        random_state=0, dtype=dtype).fit(X[:600], y[:600])
    numba_fit, numpy_fit = fits[True], fits[False]
    for ours, theirs in zip(numba_fit.coefs_ + numba_fit.intercepts_, numpy_fit.coefs_ + numpy_fit.intercepts_):
        np.testing.assert_allclose(ours, theirs, **SAME)
    np.testing.assert_allclose(numba_fit.loss_curve_, numpy_fit.loss_curve_, **close)
    np.testing.assert_allclose([r["grad_norm_max"] for r in numba_fit.history_],
                               [r["grad_norm_max"] for r in numpy_fit.history_], **close)


HIDE_NUMBA = """
import sys
sys.modules["numba"] = None  # import numba now raises ImportError
from estimators import kernels
print(kernels.HAVE_NUMBA, kernels.kernel_path())
"""


@pytest.mark.parametrize("hide, env", [(True, {}), (False, {"ESTIMATORS_KERNELS": "numpy"})])
def test_the_numpy_path_runs_without_numba_or_when_asked(hide, env):
    code = HIDE_NUMBA if hide else HIDE_NUMBA.replace('sys.modules["numba"] = None', "")
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                            env={**os.environ, "PYTHONPATH": str(root), **env}, cwd=root)
    have_numba, path = result.stdout.split()[-2:]
    assert path == "numpy"
    if hide:
        assert have_numba == "False"
