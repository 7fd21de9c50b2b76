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

with ``grad`` as scratch space. Each step also returns the squared norms of
``param`` before it (the loss's L2 term) and of ``g`` (the gradient-norm
statistic). numba runs without fastmath, so float64 gives the same numbers on
both paths (BLAS may fuse a multiply-add, and the sums run in another order:
last bits, not more).

The sgd loop sums the squares as it goes, into :data:`LANES` partial sums in
a fixed order: one running sum in strict order cannot be vectorised (784000
float32 weights: 1.05 ms a step against 0.32 ms without the sums), the lanes
can (0.33 ms, where the two BLAS dot products they replace took 0.21 ms).
adam's loop would not vectorise with them (1.72 ms against 1.31 ms and
0.21 ms for the dots), so its norms stay BLAS dot products.
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
LANES = 16  # partial sums of the sgd loop: a fixed-width inner loop that the compiler vectorises
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
    """One sgd step on one array, in place; ``grad`` is scratch space (the numba loop leaves it as it was,
    the NumPy path holding the gradient used: a write the loop saves).

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

    Returns
    -------
    squares : (float, float)
        The sums of squares of ``param`` before the step and of the gradient used.
    """
    scalars = _scalars(param.dtype, rate, momentum, decay, divisor)
    if kernel_path() == "numba":
        return _sgd_numba(*_flat(param, grad, velocity), *scalars, bool(nesterov))
    squared_param = _squared(param)
    _sgd_numpy(param, grad, velocity, *scalars, bool(nesterov))
    return squared_param, _squared(grad)


def adam_step(param, grad, m, v, rate, betas, epsilon, decay=0.0, divisor=1.0):
    """One adam step on one array, in place (``rate`` with the bias correction), ``grad`` as :func:`sgd_step`.

    ``betas`` is ``(beta_1, beta_2)``; ``decay`` and ``divisor``, and what it returns, as :func:`sgd_step`'s.
    """
    beta_1, beta_2 = betas
    scalars = _scalars(param.dtype, rate, beta_1, 1 - beta_1, beta_2, 1 - beta_2, epsilon, decay, divisor)
    squared_param = _squared(param)
    if kernel_path() == "numba":
        _adam_numba(*_flat(param, grad, m, v), *scalars)
    else:
        _adam_numpy(param, grad, m, v, *scalars)
    return squared_param, _squared(grad)


def _squared(array):
    flat = array.reshape(-1)
    return float(np.dot(flat, flat))


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
    @njit
    def _sgd_one(i, param, grad, velocity, rate, momentum, decay, divisor, nesterov):  # pragma: no cover
        """Element ``i``'s step; its param before the step and its gradient used."""
        p = param[i]
        g = grad[i] + decay * p
        if divisor != 1:
            g = g / divisor
        vel = momentum * velocity[i] - rate * g
        velocity[i] = vel
        param[i] = p + (momentum * vel - rate * g) if nesterov else p + vel
        return p, g

    @njit(cache=True)
    def _sgd_numba(param, grad, velocity, rate, momentum, decay, divisor, nesterov):  # pragma: no cover
        sums = np.zeros((2, LANES))
        blocks = param.size // LANES
        for block in range(blocks):
            for lane in range(LANES):
                p, g = _sgd_one(block * LANES + lane, param, grad, velocity, rate, momentum, decay, divisor,
                                nesterov)
                sums[0, lane] += p * p
                sums[1, lane] += g * g
        for i in range(blocks * LANES, param.size):
            p, g = _sgd_one(i, param, grad, velocity, rate, momentum, decay, divisor, nesterov)
            sums[0, 0] += p * p
            sums[1, 0] += g * g
        return sums[0].sum(), sums[1].sum()

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
