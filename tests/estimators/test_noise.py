import threading

import numpy as np
import pytest

from estimators.noise import GaussianNoise, batch_sizes, spawn_generator


def run_epoch(noise, n_samples, n_features, batch_size, dtype=np.float32):
    """The noise each batch of one epoch got, added to zeros, stacked."""
    add = noise.epoch(n_samples, n_features, batch_size, dtype)
    return np.vstack([add(np.zeros((size, n_features), dtype=dtype)).copy()
                      for size in batch_sizes(n_samples, batch_size)])


def test_batch_sizes_cut_as_the_estimator_does():
    assert batch_sizes(10, 4) == [4, 4, 2]
    assert batch_sizes(8, 4) == [4, 4]
    assert batch_sizes(3, 5) == [3]


def test_each_batch_gets_the_next_draws_of_one_generator_in_order():
    # What the worker thread drew equals drawing each batch in turn on this
    # thread: thread timing cannot change which numbers a batch gets.
    noise = GaussianNoise(0.5, np.random.Generator(np.random.SFC64(7)))
    got = [run_epoch(noise, 25, 6, 4) for _ in range(3)]
    reference = np.random.Generator(np.random.SFC64(7))
    for epoch in got:
        expected = np.vstack([reference.standard_normal((size, 6), dtype=np.float32) * np.float32(0.5)
                              for size in batch_sizes(25, 4)])
        np.testing.assert_array_equal(epoch, expected)


def test_same_seed_same_noise_other_seed_other_noise():
    def noise(seed):
        return run_epoch(GaussianNoise(1.0, spawn_generator(np.random.default_rng(seed))), 50, 8, 16)
    np.testing.assert_array_equal(noise(3), noise(3))
    assert not np.allclose(noise(3), noise(4))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_noise_is_gaussian_with_the_scale_and_independent_per_sample_and_epoch(dtype):
    noise = GaussianNoise(0.3, spawn_generator(np.random.default_rng(0)))
    first, second = (run_epoch(noise, 2000, 50, 128, dtype) for _ in range(2))
    assert first.dtype == dtype
    for sample in (first, second):
        assert abs(sample.mean()) < 0.01
        assert sample.std() == pytest.approx(0.3, rel=0.01)
        # fourth moment of a Gaussian: 3 sigma^4
        assert np.mean(sample**4) / sample.var()**2 == pytest.approx(3.0, rel=0.05)
    # neither samples nor features nor epochs share noise: correlations are at chance level (~1/sqrt(n))
    assert abs(np.corrcoef(first.ravel(), second.ravel())[0, 1]) < 0.01
    rows = np.corrcoef(first[:100])  # 100 samples, 50 values each
    assert np.abs(rows[np.triu_indices(100, 1)]).max() < 0.7
    assert np.abs(rows[np.triu_indices(100, 1)]).mean() < 0.15
    columns = np.corrcoef(first.T)
    assert np.abs(columns[np.triu_indices(50, 1)]).max() < 0.1


def test_noise_is_added_in_place_to_the_batch():
    noise = GaussianNoise(1.0, np.random.Generator(np.random.SFC64(0)))
    add = noise.epoch(4, 3, 4, np.float32)
    X = np.full((4, 3), 10.0, dtype=np.float32)
    assert add(X) is X
    expected = 10.0 + np.random.Generator(np.random.SFC64(0)).standard_normal((4, 3), dtype=np.float32)
    np.testing.assert_array_equal(X, expected)


def test_a_batch_of_the_wrong_size_is_refused():
    add = GaussianNoise(1.0, np.random.default_rng(0)).epoch(10, 3, 4, np.float32)
    with pytest.raises(ValueError, match="batch 0 has 3 rows"):
        add(np.zeros((3, 3), dtype=np.float32))


def test_no_thread_is_left_after_an_epoch():
    # Which threads, not how many: a thread of an earlier test may end meanwhile.
    before = set(threading.enumerate())
    run_epoch(GaussianNoise(1.0, np.random.default_rng(0)), 100, 5, 10)
    assert set(threading.enumerate()) - before == set()


def test_spawning_leaves_the_source_stream_as_it_was():
    source, untouched = np.random.default_rng(5), np.random.default_rng(5)
    spawn_generator(source)
    np.testing.assert_array_equal(source.random(5), untouched.random(5))
