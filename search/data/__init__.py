"""Datasets for the hyperparameter search, read from local files only.

``load_arrays`` reads a dataset as it is stored (no scaling); ``load_dataset``
adds subsetting, a validation split and scaling, and checks the result.
MNIST, Fashion-MNIST and CIFAR-10 are looked for in a fixed order of places
(see ``load_arrays``); scikit-learn's OpenML cache is the last resort for the
two MNISTs, so a machine without network still works when a file is present.
"""

import csv
import gzip
import hashlib
import math
import numbers
import os
import pickle
import struct
import zipfile
import zlib
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import sklearn.datasets as sk_datasets
from sklearn.model_selection import train_test_split

from .preprocessing import SCALERS, make_preprocessing
from ..study.task import TASKS, fixed_task

DATASETS = ("digits", "diabetes", "mnist", "fashion_mnist", "cifar10", "npz", "csv")
SCALINGS = tuple(SCALERS)

# The folder holding ``search/``; ``../shared/data`` is looked for next to it.
REPO_ROOT = Path(__file__).resolve().parents[2]

SPLIT_KEYS = ("x_train", "y_train", "x_test", "y_test")
IDX_FILES = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}
# IDX magic numbers are 0x0000, a dtype code, then the number of dimensions.
IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
CIFAR_TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
CIFAR_TEST_BATCH = "test_batch"
LABEL_COLUMN_NAMES = ("label", "target", "y", "class")

# OpenML stores MNIST's 60000 training rows first, then the 10000 test rows.
OPENML_TEST_ROWS = 10_000
USER_TEST_FRACTION = 0.2
DIGITS_TEST_FRACTION = 0.25
DIABETES_TEST_FRACTION = 0.25

_IDX_HINT = "a folder with the four IDX files ({}, each optionally .gz)".format(
    ", ".join(IDX_FILES.values()))
_SPLIT_NPZ_HINT = "an .npz with x_train, y_train, x_test, y_test"


class DataError(ValueError):
    """A dataset could not be found, read or used; the message says how to fix it."""


@dataclass(frozen=True, eq=False)  # eq=False: == on array fields has no single truth value
class Dataset:
    """Train, validation and test splits of one dataset, features as float32 rows.

    Attributes
    ----------
    X_train, X_val, X_test : ndarray of shape (n_rows, n_features), float32
        Flattened, scaled features; ``X_val`` has zero rows when no validation
        set was asked for.
    y_train, y_val, y_test : ndarray of shape (n_rows,)
        Class labels, integers or strings; float64 targets for a regression.
    name : str
        The dataset's name, one of ``DATASETS``.
    image_shape : tuple of int or None
        Shape of one image before flattening, e.g. ``(28, 28)`` or
        ``(32, 32, 3)`` (height, width, channels); None for tabular data.
    X_val_raw, X_test_raw : ndarray of shape (n_rows, n_features), float32
        The validation and test rows as read, before scaling: what a user of
        the model has, and what figures of images show.
    preprocessing : sklearn.pipeline.Pipeline
        The steps, fitted on the training rows, that made ``X_*`` from raw rows
        (see :mod:`search.preprocessing`).
    """

    X_train: np.ndarray = field(repr=False)
    y_train: np.ndarray = field(repr=False)
    X_val: np.ndarray = field(repr=False)
    y_val: np.ndarray = field(repr=False)
    X_test: np.ndarray = field(repr=False)
    y_test: np.ndarray = field(repr=False)
    name: str
    image_shape: tuple | None
    X_val_raw: np.ndarray = field(default=None, repr=False)
    X_test_raw: np.ndarray = field(default=None, repr=False)
    preprocessing: object = field(default=None, repr=False)

    @property
    def classes(self):
        """Sorted unique training labels."""
        return np.unique(self.y_train)

    @cached_property
    def fingerprint(self):
        """16 hex digits of SHA-256 over every split's features and labels, raw test rows included.

        Two studies trained on the same rows, scaled the same way, share it.
        """
        digest = hashlib.sha256()
        for array in (self.X_train, self.y_train, self.X_val, self.y_val, self.X_test_raw, self.y_test):
            if array is not None:
                array = np.ascontiguousarray(array)
                digest.update(f"{array.dtype.str}{array.shape}".encode())
                digest.update(array.tobytes())
        return digest.hexdigest()[:16]


@dataclass(frozen=True)
class _ImageSource:
    """Where an image dataset may live and what a file of it must look like."""

    env_var: str
    data_dir_names: tuple  # file and folder names tried under $DATA_DIR
    image_shape: tuple
    hint: str  # what to put where, for error messages
    shared_file: str | None = None  # name under ../shared/data
    openml_name: str | None = None


