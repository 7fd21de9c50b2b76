"""Readers of dataset files: .npz, MNIST's IDX files, CIFAR-10's python batches, and a user's own file.

A user's file (the ``npz``, ``csv`` and ``table`` datasets) is read by the reader that
``USER_FORMATS`` names; a new format is one reader here and one entry there.
The csv reader is :mod:`search.data.csvfile`, the table reader :mod:`search.data.table`.
"""

import gzip
import math
import pickle
import struct
import zipfile
import zlib
from pathlib import Path

import numpy as np

from .checks import DataError, as_labels, as_targets, feature_rows, image_rows, one_line
from .csvfile import load_csv
from .split import split_off_test
from .table import load_table

SPLIT_KEYS = ("x_train", "y_train", "x_test", "y_test")
VALIDATION_KEYS = ("x_val", "y_val")  # an npz's own validation rows, beside either form
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

# What each kind of file must hold, for error messages.
SPLIT_NPZ_HINT = "an .npz with x_train, y_train, x_test, y_test"
IDX_HINT = "a folder with the four IDX files ({}, each optionally .gz)".format(", ".join(IDX_FILES.values()))
MNIST_HINT = f"{SPLIT_NPZ_HINT} or {IDX_HINT}"
CIFAR_HINT = (f"{SPLIT_NPZ_HINT} (x as N x 32 x 32 x 3) or the cifar-10-batches-py folder"
              " (data_batch_1..5 and test_batch)")


# ---------------------------------------------------------------- a user's own file

def load_user_npz(path, task="classification"):
    """Read an .npz with X and y, or with x_train, y_train, x_test, y_test."""
    arrays = _read_npz(path)
    as_y = as_targets if task == "regression" else as_labels
    if all(key in arrays for key in SPLIT_KEYS):
        x_train, y_train, x_test, y_test = (arrays[key] for key in SPLIT_KEYS)
        image_shape = image_shape_of(x_train)
        return (feature_rows(x_train, f"{path}[x_train]"), as_y(y_train, f"{path}[y_train]"),
                feature_rows(x_test, f"{path}[x_test]"), as_y(y_test, f"{path}[y_test]"),
                image_shape)
    if "x" in arrays and "y" in arrays:
        X = feature_rows(arrays["x"], f"{path}[X]")
        y = as_y(arrays["y"], f"{path}[y]")
        return (*split_off_test(X, y, path, task == "classification"), image_shape_of(arrays["x"]))
    raise DataError(f"{path} has arrays {', '.join(arrays) or 'none'}; it should hold X and y, "
                    "or x_train, y_train, x_test, y_test")


def npz_validation(path, task="classification"):
    """An npz's own validation rows, ``x_val`` and ``y_val``, when it holds them; ``None, None`` when not.

    Read on their own (``np.load`` reads one array at a time), after the file's other arrays.
    """
    try:
        with np.load(path, allow_pickle=False) as npz:
            keys = {key.lower(): key for key in npz.files}
            arrays = {key: npz[keys[key]] for key in VALIDATION_KEYS if key in keys}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
        raise DataError(f"cannot read {path} as an .npz of plain numeric or string arrays: "
                        f"{one_line(error)}") from error
    if len(arrays) == 1:
        (found,), (missing,) = arrays, {*VALIDATION_KEYS} - {*arrays}
        raise DataError(f"{path} holds {found} without {missing}; give both or neither")
    if not arrays:
        return None, None
    as_y = as_targets if task == "regression" else as_labels
    X, y = feature_rows(arrays["x_val"], f"{path}[x_val]"), as_y(arrays["y_val"], f"{path}[y_val]")
    if len(X) != len(y) or not len(y):
        raise DataError(f"{path} holds {len(X)} x_val rows and {len(y)} y_val values; give one value per row, "
                        "and at least one row")
    return X, y


def image_shape_of(x):
    """Per-row shape of ``x`` when it holds more than flat feature rows."""
    return tuple(int(size) for size in x.shape[1:]) if x.ndim > 2 else None


# A user's file, by dataset name: ``reader(path, task) -> (X_train, y_train, X_test, y_test, image_shape)``;
# the table reader also takes the columns (``target=``, ...: :class:`search.data.table.TableColumns`).
USER_FORMATS = {"npz": load_user_npz, "csv": load_csv, "table": load_table}


