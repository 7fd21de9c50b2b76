"""Shared data for the estimator tests: small, deterministic and quick to fit."""

import numpy as np
import pytest
from sklearn.datasets import load_digits
from threadpoolctl import threadpool_limits

from estimators import kernels


@pytest.fixture(scope="session", autouse=True)
def single_threaded_blas():
    """One BLAS thread: these matrices are tiny, and on a busy machine (the search's
    workers, a benchmark) multi-threaded BLAS spins and runs up to 40 times slower."""
    with threadpool_limits(limits=1, user_api="blas"):
        yield


@pytest.fixture(scope="session")
def digits():
    """All of sklearn's digits, scaled to [0, 1]: ``(X, y)``."""
    X, y = load_digits(return_X_y=True)
    return X / 16.0, y


@pytest.fixture(scope="session")
def small_digits(digits):
    """The first 300 digits: enough for a few fast epochs."""
    X, y = digits
    return X[:300].copy(), y[:300].copy()


@pytest.fixture
def tiny():
    """A tiny random 3-class problem: ``(X, y)`` with 24 samples and 5 features."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(24, 5))
    y = np.arange(24) % 3
    return X, y


@pytest.fixture(params=["numba", "numpy"])
def each_path(request, monkeypatch):
    """Runs the test on the numba kernels and on their NumPy path (estimators.kernels)."""
    if request.param == "numba" and not kernels.HAVE_NUMBA:
        pytest.skip("numba is not installed (extra 'fast')")
    monkeypatch.setattr(kernels, "USE_NUMBA", request.param == "numba")
    assert kernels.kernel_path() == request.param
    return request.param


@pytest.fixture
def both_paths(monkeypatch):
    """``both_paths(function)``: ``function()`` on the numba kernels, then on their NumPy path
    (skipped without numba), to compare the numbers."""
    if not kernels.HAVE_NUMBA:
        pytest.skip("numba is not installed (extra 'fast')")

    def run(function):
        results = []
        for use_numba in (True, False):
            monkeypatch.setattr(kernels, "USE_NUMBA", use_numba)
            results.append(function())
        return results
    return run