IMAGE_SOURCES = {
    "mnist": _ImageSource(
        env_var="MNIST_PATH",
        data_dir_names=("mnist.npz", "mnist", "MNIST/raw"),
        image_shape=(28, 28),
        hint=f"{_SPLIT_NPZ_HINT} or {_IDX_HINT}",
        shared_file="mnist.npz",
        openml_name="mnist_784",
    ),
    "fashion_mnist": _ImageSource(
        env_var="FASHION_MNIST_PATH",
        data_dir_names=("fashion_mnist.npz", "fashion-mnist.npz", "fashion_mnist",
                        "fashion-mnist", "FashionMNIST/raw"),
        image_shape=(28, 28),
        hint=f"{_SPLIT_NPZ_HINT} or {_IDX_HINT}",
        openml_name="Fashion-MNIST",
    ),
    "cifar10": _ImageSource(
        env_var="CIFAR10_PATH",
        data_dir_names=("cifar10.npz", "cifar-10-batches-py", "cifar10"),
        image_shape=(32, 32, 3),
        hint=(f"{_SPLIT_NPZ_HINT} (x as N x 32 x 32 x 3) or the cifar-10-batches-py folder"
              " (data_batch_1..5 and test_batch)"),
        shared_file="cifar10.npz",
    ),
}


# ----------------------------------------------------------------------------
# Public entry points
# ----------------------------------------------------------------------------

def load_arrays(name, path=None, task="classification"):
    """Read a dataset's official train and test rows, unscaled.

    Parameters
    ----------
    name : str
        One of ``DATASETS``. ``digits`` is scikit-learn's built-in 8x8 digits,
        split 75/25 (stratified, ``random_state=0``). ``mnist``,
        ``fashion_mnist`` and ``cifar10`` are found at, in order: ``path``;
        the environment variable ``MNIST_PATH`` / ``FASHION_MNIST_PATH`` /
        ``CIFAR10_PATH``; conventional names under ``$DATA_DIR`` (e.g.
        ``$DATA_DIR/mnist.npz`` or ``$DATA_DIR/mnist/``); for ``mnist`` and
        ``cifar10``, ``../shared/data/mnist.npz`` or ``cifar10.npz`` from the
        working directory and from the repository root; for the two MNISTs, scikit-learn's OpenML cache.
        ``npz`` and ``csv`` are a user's own file given as ``path``. ``diabetes``
        is scikit-learn's built-in regression set (raw, unscaled features),
        split 75/25 (``random_state=0``).
    path : str or os.PathLike, optional
        A file or folder to read; required for ``npz`` and ``csv``.
    task : {'classification', 'regression'}, default 'classification'
        How a user's file's target is read: labels, or numbers (float64).

    Returns
    -------
    X_train, y_train, X_test, y_test : ndarray
        Features as float32 of shape (n_rows, n_features); labels as integer
        or string arrays of shape (n_rows,).
    image_shape : tuple of int or None
        Shape of one image (height, width[, channels]); None for tabular data.

    Raises
    ------
    DataError
        When the name is unknown, no file is found (the message lists every
        place looked at), or a file is malformed.
    """
    name = _canonical_name(name)
    if name == "digits":
        arrays = _load_digits(path)
    elif name == "diabetes":
        arrays = _load_diabetes(path)
    elif name in IMAGE_SOURCES:
        arrays = _load_image_dataset(name, path)
    else:
        arrays = _load_user_file(name, path, task)
    _check_shapes(name, *arrays[:4])
    return arrays


