"""One pass over each weight per step: weight decay, the sgd or adam update, in place.

Without them a step reads and writes every weight several times: the L2
gradient (``grad += decay * coef``), the velocity, the Nesterov step and the
weight each take a pass, and NumPy (or BLAS level 1) cannot fuse passes. With
numba the step is one compiled loop per array (``cache=True``: compiled once,
then loaded from ``__pycache__``, or ``NUMBA_CACHE_DIR`` where that is not
writable). Without numba, or with ``ESTIMATORS_KERNELS=numpy`` in the
environment, the same arithmetic runs as passes of :mod:`estimators.blas`.

Both paths compute, element by element and in this order (sklearn's)::

    g = (grad + decay * param) / divisor      # the divisor only when it is not 1
    sgd:  v = momentum * v - rate * g
          param += momentum * v - rate * g    # Nesterov; else param += v
    adam: m = beta_1 * m + (1 - beta_1) * g
          v = beta_2 * v + (1 - beta_2) * g**2
          param += (-rate * m) / (sqrt(v) + epsilon)

and leave ``g`` in ``grad`` for the gradient-norm statistic. numba runs
without fastmath, so float64 gives the same numbers on both paths (BLAS may
fuse a multiply-add: a last bit, not more). The squared norms are BLAS dot
products outside the loop: a sum in strict order cannot be vectorised, and
inside the loop it made the step 5 to 10 times slower (measured, 784000
float32 weights: 2.6-5.6 ms against 0.5 ms and 0.3 ms for two dots).
"""

import math
import os

import numpy as np

from .blas import axpby, axpy

try:
    from numba import njit
except ImportError:  # numba is the optional extra "fast"
    njit = None

HAVE_NUMBA = njit is not None
# The switch tests (and users) flip to force the NumPy path.
USE_NUMBA = HAVE_NUMBA and os.environ.get("ESTIMATORS_KERNELS", "").lower() != "numpy"


def kernel_path():
    """'numba' or 'numpy': which implementation the kernels (these and the other modules') run now."""
    return "numba" if USE_NUMBA and HAVE_NUMBA else "numpy"


def compiled(function):
    """``function`` compiled by numba, or None without numba (its callers then take the NumPy path).

    Cached as the steps are. NumPy's error model: no zero-division check in a
    loop, which would keep it from vectorising.
    """
    return njit(cache=True, error_model="numpy")(function) if HAVE_NUMBA else None


def sgd_step(param, grad, velocity, rate, momentum, nesterov, decay=0.0, divisor=1.0):
    """One sgd step on one array, in place; ``grad`` is left holding the gradient used.

    Parameters
    ----------
    param, grad, velocity : ndarray
        C-contiguous, of one shape and dtype.
    rate, momentum : float
        The learning rate and the momentum.
    nesterov : bool
        Nesterov's step from the new velocity, or the velocity itself.
    decay, divisor : float
        The gradient used is ``(grad + decay * param) / divisor``.
    """
    scalars = _scalars(param.dtype, rate, momentum, decay, divisor)
    if kernel_path() == "numba":
        _sgd_numba(*_flat(param, grad, velocity), *scalars, bool(nesterov))
    else:
        _sgd_numpy(param, grad, velocity, *scalars, bool(nesterov))


def adam_step(param, grad, m, v, rate, betas, epsilon, decay=0.0, divisor=1.0):
    """One adam step on one array, in place (``rate`` with the bias correction), ``grad`` as :func:`sgd_step`.

    ``betas`` is ``(beta_1, beta_2)``; ``decay`` and ``divisor`` as in :func:`sgd_step`.
    """
    beta_1, beta_2 = betas
    scalars = _scalars(param.dtype, rate, beta_1, 1 - beta_1, beta_2, 1 - beta_2, epsilon, decay, divisor)
    if kernel_path() == "numba":
        _adam_numba(*_flat(param, grad, m, v), *scalars)
    else:
        _adam_numpy(param, grad, m, v, *scalars)


def _flat(*arrays):
    """1-d views of the arrays, which the compiled loops write through."""
    first = arrays[0]
    for array in arrays:  # a copy (reshape of a strided array) would take the writes
        if not array.flags.c_contiguous or array.shape != first.shape or array.dtype != first.dtype:
            raise ValueError("the arrays of a step must be C-contiguous, of one shape and dtype")
    return [array.reshape(-1) for array in arrays]


def _scalars(dtype, *values):
    # In the arrays' dtype, so that float32 arithmetic stays float32 on both paths.
    return [dtype.type(value) for value in values]


def _decayed_numpy(param, grad, decay, divisor):
    if decay:
        axpy(decay, param, grad)
    if divisor != 1:
        grad /= divisor


def _sgd_numpy(param, grad, velocity, rate, momentum, decay, divisor, nesterov):
    _decayed_numpy(param, grad, decay, divisor)
    axpby(-rate, grad, momentum, velocity)
    if nesterov:
        step = np.empty_like(grad)
        step[...] = grad
        axpby(momentum, velocity, -rate, step)
        axpy(1.0, step, param)
    else:
        axpy(1.0, velocity, param)


def _adam_numpy(param, grad, m, v, rate, beta_1, one_minus_beta_1, beta_2, one_minus_beta_2,
                epsilon, decay, divisor):
    _decayed_numpy(param, grad, decay, divisor)
    axpby(one_minus_beta_1, grad, beta_1, m)
    scratch = np.square(grad)
    axpby(one_minus_beta_2, scratch, beta_2, v)
    np.sqrt(v, out=scratch)  # the denominator
    scratch += epsilon
    step = np.multiply(m, -rate)
    step /= scratch
    param += step


if HAVE_NUMBA:
    @njit(cache=True)
    def _sgd_numba(param, grad, velocity, rate, momentum, decay, divisor, nesterov):  # pragma: no cover
        divide = divisor != 1
        for i in range(param.size):
            p = param[i]
            g = grad[i] + decay * p
            if divide:
                g = g / divisor
            grad[i] = g
            vel = momentum * velocity[i] - rate * g
            velocity[i] = vel
            if nesterov:
                param[i] = p + (momentum * vel - rate * g)
            else:
                param[i] = p + vel

    @njit(cache=True)
    def _adam_numba(param, grad, m, v, rate, beta_1, one_minus_beta_1, beta_2, one_minus_beta_2,
                    epsilon, decay, divisor):  # pragma: no cover
        divide = divisor != 1
        for i in range(param.size):
            p = param[i]
            g = grad[i] + decay * p
            if divide:
                g = g / divisor
            grad[i] = g
            mi = beta_1 * m[i] + one_minus_beta_1 * g
            vi = beta_2 * v[i] + one_minus_beta_2 * (g * g)
            m[i] = mi
            v[i] = vi
            param[i] = p + (-rate * mi) / (math.sqrt(vi) + epsilon)
