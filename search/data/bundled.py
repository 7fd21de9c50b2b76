"""The datasets that come with a name: scikit-learn's digits and diabetes, the Palmer penguins, MNIST,
Fashion-MNIST, CIFAR-10.

``BUNDLED`` maps each name to its reader and its task. digits and diabetes
ship with scikit-learn, each split 75/25 with ``random_state=0`` (digits
stratified). ``penguins`` is the CSV that the ``palmerpenguins`` package
ships (344 penguins, 3 species; the strings ``island`` and ``sex``, and
missing values), read as the table dataset reads a file, with ``species``
as its target and a stratified 20% test split. ``mnist``, ``fashion_mnist`` and ``cifar10`` are found at, in
order: the ``path`` given; the environment variable ``MNIST_PATH`` /
``FASHION_MNIST_PATH`` / ``CIFAR10_PATH``; conventional names under
``$DATA_DIR`` (e.g. ``$DATA_DIR/mnist.npz`` or ``$DATA_DIR/mnist/``); for
``mnist`` and ``cifar10``, ``../shared/data/mnist.npz`` or ``cifar10.npz``
from the working directory and from the repository root; for the two MNISTs,
scikit-learn's OpenML cache, the last resort, so that a machine without
network still works when a file is present.
"""

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import sklearn.datasets as sk_datasets
from sklearn.model_selection import train_test_split

from .checks import DataError, as_labels, image_rows, one_line
from .formats import CIFAR_HINT, MNIST_HINT, load_cifar_folder, load_idx_folder, load_split_npz
from .split import split_off_test
from .table import TableColumns, table_rows

# The folder holding ``search/``; ``../shared/data`` is looked for next to it.
REPO_ROOT = Path(__file__).resolve().parents[2]

# OpenML stores MNIST's 60000 training rows first, then the 10000 test rows.
OPENML_TEST_ROWS = 10_000
DIGITS_TEST_FRACTION = 0.25
DIABETES_TEST_FRACTION = 0.25
PENGUINS_TARGET = "species"


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
        hint=MNIST_HINT,
        shared_file="mnist.npz",
        openml_name="mnist_784",
    ),
    "fashion_mnist": _ImageSource(
        env_var="FASHION_MNIST_PATH",
        data_dir_names=("fashion_mnist.npz", "fashion-mnist.npz", "fashion_mnist",
                        "fashion-mnist", "FashionMNIST/raw"),
        image_shape=(28, 28),
        hint=MNIST_HINT,
        openml_name="Fashion-MNIST",
    ),
    "cifar10": _ImageSource(
        env_var="CIFAR10_PATH",
        data_dir_names=("cifar10.npz", "cifar-10-batches-py", "cifar10"),
        image_shape=(32, 32, 3),
        hint=CIFAR_HINT,
        shared_file="cifar10.npz",
    ),
}


def _load_digits():
    """scikit-learn's 8x8 digits with a fixed stratified 25% test split."""
    X, y = sk_datasets.load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X.astype(np.float32), y, test_size=DIGITS_TEST_FRACTION, stratify=y, random_state=0)
    return X_train, y_train, X_test, y_test, (8, 8)


def _load_diabetes():
    """scikit-learn's diabetes regression set, unscaled, with a fixed 25% test split."""
    X, y = sk_datasets.load_diabetes(return_X_y=True, scaled=False)
    X_train, X_test, y_train, y_test = train_test_split(
        X.astype(np.float32), y.astype(np.float64), test_size=DIABETES_TEST_FRACTION, random_state=0)
    return X_train, y_train, X_test, y_test, None


def _load_penguins():
    """The Palmer penguins as the ``palmerpenguins`` package ships them, a table with target ``species``."""
    try:
        from palmerpenguins import load_penguins
    except ImportError:
        raise DataError("penguins comes with the palmerpenguins package: pip install palmerpenguins") from None
    X, y, _ = table_rows(load_penguins(), "penguins (palmerpenguins)", "classification",
                         TableColumns(target=PENGUINS_TARGET))
    return (*split_off_test(X, y, "penguins"), None)


def _shipped(load):
    """A reader of a dataset that ships with a package: ``load()``, refusing a path."""
    def read(name, path):
        if path is not None:
            raise DataError(f"{name} ships with a package and reads no file; drop path="
                            f"{str(path)!r} or choose the npz or csv dataset")
        return load()
    return read


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
            return load_cifar_folder(location, source.image_shape)
        return load_idx_folder(location, source.image_shape)
    if location.suffix.lower() == ".npz":
        return load_split_npz(location, source.image_shape)
    raise DataError(f"{location} is neither an .npz file nor a folder; {name} should be "
                    f"{source.hint}")


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
                      f"failed: {one_line(error)})")
        return None
    where = f"OpenML {source.openml_name!r}"
    if len(X) <= OPENML_TEST_ROWS or len(X) != len(y):
        raise DataError(f"{where} in {data_home} has {len(X)} rows and {len(y)} labels, expected "
                        f"more than {OPENML_TEST_ROWS} of each; delete the cache and fetch again")
    X = image_rows(X, source.image_shape, where)
    y = as_labels(y, where)
    split = len(X) - OPENML_TEST_ROWS
    return X[:split], y[:split], X[split:], y[split:], source.image_shape


def _openml_data_home():
    """scikit-learn's data folder, found as ``get_data_home`` would, without creating it."""
    return os.environ.get("SCIKIT_LEARN_DATA") or str(Path.home() / "scikit_learn_data")


@dataclass(frozen=True)
class Bundled:
    """A dataset known by name: its one task and its reader.

    Attributes
    ----------
    task : {'classification', 'regression'}
    read : callable
        ``read(name, path) -> (X_train, y_train, X_test, y_test, image_shape)``.
    """

    task: str
    read: Callable


BUNDLED = {
    "digits": Bundled("classification", _shipped(_load_digits)),
    "diabetes": Bundled("regression", _shipped(_load_diabetes)),
    "penguins": Bundled("classification", _shipped(_load_penguins)),
    **{name: Bundled("classification", _load_image_dataset) for name in IMAGE_SOURCES},
}