def load_user_file(name, path, task="classification", **columns):
    """Read a user's own file (the npz, csv or table dataset) with its reader in ``USER_FORMATS``."""
    if path is None:
        raise DataError(f"the {name} dataset is a file of your own; pass path= to it")
    path = Path(path)
    if not path.is_file():
        kind = ".csv, .tsv or .parquet" if name == "table" else f".{name}"
        raise DataError(f"{name} path {str(path)!r} is not a file; pass path= to your {kind}")
    return USER_FORMATS[name](path, task, **columns)


# ---------------------------------------------------------------- image datasets

def load_split_npz(path, image_shape):
    """Read an .npz with x_train, y_train, x_test, y_test of images."""
    arrays = _read_npz(path)
    missing = [key for key in SPLIT_KEYS if key not in arrays]
    if missing:
        raise DataError(f"{path} lacks {', '.join(missing)} (it has {', '.join(arrays) or 'none'})"
                        f"; it should be {SPLIT_NPZ_HINT}")
    X_train = image_rows(arrays["x_train"], image_shape, f"{path}[x_train]")
    X_test = image_rows(arrays["x_test"], image_shape, f"{path}[x_test]")
    y_train = as_labels(arrays["y_train"], f"{path}[y_train]")
    y_test = as_labels(arrays["y_test"], f"{path}[y_test]")
    return X_train, y_train, X_test, y_test, image_shape


def _read_npz(path):
    """All arrays of an .npz file, keyed by lower-cased name."""
    try:
        # allow_pickle=False: an .npz must not be able to run code when read
        with np.load(path, allow_pickle=False) as npz:
            return {key.lower(): npz[key] for key in npz.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
        raise DataError(f"cannot read {path} as an .npz of plain numeric or string arrays: "
                        f"{one_line(error)}") from error


def load_idx_folder(folder, image_shape):
    """Read the four MNIST-style IDX files in ``folder``."""
    found = {key: _find_idx_file(folder, stem) for key, stem in IDX_FILES.items()}
    missing = [IDX_FILES[key] for key, file in found.items() if file is None]
    if missing:
        raise DataError(f"{folder} lacks {', '.join(missing)} (optionally .gz); it should be "
                        f"{MNIST_HINT}")
    x_train, x_test = (_read_idx(found[key], ndim=3) for key in ("x_train", "x_test"))
    y_train, y_test = (_read_idx(found[key], ndim=1) for key in ("y_train", "y_test"))
    for images, labels, key in ((x_train, y_train, "x_train"), (x_test, y_test, "x_test")):
        if len(images) != len(labels):
            raise DataError(f"{found[key]} holds {len(images)} images but its label file holds "
                            f"{len(labels)}; use files from the same release")
    return (image_rows(x_train, image_shape, str(found["x_train"])),
            as_labels(y_train, str(found["y_train"])),
            image_rows(x_test, image_shape, str(found["x_test"])),
            as_labels(y_test, str(found["y_test"])),
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
        raise DataError(f"cannot read {path}: {one_line(error)}") from error


def load_cifar_folder(folder, image_shape):
    """Read CIFAR-10's python batches from ``folder`` or its cifar-10-batches-py."""
    if (folder / "cifar-10-batches-py").is_dir():
        folder = folder / "cifar-10-batches-py"
    names = (*CIFAR_TRAIN_BATCHES, CIFAR_TEST_BATCH)
    missing = [name for name in names if not (folder / name).is_file()]
    if missing:
        raise DataError(f"{folder} lacks {', '.join(missing)}; CIFAR10_PATH should be "
                        f"{CIFAR_HINT}")
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
        raise DataError(f"cannot unpickle CIFAR-10 batch {path}: {one_line(error)}") from error
    if not isinstance(batch, dict) or not {b"data", b"labels"} <= set(batch):
        keys = sorted(batch) if isinstance(batch, dict) else type(batch).__name__
        raise DataError(f"{path} is not a CIFAR-10 batch: expected a dict with b'data' and "
                        f"b'labels', got {keys}")
    X = image_rows(np.asarray(batch[b"data"]), image_shape, str(path))
    y = as_labels(np.asarray(batch[b"labels"]), str(path))
    if len(X) != len(y):
        raise DataError(f"{path} holds {len(X)} images but {len(y)} labels")
    return X, y
