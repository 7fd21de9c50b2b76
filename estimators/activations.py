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
from scipy.special import erf, expit

__all__ = [
    "Activation",
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


class LeakyReLU(Activation):
    """``max(x, 0) + slope * min(x, 0)``; any real slope, so also above 1 or negative.

    The forward pass keeps the local derivative (1 or ``slope``) as a float
    array: both passes are then one multiplication, which is much faster in
    NumPy than masked assignment.
    """

    def __init__(self, slope=0.01):
        self.slope = slope

    def forward(self, x, training=True):
        derivative = getattr(self, "_derivative", None)
        if derivative is None or derivative.shape != x.shape or derivative.dtype != x.dtype:
            derivative = np.empty_like(x)
        np.less(x, 0, out=derivative)
        derivative *= x.dtype.type(self.slope - 1)
        derivative += 1
        self._derivative = derivative
        x *= derivative
        return x

    def backward(self, grad):
        grad *= self._derivative
        return grad

    def __repr__(self):
        return f"{type(self).__name__}(slope={self.slope})"


class ReLU(LeakyReLU):
    def __init__(self):
        super().__init__(slope=0.0)

    def __repr__(self):
        return "ReLU()"


class PReLU(Activation):
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

    def forward(self, x, training=True):
        self._x_negative = np.minimum(x, 0)
        # x + (slope - 1) * min(x, 0) is x on the positive side and slope * x below.
        x += (self.slopes - 1) * self._x_negative
        return x

    def backward(self, grad):
        slope_grad = (grad * self._x_negative).sum(axis=0)
        self.slopes_grad[...] = slope_grad if self.per == "unit" else slope_grad.sum()
        negative = self._x_negative < 0
        grad *= np.where(negative, self.slopes, 1).astype(grad.dtype, copy=False)
        return grad

    def __repr__(self):
        return f"PReLU(slope={self.slope}, per={self.per!r})"


class Sigmoid(Activation):
    def function(self, x):
        return expit(x, out=x)

    def derivative(self, x, y):
        return y * (1 - y)

    def forward(self, x, training=True):
        self._y = expit(x, out=x)
        return self._y

    def backward(self, grad):
        grad *= self._y  # sklearn's order: the same bits
        grad *= 1 - self._y
        return grad


class Tanh(Activation):
    def forward(self, x, training=True):
        self._y = np.tanh(x, out=x)
        return self._y

    def backward(self, grad):
        grad *= 1 - self._y**2
        return grad


class LeCunTanh(Activation):
    """LeCun's ``1.7159 * tanh(2x/3) + 0.01 x``: tanh scaled to unit gain, never flat."""

    def function(self, x):
        return 1.7159 * np.tanh(2 * x / 3) + 0.01 * x

    def derivative(self, x, y):
        return 1.7159 * 2 / 3 * (1 - np.tanh(2 * x / 3) ** 2) + 0.01


class ELU(Activation):
    def function(self, x):
        return np.where(x > 0, x, np.expm1(np.minimum(x, 0)))

    def derivative(self, x, y):
        return np.where(x > 0, 1, y + 1)


class GELU(Activation):
    """Exact GELU, ``x * Phi(x)``."""

    def function(self, x):
        return x * 0.5 * (1 + erf(x / math.sqrt(2)))

    def derivative(self, x, y):
        cdf = 0.5 * (1 + erf(x / math.sqrt(2)))
        pdf = np.exp(-0.5 * x**2) / math.sqrt(2 * math.pi)
        return cdf + x * pdf


class Swish(Activation):
    """``x * sigmoid(x)`` (SiLU)."""

    def function(self, x):
        return x * expit(x)

    def derivative(self, x, y):
        s = expit(x)
        return s + y * (1 - s)


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
