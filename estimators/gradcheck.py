"""Numerical gradient check: analytic gradients against central differences.

Examples
--------
>>> import numpy as np
>>> from estimators import MLPClassifier, check_gradients
>>> rng = np.random.default_rng(0)
>>> X, y = rng.normal(size=(20, 4)), rng.integers(0, 3, 20)
>>> errors = check_gradients(MLPClassifier((5,), activation="tanh", alpha=0.1), X, y)
>>> max(errors.values()) < 1e-6
True
"""

import numpy as np
from sklearn.base import clone


def relative_error(analytic, numeric, zero_tol=1e-8):
    """``||a - n|| / (||a|| + ||n||)``.

    Both below ``zero_tol`` everywhere count as equal (error 0): the gradient
    is zero by structure (a shift that the next batch norm removes, say) and
    what remains of the finite difference is round-off.
    """
    if max(np.abs(analytic).max(), np.abs(numeric).max()) < zero_tol:
        return 0.0
    scale = np.linalg.norm(analytic) + np.linalg.norm(numeric)
    return float(np.linalg.norm(analytic - numeric) / scale)


def check_gradients(estimator, X, y, sample_weight=None, epsilon=1e-6, max_entries=30, random_state=0):
    """Relative error of every parameter's gradient of the training loss (example: the module's docstring).

    The estimator is cloned in float64, with dropout and jitter off (they make the loss
    random), initialised on ``X``, ``y`` without training, and each parameter array is
    checked by central differences on up to ``max_entries`` of its entries.

    Parameters
    ----------
    estimator : MLPClassifier or MLPRegressor
        Any configuration: activation, batch_norm, alpha, PReLU, loss...
    X, y : array-like or sparse matrix
        One batch; the loss is computed on all of it.
    sample_weight : array-like, default=None
    epsilon : float, default=1e-6
        Half the finite-difference step.
    max_entries : int, default=30
        Entries checked per parameter array (all of them when it has fewer).
    random_state : int, default=0
        Chooses the initial weights and the entries checked.

    Returns
    -------
    dict
        ``{name: relative error}``, names such as 'coef_0', 'intercept_1', 'gamma_0', 'beta_0', 'slope_0'.
    """
    model, X, Y, sw = _initialised(estimator, X, y, sample_weight, random_state)
    network = model._network
    network.loss_and_gradients(X, Y, model.alpha, sw)
    analytic = {name: grad.copy() for name, _, grad in network.named_parameters()}
    rng = np.random.default_rng(random_state)
    errors = {}
    for name, param, _ in network.named_parameters():
        flat = param.reshape(-1)
        entries = rng.choice(flat.size, size=min(max_entries, flat.size), replace=False)
        numeric = np.array([_central_difference(network, flat, i, epsilon, X, Y, model.alpha, sw)
                            for i in entries])
        errors[name] = relative_error(analytic[name].reshape(-1)[entries], numeric)
    return errors


def _initialised(estimator, X, y, sample_weight, random_state):
    """A float64 clone of ``estimator`` with its initial network, and the checked batch."""
    model = clone(estimator).set_params(dtype="float64", dropout=0.0, jitter=0.0,
                                        random_state=random_state)
    X, Y = model._validate_input(X, y, incremental=False, reset=True)
    sw = None if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    model._random_state = np.random.RandomState(random_state)
    model._initialize(X.shape[1], Y.shape[1], X.dtype)
    return model, X, Y, sw


def _central_difference(network, flat, i, epsilon, X, Y, alpha, sw):
    saved = flat[i]
    flat[i] = saved + epsilon
    up = network.objective(X, Y, alpha, sw)
    flat[i] = saved - epsilon
    down = network.objective(X, Y, alpha, sw)
    flat[i] = saved
    return (up - down) / (2 * epsilon)