def load_dataset(name, path=None, validation_fraction=0.1, validation_size=None, subset=None,
                 test_subset=None, scaling="standard", random_state=0, task="classification"):
    """Load a dataset and make scaled train, validation and test splits.

    Parameters
    ----------
    name, path :
        As for ``load_arrays``.
    validation_fraction : float, default 0.1
        Share of the (subset of) training rows held out for validation,
        stratified; 0 gives an empty validation set.
    validation_size : int, optional
        Number of validation rows; takes precedence over ``validation_fraction``.
    subset : int, optional
        Keep at most this many training rows, a stratified random sample.
    test_subset : int, optional
        Keep at most this many test rows, a stratified random sample.
    scaling : {'standard', 'minmax', 'zca', 'none'}, default 'standard'
        Features scaled by a ``StandardScaler``, a clipping ``MinMaxScaler`` or
        ZCA whitening (:class:`search.preprocessing.ZCA`) fitted on the
        training rows only, or left as read.
    random_state : int, default 0
        Seed for the subsets and the validation split.
    task : {'classification', 'regression'}, default 'classification'
        A regression reads numeric targets and splits without stratifying.

    Returns
    -------
    Dataset

    Raises
    ------
    DataError
        For bad arguments, NaN or inf features, fewer than two classes, or
        test or validation labels the training rows do not have.
    """
    _check_options(validation_fraction, validation_size, subset, test_subset, scaling)
    name = _canonical_name(name)
    stratify = _check_task(name, task)
    X_train, y_train, X_test, y_test, image_shape = load_arrays(name, path, task)
    _check_finite(name, path, X_train=X_train, X_test=X_test)
    if subset is not None:
        X_train, y_train = _sample_rows(X_train, y_train, subset, random_state, name, stratify)
    if test_subset is not None:
        X_test, y_test = _sample_rows(X_test, y_test, test_subset, random_state, name, stratify)
    n_val = _validation_count(len(y_train), validation_fraction, validation_size, name)
    X_train, y_train, X_val, y_val = _split_validation(X_train, y_train, n_val, random_state, name, stratify)
    if stratify:
        _check_classes(name, y_train, y_val, y_test)
    preprocessing = make_preprocessing(scaling, image_shape).fit(X_train)
    X_train_scaled, X_val_scaled, X_test_scaled = _scale(preprocessing, X_train, X_val, X_test)
    return Dataset(X_train=X_train_scaled, y_train=y_train, X_val=X_val_scaled, y_val=y_val,
                   X_test=X_test_scaled, y_test=y_test, name=name, image_shape=image_shape,
                   X_val_raw=X_val, X_test_raw=X_test, preprocessing=preprocessing)


# ----------------------------------------------------------------------------
# Finding and reading files
# ----------------------------------------------------------------------------

def _canonical_name(name):
    """The ``DATASETS`` entry ``name`` means; 'Fashion-MNIST' is 'fashion_mnist'."""
    canonical = str(name).strip().lower().replace("-", "_")
    if canonical not in DATASETS:
        raise DataError(f"unknown dataset {name!r}; known datasets are {', '.join(DATASETS)}")
    return canonical


def _load_digits(path):
    """scikit-learn's 8x8 digits with a fixed stratified 25% test split."""
    if path is not None:
        raise DataError("digits ships with scikit-learn and reads no file; drop path="
                        f"{str(path)!r} or choose the npz or csv dataset")
    X, y = sk_datasets.load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X.astype(np.float32), y, test_size=DIGITS_TEST_FRACTION, stratify=y, random_state=0)
    return X_train, y_train, X_test, y_test, (8, 8)


def _load_diabetes(path):
    """scikit-learn's diabetes regression set, unscaled, with a fixed 25% test split."""
    if path is not None:
        raise DataError("diabetes ships with scikit-learn and reads no file; drop path="
                        f"{str(path)!r} or choose the npz or csv dataset")
    X, y = sk_datasets.load_diabetes(return_X_y=True, scaled=False)
    X_train, X_test, y_train, y_test = train_test_split(
        X.astype(np.float32), y.astype(np.float64), test_size=DIABETES_TEST_FRACTION, random_state=0)
    return X_train, y_train, X_test, y_test, None


def _check_task(name, task):
    """Whether splits are stratified: a classification's are, a regression's not.

    The bundled sets have one task each; a user's npz or csv may be either.
    """
    if task not in TASKS:
        raise DataError(f"unknown task {task!r}; use one of {', '.join(TASKS)}")
    natural = fixed_task(name)
    if natural not in (None, task):
        raise DataError(f"{name} is a {natural} dataset, not a {task} one; for a {task} give "
                        f"your own file as the npz or csv dataset")
    return task == "classification"


def _load_image_dataset(name, path):
    """Read MNIST, Fashion-MNIST or CIFAR-10 from the first place it is found."""
    source = IMAGE_SOURCES[name]
    location, looked = _locate(name, source, path)
    if location is not None:
        return _load_image_location(name, source, location)
    if source.openml_name is not None:
        arrays = _fetch_openml(source, looked)
        if arrays is not None:
            return arrays
    raise DataError(f"{name} data not found; looked at {'; '.join(looked)}. Set "
                    f"{source.env_var} to {source.hint}, or put one of "
                    f"{', '.join(source.data_dir_names)} in $DATA_DIR")


def _locate(name, source, path):
    """The first existing location for ``name`` and a list of the places looked at.

    An explicit ``path`` or environment variable that does not exist is an
    error rather than a reason to look further: silently using other data
    would hide the typo.
    """
    if path is not None:
        return _require_exists(Path(path), f"{name} path {str(path)!r}", source), []
    env_value = os.environ.get(source.env_var)
    if env_value:
        return _require_exists(Path(env_value), f"{source.env_var}={env_value!r}", source), []
    looked = [f"${source.env_var} (not set)"]
    if not os.environ.get("DATA_DIR"):
        looked.append("$DATA_DIR (not set)")
    for candidate in _fallback_locations(source):
        if candidate.exists():
            return candidate, looked
        looked.append(str(candidate))
    return None, looked


