"""Tests for search.data.formats: a user's file is read by the reader its dataset name registers."""

import numpy as np

from search.data import DATASETS, USER_DATASETS, fixed_task, load_arrays
from search.data import bundled, formats


def test_datasets_are_the_bundled_ones_then_the_user_formats():
    assert DATASETS == ("digits", "diabetes", "penguins", "mnist", "fashion_mnist", "cifar10", "npz", "csv", "table")
    assert DATASETS == (*bundled.BUNDLED, *formats.USER_FORMATS) and USER_DATASETS == ("npz", "csv", "table")
    assert [fixed_task(name) for name in DATASETS] == [
        "classification", "regression", "classification", "classification", "classification", "classification",
        None, None, None]


def test_a_user_file_is_read_by_its_registered_reader(tmp_path, monkeypatch):
    seen = []

    def reader(path, task):
        seen.append((path, task))
        X = np.ones((4, 2), dtype=np.float32)
        return X, np.arange(4), X[:2], np.arange(2), None

    monkeypatch.setitem(formats.USER_FORMATS, "csv", reader)
    (tmp_path / "rows.csv").write_text("not read by the csv reader")
    X_train, *_ = load_arrays("csv", tmp_path / "rows.csv", task="regression")
    assert seen == [(tmp_path / "rows.csv", "regression")] and X_train.shape == (4, 2)
