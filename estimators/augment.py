"""Training batches: gathered from the data, augmented, jittered.

Image augmentation (``augment`` with ``image_shape``) is random shifts, random
crops with zero padding and horizontal flips, drawn per sample and batch, in
training only. It costs about one pass over the batch: a zero-padded crop or
shift of an image stored flat (rows of ``width * channels`` values) is the
same vector read from another start, so every sample of a batch is read from
the data at its own offset in one gather (which replaces the plain batch
gather) and the pixels the shift brought in from outside the image (from the
neighbouring rows or images) are then zeroed, row and column bands only.
Flips copy the flipped half once more.

Examples
--------
>>> import numpy as np
>>> from estimators import MLPClassifier
>>> X = np.random.default_rng(0).random((60, 64))
>>> y = np.arange(60) % 3
>>> clf = MLPClassifier((16,), augment={"shift": 1, "flip": True}, max_iter=2,
...                     random_state=0).fit(X, y)   # image_shape (8, 8) inferred
"""

import math
from numbers import Integral

import numpy as np
from numpy.lib.stride_tricks import as_strided
from sklearn.utils._param_validation import InvalidParameterError

from .noise import GaussianNoise, spawn_generator

AUGMENT_KEYS = {"shift": "int >= 0", "crop_padding": "int >= 0", "flip": "bool"}


def check_augment(augment, image_shape):
    """Raise InvalidParameterError naming what is wrong with ``augment`` or ``image_shape``."""
    if augment is not None:
        if not isinstance(augment, dict):
            _invalid("augment", "must be None or a dict like {'shift': 2, 'flip': True}", augment)
        unknown = set(augment) - set(AUGMENT_KEYS)
        if unknown:
            _invalid("augment", f"has unknown keys {sorted(unknown)} (known: {sorted(AUGMENT_KEYS)})",
                     augment)
        for key in ("shift", "crop_padding"):
            value = augment.get(key, 0)
            if not isinstance(value, Integral) or isinstance(value, bool) or value < 0:
                _invalid("augment", f"[{key!r}] must be an int >= 0", value)
        if not isinstance(augment.get("flip", False), (bool, np.bool_)):
            _invalid("augment", "['flip'] must be True or False", augment["flip"])
    if image_shape is not None and (
            not isinstance(image_shape, (tuple, list)) or len(image_shape) not in (2, 3)
            or not all(isinstance(s, Integral) and not isinstance(s, bool) and s >= 1
                       for s in image_shape)):
        _invalid("image_shape", "must be None, (height, width) or (height, width, channels) "
                 "of ints >= 1", image_shape)


def _invalid(name, what, got):
    raise InvalidParameterError(f"The {name!r} parameter of MLPClassifier {what}. Got {got!r} instead.")


