"""Tests for estimators.mlp: the names that models pickled before the split refer to."""

import pickle

import numpy as np

import estimators
from estimators import mlp


def test_the_old_names_are_the_classes_of_today():
    from estimators.base import BaseMLP
    from estimators.classifier import MLPClassifier

    assert (mlp.MLPClassifier, mlp.BaseMLP, mlp.DivergenceError) == (
        MLPClassifier, BaseMLP, estimators.DivergenceError)


def test_a_model_pickled_under_the_old_module_name_loads_and_predicts():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(30, 3)), np.arange(30) % 3
    model = estimators.MLPClassifier((4,), max_iter=3, random_state=0).fit(X, y)
    # Protocol 2 names a class as "module\nname\n": the pickle of before the split.
    data = pickle.dumps(model, protocol=2)
    old = data.replace(b"estimators.classifier\nMLPClassifier\n", b"estimators.mlp\nMLPClassifier\n")
    assert old != data and b"estimators.classifier" not in old
    loaded = pickle.loads(old)
    assert type(loaded) is estimators.MLPClassifier
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
