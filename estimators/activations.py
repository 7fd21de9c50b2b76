"""Activation functions, one registry keyed by name.

An activation is a layer without weights (PReLU is the exception: it learns
its slopes). ``forward`` may overwrite its input and ``backward`` may overwrite
the incoming gradient: the network owns those buffers and never reuses them,
which keeps the float32 hot path free of temporaries.

Register your own with :func:`register_activation`; a subclass only needs
``function`` and ``derivative``.
"""

import copy
import inspect
import math

import numpy as np
from . import activation_kernels

__all__ = [
    "Activation",
    "FusedActivation",
    "ACTIVATIONS",
    "register_activation",
    "make_activation",
]


class Activation:
    """Base class of activations.

    Subclasses implement ``function(x)`` and ``derivative(x, y)`` (the
    element-wise derivative at pre-activation ``x`` with output ``y``), or
    override ``forward``/``backward`` for speed.

    Examples
    --------
    >>> import numpy as np
    >>> from estimators.activations import Activation, register_activation
    >>> class Softsign(Activation):
    ...     def function(self, x):
    ...         return x / (1 + np.abs(x))
    ...     def derivative(self, x, y):
    ...         return 1 / (1 + np.abs(x)) ** 2
    >>> register_activation("softsign", Softsign)
    >>> from estimators import MLPClassifier
    >>> MLPClassifier(activation="softsign", max_iter=5).fit([[0.], [1.]], [0, 1]).n_iter_
    5
    """

    #: Learned parameters and their gradients, in matching order.
    params = ()
    grads = ()
    param_names = ()

    def build(self, n_units, dtype):
        """Allocate learned state for a layer of ``n_units`` (none by default)."""

    def function(self, x):
        raise NotImplementedError

    def derivative(self, x, y):
        raise NotImplementedError

    def forward(self, x, training=True):
        y = self.function(x)
        self._x, self._y = x, y
        return y

    def backward(self, grad):
        return grad * self.derivative(self._x, self._y)

    def __repr__(self):
        return f"{type(self).__name__}()"


class Identity(Activation):
    def forward(self, x, training=True):
        return x

    def backward(self, grad):
        return grad


class FusedActivation(Activation):
    """A built-in activation, on the kernels of :mod:`estimators.activation_kernels`.

    When the network puts one right after a Dense layer it sets ``bias_of``
    to that layer, which then leaves its bias to the activation: training
    passes add the intercept as they compute the function, and sum the
    intercept's gradient as they multiply by the derivative (inference
    gets the bias from the Dense layer, as without). Subclasses give
    ``_forward(z, bias, training)`` and ``_backward(grad, bias_grad)``.
    """

    #: The Dense layer whose intercept this activation adds, or None.
    bias_of = None

    def forward(self, x, training=True):
        bias = self.bias_of.intercept if training and self.bias_of is not None else None
        self._forward(x, bias, training)
        return x

    def backward(self, grad):
        self._backward(grad, None if self.bias_of is None else self.bias_of.intercept_grad)
        return grad

    def _kept(self, name, like, training, dtype=None):
        """An array of ``like``'s shape (and dtype, or ``dtype``) that training reuses from batch to batch."""
        dtype = like.dtype if dtype is None else np.dtype(dtype)
        array = getattr(self, name, None) if training else None
        if array is None or array.shape != like.shape or array.dtype != dtype:
            array = np.empty(like.shape, dtype=dtype)
            if training:
                setattr(self, name, array)
        return array


class LeakyReLU(FusedActivation):
    """``max(x, 0) + slope * min(x, 0)``; any real slope, so also above 1 or negative.

    The forward pass keeps the local derivative (1 or ``slope``) as a float
    array: the backward pass is then one multiplication.
    """

    def __init__(self, slope=0.01):
        self.slope = slope

    def _forward(self, z, bias, training):
        self._derivative = self._kept("_derivative", z, training) if training else None
        activation_kernels.leaky_forward(z, bias, z.dtype.type(self.slope - 1), self._derivative)

    def _backward(self, grad, bias_grad):
        activation_kernels.derivative_backward(grad, self._derivative, bias_grad)

    def __repr__(self):
        return f"{type(self).__name__}(slope={self.slope})"


class ReLU(LeakyReLU):
    def __init__(self):
        super().__init__(slope=0.0)

    def __repr__(self):
        return "ReLU()"


