"""The built-in activations and their derivatives, in place, with the bias add and its gradient's sum.

A hidden Dense layer followed by one of these activations leaves its bias
to it (estimators.network): the activation's forward pass adds the bias as
it computes the function, and its backward pass sums the gradient of the
bias (over the batch's rows) as it multiplies by the derivative. With numba
each is one compiled loop over the batch, which for ReLU, Leaky ReLU and
PReLU is the whole activation. The others need a transcendental function (exp, expm1, tanh,
erf), which numba calls one value at a time through the C library, while
NumPy's ufuncs use the processor's vector units: on 256 x 1000 float32
values np.tanh takes 0.2 ms against numba's 5.4 ms, np.exp 0.17 against
0.82, np.expm1 0.13 against 6.7. So that function stays NumPy's (or
SciPy's, for erf and expit), in place, and the compiled loops do the
arithmetic around it: the bias add before, the output and the derivative
after, in one pass each.

Without numba (or with ``ESTIMATORS_KERNELS=numpy``) the same arithmetic
runs as NumPy passes, in the same order on values of the same dtype, so
both paths give the same numbers (estimators.kernels). An argument that is
absent (no bias, or nothing to keep at inference) is None here and an empty
array in the compiled loops.
"""

import numpy as np
from scipy.special import erf, expit

from .kernels import compiled, kernel_path


def _numba():
    return kernel_path() == "numba"


def _given(array, dtype, ndim=1):
    """``array``, or the empty array that stands for None in the compiled loops."""
    return np.empty((0,) * ndim, dtype=dtype) if array is None else array


def add_bias(z, bias):
    """``z += bias`` (NumPy on both paths: a fused pass would be the same single pass)."""
    if bias is not None:
        z += bias


def sum_bias_grad(grad, bias_grad):
    """The gradient of the bias: ``grad`` summed over the rows (NumPy path)."""
    if bias_grad is not None:
        np.sum(grad, axis=0, out=bias_grad)


# ------------------------------------------------------------ ReLU, Leaky ReLU, PReLU


def leaky_forward(z, bias, slope_minus_one, derivative):
    """``z = v * d`` for ``v = z + bias``, where ``d`` is ``1 + (slope - 1)`` if ``v < 0``, else 1;
    ``derivative`` keeps d. ``slope_minus_one`` is in the dtype.

    A float per value, not a byte: the NumPy path's masked multiply (``where=``)
    runs 10 times slower than a plain one, and on the numba path a mask
    saved 0.05 ms a batch of 256 x 1000 (1% of an MNIST step).
    """
    if _numba():
        _leaky_forward(z, _given(bias, z.dtype), slope_minus_one, _given(derivative, z.dtype, 2))
        return
    add_bias(z, bias)
    if derivative is None:  # inference keeps nothing, but the NumPy passes need it meanwhile
        derivative = np.empty_like(z)
    np.less(z, 0, out=derivative)
    derivative *= slope_minus_one  # 1 + (slope - 1) * [v < 0]
    derivative += 1
    z *= derivative


def prelu_forward(z, bias, slopes_minus_one, negative):
    """``z = v + (slope - 1) * min(v, 0)``, one slope per column; ``negative`` keeps ``min(v, 0)``."""
    if _numba():
        _prelu_forward(z, _given(bias, z.dtype), slopes_minus_one, _given(negative, z.dtype, 2))
        return
    add_bias(z, bias)
    negative = np.minimum(z, 0, out=negative)
    z += slopes_minus_one * negative


def prelu_backward(grad, negative, slopes, bias_grad, slopes_grad):
    """``slopes_grad`` (one per column) is the sum of ``grad * min(v, 0)``, taken before the multiply."""
    if _numba():
        _prelu_backward(grad, negative, slopes, _given(bias_grad, grad.dtype), slopes_grad)
        return
    np.sum(grad * negative, axis=0, out=slopes_grad)
    grad *= np.where(negative < 0, slopes, 1).astype(grad.dtype, copy=False)
    sum_bias_grad(grad, bias_grad)


# ------------------------------------------------------------ sigmoid, tanh, ELU


def sigmoid_forward(z, bias):
    add_bias(z, bias)
    expit(z, out=z)


def tanh_forward(z, bias):
    add_bias(z, bias)
    np.tanh(z, out=z)


def sigmoid_backward(grad, y, bias_grad):
    """``grad * y * (1 - y)``, in sklearn's order (the same bits)."""
    if _numba():
        _sigmoid_backward(grad, y, _given(bias_grad, grad.dtype))
        return
    grad *= y
    grad *= 1 - y
    sum_bias_grad(grad, bias_grad)


def tanh_backward(grad, y, bias_grad):
    if _numba():
        _tanh_backward(grad, y, _given(bias_grad, grad.dtype))
        return
    grad *= 1 - y * y
    sum_bias_grad(grad, bias_grad)


