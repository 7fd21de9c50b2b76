"""Validation and test rows a study chooses itself: a file of their own, a column that marks them, or K folds.

``dataset.validation`` is ``{path: FILE}``, ``{column: NAME}`` or ``{folds: K}``; ``dataset.test`` is
``{path: FILE}``, ``{column: NAME}`` or ``{fraction: F}``. Files and columns are the table dataset's; folds
work on any dataset; an npz's ``x_val`` and ``y_val`` are its validation rows whenever it holds them
(:func:`search.data.formats.npz_validation`).

A validation or test file has the training file's feature columns and target, by name, in any order; a
column that marks rows holds, in every row, ``train``, ``validation`` or ``test`` (any case), or true and
false (booleans, 1 and 0, or the words) for the one set it names, and is never a feature.
"""

import numbers
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from .checks import DataError
from .split import USER_TEST_FRACTION, split_off_test
from .table import TableColumns, read_table, table_rows

FORMS = {"validation": ("path", "column", "folds"), "test": ("path", "column", "fraction")}
SPLIT_WORDS = ("train", "validation", "test")
TRUTH = {"true": True, "false": False, "1": True, "0": False}
VALIDATION_SHARES = ("validation_fraction", "validation_size")  # a validation split at random


def check_form(key, value, dataset):
    """``value`` of ``dataset.<key>`` (``validation`` or ``test``) as ``{form: setting}``, checked.

    Raises
    ------
    DataError
        Its message does not name ``key``: the study-file checker and :meth:`HeldOut.of` each put it in front.
    """
    forms = FORMS[key]
    if not isinstance(value, dict) or len(value) != 1 or next(iter(value)) not in forms:
        shown = " or ".join(f"{{{form}: ...}}" for form in forms)
        raise DataError(f"must be one of {shown}, got {value!r}")
    ((form, setting),) = value.items()
    if form in ("path", "column"):
        if not isinstance(setting, str) or not setting.strip():
            raise DataError(f"{form} must be a {'file' if form == 'path' else 'column'} name, got {setting!r}")
        if dataset != "table":
            raise DataError(f"{{{form}: ...}} is for the table dataset; the {dataset} dataset takes "
                            f"{'{folds: K}' if key == 'validation' else 'no test option'}")
    elif form == "folds":
        if isinstance(setting, bool) or not isinstance(setting, numbers.Integral) or setting < 2:
            raise DataError(f"folds must be an integer >= 2, got {setting!r}")
    else:
        if isinstance(setting, bool) or not isinstance(setting, numbers.Real) or not 0 < setting < 1:
            raise DataError(f"fraction must be a number in (0, 1), got {setting!r}")
        if dataset != "table":
            raise DataError(f"the {dataset} dataset takes no test option")
    return {form: setting}


@dataclass(frozen=True)
class HeldOut:
    """Where a study's validation and test rows come from, when it says: ``{form: setting}`` or None each."""

    validation: dict = None
    test: dict = None

    @classmethod
    def of(cls, held, dataset, given=()):
        """The ``validation`` and ``test`` options in ``held``, checked; ``given``: the other options' names.

        A validation set of one's own leaves nothing for ``validation_fraction`` or ``validation_size``.
        """
        checked = {}
        for key, value in held.items():
            try:
                checked[key] = None if value is None else check_form(key, value, dataset)
            except DataError as error:
                raise DataError(f"{key}: {error}") from None
        shares = [share for share in VALIDATION_SHARES if share in given]
        if checked.get("validation") is not None and shares:
            raise DataError(f"validation: give validation or {shares[0]}, not both")
        return cls(**checked)

    @property
    def folds(self):
        """K of ``validation: {folds: K}``; None for any other validation."""
        return (self.validation or {}).get("folds")

    def setting(self, key, form):
        """The setting of ``key``'s form when it is ``form``, else None."""
        return (getattr(self, key) or {}).get(form)

    @property
    def reads_table(self):
        """Whether the table's own reading must change: a file, a column or a test fraction is named."""
        return any(self.setting(key, form) is not None for key in FORMS for form in ("path", "column", "fraction"))