class PReLU(FusedActivation):
    """Leaky ReLU whose slope is learned: one per layer or one per unit.

    ``slope`` is the initial value; the learned ones are ``slopes`` (and their
    gradient ``slopes_grad``), never ``alpha``, which is the L2 penalty.
    """

    def __init__(self, slope=0.01, per="layer"):
        self.slope = slope
        self.per = per

    def build(self, n_units, dtype):
        shape = (n_units,) if self.per == "unit" else (1,)
        self.slopes = np.full(shape, self.slope, dtype=dtype)
        self.slopes_grad = np.zeros_like(self.slopes)
        self.params, self.grads = (self.slopes,), (self.slopes_grad,)
        self.param_names = ("slope",)

    def __setstate__(self, state):
        # Models pickled before the rename stored the learned slopes as 'alpha'.
        for old, new in (("alpha", "slopes"), ("alpha_grad", "slopes_grad")):
            if old in state:
                state[new] = state.pop(old)
        self.__dict__.update(state)  # as Dense's
        if hasattr(self, "slopes"):
            self.params, self.grads = (self.slopes,), (self.slopes_grad,)

    def _per_column(self, values, n_columns):
        return np.ascontiguousarray(np.broadcast_to(values, (n_columns,)))

    def _forward(self, z, bias, training):
        self._x_negative = self._kept("_x_negative", z, training) if training else None
        slopes_minus_one = self._per_column(self.slopes - 1, z.shape[1])
        activation_kernels.prelu_forward(z, bias, slopes_minus_one, self._x_negative)

    def _backward(self, grad, bias_grad):
        slope_grad = np.empty(grad.shape[1], dtype=grad.dtype)
        slopes = self._per_column(self.slopes, grad.shape[1])
        activation_kernels.prelu_backward(grad, self._x_negative, slopes, bias_grad, slope_grad)
        self.slopes_grad[...] = slope_grad if self.per == "unit" else slope_grad.sum()

    def __repr__(self):
        return f"PReLU(slope={self.slope}, per={self.per!r})"


class Sigmoid(FusedActivation):
    def _forward(self, z, bias, training):
        activation_kernels.sigmoid_forward(z, bias)
        self._y = z

    def _backward(self, grad, bias_grad):
        activation_kernels.sigmoid_backward(grad, self._y, bias_grad)


class Tanh(FusedActivation):
    def _forward(self, z, bias, training):
        activation_kernels.tanh_forward(z, bias)
        self._y = z

    def _backward(self, grad, bias_grad):
        activation_kernels.tanh_backward(grad, self._y, bias_grad)


class LeCunTanh(FusedActivation):
    """LeCun's ``1.7159 * tanh(2x/3) + 0.01 x``: tanh scaled to unit gain, never flat."""

    def _forward(self, z, bias, training):
        self._derivative = self._kept("_derivative", z, training)
        constants = [z.dtype.type(c) for c in (2 / 3, 1.7159, 1.7159 * 2 / 3, 0.01)]
        activation_kernels.lecun_tanh_forward(z, bias, self._derivative, constants, training)

    def _backward(self, grad, bias_grad):
        activation_kernels.derivative_backward(grad, self._derivative, bias_grad)


class ELU(FusedActivation):
    def _forward(self, z, bias, training):
        activation_kernels.elu_forward(z, bias, self._kept("_expm1", z, training))
        self._y = z

    def _backward(self, grad, bias_grad):
        activation_kernels.elu_backward(grad, self._y, bias_grad)


class GELU(FusedActivation):
    """Exact GELU, ``x * Phi(x)``."""

    def _forward(self, z, bias, training):
        self._derivative = self._kept("_derivative", z, training) if training else None
        constants = [z.dtype.type(c) for c in (1 / math.sqrt(2), 1 / math.sqrt(2 * math.pi))]
        erfs = self._kept("_erf", z, training)
        activation_kernels.gelu_forward(z, bias, erfs, self._derivative, constants)

    def _backward(self, grad, bias_grad):
        activation_kernels.derivative_backward(grad, self._derivative, bias_grad)


class Swish(FusedActivation):
    """``x * sigmoid(x)`` (SiLU)."""

    def _forward(self, z, bias, training):
        self._derivative = self._kept("_derivative", z, training)
        activation_kernels.swish_forward(z, bias, self._derivative, training)

    def _backward(self, grad, bias_grad):
        activation_kernels.derivative_backward(grad, self._derivative, bias_grad)


ACTIVATIONS = {
    "identity": Identity,
    "relu": ReLU,
    "leaky_relu": LeakyReLU,
    "prelu": PReLU,
    "sigmoid": Sigmoid,
    "logistic": Sigmoid,  # sklearn's name for the same function
    "tanh": Tanh,
    "lecun_tanh": LeCunTanh,
    "elu": ELU,
    "gelu": GELU,
    "swish": Swish,
}


def register_activation(name, cls):
    """Make ``cls`` (an :class:`Activation` subclass) usable as ``activation=name``.

    Parameters
    ----------
    name : str
        The name used by estimators and study files.
    cls : type
        A subclass of :class:`Activation`.
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f"An activation name must be a non-empty string, got {name!r}.")
    if not (isinstance(cls, type) and issubclass(cls, Activation)):
        raise TypeError(f"register_activation needs an Activation subclass, got {cls!r}.")
    ACTIVATIONS[name] = cls


def make_activation(activation, slope=0.01, prelu_per="layer"):
    """A fresh activation layer from a registered name or an :class:`Activation`.

    ``slope`` and ``prelu_per`` reach the classes whose constructor takes them.
    """
    if isinstance(activation, Activation):
        return copy.deepcopy(activation)
    cls = ACTIVATIONS[activation]
    options = {"slope": slope, "per": prelu_per}
    accepted = inspect.signature(cls).parameters
    return cls(**{k: v for k, v in options.items() if k in accepted})
