"""A dataset by name: which names there are and their tasks, its arrays as read, its splits as trained on.

``load_arrays`` reads a dataset as it is stored (no scaling); ``load_dataset``
adds subsetting, a validation split and scaling (:mod:`search.data.split`),
and checks the result.
"""

import hashlib
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline

from .bundled import BUNDLED
from .checks import DataError, check_classes, check_finite, check_shapes
from .columns import table_preprocessing
from .formats import USER_FORMATS, load_user_file, npz_validation
from .heldout import FORMS as HELD_OUT
from .heldout import HeldOut, load_table_held_out
from .preprocessing import make_preprocessing
from .split import SplitOptions, Splitter, scale
from .table import TABLE_OPTIONS

DATASETS = (*BUNDLED, *USER_FORMATS)
# The tasks a dataset may be read for; search.study.task.TASKS has a Task for each.
TASK_NAMES = ("classification", "regression")
# Datasets whose target is a number; every other dataset is a classification by default.
REGRESSION_DATASETS = tuple(name for name, dataset in BUNDLED.items() if dataset.task == "regression")
USER_DATASETS = tuple(USER_FORMATS)  # a user's own file, either task
TABLE_STEP = "columns"  # the table preprocessing's step in the champion's Pipeline


def default_task(dataset_name):
    """The task a study on ``dataset_name`` is when its file does not say."""
    return "regression" if dataset_name in REGRESSION_DATASETS else "classification"


def fixed_task(dataset_name):
    """The one task a bundled dataset can be; None for a user's file, which can be either."""
    return None if dataset_name in USER_DATASETS else default_task(dataset_name)


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
    X_val_raw, X_test_raw : ndarray of shape (n_rows, n_features), float32, or DataFrame
        The validation and test rows as read, before scaling: what a user of
        the model has, and what figures of images show; a table's are
        DataFrames with its own columns.
    preprocessing : sklearn.pipeline.Pipeline
        The steps, fitted on the training rows, that made ``X_*`` from raw rows
        (see :mod:`search.data.preprocessing`).
    folds : tuple of (ndarray, ndarray)
        With ``validation: {folds: K}``, each fold's training and validation row
        indices into ``X_train`` (``X_val`` is then empty); else empty.
    X_train_raw : ndarray or DataFrame or None
        With folds, the training rows as read: a fold's raw validation rows, for
        its figures of images; else None.
    rows_fingerprint : str
        16 hex digits of SHA-256 over every split's rows as read, before scaling: the same rows give the
        same digits on any machine (scaled ones may differ in their last bits between BLAS builds).
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
    folds: tuple = field(default=(), repr=False)
    X_train_raw: np.ndarray = field(default=None, repr=False)
    rows_fingerprint: str = field(default=None, repr=False)

    @property
    def classes(self):
        """Sorted unique training labels."""
        return np.unique(self.y_train)

    def fold(self, index):
        """Fold ``index`` as a dataset of its own: its training rows and its validation rows, both scaled.

        The folds share the preprocessing fitted on every training row, as the champion's refit does: a
        fold's validation rows take part in its scaling statistics and categories (never in the labels), the
        same for every trial; in exchange no scaled copy per fold is kept and nothing is refitted per trial.
        """
        train, val = self.folds[index]
        raw = self.X_train_raw
        raw = raw.iloc[val] if isinstance(raw, pd.DataFrame) else None if raw is None else raw[val]
        return replace(self, X_train=self.X_train[train], y_train=self.y_train[train], X_val=self.X_train[val],
                       y_val=self.y_train[val], X_val_raw=raw, folds=(), X_train_raw=None)

    @cached_property
    def fingerprint(self):
        """16 hex digits of SHA-256 over every split's features and labels, raw test rows included.

        Two studies trained on the same rows, scaled the same way, share it.
        """
        return digest(self.X_train, self.y_train, self.X_val, self.y_val, self.X_test_raw, self.y_test)


