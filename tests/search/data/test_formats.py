"""Tests for search.data.formats: a user's file is read by the reader its dataset name registers."""

import numpy as np
import pytest

from search.data import DATASETS, USER_DATASETS, DataError, fixed_task, load_arrays, load_dataset
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


def npz(path, **extra):
    rng = np.random.default_rng(0)
    np.savez(path, x_train=rng.random((40, 3)), y_train=np.arange(40) % 2, x_test=rng.random((10, 3)),
             y_test=np.arange(10) % 2, **extra)
    return path


def test_an_npz_with_x_val_and_y_val_validates_on_them(tmp_path):
    x_val = np.random.default_rng(1).random((12, 3))
    data = load_dataset("npz", npz(tmp_path / "d.npz", x_val=x_val, y_val=np.arange(12) % 2), scaling="none")

    assert (len(data.y_train), len(data.y_val), len(data.y_test)) == (40, 12, 10)
    np.testing.assert_allclose(data.X_val, x_val.astype(np.float32))


@pytest.mark.parametrize("extra, options, expect", [
    ({"x_val": np.ones((12, 3))}, {}, "holds x_val without y_val"),
    ({"x_val": np.ones((12, 4)), "y_val": np.arange(12) % 2}, {}, "train rows have 3 features but x_val rows have 4"),
    ({"x_val": np.ones((12, 3)), "y_val": np.arange(12) % 2}, {"validation": {"folds": 3}}, "holds x_val and y_val"),
])
def test_an_npz_validation_that_cannot_be_used_is_refused(tmp_path, extra, options, expect):
    with pytest.raises(DataError, match=expect):
        load_dataset("npz", npz(tmp_path / "d.npz", **extra), **options)
