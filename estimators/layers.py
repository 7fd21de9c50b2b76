"""Layers with a forward and a backward pass, cs231n style.

Every layer has ``forward(x, training)``, ``backward(grad)``, and matching
tuples ``params`` and ``grads``. Training passes reuse preallocated buffers
(the batch size repeats); inference allocates, so a large ``predict`` does not
leave a large buffer behind. :func:`init_weights` draws a Dense layer's
initial weights.
"""

import numpy as np
from scipy import sparse
from scipy.special import expit, xlogy

from .blas import axpy


class Buffers:
    """Arrays reused from batch to batch, keyed by name, reallocated on a shape change."""

    def __init__(self):
        self._arrays = {}

    def get(self, name, shape, dtype):
        array = self._arrays.get(name)
        if array is None or array.shape != shape or array.dtype != dtype:
            array = self._arrays[name] = np.empty(shape, dtype=dtype)
        return array

    def clear(self):
        self._arrays.clear()


class Dense:
    """``x @ coef + intercept``.

    ``input_grad=False`` skips the gradient with respect to the input, which
    nobody needs for the first layer and costs a third of its backward pass.
    ``bias_later``: the activation right after adds the intercept and sums its
    gradient, in its own pass over the batch (estimators.activations.FusedActivation),
    in training; inference adds it here.
    """

    bias_later = False

    def __init__(self, coef, intercept, input_grad=True, train_intercept=True):
        self.coef, self.intercept = coef, intercept
        self.coef_grad = np.zeros_like(coef)
        self.intercept_grad = np.zeros_like(intercept)
        self.params = (coef, intercept)
        self.param_names = ("coef", "intercept")
        self.grads = (self.coef_grad, self.intercept_grad)
        if not train_intercept:
            # Batch norm right after this layer subtracts the mean, so an
            # intercept would have no effect and a gradient of exactly zero.
            intercept[...] = 0
            self.params, self.param_names, self.grads = self.params[:1], ("coef",), self.grads[:1]
        self.input_grad = input_grad
        self.buffers = Buffers()

    def __setstate__(self, state):
        # joblib restores arrays without their shared identity: link the tuples again.
        self.__dict__.update(state)
        n = len(self.params)
        self.params, self.grads = (self.coef, self.intercept)[:n], (self.coef_grad, self.intercept_grad)[:n]

    def forward(self, x, training=True):
        if not training:
            return x @ self.coef + self.intercept
        self._x = x
        out = self.buffers.get("out", (x.shape[0], self.coef.shape[1]), self.coef.dtype)
        if sparse.issparse(x):  # the first layer of sparse input: scipy's product, dense result
            out[...] = x @ self.coef
        else:
            np.matmul(x, self.coef, out=out)
        if not self.bias_later:
            out += self.intercept
        return out

    def backward(self, grad):
        if sparse.issparse(self._x):
            self.coef_grad[...] = self._x.T @ grad
        else:
            np.matmul(self._x.T, grad, out=self.coef_grad)
        if not self.bias_later:
            np.sum(grad, axis=0, out=self.intercept_grad)
        if not self.input_grad:
            return None
        out = self.buffers.get("grad", self._x.shape, grad.dtype)
        return np.matmul(grad, self.coef.T, out=out)

    def add_weight_decay(self, scale):
        """``coef_grad += scale * coef``, the L2 penalty's gradient."""
        axpy(scale, self.coef, self.coef_grad)


def init_weights(rng, fan_in, fan_out, method, activation, dtype):
    """One layer's ``(coef, intercept)``.

    'glorot_uniform' draws both from sklearn's uniform bound (so a given
    ``random_state`` gives sklearn's initial weights); the normal schemes start
    the intercepts at zero.
    """
    if method == "glorot_uniform":
        factor = 2.0 if activation in ("logistic", "sigmoid") else 6.0
        bound = np.sqrt(factor / (fan_in + fan_out))
        coef = rng.uniform(-bound, bound, (fan_in, fan_out))
        intercept = rng.uniform(-bound, bound, fan_out)
    else:
        gain = 2.0 if method == "he_normal" else 1.0
        coef = rng.normal(0.0, np.sqrt(gain / fan_in), (fan_in, fan_out))
        intercept = np.zeros(fan_out)
    return coef.astype(dtype), intercept.astype(dtype)


class BatchNorm:
    """Batch normalization with learned scale ``gamma`` and shift ``beta``.

    Training normalises with the batch's statistics and keeps running averages
    (``momentum`` is the weight of the old value), which inference uses.
    """

    def __init__(self, n_units, dtype, momentum=0.9, eps=1e-5):
        self.gamma = np.ones(n_units, dtype=dtype)
        self.beta = np.zeros(n_units, dtype=dtype)
        self.running_mean = np.zeros(n_units, dtype=dtype)
        self.running_var = np.ones(n_units, dtype=dtype)
        self.gamma_grad = np.zeros_like(self.gamma)
        self.beta_grad = np.zeros_like(self.beta)
        self.params = (self.gamma, self.beta)
        self.param_names = ("gamma", "beta")
        self.grads = (self.gamma_grad, self.beta_grad)
        self.momentum, self.eps = momentum, eps

    def __setstate__(self, state):
        self.__dict__.update(state)  # as Dense's
        self.params, self.grads = (self.gamma, self.beta), (self.gamma_grad, self.beta_grad)

    def forward(self, x, training=True):
        if not training:
            scale = self.gamma / np.sqrt(self.running_var + self.eps)
            return (x - self.running_mean) * scale + self.beta
        mean, var = x.mean(axis=0), x.var(axis=0)
        self.running_mean *= self.momentum
        self.running_mean += (1 - self.momentum) * mean
        self.running_var *= self.momentum
        self.running_var += (1 - self.momentum) * var
        self._inv_std = 1 / np.sqrt(var + self.eps)
        self._x_hat = (x - mean) * self._inv_std
        return self._x_hat * self.gamma + self.beta

    def backward(self, grad):
        self.gamma_grad[...] = (grad * self._x_hat).sum(axis=0)
        self.beta_grad[...] = grad.sum(axis=0)
        x_hat_grad = grad * self.gamma
        n = len(grad)
        return (self._inv_std / n) * (
            n * x_hat_grad
            - x_hat_grad.sum(axis=0)
            - self._x_hat * (x_hat_grad * self._x_hat).sum(axis=0)
        )

    @property
    def state(self):
        """Arrays that are learned but not trained by gradient."""
        return (self.running_mean, self.running_var)


