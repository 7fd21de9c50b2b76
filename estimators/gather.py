"""A training batch in one pass: its rows taken from X by index, moved (shift, crop, flip) and jittered.

On the numba path one compiled loop writes each value of the batch once:
the row of X it comes from, at the image's own offset, mirrored or not,
zero where the move brought in pixels from outside the image, plus its
noise (estimators.noise, generated in the loop while the row is in cache).
The NumPy path does the same in passes: ``np.take`` (a shifted image of
rows of ``width * channels`` values is the same flat vector read from
another start, so every image is read at its own offset in one gather),
the pixels from outside zeroed (row and column bands only), the flipped
images mirrored, then the noise drawn vectorised and added. Both paths move
the same values and add the same noise once, so they give the same numbers.

The indices the numba loops compute are unsigned: numba wraps a signed
index that may be negative around the array's end, and that test in every
iteration kept the loops from vectorising (an image moved in 2.4 times the
time of a plain gather; 1.1 to 1.4 times with them).
"""

import numpy as np
from numpy.lib.stride_tricks import as_strided

from .kernels import compiled, kernel_path
from .noise import splitmix_compiled


class Moves:
    """How each image of a batch moves.

    Parameters
    ----------
    shape : tuple (height, width, channels)
        Of the flat images, channels last.
    dy, dx : ndarray of intp
        Per image: pixel (y, x) is read from (y + dy, x + dx), zero outside the image.
    flip : ndarray of bool
        Per image: mirrored left-right after the move.
    """

    def __init__(self, shape, dy, dx, flip):
        self.shape, self.dy, self.dx, self.flip = shape, dy, dx, flip


class Jitter:
    """One epoch's noise: ``noise`` (an estimators.noise.GaussianNoise) and that epoch's ``key``."""

    def __init__(self, noise, key):
        self.noise, self.key = noise, key


def gather(X, index, out, moves=None, jitter=None):
    """``X[index]``, moved and jittered: ``out[:len(index)]`` (or a new array on the NumPy path, for moves).

    ``X`` is C-contiguous and ``out`` has its number of columns and dtype.
    """
    out = out[:len(index)]
    if moves is None and (jitter is None or kernel_path() == "numpy"):
        # mode='clip' (the indices are valid): the default 'raise' copies through a buffer.
        return add_noise(np.take(X, index, axis=0, out=out, mode="clip"), index, jitter)
    if kernel_path() == "numpy":
        return add_noise(_moved_numpy(X, index, moves), index, jitter)
    if moves is None:
        _gather_jittered(X, index, jitter.key, jitter.noise.table(X.dtype), out)
    else:
        table, key = _noise_arguments(jitter, X.dtype)
        _gather_moved(X, index, moves.dy, moves.dx, moves.flip, moves.shape, key, table, out)
    return out


def add_noise(batch, index, jitter):
    """Add the noise of samples ``index`` to ``batch`` in place (nothing for ``jitter`` None)."""
    if jitter is None:
        return batch
    if kernel_path() == "numba":
        _add_noise(batch, index, jitter.key, jitter.noise.table(batch.dtype))
    else:
        batch += jitter.noise.draw(jitter.key, index, np.empty_like(batch))
    return batch


def _noise_arguments(jitter, dtype):
    # No noise is an empty table: one compiled loop serves both.
    if jitter is None:
        return np.empty(0, dtype=dtype), np.uint64(0)
    return jitter.noise.table(dtype), jitter.key


# ------------------------------------------------------------------ NumPy path


def _moved_numpy(X, index, moves):
    height, width, channels = moves.shape
    dy, dx = moves.dy, moves.dx
    length = height * width * channels
    # Row r of `windows` is X.ravel()[r:r + length]: sample i moved by
    # (dy, dx) starts at i * length + (dy * width + dx) * channels.
    starts = index * length + (dy * width + dx) * channels
    windows = as_strided(X, shape=(X.size - length + 1, length), strides=(X.itemsize,) * 2,
                         writeable=False)
    inside = (starts >= 0) & (starts <= X.size - length)
    out = windows[np.where(inside, starts, 0)]  # (np.take would first copy all of `windows`)
    for row in np.flatnonzero(~inside):  # the first or last image moved off the data's ends
        out[row] = _shifted(X[index[row]], moves.shape, dy[row], dx[row])
    _zero_outside(out, moves.shape, dy, dx)
    mirror(out, np.flatnonzero(moves.flip), moves.shape)
    return out


def mirror(out, rows, shape):
    """Mirror the flat images ``out[rows]`` left-right, in place.

    Each pixel's channels move as one item (a void view): a reversed view of
    (height, width, channels) floats would copy them in runs of 3 values.
    """
    height, width, channels = shape
    pixels = out.view(np.dtype((np.void, channels * out.itemsize))).reshape(len(out), height, width)
    pixels[rows] = pixels[rows, :, ::-1]


