"""A script's own rows, given in memory (``search.run_study(study, data, test_data)``), read as files are.

A DataFrame is read as the ``table`` dataset reads its file (the study's
``dataset.target`` names the column to predict; the same column checks and
the same preprocessing by column kind); ``(X, y)`` with X a DataFrame is the
same table with y as its target; ``(X, y)`` with X an array is read as the
``npz`` dataset reads its ``X`` and ``y`` (images keep their shape). Without
``test_data``, a fixed (for classes, stratified) 20% is held out for testing,
as for a file without test rows.
"""

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .checks import DataError, as_labels, as_targets, feature_rows
from .formats import image_shape_of
from .split import split_off_test
from .table import TableColumns, check_two_classes, table_rows

DEFAULT_TARGET = "target"  # the target column's name when neither the study nor a named y gives one


@dataclass(frozen=True, eq=False)
class InMemory:
    """Training rows (and optionally test rows) a script holds.

    Attributes
    ----------
    data : pandas.DataFrame or tuple
        A table with its target column, or ``(X, y)``.
    test_data : pandas.DataFrame or tuple, default None
        Test rows of the same form; None: 20% of ``data`` held out.
    """

    data: object
    test_data: object = None

    def __post_init__(self):
        for argument, value in (("data", self.data), ("test_data", self.test_data)):
            if value is None and argument == "test_data":
                continue
            if not isinstance(value, pd.DataFrame) and not (isinstance(value, tuple) and len(value) == 2):
                raise DataError(f"{argument} must be a pandas DataFrame or a tuple (X, y), got "
                                f"{type(value).__name__}")
        if self.test_data is not None and self.is_table != _is_table(self.test_data):
            raise DataError("data and test_data must be of one form: both tables (DataFrames) or both arrays")

    @property
    def is_table(self):
        return _is_table(self.data)

    @property
    def name(self):
        """The dataset it is read as: ``table`` or ``npz``."""
        return "table" if self.is_table else "npz"

    def dataset(self, raw):
        """The study's ``dataset`` mapping with these rows in place of its file: its options kept, its name the
        form these rows take, its path gone; a target named for ``(X, y)`` tables."""
        dataset = {"name": raw} if isinstance(raw, str) else dict(raw or {})
        dataset.pop("path", None)
        dataset["name"] = self.name
        if self.is_table and isinstance(self.data, tuple) and "target" not in dataset:
            dataset["target"] = getattr(self.data[1], "name", None) or DEFAULT_TARGET
        return dataset

    def read(self, task="classification", **columns):
        """``X_train, y_train, X_test, y_test, image_shape`` as ``load_arrays`` returns a file's."""
        read = _table if self.is_table else _arrays
        X, y, shape = read(self.data, "data", task, columns)
        check_two_classes(y, task, "data's target")
        if self.test_data is None:
            return (*split_off_test(X, y, "data", task == "classification"), shape)
        X_test, y_test, _ = read(self.test_data, "test_data", task, columns)
        return X, y, X_test, y_test, shape


def _is_table(value):
    return isinstance(value, pd.DataFrame) or isinstance(value[0], pd.DataFrame)


def _table(value, where, task, columns):
    """A table's features (a DataFrame) and target values; ``(X, y)`` joined into one table first."""
    if isinstance(value, tuple):
        X, y = value
        target = columns.get("target") or DEFAULT_TARGET
        if target in X.columns:
            raise DataError(f"{where}: X already has a column {target!r}, the target's name; rename it")
        if len(X) != len(y):
            raise DataError(f"{where}: X has {len(X)} rows and y {len(y)} values")
        value = X.reset_index(drop=True).assign(**{target: pd.Series(y).reset_index(drop=True)})
    # training=False: a test set may lack a category or a class; read() checks the training rows' classes
    X, y, _ = table_rows(value, where, task, TableColumns.of(columns), training=False)
    return X, y, None


def _arrays(value, where, task, _columns):  # as _table is called; only a table has named columns
    """Numeric feature rows (images flattened, their shape kept) and labels or targets."""
    X, y = value
    rows = feature_rows(X, f"{where} X")
    targets = as_targets(y, f"{where} y") if task == "regression" else as_labels(y, f"{where} y")
    if len(rows) != len(targets):
        raise DataError(f"{where}: X has {len(rows)} rows and y {len(targets)} values")
    return rows, targets, image_shape_of(np.asarray(X))
