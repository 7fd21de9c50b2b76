"""What read arrays must be: numeric feature rows, labels or targets, and splits that agree.

Every problem is a :class:`DataError` whose message is one line saying how to fix it.
"""

import math

import numpy as np


class DataError(ValueError):
    """A dataset could not be found, read or used; the message says how to fix it."""


def one_line(error):
    """An exception as one short line, for embedding in a DataError message."""
    text = " ".join(str(error).split()) or type(error).__name__
    return text if len(text) <= 200 else text[:197] + "..."


def image_rows(x, image_shape, where):
    """Images as float32 rows in height, width, channel order.

    Accepts ``(N, *image_shape)`` and ``(N, prod(image_shape))``; for colour
    images also channel-major ``(N, C, H, W)``. Flat colour rows are taken as
    channel-major, the layout of CIFAR-10's own batches.
    """
    x = numeric(x, where)
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


def feature_rows(x, where):
    """Any numeric array of at least 2 dimensions as float32 rows."""
    x = numeric(x, where)
    if x.ndim < 2:
        raise DataError(f"{where} has shape {x.shape}; features need one row per sample")
    return x.reshape(len(x), -1).astype(np.float32)


def numeric(x, where):
    """``x`` as an array, rejecting non-numeric dtypes."""
    x = np.asarray(x)
    if not (np.issubdtype(x.dtype, np.number) or x.dtype == bool):
        raise DataError(f"{where} has dtype {x.dtype}; features must be numeric")
    return x


def as_labels(y, where):
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
    numbers = np.array([finite_or_nan(cell) for cell in text])
    if np.all(np.isfinite(numbers)) and np.any(numbers != np.round(numbers)):  # a csv's '151.25'
        return as_labels(numbers, where)  # refused as float labels are
    return text


def as_targets(y, where, line_numbers=None):
    """Regression targets as a 1-D float64 array; one line naming the first value that is not a finite number.

    ``y`` as read (numbers, or a csv's text cells; then ``line_numbers`` say where each came from).
    """
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:  # a column vector, as some exporters write
        y = y[:, 0]
    if y.ndim != 1:
        raise DataError(f"{where} has shape {y.shape}; targets need one value per sample")
    as_float = np.array([finite_or_nan(value) for value in y.ravel()]).reshape(y.shape)
    bad = np.flatnonzero(~np.isfinite(as_float))
    if len(bad):
        at = f" line {line_numbers[bad[0]]}" if line_numbers else f" row {bad[0]}"
        raise DataError(f"{where}{at}: target {y[bad[0]].item()!r} is not a finite number; a regression "
                        "target must be numeric (for class labels leave task as classification)")
    return as_float


def finite_or_nan(value):
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def check_shapes(name, X_train, y_train, X_test, y_test):
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


def check_finite(name, path, **arrays):
    """Fail when any feature is NaN or infinite, counting the rows per split."""
    bad_rows = {split: int(np.count_nonzero(~np.isfinite(X).all(axis=1)))
                for split, X in arrays.items()}
    if any(bad_rows.values()):
        counts = ", ".join(f"{count} in {split}" for split, count in bad_rows.items() if count)
        source = f" ({path})" if path is not None else ""
        raise DataError(f"{name}{source} has rows with NaN or inf features: {counts}; fill or "
                        "drop them before loading")


def check_classes(name, y_train, y_val, y_test):
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