def elu_forward(z, bias, scratch):
    """``z = v if v > 0 else expm1(v)``: expm1 of ``min(v, 0)`` into ``scratch``, then the choice."""
    if _numba():
        _elu_before(z, _given(bias, z.dtype), scratch)
        np.expm1(scratch, out=scratch)
        _elu_after(z, scratch)
        return
    add_bias(z, bias)
    np.minimum(z, 0, out=scratch)
    np.expm1(scratch, out=scratch)
    np.maximum(z, 0, out=z)  # v + 0 where v > 0, 0 + expm1(v) elsewhere: exactly the choice
    z += scratch


def elu_backward(grad, y, bias_grad):
    """The derivative from the output: 1 where ``y > 0``, else ``y + 1``."""
    if _numba():
        _elu_backward(grad, y, _given(bias_grad, grad.dtype))
        return
    grad *= np.where(y > 0, 1, y + 1).astype(grad.dtype, copy=False)
    sum_bias_grad(grad, bias_grad)


# ------------------------------------------------------------ LeCun tanh, GELU, swish


def lecun_tanh_forward(z, bias, derivative, constants, save):
    """``z = k tanh(c v) + lin v``; ``derivative = k c (1 - tanh(c v)^2) + lin`` when ``save``.

    ``constants`` is ``(c, k, k * c, lin)`` in the dtype; ``derivative`` also holds tanh(c v) meanwhile.
    """
    c, k, kc, lin = constants
    if _numba():
        _scaled(z, _given(bias, z.dtype), c, derivative)
        np.tanh(derivative, out=derivative)
        _lecun_tanh_after(z, derivative, k, kc, lin, save)
        return
    add_bias(z, bias)
    t = np.tanh(np.multiply(z, c, out=derivative), out=derivative)
    z *= lin
    z += k * t
    if save:
        t *= t
        np.subtract(1, t, out=t)
        t *= kc
        t += lin


def gelu_forward(z, bias, erfs, derivative, constants):
    """``z = v Phi(v)``, ``Phi(v) = 1/2 (1 + erf(v / sqrt 2))``; ``derivative = Phi(v) + v phi(v)``.

    ``constants`` is ``(1 / sqrt 2, 1 / sqrt(2 pi))`` in the dtype; ``erfs`` is scratch;
    ``derivative`` None at inference.
    """
    root_half, root_two_pi = constants
    if _numba():
        _gelu_before(z, _given(bias, z.dtype), root_half, erfs, _given(derivative, z.dtype, 2))
        erf(erfs, out=erfs)
        if derivative is not None:
            np.exp(derivative, out=derivative)
        _gelu_after(z, erfs, _given(derivative, z.dtype, 2), root_two_pi)
        return
    add_bias(z, bias)
    erf(np.multiply(z, root_half, out=erfs), out=erfs)
    erfs += 1
    erfs *= 0.5  # Phi(v)
    if derivative is not None:
        np.multiply(z, 0.5, out=derivative)
        derivative *= z
        np.exp(np.negative(derivative, out=derivative), out=derivative)
        derivative *= root_two_pi
        derivative *= z
        derivative += erfs
    z *= erfs


def swish_forward(z, bias, derivative, save):
    """``z = v s``, ``s = expit(v)``; ``derivative = s + y (1 - s)`` when ``save`` (else s only)."""
    add_bias(z, bias)
    s = expit(z, out=derivative)
    if _numba():
        _swish_after(z, s, save)
        return
    z *= s
    if save:
        s += z * (1 - s)


def derivative_backward(grad, derivative, bias_grad):
    """``grad * derivative``, the derivative kept by the forward pass."""
    if _numba():
        _derivative_backward(grad, derivative, _given(bias_grad, grad.dtype))
        return
    grad *= derivative
    sum_bias_grad(grad, bias_grad)


# ------------------------------------------------------------ numba path
# Each loop reads the bias (``bias.size``: there is one) and writes what the
# backward pass needs (``derivative.size`` etc.) only when given; the tests are
# the same for every value, so the compiler takes them out of the loop.
# Constants are in the arrays' dtype (``z.dtype.type``): a Python float would
# turn float32 arithmetic into float64.


@compiled
def _leaky_forward(z, bias, slope_minus_one, derivative):  # pragma: no cover (compiled)
    add, save, one = bias.size > 0, derivative.size > 0, z.dtype.type(1)
    factor = one + slope_minus_one
    for i in range(z.shape[0]):
        for j in range(z.shape[1]):
            v = z[i, j] + bias[j] if add else z[i, j]
            d = factor if v < 0 else one
            z[i, j] = v * d
            if save:
                derivative[i, j] = d


@compiled
def _prelu_forward(z, bias, slopes_minus_one, negative):  # pragma: no cover (compiled)
    add, save, zero = bias.size > 0, negative.size > 0, z.dtype.type(0)
    for i in range(z.shape[0]):
        for j in range(z.shape[1]):
            v = z[i, j] + bias[j] if add else z[i, j]
            n = v if v < zero else zero
            z[i, j] = v + slopes_minus_one[j] * n
            if save:
                negative[i, j] = n