def _require_exists(location, described, source):
    """``location`` if it exists, else a DataError saying what should be there."""
    if not location.exists():
        raise DataError(f"{described} does not exist; it should be {source.hint}")
    return location


def _fallback_locations(source):
    """Conventional places under $DATA_DIR and ../shared/data, in search order."""
    candidates = []
    data_dir = os.environ.get("DATA_DIR")
    if data_dir:
        candidates += [Path(data_dir) / entry for entry in source.data_dir_names]
    if source.shared_file is not None:
        candidates += [base.parent / "shared" / "data" / source.shared_file
                       for base in (Path.cwd(), REPO_ROOT)]
    return list(dict.fromkeys(candidates))  # cwd is often the repo root; look once


def _load_image_location(name, source, location):
    """Read an image dataset from an .npz file or a folder of its native files."""
    if location.is_dir():
        if name == "cifar10":
            return _load_cifar_folder(location, source.image_shape)
        return _load_idx_folder(location, source.image_shape)
    if location.suffix.lower() == ".npz":
        return _load_split_npz(location, source.image_shape)
    raise DataError(f"{location} is neither an .npz file nor a folder; {name} should be "
                    f"{source.hint}")


def _load_split_npz(path, image_shape):
    """Read an .npz with x_train, y_train, x_test, y_test of images."""
    arrays = _read_npz(path)
    missing = [key for key in SPLIT_KEYS if key not in arrays]
    if missing:
        raise DataError(f"{path} lacks {', '.join(missing)} (it has {', '.join(arrays) or 'none'})"
                        f"; it should be {_SPLIT_NPZ_HINT}")
    X_train = _image_rows(arrays["x_train"], image_shape, f"{path}[x_train]")
    X_test = _image_rows(arrays["x_test"], image_shape, f"{path}[x_test]")
    y_train = _as_labels(arrays["y_train"], f"{path}[y_train]")
    y_test = _as_labels(arrays["y_test"], f"{path}[y_test]")
    return X_train, y_train, X_test, y_test, image_shape


