"""Tests for search.data.heldout: a study's own validation and test rows (a file, a marking column) and K folds,
on small tables written here; an npz's x_val and y_val are test_formats'."""

import numpy as np
import pandas as pd
import pytest

from search.data import DataError, load_dataset
from search.data.heldout import HeldOut, check_form


def customers(n, seed=0):
    """A table with a text column, a numeric one and a yes/no target."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"city": rng.choice(["paris", "lyon", "nice"], n), "income": rng.normal(50, 10, n).round(1),
                         "churn": np.array(["yes", "no"])[np.arange(n) % 2]})


def write(tmp_path, name, frame):
    frame.to_csv(tmp_path / name, index=False)
    return str(tmp_path / name)


def table(tmp_path, frame=None, **options):
    path = write(tmp_path, "train.csv", customers(100) if frame is None else frame)
    return load_dataset("table", path, target="churn", **options)


# ---------------------------------------------------------------- files

def test_validation_and_test_files_are_the_validation_and_test_rows(tmp_path):
    validation, test = customers(30, seed=1), customers(20, seed=2)
    data = table(tmp_path, validation={"path": write(tmp_path, "val.csv", validation)},
                 test={"path": write(tmp_path, "test.csv", test[["churn", "income", "city"]])})  # any column order

    assert (len(data.y_train), len(data.y_val), len(data.y_test)) == (100, 30, 20)  # every training row trains
    assert list(data.y_val) == list(validation["churn"]) and list(data.y_test) == list(test["churn"])
    assert list(data.X_test_raw) == ["city", "income"]  # the training file's feature order
    assert data.X_val.shape == (30, data.X_train.shape[1]) and not data.folds


def test_a_validation_file_alone_leaves_the_test_rows_a_stratified_fifth_of_the_training_file(tmp_path):
    data = table(tmp_path, validation={"path": write(tmp_path, "val.csv", customers(30, seed=1))})

    assert (len(data.y_train), len(data.y_val), len(data.y_test)) == (80, 30, 20)
    assert sorted(np.unique(data.y_test, return_counts=True)[1]) == [10, 10]


@pytest.mark.parametrize("change, expect", [
    (lambda frame: frame.drop(columns="income"), "val.csv lacks column 'income', which "),
    (lambda frame: frame.drop(columns="churn"), "val.csv lacks column 'churn'"),
    (lambda frame: frame.rename(columns={"city": "town"}), "val.csv lacks column 'city'"),
    (lambda frame: frame.assign(zip=1), "val.csv has column 'zip', which "),
    (lambda frame: frame.assign(income="high"), "column 'income' holds text in "),
])
def test_a_validation_file_with_other_columns_is_refused_naming_the_column_and_the_file(tmp_path, change, expect):
    path = write(tmp_path, "val.csv", change(customers(30, seed=1)))
    with pytest.raises(DataError, match=expect) as caught:
        table(tmp_path, validation={"path": path})
    assert "train.csv" in str(caught.value) and "\n" not in str(caught.value)


def test_a_column_the_training_file_drops_may_be_missing_from_the_validation_file(tmp_path):
    frame = customers(100).assign(customer_id=[f"c{i}" for i in range(100)])
    data = table(tmp_path, frame, drop=["customer_id"], validation={"path": write(tmp_path, "val.csv", customers(9))})
    assert len(data.y_val) == 9 and list(data.X_test_raw) == ["city", "income"]


def test_a_validation_file_that_is_not_there_is_named(tmp_path):
    with pytest.raises(DataError, match="validation.path '.*nowhere.csv' is not a file"):
        table(tmp_path, validation={"path": str(tmp_path / "nowhere.csv")})


# ---------------------------------------------------------------- a column that marks rows

def test_a_column_of_words_marks_validation_and_test_rows_and_is_not_a_feature(tmp_path):
    frame = customers(100).assign(split=["train"] * 60 + [" Validation"] * 24 + ["TEST"] * 16)
    data = table(tmp_path, frame, validation={"column": "split"}, test={"column": "split"})

    assert (len(data.y_train), len(data.y_val), len(data.y_test)) == (60, 24, 16)
    assert list(data.X_val_raw) == ["city", "income"]
    np.testing.assert_array_equal(data.X_test_raw["income"], frame["income"][84:])


@pytest.mark.parametrize("marks", [[True] * 20 + [False] * 80, [1] * 20 + [0] * 80, ["true"] * 20 + ["False"] * 80])
def test_a_column_of_booleans_marks_the_one_set_it_names(tmp_path, marks):
    data = table(tmp_path, customers(100).assign(is_val=marks), validation={"column": "is_val"})

    assert (len(data.y_train), len(data.y_val), len(data.y_test)) == (64, 20, 16)  # test: a fifth of the rest
    assert "is_val" not in data.X_test_raw


@pytest.mark.parametrize("marks, options, expect", [
    (["train", "validation", "later"] * 33 + ["train"], {},
     "holds 'later'; mark each row train, validation, test, or true"),
    (["train", "validation", None] * 33 + ["train"], {}, "is empty at line 4; mark every row"),
    (["train", "validation", "test"] * 33 + ["train"], {}, "marks 33 rows test; add test: {column: split}"),
    (["train", "validation"] * 50, {"features": ["city", "split"]}, "'split' of .*train.csv is in features"),
])
def test_a_marking_column_must_mark_every_row_with_a_known_word(tmp_path, marks, options, expect):
    with pytest.raises(DataError, match=expect):
        table(tmp_path, customers(100).assign(split=marks), validation={"column": "split"}, **options)


def test_a_row_marked_twice_and_a_column_that_is_not_there_are_refused(tmp_path):
    frame = customers(100).assign(a=[True] * 10 + [False] * 90, b=[True] * 5 + [False] * 95)
    with pytest.raises(DataError, match="marked both validation and test"):
        table(tmp_path, frame, validation={"column": "a"}, test={"column": "b"})
    with pytest.raises(DataError, match="validation.column 'split' is not a column of"):
        table(tmp_path, validation={"column": "split"})


@pytest.mark.parametrize("marks, expect", [([False] * 100, "is marked validation"), ([True] * 100, "is marked train")])
def test_a_marking_column_must_leave_rows_in_each_set(tmp_path, marks, expect):
    with pytest.raises(DataError, match=f"no row of .*train.csv with a target {expect}"):
        table(tmp_path, customers(100).assign(split=marks), validation={"column": "split"})


def test_the_test_fraction_is_the_share_held_out_for_test(tmp_path):
    data = table(tmp_path, test={"fraction": 0.3}, validation_fraction=0.25)
    assert (len(data.y_train), len(data.y_val), len(data.y_test)) == (52, 18, 30)


# ---------------------------------------------------------------- folds

def test_folds_leave_no_validation_rows_and_cover_every_training_row_once(tmp_path):
    data = table(tmp_path, validation={"folds": 3})

    assert len(data.y_val) == 0 and len(data.y_train) == 80 and len(data.folds) == 3
    validated = np.concatenate([val for _, val in data.folds])
    np.testing.assert_array_equal(np.sort(validated), np.arange(80))
    for train, val in data.folds:
        assert not np.intersect1d(train, val).size
        assert abs(np.mean(data.y_train[val] == "yes") - 0.5) < 0.1  # stratified
    fold = data.fold(1)
    train, val = data.folds[1]
    np.testing.assert_array_equal(fold.X_val, data.X_train[val])
    np.testing.assert_array_equal(fold.y_train, data.y_train[train])
    assert fold.X_val_raw.equals(data.X_train_raw.iloc[val]) and not fold.folds


def test_folds_of_a_regression_are_plain_kfold_and_repeat(tmp_path):
    first = load_dataset("diabetes", task="regression", validation={"folds": 4})
    again = load_dataset("diabetes", task="regression", validation={"folds": 4})
    assert len(first.folds) == 4 and sum(len(val) for _, val in first.folds) == len(first.y_train)
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(first.folds, again.folds))


def test_folds_need_every_class_in_every_fold(tmp_path):
    frame = customers(100).assign(churn=["maybe"] * 2 + ["yes", "no"] * 49)
    with pytest.raises(DataError, match=r"class 'maybe' of table has [12] training rows, fewer than the 3 folds"):
        table(tmp_path, frame, validation={"folds": 3})


# ---------------------------------------------------------------- the options

@pytest.mark.parametrize("key, value, dataset, expect", [
    ("validation", {"folds": 1}, "digits", "folds must be an integer >= 2, got 1"),
    ("validation", {"folds": True}, "digits", "folds must be an integer >= 2"),
    ("validation", {"path": "v.csv"}, "digits", "{path: ...} is for the table dataset; the digits dataset takes"),
    ("validation", {"fraction": 0.2}, "table", "must be one of {path: ...} or {column: ...} or {folds: ...}"),
    ("validation", "v.csv", "table", "must be one of"),
    ("test", {"folds": 3}, "table", "must be one of {path: ...} or {column: ...} or {fraction: ...}"),
    ("test", {"fraction": 1.0}, "table", "fraction must be a number in (0, 1)"),
    ("test", {"fraction": 0.3}, "npz", "the npz dataset takes no test option"),
    ("test", {"column": ""}, "table", "column must be a column name"),
])
def test_each_form_is_checked(key, value, dataset, expect):
    with pytest.raises(DataError) as caught:
        check_form(key, value, dataset)
    assert expect in str(caught.value)


def test_a_validation_of_ones_own_leaves_no_room_for_a_validation_share():
    with pytest.raises(DataError, match="validation: give validation or validation_size, not both"):
        load_dataset("digits", validation={"folds": 3}, validation_size=10)
    assert HeldOut.of({"validation": {"folds": 3}}, "digits", ("scaling",)).folds == 3
    assert HeldOut().folds is None and not HeldOut().reads_table