def digest(*arrays):
    """16 hex digits of SHA-256 over arrays (their dtypes, shapes and bytes) and DataFrames (their cells)."""
    sha = hashlib.sha256()
    for array in arrays:
        if isinstance(array, pd.DataFrame):  # a table's raw rows: its cells' hashes, not object pointers
            sha.update(repr(list(array.dtypes.items())).encode())
            array = pd.util.hash_pandas_object(array, index=False).to_numpy()
        if array is not None:
            array = np.ascontiguousarray(array)
            sha.update(f"{array.dtype.str}{array.shape}".encode())
            sha.update(array.tobytes())
    return sha.hexdigest()[:16]


def load_arrays(name, path=None, task="classification", data=None, **columns):
    """Read a dataset's official train and test rows, unscaled.

    Parameters
    ----------
    name : str
        One of ``DATASETS``: a bundled one (:mod:`search.data.bundled`), or ``npz``, ``csv``, ``table``: a file.
    path : str or os.PathLike, optional
        A file or folder to read; required for ``npz`` and ``csv``.
    task : {'classification', 'regression'}, default 'classification'
        How a user's file's target is read: labels, or numbers (float64).
    data : search.data.memory.InMemory, optional
        A script's rows, read in place of a table or npz file.
    **columns :
        The table dataset's ``target``, ``features``, ``drop`` and ``categorical``.

    Returns
    -------
    X_train, y_train, X_test, y_test : ndarray
        Features as float32 of shape (n_rows, n_features) (a table's as
        DataFrames); labels as integer, string or boolean arrays of shape (n_rows,).
    image_shape : tuple of int or None
        Shape of one image (height, width[, channels]); None for tabular data.

    Raises
    ------
    DataError
        When the name is unknown, no file is found (the message lists every place looked at), or a file is malformed.
    """
    name = _canonical_name(name)
    if columns and name != "table":
        raise DataError(f"{', '.join(columns)}: only the table dataset takes {'/'.join(TABLE_OPTIONS)}")
    if data is not None:
        arrays = data.read(task, **columns)
    elif name in BUNDLED:
        arrays = BUNDLED[name].read(name, path)
    else:
        arrays = load_user_file(name, path, task, **columns)
    check_shapes(name, *arrays[:4])
    return arrays


def load_dataset(name, path=None, task="classification", data=None, **options):
    """Load a dataset and make scaled train, validation and test splits.

    Parameters
    ----------
    name, path, task, data :
        As for ``load_arrays``; a regression's splits are not stratified.
    **options :
        The fields of :class:`search.data.split.SplitOptions` (``validation_fraction``, ``validation_size``,
        ``subset``, ``test_subset``, ``scaling``, ``random_state``); a table's ``target``, ``features``, ...;
        ``validation`` and ``test``, the rows a study chooses itself (:mod:`search.data.heldout`).

    Returns
    -------
    Dataset

    Raises
    ------
    DataError
        For bad options, NaN or inf features, fewer than two classes, or labels only test or validation rows have.
    """
    columns, held = ({key: options.pop(key) for key in keys if key in options} for keys in (TABLE_OPTIONS, HELD_OUT))
    given, options = tuple(options), SplitOptions.of(options)
    name = _canonical_name(name)
    held = HeldOut.of(held, name, given)
    splitter = Splitter(options.random_state, name, stratify=_check_task(name, task))
    X_train, y_train, X_val, y_val, X_test, y_test, image_shape = _read((name, path, data), task, held, columns)
    X_train, y_train = splitter.sample(X_train, y_train, options.subset)
    X_test, y_test = splitter.sample(X_test, y_test, options.test_subset)
    X_train, y_train, X_val, y_val, folds = _validation(splitter, options, held, (X_train, y_train), (X_val, y_val))
    if splitter.stratify:
        check_classes(name, y_train, y_val, y_test)
    preprocessing = _preprocessing(X_train, options.scaling, image_shape, columns).fit(X_train)
    X_train_scaled, X_val_scaled, X_test_scaled = scale(preprocessing, X_train, X_val, X_test)
    return Dataset(X_train=X_train_scaled, y_train=y_train, X_val=X_val_scaled, y_val=y_val,
                   X_test=X_test_scaled, y_test=y_test, name=name, image_shape=image_shape,
                   X_val_raw=X_val, X_test_raw=X_test, preprocessing=preprocessing, folds=folds,
                   X_train_raw=X_train if folds else None,
                   rows_fingerprint=digest(X_train, y_train, X_val, y_val, X_test, y_test))


