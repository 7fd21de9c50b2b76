"""A user's csv (or tsv) file of numbers (the ``csv`` dataset): numeric feature columns and a label or target column.

pandas reads the cells; this module finds the header and the label column
and says which line holds what it cannot use. A table with text columns or
missing values is the ``table`` dataset's (:mod:`search.data.table`).
"""

import re

import numpy as np
import pandas as pd

from .checks import DataError, as_labels, as_targets, one_line
from .split import split_off_test

LABEL_COLUMN_NAMES = ("label", "target", "y", "class")


def load_csv(path, task="classification"):
    """Read numeric features and a label column from a csv file.

    The label is the last column, or with a header row the column named
    label, target, y or class. Empty feature cells become NaN, which
    ``load_dataset`` then reports.
    """
    cells, lines = _read_cells(path)
    header = _header_of(cells)
    if header is not None:
        cells, lines = cells.iloc[1:], lines[1:]
    if not len(cells):
        raise DataError(f"{path} has no data rows; put one sample per line, label last")
    label_column = _label_column(header, cells.shape[1])
    if cells.shape[1] < 2:
        raise DataError(f"{path} has one column; put features first and the label last")
    labels = cells.iloc[:, label_column]
    features = cells.drop(columns=cells.columns[label_column])
    empty_label = np.flatnonzero(labels.to_numpy() == "")
    if len(empty_label):
        raise DataError(f"{path} line {lines[empty_label[0]]} has an empty label")
    X = _numbers(features, lines, path)
    if task == "regression":
        return (*split_off_test(X, as_targets(labels.to_numpy(dtype=str), str(path), lines), path, False), None)
    return (*split_off_test(X, as_labels(labels.to_numpy(dtype=str), str(path)), path, True), None)


def _read_cells(path):
    """Every non-blank row's cells as stripped strings, and each row's line number.

    A row shorter than the first is refused here; pandas refuses a longer one. The python engine: the C
    engine fills a missing field with '' as if the cell were empty.
    """
    delimiter = "\t" if path.suffix.lower() in (".tsv", ".tab") else ","
    try:
        cells = pd.read_csv(path, sep=delimiter, header=None, dtype=str, keep_default_na=False,
                            skip_blank_lines=False, encoding="utf-8-sig", engine="python")
    except pd.errors.EmptyDataError:
        raise DataError(f"{path} is empty; put one sample per line, numeric features, label last") from None
    except (OSError, UnicodeDecodeError, pd.errors.ParserError) as error:
        longer = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(error))
        if longer:
            expected, line, seen = longer.groups()
            raise DataError(f"{path} line {line} has {seen} fields, expected {expected} like the first row") from None
        raise DataError(f"cannot read {path} as UTF-8 csv: {one_line(error)}") from error
    lines = np.arange(1, len(cells) + 1)  # blank lines are kept as rows, so row i is line i + 1
    short = cells.isna().to_numpy()
    cells = cells.fillna("").apply(lambda column: column.str.strip())
    blank = (cells == "").all(axis=1).to_numpy()
    cells, lines, short = cells[~blank], lines[~blank], short[~blank]
    if not len(cells):
        raise DataError(f"{path} is empty; put one sample per line, numeric features, label last")
    ragged = np.flatnonzero(short.any(axis=1))
    if len(ragged):
        row = ragged[0]
        raise DataError(f"{path} line {lines[row]} has {int((~short[row]).sum())} fields, expected "
                        f"{cells.shape[1]} like the first row")
    return cells, list(lines)


def _header_of(cells):
    """The first row's cells if they are column names, else None.

    A header is a row with text where the next row has a number; a first row
    of data with string labels is text where the next row has text too.
    """
    if len(cells) < 2:
        return None
    is_number = _is_number(cells.iloc[:2])
    if (~is_number.iloc[0] & is_number.iloc[1]).any():
        return list(cells.iloc[0])
    return None


def _is_number(cells):
    """Which cells read as numbers; empty cells count, as missing numbers."""
    return cells.apply(lambda column: pd.to_numeric(column.replace("", "nan"), errors="coerce").notna()
                       | column.str.lower().isin(["nan", ""]))


def _label_column(header, n_columns):
    """Index of the label column: a named one in the header, else the last."""
    names = [name.lower() for name in header or ()]
    for label_name in LABEL_COLUMN_NAMES:
        if label_name in names:
            return names.index(label_name)
    return n_columns - 1


def _numbers(features, lines, path):
    """The feature cells as float32; an empty cell is NaN; one line naming the first cell that is no number."""
    bad = ~_is_number(features).to_numpy()
    if bad.any():
        row, column = np.argwhere(bad)[0]
        raise DataError(f"{path} line {lines[row]}: {features.iloc[row, column]!r} is not a number; features must "
                        "be numeric, with the label last or in a column named "
                        f"{'/'.join(LABEL_COLUMN_NAMES)} (for text columns use the table dataset)")
    # every cell is a number or empty ('nan' is one): coercing only makes the empty ones NaN
    return features.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=np.float32)
