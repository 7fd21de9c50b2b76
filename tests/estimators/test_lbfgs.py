"""solver='lbfgs': scipy's L-BFGS-B over every trained array of the network."""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from estimators import MLPClassifier, MLPRegressor
from estimators.gradcheck import relative_error
from estimators.lbfgs import PackedNetwork


def _packed(estimator, X, y):
    """A float64 estimator initialised on X, y (untrained), and its packed network."""
    model = estimator.set_params(dtype="float64", random_state=0)
    X, Y = model._validate_input(X, y, incremental=False, reset=True)
    model._random_state = np.random.RandomState(0)
    model._initialize(X.shape[1], Y.shape[1], X.dtype)
    return model, PackedNetwork(model._network), X, Y


@pytest.mark.parametrize("batch_norm", [None, "before", "after"])
@pytest.mark.parametrize("activation", ["relu", "prelu", "tanh", "logistic", "elu"])
def test_the_packed_gradient_is_the_derivative_of_the_packed_loss(activation, batch_norm, tiny):
    X, y = tiny
    model, packed, X, Y = _packed(MLPClassifier((5, 4), activation=activation,
                                                batch_norm=batch_norm, alpha=0.3), X, y)
    theta = packed.pack(packed.params)
    loss, grad = packed.loss_and_gradient(theta, X, Y, model.alpha, None)
    numeric = np.empty_like(theta)
    for i in range(theta.size):
        step = np.zeros_like(theta)
        step[i] = 1e-6
        numeric[i] = (packed.loss_and_gradient(theta + step, X, Y, model.alpha, None)[0]
                      - packed.loss_and_gradient(theta - step, X, Y, model.alpha, None)[0]) / 2e-6
    assert relative_error(grad, numeric) < 1e-6
    assert theta.size == sum(p.size for p in model._network.params), "every trained array"


def test_packing_starts_with_sklearn_order(tiny):
    X, y = tiny
    model, packed, _, _ = _packed(MLPClassifier((5, 4), activation="prelu", batch_norm="after"), X, y)
    dense = model._network.dense
    assert packed.params[:6] == [d.coef for d in dense] + [d.intercept for d in dense]
    theta = packed.pack(packed.params)
    packed.unpack(theta * 2)
    np.testing.assert_array_equal(model.coefs_[0].ravel(), theta[:model.coefs_[0].size] * 2)


@pytest.mark.parametrize("batch_norm", [None, "before", "after"])
@pytest.mark.parametrize("activation", ["relu", "leaky_relu", "prelu", "tanh", "lecun_tanh", "swish"])
def test_lbfgs_learns_with_every_activation_and_batch_norm(activation, batch_norm, small_digits):
    X, y = small_digits
    clf = MLPClassifier((16,), activation=activation, batch_norm=batch_norm, solver="lbfgs",
                        alpha=1e-3, max_iter=60, random_state=0, slope=0.1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    assert clf.score(X, y) > 0.95
    assert clf.n_iter_ == len(clf.history_) == len(clf.loss_curve_) <= 60
    assert clf.loss_ == pytest.approx(clf.history_[-1]["train_loss"])


def test_lbfgs_batch_norm_keeps_the_statistics_of_the_data(small_digits):
    X, y = small_digits
    clf = MLPClassifier((16,), batch_norm="before", solver="lbfgs", max_iter=30, random_state=0,
                        dtype="float64")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    # Every pass saw all the data: inference normalises as training did at the final weights.
    training = clf._network.forward(X, training=True).copy()
    np.testing.assert_allclose(clf.predict_proba(X), training, rtol=1e-9, atol=1e-12)


def test_lbfgs_l2_shrinks_the_weights(small_digits):
    X, y = small_digits
    norms = []
    for alpha in (1e-5, 10.0):
        clf = MLPClassifier((16,), solver="lbfgs", alpha=alpha, max_iter=50, random_state=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf.fit(X, y)
        norms.append(sum(float(np.sum(c ** 2)) for c in clf.coefs_))
    assert norms[1] < norms[0] / 4


def test_max_fun_limits_the_loss_evaluations(small_digits):
    X, y = small_digits
    calls = []
    clf = MLPClassifier((16,), solver="lbfgs", max_fun=7, max_iter=500, random_state=0)
    original = PackedNetwork.loss_and_gradient

    def counting(self, *args):
        calls.append(1)
        return original(self, *args)

    PackedNetwork.loss_and_gradient = counting
    try:
        with pytest.warns(ConvergenceWarning, match="lbfgs failed to converge"):
            clf.fit(X, y)
    finally:
        PackedNetwork.loss_and_gradient = original
    assert 7 <= len(calls) <= 7 + 20  # scipy ends the line search it is in
    assert clf.n_iter_ <= 7


@pytest.mark.parametrize("param", [dict(dropout=0.2), dict(jitter=0.1)])
def test_lbfgs_refuses_a_random_loss(param, tiny):
    X, y = tiny
    name = next(iter(param))
    with pytest.raises(ValueError, match=rf"solver='lbfgs'.*{name}="):
        MLPClassifier(solver="lbfgs", **param).fit(X, y)


def test_lbfgs_history_validation_data_and_callbacks(digits):
    X, y = digits
    stop_at = 4
    clf = MLPClassifier((16,), solver="lbfgs", max_iter=100, random_state=0,
                        callbacks=[lambda est, record: record["epoch"] == stop_at])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X[:1000], y[:1000], validation_data=(X[1000:], y[1000:]))
    assert len(clf.history_) == stop_at
    assert {"train_loss", "val_loss", "val_accuracy"} <= set(clf.history_[-1])
    assert clf.validation_scores_ == [r["val_accuracy"] for r in clf.history_]


def test_lbfgs_has_no_partial_fit():
    assert not hasattr(MLPClassifier(solver="lbfgs"), "partial_fit")
    assert not hasattr(MLPRegressor(solver="lbfgs"), "partial_fit")
    assert hasattr(MLPRegressor(solver="sgd"), "partial_fit")


def test_lbfgs_regressor(small_digits):
    X, y = small_digits
    reg = MLPRegressor(hidden_layer_sizes=(16,), activation="prelu", batch_norm="after",
                       solver="lbfgs", max_iter=200, random_state=0)
    target = np.sin(y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg.fit(X, target)
    assert reg.score(X, target) > 0.9