def resolve_image_shape(image_shape, n_features):
    """``(height, width, channels)`` of the flat rows of X: given, or inferred from ``n_features``.

    Inference takes a square grey image (784 -> 28 x 28) or a square RGB one
    (3072 -> 32 x 32 x 3), channels last; no number of features is both.
    """
    if image_shape is not None:
        shape = tuple(int(s) for s in image_shape) + (1,) * (3 - len(image_shape))
        if math.prod(shape) != n_features:
            raise ValueError(f"image_shape {tuple(image_shape)} holds {math.prod(shape)} values "
                             f"but X has {n_features} features.")
        return shape
    for channels in (1, 3):
        side = math.isqrt(n_features // channels)
        if side * side * channels == n_features:
            return (side, side, channels)
    raise ValueError(f"augment needs image_shape: X's {n_features} features are not a square "
                     "image (grey or RGB, channels last).")


class ImageAugmenter:
    """Random shifts, crops with zero padding and horizontal flips of flat, channels-last images.

    Parameters
    ----------
    shape : tuple (height, width, channels)
    shift, crop_padding : int
        Largest offset, in pixels, of a shift and of a crop of the image padded
        with zeros: both move the image by a uniform whole number of pixels in
        [-n, n] along each axis; given both, the two offsets add up.
    flip : bool
        Mirror each image left-right with probability 1/2.
    rng : numpy.random.Generator
    """

    def __init__(self, shape, shift, crop_padding, flip, rng):
        self.shape, self.shift, self.crop_padding, self.flip = shape, shift, crop_padding, flip
        self.rng = rng

    def batch(self, X, index):
        """The augmented rows ``X[index]``, a new array."""
        height, width, channels = self.shape
        dy, dx = self._offsets(len(index))
        length = height * width * channels
        # Row r of `windows` is X.ravel()[r:r + length]: sample i shifted by
        # (dy, dx) starts at i * length + (dy * width + dx) * channels.
        starts = index * length + (dy * width + dx) * channels
        windows = as_strided(X, shape=(X.size - length + 1, length), strides=(X.itemsize,) * 2,
                             writeable=False)
        inside = (starts >= 0) & (starts <= X.size - length)
        out = windows[np.where(inside, starts, 0)]
        for row in np.flatnonzero(~inside):  # the first or last image moved off the data's ends
            out[row] = _shifted(X[index[row]], self.shape, dy[row], dx[row])
        _zero_outside(out, self.shape, dy, dx)
        if self.flip:
            _mirror(out, np.flatnonzero(self.rng.random(len(index)) < 0.5), self.shape)
        return out

    def _offsets(self, n):
        dy, dx = np.zeros(n, dtype=np.intp), np.zeros(n, dtype=np.intp)
        for limit in (self.shift, self.crop_padding):
            if limit:
                dy += self.rng.integers(-limit, limit + 1, n)
                dx += self.rng.integers(-limit, limit + 1, n)
        return dy, dx


def _mirror(out, rows, shape):
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


class TrainingInputs:
    """Makes training batches from the data's rows: gathered, augmented, jittered.

    One per fitted estimator; its random generators continue from epoch to
    epoch (and over ``partial_fit`` calls), spawned from ``source``.

    Parameters
    ----------
    augment : dict or None
    image_shape : tuple or None
    jitter : float
    source : numpy.random.Generator
        The estimator's noise generator, whose own stream is left as it was.
    """

    def __init__(self, augment, image_shape, jitter, source):
        self.augment, self.image_shape, self.jitter, self.source = augment, image_shape, jitter, source
        self.noise = GaussianNoise(jitter, spawn_generator(source)) if jitter else None
        self.augment_rng = spawn_generator(source) if augment else None

    def settings(self):
        return (self.augment, self.image_shape, self.jitter)

    def epoch(self, X, batch_size):
        """``make_batch(index, out) -> X_batch`` for one epoch's batches, taken in order."""
        augmenter = None
        if self.augment and any(self.augment.values()):
            augmenter = ImageAugmenter(resolve_image_shape(self.image_shape, X.shape[1]),
                                       self.augment.get("shift", 0), self.augment.get("crop_padding", 0),
                                       bool(self.augment.get("flip", False)), self.augment_rng)
            X = np.ascontiguousarray(X)  # the shifted reads address X as one flat vector
        add_noise = self.noise and self.noise.epoch(len(X), X.shape[1], batch_size, X.dtype)

        def make_batch(index, out):
            if augmenter is None:
                # mode='clip' (the indices are valid): the default 'raise' copies through a buffer.
                X_batch = np.take(X, index, axis=0, out=out[:len(index)], mode="clip")
            else:
                X_batch = augmenter.batch(X, index)
            return add_noise(X_batch) if add_noise else X_batch

        return make_batch


def epoch_batches(estimator, X, batch_size):
    """The batch maker of ``estimator``'s next epoch over ``X``, keeping its generators across epochs."""
    inputs = getattr(estimator, "_inputs", None)
    settings = (estimator.augment, estimator.image_shape, estimator.jitter)
    # The noise generator is drawn from random_state only when needed: a plain fit
    # makes no extra draw, so its batch order stays sklearn's.
    source = estimator._noise_source() if (estimator.jitter or estimator.augment) else None
    if inputs is None or inputs.source is not source or inputs.settings() != settings:
        inputs = estimator._inputs = TrainingInputs(*settings, source)
    return inputs.epoch(X, batch_size)