def _zero_outside(out, shape, dy, dx):
    """Zero the pixels of shifted flat images ``out`` that came from outside the image.

    Only those rows and columns are written (a multiply by a 0/1 mask would
    pass over every value, and broadcast over 3 channels it runs 5 times slower).
    """
    height, width, channels = shape
    rows = np.arange(height) + dy[:, None]
    cols = np.arange(width) + dx[:, None]
    out.reshape(len(out), height, width * channels)[(rows < 0) | (rows >= height)] = 0
    by_column = out.reshape(len(out), height, width, channels).transpose(0, 2, 1, 3)
    by_column[(cols < 0) | (cols >= width)] = 0


def _shifted(row, shape, dy, dx):
    """One flat image moved by (dy, dx) with zeros brought in, the slow way."""
    height, width, channels = shape
    image, out = row.reshape(shape), np.zeros(shape, dtype=row.dtype)
    out[max(0, -dy):height - max(0, dy), max(0, -dx):width - max(0, dx)] = \
        image[max(0, dy):height + min(0, dy), max(0, dx):width + min(0, dx)]
    return out.ravel()


# ------------------------------------------------------------------ numba path


@compiled
def _gather_jittered(X, index, key, table, out):  # pragma: no cover (compiled)
    words = np.empty((out.shape[1] + 3) // 4, dtype=np.uint64)
    for r in range(out.shape[0]):
        _noisy_row(out[r], X[index[r]], splitmix_compiled(key, np.uint64(index[r])), table, words)


@compiled
def _add_noise(batch, index, key, table):  # pragma: no cover (compiled)
    words = np.empty((batch.shape[1] + 3) // 4, dtype=np.uint64)
    for r in range(batch.shape[0]):
        _noisy_row(batch[r], batch[r], splitmix_compiled(key, np.uint64(index[r])), table, words)


@compiled
def _noisy_row(out, source, sample_key, table, words):  # pragma: no cover (compiled)
    """``out = source + noise``: the sample's words first, then one gather from the table."""
    pieces = words.view(np.uint16)
    for w in range(words.size):
        words[w] = splitmix_compiled(sample_key, np.uint64(w))
    for j in range(out.size):
        out[j] = source[j] + table[pieces[j]]


@compiled
def _gather_moved(X, index, dy, dx, flip, shape, key, table, out):  # pragma: no cover (compiled)
    height, width, channels = shape
    row = width * channels
    words = np.empty((out.shape[1] + 3) // 4, dtype=np.uint64)
    for r in range(out.shape[0]):
        image, moved = X[index[r]], out[r]
        first = max(0, -dy[r])  # the output rows read from inside the image
        end = max(min(height, height - dy[r]), first)
        moved[:first * row] = 0
        moved[end * row:] = 0
        for y in range(first, end):
            start, source = np.uintp(y * row), np.uintp((y + dy[r]) * row)
            if flip[r]:
                _mirrored_row(moved, image, start, source, width, channels, dx[r])
            else:
                _shifted_row(moved, image, start, source, width, channels, dx[r])
        if table.size:
            _noisy_row(moved, moved, splitmix_compiled(key, np.uint64(index[r])), table, words)


@compiled
def _shifted_row(out, image, start, source, width, channels, dx):  # pragma: no cover (compiled)
    """Output pixel x of the row at ``start`` reads pixel x + dx of the source row; zero outside."""
    first = max(0, -dx)
    end = max(min(width, width - dx), first)
    _zero_ends(out, start, first * channels, end * channels, width * channels)
    begin, read = start + np.uintp(first * channels), source + np.uintp((first + dx) * channels)
    for k in range((end - first) * channels):
        out[begin + np.uintp(k)] = image[read + np.uintp(k)]


@compiled
def _mirrored_row(out, image, start, source, width, channels, dx):  # pragma: no cover (compiled)
    """Output pixel x reads pixel width - 1 - x + dx of the source row; zero outside."""
    first = max(0, dx)
    end = max(min(width, width + dx), first)
    _zero_ends(out, start, first * channels, end * channels, width * channels)
    begin = start + np.uintp(first * channels)
    read = source + np.uintp((width - 1 - first + dx) * channels)  # the source of output pixel `first`
    if channels == 1:  # the constant strides of grey and RGB images let the loop vectorise
        for i in range(end - first):
            out[begin + np.uintp(i)] = image[read - np.uintp(i)]
    elif channels == 3:
        for i in range(end - first):
            to, at = begin + np.uintp(3 * i), read - np.uintp(3 * i)
            out[to] = image[at]
            out[to + 1] = image[at + 1]
            out[to + 2] = image[at + 2]
    else:
        for i in range(end - first):
            to, at = begin + np.uintp(channels * i), read - np.uintp(channels * i)
            for c in range(channels):
                out[to + np.uintp(c)] = image[at + np.uintp(c)]


@compiled
def _zero_ends(out, start, first, end, length):  # pragma: no cover (compiled)
    """Zero ``out[start:start + first]`` and ``out[start + end:start + length]``."""
    for k in range(first):
        out[start + np.uintp(k)] = 0
    for k in range(end, length):
        out[start + np.uintp(k)] = 0