def load_table_held_out(path, task, held, columns):
    """A table's training, validation and test rows, as ``held`` says to find them.

    Parameters
    ----------
    path : Path
        The training file (``dataset.path``).
    task : {'classification', 'regression'}
    held : HeldOut
    columns : dict
        The fields of :class:`search.data.table.TableColumns`.

    Returns
    -------
    X_train, y_train, X_val, y_val, X_test, y_test
        ``X_val`` and ``y_val`` are None when the validation rows are still to be held out (at random or as folds).
    """
    table = without_marks(TableColumns.of(columns), held, path)
    frame = read_table(path)
    marks = marked_rows(frame, held, path)
    X, y, kept = table_rows(frame, path, task, table)
    sets = {key: mask[kept] for key, mask in marks.items()}
    if "validation" in sets and "test" in sets and np.any(sets["validation"] & sets["test"]):
        raise DataError(f"a row of {path} is marked both validation and test; mark each row once")
    chosen = {key: (X[mask].reset_index(drop=True), y[mask]) for key, mask in sets.items()}
    rest = ~np.any(list(sets.values()), axis=0) if sets else np.ones(len(y), dtype=bool)
    for key, mask in {**sets, "train": rest}.items():
        if not mask.any():
            raise DataError(f"no row of {path} with a target is marked {key}; mark some, or split at random")
    X, y = X[rest].reset_index(drop=True), y[rest]
    for key in FORMS:
        if held.setting(key, "path") is not None:
            chosen[key] = other_file(key, Path(held.setting(key, "path")), (path, frame), task, replace(
                table, features=tuple(X.columns), drop=()))
    if "test" not in chosen:
        fraction = held.setting("test", "fraction") or USER_TEST_FRACTION
        X, y, X_test, y_test = split_off_test(X, y, path, task == "classification", fraction)
        chosen["test"] = X_test, y_test
    return (X, y, *chosen.get("validation", (None, None)), *chosen["test"])


def without_marks(table, held, path):
    """The columns with each column that marks rows dropped from the features: it says where a row goes."""
    for key in FORMS:
        column = held.setting(key, "column")
        if column is None:
            continue
        if table.features is not None and column in table.features:
            raise DataError(f"{key}.column {column!r} of {path} is in features; the column that marks rows is "
                            "not a feature")
        if table.features is None and column not in table.drop:
            table = replace(table, drop=(*table.drop, column))
        if column == table.target:
            raise DataError(f"{key}.column {column!r} of {path} is the target; name the column that marks rows")
    return table


def marked_rows(frame, held, path):
    """``{'validation': mask, 'test': mask}`` of the rows each column names, one per set drawn from a column."""
    masks = {}
    for key in FORMS:
        column = held.setting(key, "column")
        if column is None:
            continue
        if column not in frame.columns:
            raise DataError(f"{key}.column {column!r} is not a column of {path} (columns: "
                            f"{', '.join(map(str, frame.columns))})")
        masks[key] = marks_of(frame[column], key, held, path)
    return masks


def marks_of(cells, key, held, path):
    """Which rows ``cells`` put in the ``key`` set: true, 1 or the word ``key``; every cell one of those words."""
    where = f"{key}.column {cells.name!r} of {path}"
    empty = np.flatnonzero(cells.isna().to_numpy())
    if len(empty):
        raise DataError(f"{where} is empty at line {empty[0] + 2}; mark every row "
                        f"({', '.join(SPLIT_WORDS)}, or true and false)")
    words = cells.astype(str).str.strip().str.lower()
    if pd.api.types.is_bool_dtype(cells) or set(words) <= set(TRUTH):
        return words.map(TRUTH).to_numpy(dtype=bool)
    unknown = sorted(set(words) - set(SPLIT_WORDS))
    if unknown:
        raise DataError(f"{where} holds {unknown[0]!r}; mark each row {', '.join(SPLIT_WORDS)}, or true and false")
    for other in FORMS:
        if other != key and other in set(words) and held.setting(other, "column") != cells.name:
            raise DataError(f"{where} marks {int((words == other).sum())} rows {other}; add {other}: "
                            f"{{column: {cells.name}}}, or mark them train")
    return (words == key).to_numpy()


def other_file(key, path, training, task, table):
    """``X, y`` of the ``key`` set's file (validation or test), its columns checked against the training file's.

    ``training`` is the training file's path and frame, as read; ``table`` names its features and target.
    """
    if not path.is_file():
        raise DataError(f"{key}.path {str(path)!r} is not a file; give its path from the folder the study runs in, "
                        "as for dataset.path")
    frame = read_table(path)
    same_columns(frame, training, path, table)
    X, y, _ = table_rows(frame, path, task, table, training=False)
    return X, y


def same_columns(frame, training, path, table):
    """One line naming the first column that ``path`` lacks or adds, or whose kind (numbers, text) differs."""
    train_path, train_frame = training
    missing = [name for name in (*table.features, table.target) if name not in frame.columns]
    if missing:
        raise DataError(f"{path} lacks column {missing[0]!r}, which {train_path} has")
    extra = [name for name in frame.columns if name not in train_frame.columns]
    if extra:
        raise DataError(f"{path} has column {extra[0]!r}, which {train_path} lacks; give both files the same "
                        "columns")
    for name in table.features:
        kinds = [_kind(column[name]) for column in (train_frame, frame)]
        if None not in kinds and kinds[0] != kinds[1]:
            raise DataError(f"column {name!r} holds {kinds[1]} in {path} but {kinds[0]} in {train_path}")


def _kind(column):
    """'numbers' or 'text' (strings, booleans, categories); None for a column without a value."""
    if column.isna().all():
        return None
    numeric = pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column)
    return "numbers" if numeric else "text"
