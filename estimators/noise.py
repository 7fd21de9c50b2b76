"""Gaussian input jitter, drawn one batch ahead on a background thread.

Drawing the noise costs more than training a small network: seed 001's
3072-50-50-10 CIFAR-10 network sees 3072 fresh normals per sample, and NumPy's
float32 ziggurat takes a few nanoseconds each on one core. The draw for the
next batch runs on a worker thread (NumPy's random fills release the GIL)
while the current batch trains, so it overlaps the training's one-core parts
(Python, elementwise passes) instead of adding to them.

The noise stays honest and reproducible: every batch gets its own fresh
draw, in the order of the batches, from one generator that only the worker
touches, so thread timing never changes which numbers a batch gets. Nothing
is drawn past an epoch's last batch, so an epoch ends with no work pending
and no thread left running.
"""

from concurrent.futures import ThreadPoolExecutor

import numpy as np


def batch_sizes(n_samples, batch_size):
    """Rows in each of an epoch's batches, as ``MLPClassifier._batches`` cuts them."""
    full, rest = divmod(n_samples, batch_size)
    return [batch_size] * full + ([rest] if rest else [])


def spawn_generator(rng):
    """An independent Generator from ``rng``'s seed sequence, leaving ``rng``'s own stream as it was.

    SFC64 is the fastest of NumPy's bit generators at filling normals.
    """
    seed_seq = rng.bit_generator.seed_seq
    return np.random.Generator(np.random.SFC64(seed_seq.spawn(1)[0]))


class GaussianNoise:
    """Adds ``scale * N(0, 1)`` to each training batch, drawn one batch ahead.

    Parameters
    ----------
    scale : float
        The standard deviation (the estimator's ``jitter``).
    rng : numpy.random.Generator
        The source of the noise; only this object draws from it.
    """

    def __init__(self, scale, rng):
        self.scale, self.rng = scale, rng

    def epoch(self, n_samples, n_features, batch_size, dtype):
        """An iterator-like callable for one epoch: ``add(X_batch)`` per batch, in order."""
        return _EpochNoise(self, batch_sizes(n_samples, batch_size), n_features, np.dtype(dtype))

    def draw(self, out):
        """Fill ``out`` with ``scale * N(0, 1)`` (on whichever thread calls it)."""
        self.rng.standard_normal(out=out, dtype=out.dtype.type)
        out *= out.dtype.type(self.scale)
        return out


class _EpochNoise:
    """One epoch's noise: two buffers, one being filled while the other is added."""

    def __init__(self, noise, sizes, n_features, dtype):
        self.noise, self.sizes = noise, sizes
        self.buffers = [np.empty((max(sizes), n_features), dtype=dtype) for _ in range(2)]
        self.index = 0
        self.executor = ThreadPoolExecutor(max_workers=1) if len(sizes) > 1 else None
        self.pending = self._submit(0)

    def _submit(self, index):
        if index >= len(self.sizes):
            return None
        out = self.buffers[index % 2][:self.sizes[index]]
        if self.executor is None:
            return _Done(self.noise.draw(out))
        return self.executor.submit(self.noise.draw, out)

    def __call__(self, X):
        """Add this batch's noise to ``X`` in place; starts drawing the next batch's."""
        if self.index >= len(self.sizes) or len(X) != self.sizes[self.index]:
            raise ValueError(f"batch {self.index} has {len(X)} rows; the epoch's batches are {self.sizes}")
        noise = self.pending.result()
        self.index += 1
        # The next draw writes the other buffer, so this one is free to read below.
        self.pending = self._submit(self.index)
        X += noise
        if self.index == len(self.sizes) and self.executor is not None:
            self.executor.shutdown(wait=True)
        return X


class _Done:
    """A finished future, for an epoch of one batch (no thread to start)."""

    def __init__(self, value):
        self.value = value

    def result(self):
        return self.value
