"""A user's table (the ``table`` dataset): a .csv, .tsv or .parquet file read by pandas, with a named target.

``dataset: {name: table, path: FILE, target: COLUMN}``, optionally with
``features: [...]`` or ``drop: [...]``, and ``categorical: [...]`` for
integer-coded categories. The features stay a DataFrame, as the user has
them: :func:`search.data.columns.table_preprocessing` turns them into the
numbers the trials train on, inside the champion.
"""

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .checks import DataError, as_labels, as_targets, one_line
from .split import split_off_test

SEPARATORS = {".csv": ",", ".txt": ",", ".tsv": "\t", ".tab": "\t"}
PARQUET_SUFFIXES = (".parquet", ".pq")
TABLE_OPTIONS = ("target", "features", "drop", "categorical")


@dataclass(frozen=True)
class TableColumns:
    """Which columns of a table are the target and the features.

    Attributes
    ----------
    target : str
    features : tuple of str or None
        The feature columns; None: every column but the target and ``drop``.
    drop : tuple of str
    categorical : tuple of str
        Numeric feature columns that are codes of categories.
    """

    target: str = None
    features: tuple = None
    drop: tuple = ()
    categorical: tuple = ()

    @classmethod
    def of(cls, columns):
        """The columns from the dataset's keyword arguments (lists as tuples)."""
        return cls(**{key: tuple(value) if isinstance(value, list) else value for key, value in columns.items()})

    def select(self, frame, path):
        """``X, y`` of ``frame``: the feature columns and the target, each named column checked."""
        if self.target is None:
            raise DataError(f"the table dataset needs target: the column to predict ({path})")
        for key, names in (("target", [self.target]), ("features", self.features or ()), ("drop", self.drop),
                           ("categorical", self.categorical)):
            missing = [name for name in names if name not in frame.columns]
            if missing:
                raise DataError(f"{key}: {missing[0]!r} is not a column of {path} (columns: "
                                f"{', '.join(map(str, frame.columns))})")
        features = list(self.features) if self.features is not None else [
            name for name in frame.columns if name != self.target and name not in self.drop]
        if self.target in features:
            raise DataError(f"target {self.target!r} of {path} is also a feature; take it out of features")
        absent = [name for name in self.categorical if name not in features]
        if absent:
            raise DataError(f"categorical: {absent[0]!r} of {path} is not a feature (it is dropped or the target)")
        return frame[features], frame[self.target]


def read_table(path):
    """The whole file as a DataFrame: Parquet by pyarrow, else csv or tsv (by suffix)."""
    suffix = path.suffix.lower()
    try:
        if suffix in PARQUET_SUFFIXES:
            return pd.read_parquet(path)
        if suffix not in SEPARATORS:
            raise DataError(f"{path} is not a .csv, .tsv or .parquet file; give the table one of those suffixes")
        return pd.read_csv(path, sep=SEPARATORS[suffix], encoding="utf-8-sig", skipinitialspace=True)
    except DataError:
        raise
    except Exception as error:  # pandas and pyarrow raise many kinds; each is one line here
        kind = "Parquet" if suffix in PARQUET_SUFFIXES else "a UTF-8 table"
        raise DataError(f"cannot read {path} as {kind}: {one_line(error)}") from error


def load_table(path, task="classification", **columns):
    """Read a table and split off a (stratified) test set.

    Parameters
    ----------
    path : Path
    task : {'classification', 'regression'}
        A regression needs a numeric target; a classification takes strings,
        booleans, categories or integers as labels, as they are.
    **columns :
        The fields of :class:`TableColumns`.

    Returns
    -------
    X_train, y_train, X_test, y_test, None
        Features as DataFrames; labels or targets as arrays.
    """
    X, y, _ = table_rows(read_table(path), path, task, TableColumns.of(columns))
    return (*split_off_test(X, y, path, task == "classification"), None)


def table_rows(frame, where, task, columns, training=True):
    """``X, y, kept`` of a read table (a file's, or a script's DataFrame): its features, its target's values
    and which of the frame's rows they are; ``where`` names the rows in messages (the file).

    A row without a target teaches nothing and is left out. The training rows' columns must have a value
    somewhere and their target two classes; a validation or test file's (``training=False``) need not.
    """
    X, y = columns.select(frame, where)
    kept = y.notna().to_numpy()
    X, y = X[kept].reset_index(drop=True), y[kept].reset_index(drop=True)
    if not len(y):
        raise DataError(f"target column {y.name!r} of {where} is empty in every row")
    empty = [name for name in X.columns if X[name].isna().all()]
    if empty and training:
        raise DataError(f"column {empty[0]!r} of {where} is empty in every row; drop it with dataset.drop: "
                        f"[{empty[0]}]")
    y = target_values(y, task, where)
    if training:
        check_two_classes(y, task, f"target column {columns.target!r} of {where}")
    return X, y, kept


def check_two_classes(labels, task, where):
    """A classification's training labels hold at least two classes."""
    if task == "classification" and len(np.unique(labels)) < 2:
        raise DataError(f"{where} has one class ({labels[0].item()!r}); a classifier needs at least 2")


def target_values(y, task, path):
    """The target column as labels (kept as they are) or as float64 numbers for a regression."""
    where = f"target column {y.name!r} of {path}"
    if task == "regression":
        if not pd.api.types.is_numeric_dtype(y) or pd.api.types.is_bool_dtype(y):
            raise DataError(f"{where} is not numeric ({y.dtype}); a regression needs numbers "
                            "(for class labels leave task as classification)")
        return as_targets(y.to_numpy(dtype=np.float64), where)
    if pd.api.types.is_bool_dtype(y):
        labels = y.to_numpy(dtype=bool)
    elif pd.api.types.is_numeric_dtype(y):
        labels = as_labels(y.to_numpy(), where)
    else:
        labels = y.astype(str).to_numpy(dtype=object).astype(str)  # strings and categories, as they are
    return labels
