"""Tests for estimators.noise: the counter-based jitter, its guarantees, and the same noise on both kernel paths."""

import numpy as np
import pytest
from scipy import stats

from estimators.gather import Jitter, add_noise, gather
from estimators.noise import NORMAL_TABLE, GaussianNoise, spawn_generator, splitmix, splitmix_compiled

MASK = 2**64 - 1


def splitmix64_outputs(seed, count):
    """SplitMix64 as Vigna publishes it, in Python integers."""
    state, outputs = seed, []
    for _ in range(count):
        state = (state + 0x9E3779B97F4A7C15) & MASK
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        outputs.append(z ^ (z >> 31))
    return outputs


def noise_of(seed, epoch, index, n_values, scale=1.0, dtype=np.float64):
    """The noise of samples ``index`` in ``epoch``: what a gather of zeros gets."""
    noise = GaussianNoise(scale, seed)
    zeros = np.zeros((max(index) + 1, n_values), dtype=dtype)
    out = np.empty((len(index), n_values), dtype=dtype)
    return gather(zeros, np.asarray(index), out, jitter=Jitter(noise, noise.epoch_key(epoch))).copy()


def test_splitmix_is_splitmix64():
    expected = splitmix64_outputs(1234567, 5)
    assert expected[:2] == [6457827717110365317, 3203168211198807973]  # the published test vector
    got = splitmix(np.uint64(1234567), np.arange(5, dtype=np.uint64))
    assert got.tolist() == expected


def test_the_compiled_splitmix_is_the_same_function():
    if splitmix_compiled is None:
        pytest.skip("numba is not installed (extra 'fast')")
    keys = np.array([0, 1, 2**63 + 5, MASK], dtype=np.uint64)
    for key in keys:
        for counter in (0, 1, 7, 2**40):
            assert splitmix_compiled(key, np.uint64(counter)) == splitmix(key, np.array([counter], np.uint64))[0]


def test_a_value_is_the_documented_function_of_seed_epoch_sample_and_position(each_path):
    seed, epoch, sample = 2**63 + 11, 3, 17
    got = noise_of(seed, epoch, [sample], 10, scale=0.5)[0]
    epoch_key = splitmix64_outputs(seed, epoch + 1)[-1]
    sample_key = splitmix64_outputs(epoch_key, sample + 1)[-1]
    words = splitmix64_outputs(sample_key, 3)
    pieces = [(word >> (16 * q)) & 0xFFFF for word in words for q in range(4)]  # little-endian order
    np.testing.assert_array_equal(got, 0.5 * NORMAL_TABLE[pieces[:10]])


def test_a_samples_noise_is_the_same_in_any_batch_and_order(each_path):
    first = noise_of(5, 0, [4, 0, 9, 2], 13)
    again = noise_of(5, 0, [9, 4], 13)
    np.testing.assert_array_equal(again, first[[2, 0]])
    np.testing.assert_array_equal(noise_of(5, 0, [4, 0, 9, 2], 13), first)  # the same seed: the same noise


def test_another_seed_epoch_or_sample_gets_other_noise(each_path):
    base = noise_of(5, 0, [3], 40)[0]
    for other in (noise_of(6, 0, [3], 40)[0], noise_of(5, 1, [3], 40)[0], noise_of(5, 0, [4], 40)[0]):
        assert np.count_nonzero(other == base) <= 1  # two draws of 65,536 values rarely meet


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_noise_is_gaussian_with_the_scale_and_independent_per_sample_and_epoch(dtype, each_path):
    first, second = (noise_of(1, epoch, range(2000), 50, scale=0.3, dtype=dtype) for epoch in (0, 1))
    assert first.dtype == dtype
    for sample in (first, second):
        # 100,000 values: the standard error of the mean is 0.3 / 316, of the sd about 0.3 / 447
        assert abs(sample.mean()) < 0.005
        assert sample.std() == pytest.approx(0.3, rel=0.01)
        # fourth moment of a Gaussian: 3 sigma^4
        assert np.mean(sample**4) / sample.var()**2 == pytest.approx(3.0, rel=0.05)
    # neither samples nor values nor epochs share noise: correlations are at chance level (~1/sqrt(n))
    assert abs(np.corrcoef(first.ravel(), second.ravel())[0, 1]) < 0.01
    rows = np.corrcoef(first[:100])  # 100 samples, 50 values each
    assert np.abs(rows[np.triu_indices(100, 1)]).max() < 0.7
    assert np.abs(rows[np.triu_indices(100, 1)]).mean() < 0.15
    columns = np.corrcoef(first.T)
    assert np.abs(columns[np.triu_indices(50, 1)]).max() < 0.1


def test_noise_follows_the_normal_distribution():
    # The 16-bit quantile table: a Kolmogorov-Smirnov test over a million draws sees a Gaussian.
    sample = noise_of(1, 0, range(20_000), 50, scale=2.0).ravel()
    assert stats.kstest(sample / 2.0, "norm").pvalue > 0.01
    assert np.abs(sample).max() < 2.0 * 4.33  # the table's last quantile
    assert len(np.unique(sample)) > 60_000  # nearly every one of the 65,536 values occurs


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_both_paths_add_the_same_noise(dtype, both_paths):
    X = np.random.default_rng(0).normal(size=(30, 23)).astype(dtype)
    index = np.array([29, 0, 7, 7, 13])
    jitter = Jitter(GaussianNoise(0.7, 99), GaussianNoise(0.7, 99).epoch_key(4))
    gathered = both_paths(lambda: gather(X, index, np.empty((8, 23), dtype), jitter=jitter).copy())
    np.testing.assert_array_equal(*gathered)
    added = both_paths(lambda: add_noise(X[index], index, jitter))
    np.testing.assert_array_equal(*added)
    np.testing.assert_array_equal(added[0], gathered[0])  # the gather's noise is the sample's noise


def test_spawning_leaves_the_source_stream_as_it_was():
    source, untouched = np.random.default_rng(5), np.random.default_rng(5)
    spawn_generator(source)
    np.testing.assert_array_equal(source.random(5), untouched.random(5))
