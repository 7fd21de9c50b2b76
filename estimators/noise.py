"""Gaussian input jitter from a counter-based generator: a sample's noise depends on nothing but where it is.

The noise added to value ``j`` of sample ``i`` (its row in the X given to
fit) in epoch ``e`` is a function of ``(seed, e, i, j)`` alone::

    splitmix(key, n) = mix64(key + (n + 1) * 0x9E3779B97F4A7C15)    (mod 2**64)
    epoch key  = splitmix(seed, e)          SplitMix64's e-th output from the seed
    sample key = splitmix(epoch key, i)
    word w     = splitmix(sample key, w)    64 random bits for values 4w .. 4w + 3
    value j    = scale * NORMAL_TABLE[16-bit piece j % 4 of word j // 4]

``mix64`` is SplitMix64's output function (Stafford's Mix13, a bijection of
64-bit words); the pieces of a word are its four uint16 in memory order
(little-endian: lowest bits first). What that guarantees:

- reproducible: the same seed gives the same noise, whatever the batch size,
  the order of the batches, the thread or the kernel path (numba and NumPy
  run this same function, :func:`splitmix`, on the same counters);
- fresh: another epoch or another sample has another key, so other words;
  SplitMix64's outputs pass the BigCrush tests of independence;
- cheap: the numba kernels of :mod:`estimators.gather` add it while they
  gather the batch (about 0.5 ns a value, measured: 0.07 s for seed 001's
  epoch of 138 million values), where drawing it from a NumPy Generator
  cost more than training that network. Box-Muller in the same kernel (a
  logarithm, a square root, a sine and a cosine per pair, none vectorised
  by numba) took 2.6 s.

Each normal is one of 65,536 equally likely values, the normal quantiles at
the midpoints ``(k + 1/2) / 65536``, picked by 16 random bits: the values
have the Gaussian's distribution to within 1/65536 in CDF (a Kolmogorov
distance no test of a training run can see), variance 1 - 1e-5, and tails
cut at 4.32 sigma (a true Gaussian goes past it once in 65,000 draws).
"""

import numpy as np
from scipy.special import ndtri

from .kernels import compiled

# The normal quantiles at the midpoints of 65,536 equal slices of probability.
NORMAL_TABLE = ndtri((np.arange(2**16) + 0.5) / 2**16)

# SplitMix64's constants, as uint64 so that numba and NumPy both stay in uint64.
GOLDEN = np.uint64(0x9E3779B97F4A7C15)
MIX_1, MIX_2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)
SHIFT_1, SHIFT_2, SHIFT_3, ONE = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(1)


def splitmix(key, counter):
    """SplitMix64's ``counter``-th output from ``key``: uint64 arrays (NumPy) or scalars (numba)."""
    z = key + (counter + ONE) * GOLDEN
    z = (z ^ (z >> SHIFT_1)) * MIX_1
    z = (z ^ (z >> SHIFT_2)) * MIX_2
    return z ^ (z >> SHIFT_3)


splitmix_compiled = compiled(splitmix)


def spawn_generator(rng):
    """An independent Generator from ``rng``'s seed sequence, leaving ``rng``'s own stream as it was."""
    seed_seq = rng.bit_generator.seed_seq
    return np.random.Generator(np.random.SFC64(seed_seq.spawn(1)[0]))


def _uint64(values):
    return np.asarray(values, dtype=np.uint64)


class GaussianNoise:
    """``scale * N(0, 1)`` for every value of every sample of every epoch, from ``seed``.

    Parameters
    ----------
    scale : float
        The standard deviation (the estimator's ``jitter``).
    seed : int
        In [0, 2**64).
    """

    def __init__(self, scale, seed):
        self.scale, self.seed = scale, seed
        self._tables = {}

    def table(self, dtype):
        """``scale * NORMAL_TABLE`` in ``dtype``, the values a 16-bit piece picks."""
        dtype = np.dtype(dtype)
        if dtype not in self._tables:  # scaled once, in the batch's dtype
            self._tables[dtype] = (self.scale * NORMAL_TABLE).astype(dtype)
        return self._tables[dtype]

    def epoch_key(self, epoch):
        """The key of epoch ``epoch`` (from 0), a uint64."""
        return splitmix(_uint64([self.seed]), _uint64([epoch]))[0]

    def draw(self, epoch_key, index, out):
        """Fill ``out`` (one row per sample of ``index``) with those samples' noise, vectorised in NumPy."""
        words = sample_words(epoch_key, index, out.shape[1])
        # mode='clip' (16-bit indices are valid): 'raise' took twice as long
        np.take(self.table(out.dtype), words.view(np.uint16)[:, :out.shape[1]], out=out, mode="clip")
        return out


def sample_words(epoch_key, index, n_values):
    """The random words of samples ``index``: (len(index), ceil(n_values / 4)) uint64."""
    keys = splitmix(_uint64(epoch_key), _uint64(index))
    return splitmix(keys[:, None], np.arange(-(-n_values // 4), dtype=np.uint64))
