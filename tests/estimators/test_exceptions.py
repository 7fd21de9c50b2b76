"""Tests for estimators.exceptions."""

import numpy as np
import pytest

from estimators import MLPClassifier
from estimators.exceptions import DivergenceError


def test_divergence_is_caught_as_sklearn_s_value_error_and_keeps_the_history():
    X, y = np.random.default_rng(0).normal(size=(40, 4)) * 1e30, np.arange(40) % 2
    clf = MLPClassifier((8,), solver="sgd", learning_rate_init=10.0, max_iter=3, random_state=0)
    with pytest.raises(ValueError, match="Training diverged") as info:
        clf.fit(X, y)
    assert isinstance(info.value, ArithmeticError)
    assert type(info.value) is DivergenceError and isinstance(info.value.history, list)
    assert DivergenceError().history == ()
