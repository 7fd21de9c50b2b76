"""Tests for estimators.blas: in-place BLAS updates against numpy, on both paths."""

from pathlib import Path

import numpy as np
import pytest

from estimators import blas

# Sizes on either side of the switch from numpy's ufuncs to BLAS.
SHAPES = [(7,), (40, 30), (300, 200)]


@pytest.fixture(params=["as installed", "numpy ufuncs"])
def backend(request, monkeypatch):
    if request.param == "numpy ufuncs":
        monkeypatch.setattr(blas, "_FUNCTIONS", {})
    return request.param


def tolerances(dtype):
    # BLAS may fuse the multiply and add (FMA): agree to rounding, not bit for bit.
    return dict(rtol=1e-6, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-15)


def pair(shape, dtype, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=shape).astype(dtype), rng.normal(size=shape).astype(dtype)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_axpy_adds_in_place(backend, shape, dtype):
    x, y = pair(shape, dtype)
    expected = y + dtype(0.3) * x
    before = y
    blas.axpy(0.3, x, y)
    assert y is before and y.dtype == dtype
    np.testing.assert_allclose(y, expected, **tolerances(dtype))


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_axpby_scales_and_adds_in_place(backend, shape, dtype):
    x, y = pair(shape, dtype, seed=1)
    expected = dtype(-0.05) * x + dtype(0.9) * y
    blas.axpby(-0.05, x, 0.9, y)
    np.testing.assert_allclose(y, expected, **tolerances(dtype))


@pytest.mark.parametrize("make_bad, message", [
    (lambda x, y: (x, y[:, ::2]), "C-contiguous and writeable"),
    (lambda x, y: (x[:, ::2], np.ascontiguousarray(y[:, ::2])), "x must be C-contiguous"),
    (lambda x, y: (x[:100], y), "size"),
    (lambda x, y: (x.astype(np.float64), y), "dtype"),
])
def test_refuses_arrays_that_c_code_would_overrun(backend, make_bad, message):
    x, y = pair((300, 200), np.float32)
    x, y = make_bad(x, y)
    with pytest.raises(ValueError, match=message):
        blas.axpy(0.5, x, y)


def test_refuses_a_read_only_array(backend):
    x, y = pair((300, 200), np.float32)
    y.flags.writeable = False
    with pytest.raises(ValueError, match="writeable"):
        blas.axpby(1.0, x, 2.0, y)


def test_numpy_wheels_use_numpy_own_openblas():
    site = Path(np.__file__).resolve().parents[1]
    if not any(site.glob(pattern) for pattern in blas._WHEEL_LIBRARIES):
        pytest.skip("numpy was not installed from a wheel that bundles OpenBLAS")
    assert blas.BACKEND == "numpy's OpenBLAS"