def _read_npz(path):
    """All arrays of an .npz file, keyed by lower-cased name."""
    try:
        # allow_pickle=False: an .npz must not be able to run code when read
        with np.load(path, allow_pickle=False) as npz:
            return {key.lower(): npz[key] for key in npz.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
        raise DataError(f"cannot read {path} as an .npz of plain numeric or string arrays: "
                        f"{_one_line(error)}") from error


def _load_idx_folder(folder, image_shape):
    """Read the four MNIST-style IDX files in ``folder``."""
    found = {key: _find_idx_file(folder, stem) for key, stem in IDX_FILES.items()}
    missing = [IDX_FILES[key] for key, file in found.items() if file is None]
    if missing:
        raise DataError(f"{folder} lacks {', '.join(missing)} (optionally .gz); it should be "
                        f"{_SPLIT_NPZ_HINT} or {_IDX_HINT}")
    x_train, x_test = (_read_idx(found[key], ndim=3) for key in ("x_train", "x_test"))
    y_train, y_test = (_read_idx(found[key], ndim=1) for key in ("y_train", "y_test"))
    for images, labels, key in ((x_train, y_train, "x_train"), (x_test, y_test, "x_test")):
        if len(images) != len(labels):
            raise DataError(f"{found[key]} holds {len(images)} images but its label file holds "
                            f"{len(labels)}; use files from the same release")
    return (_image_rows(x_train, image_shape, str(found["x_train"])),
            _as_labels(y_train, str(found["y_train"])),
            _image_rows(x_test, image_shape, str(found["x_test"])),
            _as_labels(y_test, str(found["y_test"])),
            image_shape)


def _find_idx_file(folder, stem):
    """The IDX file for ``stem`` in ``folder``, raw or gzipped, or None."""
    # Some mirrors spell 'train-images-idx3-ubyte' as 'train-images.idx3-ubyte'.
    for base in (stem, stem.replace("-idx", ".idx")):
        for file_name in (base, base + ".gz"):
            if (folder / file_name).is_file():
                return folder / file_name
    return None


def _read_idx(path, ndim):
    """Parse one IDX file into an array of ``ndim`` dimensions.

    The header is two zero bytes, a dtype code, the number of dimensions and
    then each dimension as a big-endian uint32; the data follows, big-endian.
    """
    raw = _read_bytes(path)
    expected_magic = f"0x00000{0x800 + ndim:03x}"
    if len(raw) < 4 or raw[:2] != b"\0\0" or raw[2] not in IDX_DTYPES or raw[3] != ndim:
        raise DataError(f"{path} is not a {ndim}-D IDX file: magic number 0x{raw[:4].hex()}, "
                        f"expected {expected_magic}; re-download or re-extract it")
    header_size = 4 + 4 * ndim
    if len(raw) < header_size:
        raise DataError(f"{path} is truncated inside its IDX header; re-download it")
    dims = struct.unpack(f">{ndim}I", raw[4:header_size])
    dtype = np.dtype(IDX_DTYPES[raw[2]])
    expected_bytes = math.prod(dims) * dtype.itemsize
    if len(raw) - header_size != expected_bytes:
        raise DataError(f"{path} holds {len(raw) - header_size} data bytes but its header "
                        f"{dims} needs {expected_bytes}; re-download it")
    return np.frombuffer(raw, dtype=dtype, offset=header_size).reshape(dims)


def _read_bytes(path):
    """The bytes of ``path``, gunzipped when its name ends in .gz."""
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as file:
                return file.read()
        return path.read_bytes()
    except (OSError, EOFError, zlib.error) as error:
        raise DataError(f"cannot read {path}: {_one_line(error)}") from error


def _load_cifar_folder(folder, image_shape):
    """Read CIFAR-10's python batches from ``folder`` or its cifar-10-batches-py."""
    if (folder / "cifar-10-batches-py").is_dir():
        folder = folder / "cifar-10-batches-py"
    names = (*CIFAR_TRAIN_BATCHES, CIFAR_TEST_BATCH)
    missing = [name for name in names if not (folder / name).is_file()]
    if missing:
        raise DataError(f"{folder} lacks {', '.join(missing)}; CIFAR10_PATH should be "
                        f"{IMAGE_SOURCES['cifar10'].hint}")
    train = [_read_cifar_batch(folder / name, image_shape) for name in CIFAR_TRAIN_BATCHES]
    X_test, y_test = _read_cifar_batch(folder / CIFAR_TEST_BATCH, image_shape)
    X_train = np.concatenate([X for X, _ in train])
    y_train = np.concatenate([y for _, y in train])
    return X_train, y_train, X_test, y_test, image_shape


def _read_cifar_batch(path, image_shape):
    """One CIFAR-10 batch: a pickled dict with b'data' (N x 3072) and b'labels'."""
    try:
        # The official format is a pickle, which can run code: read trusted files only.
        with path.open("rb") as file:
            batch = pickle.load(file, encoding="bytes")
    except (OSError, EOFError, pickle.UnpicklingError, ValueError, TypeError,
            AttributeError, ImportError, IndexError) as error:
        raise DataError(f"cannot unpickle CIFAR-10 batch {path}: {_one_line(error)}") from error
    if not isinstance(batch, dict) or not {b"data", b"labels"} <= set(batch):
        keys = sorted(batch) if isinstance(batch, dict) else type(batch).__name__
        raise DataError(f"{path} is not a CIFAR-10 batch: expected a dict with b'data' and "
                        f"b'labels', got {keys}")
    X = _image_rows(np.asarray(batch[b"data"]), image_shape, str(path))
    y = _as_labels(np.asarray(batch[b"labels"]), str(path))
    if len(X) != len(y):
        raise DataError(f"{path} holds {len(X)} images but {len(y)} labels")
    return X, y


def _fetch_openml(source, looked):
    """MNIST-style arrays from scikit-learn's OpenML cache, or None after noting why not."""
    data_home = _openml_data_home()
    try:
        # Without network this only succeeds from cache; do not retry or wait.
        bunch = sk_datasets.fetch_openml(source.openml_name, version=1, as_frame=False,
                                         data_home=data_home, n_retries=1, delay=0.1)
        X, y = np.asarray(bunch.data), np.asarray(bunch.target)
    except Exception as error:  # any failure (no network, broken cache) means "not here"
        looked.append(f"OpenML cache in {data_home} (fetch_openml({source.openml_name!r}) "
                      f"failed: {_one_line(error)})")
        return None
    where = f"OpenML {source.openml_name!r}"
    if len(X) <= OPENML_TEST_ROWS or len(X) != len(y):
        raise DataError(f"{where} in {data_home} has {len(X)} rows and {len(y)} labels, expected "
                        f"more than {OPENML_TEST_ROWS} of each; delete the cache and fetch again")
    X = _image_rows(X, source.image_shape, where)
    y = _as_labels(y, where)
    split = len(X) - OPENML_TEST_ROWS
    return X[:split], y[:split], X[split:], y[split:], source.image_shape


def _openml_data_home():
    """scikit-learn's data folder, found as ``get_data_home`` would, without creating it."""
    return os.environ.get("SCIKIT_LEARN_DATA") or str(Path.home() / "scikit_learn_data")


def _load_user_file(name, path, task="classification"):
    """Read a user's own .npz or .csv file."""
    if path is None:
        raise DataError(f"the {name} dataset is a file of your own; pass path= to it")
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{name} path {str(path)!r} is not a file; pass path= to your .{name}")
    if name == "npz":
        return _load_user_npz(path, task)
    return _load_csv(path, task)


def _load_user_npz(path, task="classification"):
    """Read an .npz with X and y, or with x_train, y_train, x_test, y_test."""
    arrays = _read_npz(path)
    as_y = _as_targets if task == "regression" else _as_labels
    if all(key in arrays for key in SPLIT_KEYS):
        x_train, y_train, x_test, y_test = (arrays[key] for key in SPLIT_KEYS)
        image_shape = _image_shape_of(x_train)
        return (_feature_rows(x_train, f"{path}[x_train]"), as_y(y_train, f"{path}[y_train]"),
                _feature_rows(x_test, f"{path}[x_test]"), as_y(y_test, f"{path}[y_test]"),
                image_shape)
    if "x" in arrays and "y" in arrays:
        X = _feature_rows(arrays["x"], f"{path}[X]")
        y = as_y(arrays["y"], f"{path}[y]")
        return (*_split_off_test(X, y, path, task == "classification"), _image_shape_of(arrays["x"]))
    raise DataError(f"{path} has arrays {', '.join(arrays) or 'none'}; it should hold X and y, "
                    "or x_train, y_train, x_test, y_test")


def _image_shape_of(x):
    """Per-row shape of ``x`` when it holds more than flat feature rows."""
    return tuple(int(size) for size in x.shape[1:]) if x.ndim > 2 else None


def _load_csv(path, task="classification"):
    """Read numeric features and a label column from a csv file.

    The label is the last column, or with a header row the column named
    label, target, y or class. Empty feature cells become NaN, which
    ``load_dataset`` then reports.
    """
    lines = _read_csv_lines(path)
    header = _header_of(lines)
    if header is not None:
        lines = lines[1:]
    if not lines:
        raise DataError(f"{path} has no data rows; put one sample per line, label last")
    label_column = _label_column(header, len(lines[0][1]))
    X, y = _parse_csv_lines(lines, label_column, path, task)
    return (*_split_off_test(X, y, path, task == "classification"), None)


def _read_csv_lines(path):
    """Non-blank rows of a csv (or .tsv) file as (line number, stripped cells)."""
    delimiter = "\t" if path.suffix.lower() in (".tsv", ".tab") else ","
    try:
        with path.open(newline="", encoding="utf-8-sig") as file:
            reader = csv.reader(file, delimiter=delimiter)
            lines = [(reader.line_num, [cell.strip() for cell in row])
                     for row in reader if any(cell.strip() for cell in row)]
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise DataError(f"cannot read {path} as UTF-8 csv: {_one_line(error)}") from error
    if not lines:
        raise DataError(f"{path} is empty; put one sample per line, numeric features, label last")
    return lines


def _header_of(lines):
    """The first row's cells if they are column names, else None.

    A header is a row with text where the next row has a number; a first row
    of data with string labels is text where the next row has text too.
    """
    if len(lines) < 2:
        return None
    first, second = lines[0][1], lines[1][1]
    if any(not _is_number(a) and _is_number(b) for a, b in zip(first, second)):
        return first
    return None


def _is_number(cell):
    """Whether ``cell`` reads as a float; empty cells count, as missing numbers."""
    try:
        float(cell or "nan")
    except ValueError:
        return False
    return True


def _label_column(header, n_columns):
    """Index of the label column: a named one in the header, else the last."""
    names = [name.lower() for name in header or ()]
    for label_name in LABEL_COLUMN_NAMES:
        if label_name in names:
            return names.index(label_name)
    return n_columns - 1


def _parse_csv_lines(lines, label_column, path, task="classification"):
    """Feature matrix and label vector from csv rows."""
    n_columns = len(lines[0][1])
    if n_columns < 2:
        raise DataError(f"{path} has one column; put features first and the label last")
    features, labels = [], []
    for line_number, cells in lines:
        if len(cells) != n_columns:
            raise DataError(f"{path} line {line_number} has {len(cells)} fields, expected "
                            f"{n_columns} like the first row")
        labels.append(cells.pop(label_column))
        if not labels[-1]:
            raise DataError(f"{path} line {line_number} has an empty label")
        features.append([_parse_feature(cell, path, line_number) for cell in cells])
    if task == "regression":
        return np.array(features, dtype=np.float32), _as_targets(labels, str(path), [n for n, _ in lines])
    return np.array(features, dtype=np.float32), _as_labels(np.array(labels), str(path))


def _parse_feature(cell, path, line_number):
    """One csv feature cell as a float; empty is NaN."""
    try:
        return float(cell) if cell else math.nan
    except ValueError:
        raise DataError(f"{path} line {line_number}: {cell!r} is not a number; features must be "
                        "numeric, with the label last or in a column named "
                        f"{'/'.join(LABEL_COLUMN_NAMES)}") from None


def _split_off_test(X, y, path, stratify=True):
    """A fixed (for classes, stratified) test split for files that come without one."""
    X_train, X_test, y_train, y_test = _split(X, y, math.ceil(USER_TEST_FRACTION * len(y)),
                                              random_state=0, what=str(path), stratify=stratify)
    return X_train, y_train, X_test, y_test


# ----------------------------------------------------------------------------
# Array conversion and checks
# ----------------------------------------------------------------------------

def _image_rows(x, image_shape, where):
    """Images as float32 rows in height, width, channel order.

    Accepts ``(N, *image_shape)`` and ``(N, prod(image_shape))``; for colour
    images also channel-major ``(N, C, H, W)``. Flat colour rows are taken as
    channel-major, the layout of CIFAR-10's own batches.
    """
    x = _numeric(x, where)
    n_values = math.prod(image_shape)
    if x.ndim >= 2 and x.shape[1:] == tuple(image_shape):
        return x.reshape(len(x), -1).astype(np.float32)
    if len(image_shape) == 3:
        height, width, channels = image_shape
        if x.shape[1:] in ((n_values,), (channels, height, width)):
            channel_major = x.reshape(len(x), channels, height, width)
            return channel_major.transpose(0, 2, 3, 1).reshape(len(x), -1).astype(np.float32)
    elif x.shape[1:] == (n_values,):
        return x.astype(np.float32)
    raise DataError(f"{where} has shape {x.shape}; expected N x "
                    f"{' x '.join(map(str, image_shape))} or N x {n_values}")


def _feature_rows(x, where):
    """Any numeric array of at least 2 dimensions as float32 rows."""
    x = _numeric(x, where)
    if x.ndim < 2:
        raise DataError(f"{where} has shape {x.shape}; features need one row per sample")
    return x.reshape(len(x), -1).astype(np.float32)


def _numeric(x, where):
    """``x`` as an array, rejecting non-numeric dtypes."""
    x = np.asarray(x)
    if not (np.issubdtype(x.dtype, np.number) or x.dtype == bool):
        raise DataError(f"{where} has dtype {x.dtype}; features must be numeric")
    return x


def _as_labels(y, where):
    """Labels as a 1-D int64 array when they are whole numbers, else strings."""
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:  # a column vector, as some exporters write
        y = y[:, 0]
    if y.ndim != 1:
        raise DataError(f"{where} has shape {y.shape}; labels need one value per sample")
    if y.dtype.kind in "biu":
        return y.astype(np.int64)
    if y.dtype.kind == "f":
        if not np.all(np.isfinite(y)) or np.any(y != np.round(y)):
            raise DataError(f"{where} has non-integer float labels; this is classification, "
                            "so use whole numbers or strings (for a numeric target set task: regression)")
        return y.astype(np.int64)
    text = y.astype(str)
    try:
        return text.astype(np.int64)
    except ValueError:  # not all digits: keep the class names
        pass
    numbers = np.array([_finite_or_nan(cell) for cell in text])
    if np.all(np.isfinite(numbers)) and np.any(numbers != np.round(numbers)):  # a csv's '151.25'
        return _as_labels(numbers, where)  # refused as float labels are
    return text


def _as_targets(y, where, line_numbers=None):
    """Regression targets as a 1-D float64 array; one line naming the first value that is not a finite number.

    ``y`` as read (numbers, or a csv's text cells; then ``line_numbers`` say where each came from).
    """
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:  # a column vector, as some exporters write
        y = y[:, 0]
    if y.ndim != 1:
        raise DataError(f"{where} has shape {y.shape}; targets need one value per sample")
    as_float = np.array([_finite_or_nan(value) for value in y.ravel()]).reshape(y.shape)
    bad = np.flatnonzero(~np.isfinite(as_float))
    if len(bad):
        at = f" line {line_numbers[bad[0]]}" if line_numbers else f" row {bad[0]}"
        raise DataError(f"{where}{at}: target {y[bad[0]].item()!r} is not a finite number; a regression "
                        "target must be numeric (for class labels leave task as classification)")
    return as_float


def _finite_or_nan(value):
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _check_shapes(name, X_train, y_train, X_test, y_test):
    """Rows of X and y agree, train and test have rows and the same features."""
    for split, X, y in (("train", X_train, y_train), ("test", X_test, y_test)):
        if X.ndim != 2 or len(X) != len(y):
            raise DataError(f"{name} {split} has X of shape {X.shape} and {len(y)} labels; "
                            "X must be 2-D with one label per row")
        if len(X) == 0:
            raise DataError(f"{name} has no {split} rows")
    if X_train.shape[1] != X_test.shape[1]:
        raise DataError(f"{name} train rows have {X_train.shape[1]} features but test rows "
                        f"have {X_test.shape[1]}")


def _check_finite(name, path, **arrays):
    """Fail when any feature is NaN or infinite, counting the rows per split."""
    bad_rows = {split: int(np.count_nonzero(~np.isfinite(X).all(axis=1)))
                for split, X in arrays.items()}
    if any(bad_rows.values()):
        counts = ", ".join(f"{count} in {split}" for split, count in bad_rows.items() if count)
        source = f" ({path})" if path is not None else ""
        raise DataError(f"{name}{source} has rows with NaN or inf features: {counts}; fill or "
                        "drop them before loading")


def _check_classes(name, y_train, y_val, y_test):
    """At least two training classes, and none elsewhere that training lacks."""
    classes = np.unique(y_train)
    if len(classes) < 2:
        raise DataError(f"{name} training rows have {len(classes)} class(es); a classifier "
                        "needs at least 2")
    for split, y in (("validation", y_val), ("test", y_test)):
        unseen = np.setdiff1d(np.unique(y), classes)
        if len(unseen):
            shown = ", ".join(map(str, unseen[:10]))
            raise DataError(f"{name} {split} labels {shown} never occur in the training rows; "
                            "use more training rows or drop those classes")


def _check_options(validation_fraction, validation_size, subset, test_subset, scaling):
    """Reject argument values ``load_dataset`` cannot honour."""
    if not (isinstance(validation_fraction, numbers.Real) and 0 <= validation_fraction < 1):
        raise DataError(f"validation_fraction must be in [0, 1), got {validation_fraction!r}")
    _check_count("validation_size", validation_size, minimum=0)
    _check_count("subset", subset, minimum=1)
    _check_count("test_subset", test_subset, minimum=1)
    if scaling not in SCALINGS:
        raise DataError(f"unknown scaling {scaling!r}; use one of {', '.join(SCALINGS)}")


def _check_count(argument, value, minimum):
    """``value`` is None or an integer of at least ``minimum``."""
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise DataError(f"{argument} must be an integer >= {minimum}, got {value!r}")


# ----------------------------------------------------------------------------
# Splitting and scaling
# ----------------------------------------------------------------------------

def _split(X, y, n_held_out, random_state, what, stratify=True):
    """Hold out ``n_held_out`` rows, stratified when asked and every class allows it."""
    try:
        if stratify:
            return train_test_split(X, y, test_size=n_held_out, stratify=y, random_state=random_state)
    except ValueError:
        pass  # a class too small to stratify; an unstratified split still works
    try:
        return train_test_split(X, y, test_size=n_held_out, random_state=random_state)
    except ValueError as error:
        raise DataError(f"cannot hold out {n_held_out} of the {len(y)} rows of {what}: "
                        f"{_one_line(error)}") from error


def _sample_rows(X, y, count, random_state, name, stratify=True):
    """A (stratified) random sample of at most ``count`` rows."""
    if count >= len(y):
        return X, y
    X_kept, _, y_kept, _ = _split(X, y, len(y) - count, random_state, name, stratify)
    return X_kept, y_kept


def _validation_count(n_train, fraction, size, name):
    """Number of validation rows: ``size`` if given, else ``fraction`` of the rows."""
    n_val = size if size is not None else math.ceil(fraction * n_train)
    if n_val >= n_train:
        raise DataError(f"{name} has {n_train} training rows, too few to hold out {n_val} for "
                        "validation; lower validation_size or validation_fraction")
    return n_val


def _split_validation(X, y, n_val, random_state, name, stratify=True):
    """Training and validation rows; an empty validation set when ``n_val`` is 0."""
    if n_val == 0:
        return X, y, np.empty((0, X.shape[1]), dtype=np.float32), y[:0]
    X_train, X_val, y_train, y_val = _split(X, y, n_val, random_state, name, stratify)
    return X_train, y_train, X_val, y_val


def _scale(preprocessing, *splits):
    """Every split through the fitted ``preprocessing``; all stay float32."""
    # transform rejects zero-row arrays, and an empty validation set needs no scaling
    return tuple(preprocessing.transform(X).astype(np.float32, copy=False) if len(X) else X
                 for X in splits)


def _one_line(error):
    """An exception as one short line, for embedding in a DataError message."""
    text = " ".join(str(error).split()) or type(error).__name__
    return text if len(text) <= 200 else text[:197] + "..."
