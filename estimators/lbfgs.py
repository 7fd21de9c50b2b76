"""Full-batch training with scipy's L-BFGS-B, as sklearn's ``solver='lbfgs'``.

Every trained array of the network (coefficients, then intercepts, in sklearn's
order, then batch-norm scales and shifts and PReLU slopes) is one vector for
scipy; the loss and gradient are the network's own, so any activation, batch
norm placement and the L2 term work. Dropout and jitter make the loss random,
which a line search cannot follow: the estimator refuses them with lbfgs.
"""

import numpy as np
import scipy.optimize
from sklearn.utils.fixes import _get_additional_lbfgs_options_dict
from sklearn.utils.optimize import _check_optimize_result

from .layers import BatchNorm


class PackedNetwork:
    """A network's trained arrays seen as one flat float64 vector, sklearn's order first."""

    def __init__(self, network):
        grad_of = {id(p): g for p, g in zip(network.params, network.grads)}
        first = [d.coef for d in network.dense] + [d.intercept for d in network.dense
                                                    if len(d.params) == 2]
        known = {id(p) for p in first}
        self.params = first + [p for p in network.params if id(p) not in known]
        self.grads = [grad_of[id(p)] for p in self.params]
        self.network = network

    def pack(self, arrays):
        return np.concatenate([a.ravel() for a in arrays]).astype(np.float64, copy=False)

    def unpack(self, theta):
        start = 0
        for param in self.params:
            param[...] = theta[start:start + param.size].reshape(param.shape)
            start += param.size

    def loss_and_gradient(self, theta, X, Y, alpha, sample_weight):
        """The training loss at ``theta`` and its gradient, for scipy."""
        self.unpack(theta)
        loss, _ = self.network.loss_and_gradients(X, Y, alpha, sample_weight)
        return loss, self.pack(self.grads)


def minimize(estimator, X, Y, sample_weight, on_iteration):
    """Train ``estimator._network`` in place; returns scipy's result and the iteration count.

    ``on_iteration(loss)`` is called after each L-BFGS iteration with the
    parameters in place; returning True stops.
    """
    network = estimator._network
    packed = PackedNetwork(network)
    batch_norms = [layer for layer in network.layers if isinstance(layer, BatchNorm)]
    momenta = [layer.momentum for layer in batch_norms]
    for layer in batch_norms:  # every pass sees all the data: keep its statistics as they are
        layer.momentum = 0.0

    def callback(intermediate_result):
        packed.unpack(intermediate_result.x)
        if on_iteration(float(intermediate_result.fun)):
            raise StopIteration

    try:
        result = scipy.optimize.minimize(
            packed.loss_and_gradient, packed.pack(packed.params), method="L-BFGS-B", jac=True,
            callback=callback,
            options={"maxfun": estimator.max_fun, "maxiter": estimator.max_iter,
                     "gtol": estimator.tol, **_get_additional_lbfgs_options_dict(
                         "iprint", 1 if estimator.verbose else -1)},
            args=(X, Y, estimator.alpha, sample_weight),
        )
        packed.unpack(result.x)
        if batch_norms:  # the running statistics of the final weights
            network.loss(X, Y, estimator.alpha, sample_weight)
    finally:
        for layer, momentum in zip(batch_norms, momenta):
            layer.momentum = momentum
    n_iter = _check_optimize_result("lbfgs", result, estimator.max_iter)
    return result, n_iter
