"""Ctrl-C during fit: sklearn's warn-and-return, or propagate inside propagate_interrupts."""

import numpy as np
import pytest

from estimators import MLPClassifier, MLPRegressor, propagate_interrupts
from estimators.interrupts import interrupts_propagate


def interrupt_at(epoch):
    """A callback that presses Ctrl-C at the end of ``epoch``."""
    def callback(estimator, record):
        if record["epoch"] == epoch:
            raise KeyboardInterrupt
    return callback


@pytest.mark.parametrize("cls", [MLPClassifier, MLPRegressor])
def test_ctrl_c_warns_and_returns_the_partly_trained_model(cls, small_digits):
    X, y = small_digits
    est = cls(hidden_layer_sizes=(8,), max_iter=50, random_state=0, callbacks=[interrupt_at(3)])
    with pytest.warns(UserWarning, match="Training interrupted by user."):
        est.fit(X, y)
    assert est.n_iter_ == 3 and len(est.loss_curve_) == 3
    assert np.isfinite(est.predict(X)).all()


def test_early_stopping_still_restores_the_best_weights_after_ctrl_c(small_digits):
    X, y = small_digits
    clf = MLPClassifier((8,), early_stopping=True, max_iter=50, random_state=0,
                        callbacks=[interrupt_at(4)])
    with pytest.warns(UserWarning, match="interrupted"):
        clf.fit(X, y)
    assert len(clf.validation_scores_) == 4
    assert clf.best_validation_score_ == max(clf.validation_scores_)


def test_inside_propagate_interrupts_ctrl_c_goes_on_up(small_digits):
    X, y = small_digits
    clf = MLPClassifier((8,), max_iter=50, callbacks=[interrupt_at(2)])
    assert not interrupts_propagate()
    with propagate_interrupts():
        assert interrupts_propagate()
        with pytest.raises(KeyboardInterrupt):
            clf.fit(X, y)
    assert not interrupts_propagate(), "left as it was"
