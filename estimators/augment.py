"""Training batches: gathered from the data, augmented, jittered.

Image augmentation (``augment`` with ``image_shape``) is random shifts, random
crops with zero padding and horizontal flips, drawn per sample and batch, in
training only. They are applied in the gather that makes the batch anyway
(estimators.gather: one compiled pass with numba, which also adds the
jitter), so they cost little more than the plain gather.

Elastic distortion (``augment={"elastic": alpha}``, Simard et al. 2003) moves
every pixel of an image by its own sub-pixel offset: a field of uniform
[-1, 1) displacements, smoothed by a Gaussian of ``elastic_sigma`` pixels
(4 by default) and scaled by ``alpha`` pixels (34 is the paper's for 28 x 28
digits), read with bilinear interpolation and zeros outside the image. The
smoothing is two small matrix products per field (the Gaussian filter of
scipy.ndimage as a matrix), the reading four gathers per pixel: ~2.5 ms per
batch of 128 digits, more than the shifts but less than training a 784-800-10
network on it. It runs in the training loop: drawn a batch ahead on a worker
thread, as the jitter, it was no faster on 2 cores (the thread's many short
NumPy calls contend for the GIL and the cores that BLAS keeps busy).

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
from numbers import Integral, Real

import numpy as np
from scipy.ndimage import gaussian_filter1d
from sklearn.utils._param_validation import InvalidParameterError

from .gather import Jitter, Moves, add_noise, gather, mirror
from .noise import GaussianNoise, spawn_generator

AUGMENT_KEYS = {"shift": "int >= 0", "crop_padding": "int >= 0", "flip": "bool",
                "elastic": "float >= 0", "elastic_sigma": "float > 0"}

#: The smoothing of elastic fields when augment gives no elastic_sigma (Simard et al. 2003).
ELASTIC_SIGMA = 4.0


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
        for key, positive in (("elastic", False), ("elastic_sigma", True)):
            value = augment.get(key, ELASTIC_SIGMA if positive else 0.0)
            if (not isinstance(value, Real) or isinstance(value, bool) or not math.isfinite(value)
                    or value < 0 or (positive and value == 0)):
                _invalid("augment", f"[{key!r}] must be a number {'>' if positive else '>='} 0", value)
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
    """Random shifts, crops with zero padding, elastic distortions and horizontal flips of flat images.

    The images are channels last.

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
    elastic : ElasticDistortion or None
        Applied after the shift, before the flip.
    """

    def __init__(self, shape, shift, crop_padding, flip, rng, elastic=None):
        self.shape, self.shift, self.crop_padding, self.flip = shape, shift, crop_padding, flip
        self.rng, self.elastic = rng, elastic

    def batch(self, X, index, out=None, jitter=None):
        """The augmented rows ``X[index]`` (X C-contiguous) with ``jitter``'s noise (an estimators.gather.Jitter).

        Written into ``out`` (at least ``len(index)`` rows of X's width and dtype; None: a new array),
        or a new array (elastic distortion, and the NumPy path's moves).
        """
        if out is None:
            out = np.empty((len(index), X.shape[1]), dtype=X.dtype)
        dy, dx = self._offsets(len(index))
        if self.elastic is None:
            return gather(X, index, out, Moves(self.shape, dy, dx, self._flips(len(index))), jitter)
        moved = gather(X, index, out, Moves(self.shape, dy, dx, np.zeros(len(index), dtype=bool)))
        moved = self.elastic.distort(moved)
        mirror(moved, np.flatnonzero(self._flips(len(index))), self.shape)
        return add_noise(moved, index, jitter)

    def _flips(self, n):
        """Which of ``n`` images to mirror (no draw without flips)."""
        return self.rng.random(n) < 0.5 if self.flip else np.zeros(n, dtype=bool)

    def _offsets(self, n):
        dy, dx = np.zeros(n, dtype=np.intp), np.zeros(n, dtype=np.intp)
        for limit in (self.shift, self.crop_padding):
            if limit:
                dy += self.rng.integers(-limit, limit + 1, n)
                dx += self.rng.integers(-limit, limit + 1, n)
        return dy, dx


class ElasticDistortion:
    """Elastic distortion of flat, channels-last images (Simard et al. 2003).

    Parameters
    ----------
    shape : tuple (height, width, channels)
    alpha : float
        Scale of the smoothed displacement fields, in pixels.
    sigma : float
        Standard deviation, in pixels, of the Gaussian that smooths them.
    rng : numpy.random.Generator
    """

    def __init__(self, shape, alpha, sigma, rng):
        self.shape, self.alpha, self.rng = shape, alpha, rng
        height, width, _ = shape
        # gaussian_filter1d of the identity's columns: G @ f filters f along its
        # first axis exactly as scipy.ndimage does (mode 'reflect'). The row
        # filter also holds the factor 2 * alpha that maps [0, 1) to alpha * [-1, 1).
        self.smooth_rows = (2 * alpha * gaussian_filter1d(np.eye(height), sigma, axis=0)).astype(np.float32)
        self.smooth_cols = gaussian_filter1d(np.eye(width), sigma, axis=0).T.astype(np.float32)

    def displacements(self, n):
        """Fields ``(dy, dx)``, each (n, height, width) float32 pixels."""
        height, width, _ = self.shape
        fields = self.rng.random((2, n, height, width), dtype=np.float32)
        fields -= np.float32(0.5)
        fields = self.smooth_rows @ fields @ self.smooth_cols
        return fields[0], fields[1]

    def plan(self, n):
        """Where and how ``n`` images are read (independent of the images).

        Returns ``(corner, weights)``: for each output pixel, the flat index of
        the top-left of its 2 x 2 interpolation cell in the batch padded by one
        pixel of zeros (int32, n x height x width), and the cell's four
        bilinear weights (float32, 4 x n x height x width).
        """
        height, width, _ = self.shape
        dy, dx = self.displacements(n)
        # Positions are clipped into [-1, side]: whatever is read outside the
        # image is an interpolation of the zero border.
        dy += np.arange(height, dtype=np.float32)[:, None]
        dx += np.arange(width, dtype=np.float32)
        y0, fy = _cell(dy, height)
        x0, fx = _cell(dx, width)
        stride = width + 2
        corner = y0
        corner *= stride
        corner += x0
        corner += (np.arange(n, dtype=np.int32)[:, None, None] * (height + 2) + 1) * stride + 1
        weights = np.empty((4, n, height, width), dtype=np.float32)
        gy, gx = 1 - fy, 1 - fx
        for out, a, b in zip(weights, (gy, gy, fy, fy), (gx, fx, gx, fx)):
            np.multiply(a, b, out=out)
        return corner, weights

    def distort(self, images):
        """``images`` (n flat rows), each read at its own random displacements: a new array."""
        height, width, channels = self.shape
        n = len(images)
        corner, weights = self.plan(n)
        padded = np.zeros((n, height + 2, width + 2, channels), dtype=images.dtype)
        padded[:, 1:-1, 1:-1] = images.reshape(n, height, width, channels)
        pixels = padded.reshape(-1, channels)
        out, term = (np.empty((n, height, width, channels), dtype=images.dtype) for _ in range(2))
        for k, offset in enumerate((0, 1, width + 2, width + 3)):
            target = out if k == 0 else term
            # mode='clip' (the indices are valid): the default 'raise' copies through a buffer.
            np.take(pixels, corner + offset if offset else corner, axis=0, out=target, mode="clip")
            # one weight per pixel: grey images multiply flat (a length-1 inner loop is slow)
            if channels == 1:
                target[..., 0] *= weights[k]
            else:
                target *= weights[k][..., None]
            if k:
                out += term
        return out.reshape(n, -1)


def _cell(position, side):
    """The interpolation cell of ``position`` along an axis of ``side`` pixels: (first index, fraction).

    ``position`` is clipped in place.
    """
    np.clip(position, -1, side, out=position)
    first = np.floor(position)
    np.minimum(first, side - 1, out=first)
    position -= first
    return first.astype(np.int32), position


class TrainingInputs:
    """Makes training batches from the data's rows: gathered, augmented, jittered.

    One per fitted estimator; its random generators continue from epoch to
    epoch (and over ``partial_fit`` calls), spawned from ``source``; the
    jitter of an epoch is keyed by the number of epochs made before it
    (estimators.noise).

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
        seed = int(spawn_generator(source).bit_generator.random_raw()) if jitter else None
        self.noise = GaussianNoise(jitter, seed) if jitter else None
        self.augment_rng = spawn_generator(source) if augment else None
        self.epochs = 0

    def settings(self):
        return (self.augment, self.image_shape, self.jitter)

    def epoch(self, X):
        """``make_batch(index, out) -> X_batch`` for the next epoch's batches (in any order)."""
        augmenter = self._augmenter(X.shape[1])
        if augmenter is not None or self.noise:
            X = np.ascontiguousarray(X)  # the kernels address X's rows as flat vectors
        jitter = Jitter(self.noise, self.noise.epoch_key(self.epochs)) if self.noise else None
        self.epochs += 1

        def make_batch(index, out):
            if augmenter is None:
                return gather(X, index, out, jitter=jitter)
            return augmenter.batch(X, index, out, jitter)

        return make_batch

    def _augmenter(self, n_features):
        if not (self.augment and any(self.augment.values())):
            return None
        shape = resolve_image_shape(self.image_shape, n_features)
        elastic = None
        if self.augment.get("elastic"):
            elastic = ElasticDistortion(shape, self.augment["elastic"],
                                        self.augment.get("elastic_sigma", ELASTIC_SIGMA), self.augment_rng)
        return ImageAugmenter(shape, self.augment.get("shift", 0), self.augment.get("crop_padding", 0),
                              bool(self.augment.get("flip", False)), self.augment_rng, elastic)


def epoch_batches(estimator, X):
    """The batch maker of ``estimator``'s next epoch over ``X``, keeping its generators across epochs."""
    inputs = getattr(estimator, "_inputs", None)
    settings = (estimator.augment, estimator.image_shape, estimator.jitter)
    # The noise generator is drawn from random_state only when needed: a plain fit
    # makes no extra draw, so its batch order stays sklearn's.
    source = estimator._noise_source() if (estimator.jitter or estimator.augment) else None
    # (Inputs pickled before the jitter was counter-based have no epoch count: made anew.)
    if (inputs is None or inputs.source is not source or inputs.settings() != settings
            or not hasattr(inputs, "epochs")):
        inputs = estimator._inputs = TrainingInputs(*settings, source)
    return inputs.epoch(X)