class Dropout:
    """Inverted dropout: drops units with probability ``rate`` while training only."""

    params = grads = param_names = ()

    def __init__(self, rate, rng):
        self.rate, self.rng = rate, rng
        self.buffers = Buffers()

    def forward(self, x, training=True):
        if not training:
            return x
        keep = self.rng.random(x.shape, dtype=x.dtype) >= self.rate
        self._mask = keep * x.dtype.type(1 / (1 - self.rate))
        # Not in place: the activation before may keep its output for its backward pass.
        return np.multiply(x, self._mask, out=self.buffers.get("out", x.shape, x.dtype))

    def backward(self, grad):
        grad *= self._mask
        return grad


class SoftmaxCrossEntropy:
    """Softmax output with the categorical log loss, as sklearn's ``log_loss``."""

    name = "softmax"

    def forward(self, z):
        z -= z.max(axis=1, keepdims=True)
        np.exp(z, out=z)
        z /= z.sum(axis=1, keepdims=True)
        return z

    def loss(self, prob, y, sample_weight=None):
        """Mean (or weighted mean) negative log likelihood; ``y`` is one-hot (sklearn's formula)."""
        eps = np.finfo(prob.dtype).eps
        prob = np.clip(prob, eps, 1 - eps)
        return float(-np.average(xlogy(y, prob), weights=sample_weight, axis=0).sum())

    def objective(self, prob, y, sample_weight=None):
        """The function whose gradient ``backward`` gives: the loss, but see IdentitySquaredError."""
        return self.loss(prob, y, sample_weight)

    def correct(self, prob, y):
        """How many rows have their most probable class right."""
        return int(np.count_nonzero(prob.argmax(axis=1) == y.argmax(axis=1)))

    def backward(self, prob, y, sample_weight, weight_sum):
        """Gradient with respect to the logits; overwrites ``prob``."""
        grad = np.subtract(prob, y, out=prob)
        if sample_weight is not None:
            grad *= sample_weight.reshape(-1, 1)
        if weight_sum != 1:
            grad /= grad.dtype.type(weight_sum)
        return grad


class SigmoidCrossEntropy(SoftmaxCrossEntropy):
    """Logistic output with the binary log loss (binary and multilabel targets)."""

    name = "logistic"

    def forward(self, z):
        return expit(z, out=z)

    def correct(self, prob, y):
        """Rows whose every label is right (binary: one column; multilabel: all of them)."""
        return int(np.count_nonzero(((prob > 0.5) == (y > 0.5)).all(axis=1)))

    def loss(self, prob, y, sample_weight=None):
        eps = np.finfo(prob.dtype).eps
        prob = np.clip(prob, eps, 1 - eps)
        per_output = xlogy(y, prob) + xlogy(1 - y, 1 - prob)
        return float(-np.average(per_output, weights=sample_weight, axis=0).sum())


class IdentitySquaredError(SoftmaxCrossEntropy):
    """Identity output with half the squared error, as sklearn's regressor.

    The loss is sklearn's ``0.5 * mean over outputs of the (weighted) mean
    squared error`` and the gradient sklearn's ``prediction - y`` per sample,
    so that the same numbers come out; with several outputs that gradient is
    the one of the loss summed over outputs (sklearn's scaling, kept).
    """

    name = "identity"

    def forward(self, z):
        return z

    def loss(self, prob, y, sample_weight=None):
        return float(0.5 * np.average((y - prob) ** 2, weights=sample_weight, axis=0).mean())

    def objective(self, prob, y, sample_weight=None):
        # sklearn's loss averages over outputs, its gradient does not: the loss summed over outputs
        return self.loss(prob, y, sample_weight) * y.shape[1]

    def correct(self, prob, y):
        return None  # no accuracy for a regression


class ExpPoisson(IdentitySquaredError):
    """Exponential output with half the Poisson deviance (sklearn's ``loss='poisson'``)."""

    name = "exp"

    def forward(self, z):
        return np.exp(z, out=z)

    def loss(self, prob, y, sample_weight=None):
        deviance = xlogy(y, y / prob) - y + prob
        return float(np.average(deviance, weights=sample_weight, axis=0).sum())

    def objective(self, prob, y, sample_weight=None):
        return self.loss(prob, y, sample_weight)  # summed over outputs, as its gradient


OUTPUTS = {cls.name: cls for cls in (SoftmaxCrossEntropy, SigmoidCrossEntropy,
                                     IdentitySquaredError, ExpPoisson)}
