"""A user's csv (or tsv) file: numeric feature columns and a label or target column.

One small module so that the parser can be swapped (issue 24: pandas) without touching the rest.
"""

import csv
import math

import numpy as np

from .checks import DataError, as_labels, as_targets, one_line
from .split import split_off_test

LABEL_COLUMN_NAMES = ("label", "target", "y", "class")


def load_csv(path, task="classification"):
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
    return (*split_off_test(X, y, path, task == "classification"), None)


def _read_csv_lines(path):
    """Non-blank rows of a csv (or .tsv) file as (line number, stripped cells)."""
    delimiter = "\t" if path.suffix.lower() in (".tsv", ".tab") else ","
    try:
        with path.open(newline="", encoding="utf-8-sig") as file:
            reader = csv.reader(file, delimiter=delimiter)
            lines = [(reader.line_num, [cell.strip() for cell in row])
                     for row in reader if any(cell.strip() for cell in row)]
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise DataError(f"cannot read {path} as UTF-8 csv: {one_line(error)}") from error
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
        return np.array(features, dtype=np.float32), as_targets(labels, str(path), [n for n, _ in lines])
    return np.array(features, dtype=np.float32), as_labels(np.array(labels), str(path))


def _parse_feature(cell, path, line_number):
    """One csv feature cell as a float; empty is NaN."""
    try:
        return float(cell) if cell else math.nan
    except ValueError:
        raise DataError(f"{path} line {line_number}: {cell!r} is not a number; features must be "
                        "numeric, with the label last or in a column named "
                        f"{'/'.join(LABEL_COLUMN_NAMES)}") from None
