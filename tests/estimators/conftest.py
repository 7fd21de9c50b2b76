"""Shared data for the estimator tests: small, deterministic and quick to fit."""

import numpy as np
import pytest
from sklearn.datasets import load_digits
from threadpoolctl import threadpool_limits


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