def _validation(splitter, options, held, train, val):
    """The training and validation rows, and the folds: ``val`` as read, else held out of ``train`` at random,
    else (``validation: {folds: K}``) no validation rows and K folds of the training rows."""
    (X_train, y_train), (X_val, y_val) = train, val
    if X_val is None:
        n_val = 0 if held.folds else options.validation_count(len(y_train), splitter.what)
        X_train, y_train, X_val, y_val = splitter.validation(X_train, y_train, n_val)
    return X_train, y_train, X_val, y_val, splitter.folds(y_train, held.folds) if held.folds else ()


def _read(source, task, held, columns):
    """Every split as read from ``source``, ``(name, path, data)``: ``X_train, y_train, X_val, y_val, X_test,
    y_test, image_shape``.

    ``X_val`` and ``y_val`` are None unless the data names its own validation rows (a file, a column, an npz's
    ``x_val``); when None, ``load_dataset`` holds validation rows out of the training rows, or makes folds.
    """
    name, path, data = source
    if name == "table" and held.reads_table:
        if data is not None:
            raise DataError("a study's validation or test rows from a file, a column or a fraction need its "
                            "table as a file: give dataset.path, or pass test_data= in memory")
        if path is None or not Path(path).is_file():
            load_user_file(name, path)  # the reader's own message for a missing file
        return (*load_table_held_out(Path(path), task, held, columns), None)
    X_train, y_train, X_test, y_test, image_shape = load_arrays(name, path, task, data, **columns)
    X_val, y_val = npz_validation(Path(path), task) if name == "npz" and data is None else (None, None)
    if X_val is not None and held.validation is not None:
        raise DataError(f"{path} holds x_val and y_val, its own validation rows; take out validation: "
                        f"{held.validation}, or the arrays")
    if X_val is not None and X_val.shape[1] != X_train.shape[1]:
        raise DataError(f"{path} train rows have {X_train.shape[1]} features but x_val rows have {X_val.shape[1]}")
    if not isinstance(X_train, pd.DataFrame):  # a table's missing cells are the preprocessing's to fill
        check_finite(name, path, **{key: X for key, X in (("X_train", X_train), ("X_val", X_val),
                                                           ("X_test", X_test)) if X is not None})
    return X_train, y_train, X_val, y_val, X_test, y_test, image_shape


def _preprocessing(X_train, scaling, image_shape, columns):
    """Unfitted steps for the rows: a table's columns each by its kind, else rows flattened and scaled."""
    if isinstance(X_train, pd.DataFrame):
        return Pipeline([(TABLE_STEP, table_preprocessing(X_train, columns.get("categorical", ()), scaling))])
    return make_preprocessing(scaling, image_shape)


def _canonical_name(name):
    """The ``DATASETS`` entry ``name`` means; 'Fashion-MNIST' is 'fashion_mnist'."""
    canonical = str(name).strip().lower().replace("-", "_")
    if canonical not in DATASETS:
        raise DataError(f"unknown dataset {name!r}; known datasets are {', '.join(DATASETS)}")
    return canonical


def _check_task(name, task):
    """Whether splits are stratified: a classification's are, a regression's not.

    The bundled sets have one task each; a user's npz or csv may be either.
    """
    if task not in TASK_NAMES:
        raise DataError(f"unknown task {task!r}; use one of {', '.join(TASK_NAMES)}")
    natural = fixed_task(name)
    if natural not in (None, task):
        raise DataError(f"{name} is a {natural} dataset, not a {task} one; for a {task} give "
                        f"your own file as the npz or csv dataset")
    return task == "classification"
