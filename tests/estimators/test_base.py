"""Tests for estimators.base.BaseMLP: abstract, as sklearn's BaseMultilayerPerceptron."""

import numpy as np
import pytest

from estimators import MLPClassifier, MLPRegressor
from estimators.base import BaseMLP

HOOKS = {"_validate_input", "_output_activation", "_validate_validation_data", "_targets",
         "_score_validation", "predict"}


def test_the_base_cannot_be_made_and_says_which_methods_a_subclass_gives():
    assert BaseMLP.__abstractmethods__ == HOOKS
    with pytest.raises(TypeError, match="abstract") as info:
        BaseMLP()
    assert all(hook in str(info.value) for hook in HOOKS)


@pytest.mark.parametrize("missing", sorted(HOOKS))
def test_a_subclass_missing_one_hook_cannot_be_made(missing):
    given = {hook: getattr(MLPRegressor, hook) for hook in HOOKS - {missing}}
    partial = type("Partial", (BaseMLP,), given)
    with pytest.raises(TypeError, match=missing):
        partial()


@pytest.mark.parametrize("cls", [MLPClassifier, MLPRegressor])
def test_the_estimators_give_every_hook_and_train(cls):
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(30, 3)), np.arange(30) % 2
    model = cls(hidden_layer_sizes=(4,), max_iter=2, random_state=0).fit(X, y)
    assert not cls.__abstractmethods__
    assert model.predict(X).shape == (30,) and len(model.history_) == 2