@compiled
def _prelu_backward(grad, negative, slopes, bias_grad, slopes_grad):  # pragma: no cover (compiled)
    sums = bias_grad.size > 0
    bias_grad[:] = 0
    slopes_grad[:] = 0
    for i in range(grad.shape[0]):
        for j in range(grad.shape[1]):
            g, n = grad[i, j], negative[i, j]
            slopes_grad[j] += g * n
            g = g * slopes[j] if n < 0 else g
            grad[i, j] = g
            if sums:
                bias_grad[j] += g


@compiled
def _sigmoid_backward(grad, y, bias_grad):  # pragma: no cover (compiled)
    sums, one = bias_grad.size > 0, grad.dtype.type(1)
    bias_grad[:] = 0
    for i in range(grad.shape[0]):
        for j in range(grad.shape[1]):
            g = grad[i, j] * y[i, j]
            g = g * (one - y[i, j])
            grad[i, j] = g
            if sums:
                bias_grad[j] += g


@compiled
def _tanh_backward(grad, y, bias_grad):  # pragma: no cover (compiled)
    sums, one = bias_grad.size > 0, grad.dtype.type(1)
    bias_grad[:] = 0
    for i in range(grad.shape[0]):
        for j in range(grad.shape[1]):
            g = grad[i, j] * (one - y[i, j] * y[i, j])
            grad[i, j] = g
            if sums:
                bias_grad[j] += g


@compiled
def _elu_before(z, bias, scratch):  # pragma: no cover (compiled)
    add, zero = bias.size > 0, z.dtype.type(0)
    for i in range(z.shape[0]):
        for j in range(z.shape[1]):
            v = z[i, j] + bias[j] if add else z[i, j]
            z[i, j] = v
            scratch[i, j] = v if v < zero else zero


@compiled
def _elu_after(z, expm1s):  # pragma: no cover (compiled)
    for i in range(z.shape[0]):
        for j in range(z.shape[1]):
            v = z[i, j]
            z[i, j] = v if v > 0 else expm1s[i, j]


@compiled
def _elu_backward(grad, y, bias_grad):  # pragma: no cover (compiled)
    sums, one = bias_grad.size > 0, grad.dtype.type(1)
    bias_grad[:] = 0
    for i in range(grad.shape[0]):
        for j in range(grad.shape[1]):
            v = y[i, j]
            g = grad[i, j] * (one if v > 0 else v + one)
            grad[i, j] = g
            if sums:
                bias_grad[j] += g


@compiled
def _scaled(z, bias, c, out):  # pragma: no cover (compiled)
    """``z += bias`` and ``out = c * z``."""
    add = bias.size > 0
    for i in range(z.shape[0]):
        for j in range(z.shape[1]):
            v = z[i, j] + bias[j] if add else z[i, j]
            z[i, j] = v
            out[i, j] = v * c


@compiled
def _lecun_tanh_after(z, tanhs, k, kc, lin, save):  # pragma: no cover (compiled)
    one = z.dtype.type(1)
    for i in range(z.shape[0]):
        for j in range(z.shape[1]):
            t = tanhs[i, j]
            z[i, j] = k * t + lin * z[i, j]
            if save:
                tanhs[i, j] = kc * (one - t * t) + lin


@compiled
def _gelu_before(z, bias, root_half, erfs, exps):  # pragma: no cover (compiled)
    """``z += bias``, ``erfs = z / sqrt 2`` and, to keep the derivative, ``exps = -z^2 / 2``."""
    add, save, half = bias.size > 0, exps.size > 0, z.dtype.type(0.5)
    for i in range(z.shape[0]):
        for j in range(z.shape[1]):
            v = z[i, j] + bias[j] if add else z[i, j]
            z[i, j] = v
            erfs[i, j] = v * root_half
            if save:
                exps[i, j] = -(v * half * v)


@compiled
def _gelu_after(z, erfs, exps, root_two_pi):  # pragma: no cover (compiled)
    save, half, one = exps.size > 0, z.dtype.type(0.5), z.dtype.type(1)
    for i in range(z.shape[0]):
        for j in range(z.shape[1]):
            v = z[i, j]
            cdf = (erfs[i, j] + one) * half
            z[i, j] = v * cdf
            if save:
                exps[i, j] = exps[i, j] * root_two_pi * v + cdf


@compiled
def _swish_after(z, s, save):  # pragma: no cover (compiled)
    one = z.dtype.type(1)
    for i in range(z.shape[0]):
        for j in range(z.shape[1]):
            si = s[i, j]
            y = z[i, j] * si
            z[i, j] = y
            if save:
                s[i, j] = si + y * (one - si)


@compiled
def _derivative_backward(grad, derivative, bias_grad):  # pragma: no cover (compiled)
    sums = bias_grad.size > 0
    bias_grad[:] = 0
    for i in range(grad.shape[0]):
        for j in range(grad.shape[1]):
            g = grad[i, j] * derivative[i, j]
            grad[i, j] = g
            if sums:
                bias_grad[j] += g
