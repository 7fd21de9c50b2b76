"""What a user's data is, for ``python -m search run --dataset``: its study's name, dataset key, task and kind.

``--dataset`` is a bundled dataset's name (``digits``, ``mnist``, ``cifar10``, ``penguins``...) or a file:
an ``.npz`` (the npz dataset) or a table (``.csv``, ``.tsv``, ``.parquet``: the table dataset). A table's
target is ``--target``, else its column named as the csv dataset names its label (``label``, ``target``,
``y`` or ``class``), and the columns its preprocessing refuses (dates, free text, ids) are dropped. The rows
are read here by the readers the study will use, so that data that cannot be used is refused before any
file is written.
"""

import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..data import DataError, load_arrays
from ..data.bundled import BUNDLED
from ..data.columns import column_kinds
from ..data.csvfile import LABEL_COLUMN_NAMES
from ..data.table import PARQUET_SUFFIXES, SEPARATORS, read_table

# A file's dataset, by suffix.
FILE_DATASETS = {".npz": "npz", **{suffix: "table" for suffix in (*SEPARATORS, *PARQUET_SUFFIXES)}}
# Images under 16 pixels a side (digits' 8 x 8) are too coarse for the image recipes' distortions and crops.
SMALL_SIDE = 16
KINDS = {"grey": "grey images", "colour": "colour images", "small": "small images", "table": "a table"}


@dataclass(frozen=True)
class DataKind:
    """The data ``--dataset`` names, as a recipe needs to know it.

    Attributes
    ----------
    name : str
        The study's name (and its file's): the bundled dataset's, or the file's stem.
    dataset : dict
        The study file's ``dataset`` key without the recipe's options: ``name``, and a file's ``path``
        (absolute: the study file may live in another folder), a table's ``target`` and ``drop``.
    task : {'classification', 'regression'}
    kind : str
        One of :data:`KINDS`: what the recipe is chosen by.
    n_train : int
        The training rows as read (before the validation rows are held out).
    image_shape : tuple of int or None
    """

    name: str
    dataset: dict
    task: str
    kind: str
    n_train: int
    image_shape: tuple | None = None


def data_kind(source, target=None):
    """The :class:`DataKind` of ``--dataset source`` (and ``--target``); a one-line DataError if unusable."""
    dataset, name, task = _dataset_of(source, target)
    columns = {"target": dataset["target"]} if "target" in dataset else {}
    X_train, _, _, _, image_shape = load_arrays(dataset["name"], dataset.get("path"), task, **columns)
    refused = unusable(X_train) if dataset["name"] == "table" else []  # a bundled table takes no drop
    if refused:
        dataset["drop"] = refused
    return DataKind(name, dataset, task, kind_of(task, image_shape), len(X_train), image_shape)


def kind_of(task, image_shape):
    """The recipe's kind: images by their size and channels; anything else (a regression too) is a table."""
    if task == "regression" or image_shape is None or len(image_shape) not in (2, 3):
        return "table"
    channels = image_shape[2] if len(image_shape) == 3 else 1
    if channels not in (1, 3):  # channels first, say: not images the augmentation can read
        return "table"
    if min(image_shape[:2]) < SMALL_SIDE:
        return "small"
    return "colour" if channels == 3 else "grey"


def _dataset_of(source, target):
    """``(dataset, name, task)`` of ``--dataset source``: a bundled name, else a file by its suffix."""
    canonical = str(source).strip().lower().replace("-", "_")
    if canonical in BUNDLED:
        if target is not None:
            raise DataError(f"--target is for a table file; {canonical} has its own target")
        return {"name": canonical}, canonical, BUNDLED[canonical].task
    path = Path(source)
    kind = FILE_DATASETS.get(path.suffix.lower())
    if kind is None:
        raise DataError(f"unknown dataset {str(source)!r}: give one of {', '.join(BUNDLED)}, or a .npz, .csv, "
                        ".tsv or .parquet file")
    if not path.is_file():
        raise DataError(f"--dataset {source}: no such file")
    dataset = {"name": kind, "path": str(path.resolve())}
    if kind == "npz":
        if target is not None:
            raise DataError(f"--target is for a table file (.csv, .tsv, .parquet); {path.name} holds its own y")
        return dataset, path.stem, task_of(_npz_target(path))
    frame = read_table(path)
    dataset["target"] = target if target is not None else _named_target(frame, path)
    column = frame[dataset["target"]] if dataset["target"] in frame.columns else None  # else: the reader says
    return dataset, path.stem, task_of(column)


def unusable(features):
    """The columns a table's preprocessing refuses (a date, free text, an id), which the written study drops."""
    refused = []
    for name in features.columns:
        try:
            column_kinds(features[[name]])
        except DataError:
            refused.append(name)
    return refused


def _named_target(frame, path):
    """The column named as the csv dataset names its label (label, target, y, class: first found, any case)."""
    names = {str(column).lower(): column for column in frame.columns}
    for label in LABEL_COLUMN_NAMES:
        if label in names:
            return names[label]
    raise DataError(f"{path}: which column is the target? give --target COLUMN (no column is named "
                    f"{', '.join(LABEL_COLUMN_NAMES)})")


def task_of(values):
    """A regression when the target holds numbers that are not all whole; else a classification (labels)."""
    if values is None or not pd.api.types.is_float_dtype(values):
        return "classification"
    numbers = np.asarray(pd.Series(values).dropna(), dtype=np.float64)
    numbers = numbers[np.isfinite(numbers)]
    return "regression" if np.any(numbers != np.round(numbers)) else "classification"


def _npz_target(path):
    """An npz's ``y_train`` (else ``y``), or None when it has neither or is no npz: its reader then says why."""
    try:
        with np.load(path, allow_pickle=False) as npz:
            keys = {key.lower(): key for key in npz.files}
            found = next((keys[key] for key in ("y_train", "y") if key in keys), None)
            return None if found is None else npz[found]
    except (OSError, ValueError, EOFError, zipfile.BadZipFile):
        return None
