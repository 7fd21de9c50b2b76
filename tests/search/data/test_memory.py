"""Tests for search.data.memory: a script's rows in memory, read as the table and npz datasets read files."""

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_digits

from search.data import DataError, load_dataset
from search.data.memory import DEFAULT_TARGET, InMemory
from tests.search.test_table import churn_frame


def test_a_frame_is_read_as_the_same_table_in_a_file(tmp_path):
    frame = churn_frame()
    frame.to_csv(tmp_path / "churn.csv", index=False)

    from_file = load_dataset("table", tmp_path / "churn.csv", target="churn")
    in_memory = load_dataset("table", data=InMemory(frame), target="churn")

    assert list(in_memory.X_test_raw) == ["city", "income", "age", "member"]
    assert len(in_memory.y_test) == len(from_file.y_test) == 40  # the same fixed 20%, stratified
    assert sorted(in_memory.y_test) == sorted(from_file.y_test)
    assert in_memory.X_train.shape == from_file.X_train.shape


def test_x_and_y_frames_make_one_table_whose_target_takes_ys_name():
    frame = churn_frame()
    rows = InMemory((frame.drop(columns="churn"), frame["churn"]))
    whole = load_dataset("table", data=InMemory(frame), target="churn")

    assert rows.dataset({"name": "digits", "path": "x.csv", "scaling": "minmax"}) == {
        "name": "table", "scaling": "minmax", "target": "churn"}
    assert load_dataset("table", data=rows, target="churn").fingerprint == whole.fingerprint
    unnamed = InMemory((frame.drop(columns="churn"), frame["churn"].to_numpy()))
    assert unnamed.dataset(None)["target"] == DEFAULT_TARGET


def test_given_test_rows_are_the_test_rows():
    frame = churn_frame(n=240)
    data = load_dataset("table", data=InMemory(frame[:200], frame[200:]), target="churn")

    assert len(data.y_test) == 40 and list(data.y_test) == list(frame["churn"][200:])
    assert len(data.y_train) + len(data.y_val) == 200


def test_image_arrays_keep_their_shape_and_a_flat_test_set_is_taken():
    X, y = load_digits(return_X_y=True)
    images = InMemory((X[:1000].reshape(-1, 8, 8).astype(np.uint8), y[:1000]), (X[1000:], y[1000:]))

    data = load_dataset("npz", data=images, validation_fraction=0.2)

    assert images.name == "npz" and images.dataset("digits") == {"name": "npz"}
    assert data.image_shape == (8, 8) and data.X_train.shape == (800, 64) and len(data.y_test) == len(X) - 1000


@pytest.mark.parametrize("data, test_data, complaint", [
    ([[1, 2]], None, "data must be a pandas DataFrame or a tuple (X, y), got list"),
    ((np.zeros((4, 2)), [0, 1]), None, "data: X has 4 rows and y 2 values"),
    (churn_frame(), (np.zeros((4, 2)), [0, 1, 0, 1]), "both tables (DataFrames) or both arrays"),
    ((np.zeros((4, 2)), [0, 0, 0, 0]), None, "data's target has one class (0)"),
    ((pd.DataFrame({"a": [1, 2], "target": [0, 1]}), [0, 1]), None, "X already has a column 'target'"),
], ids=["not_rows", "rows_disagree", "mixed_forms", "one_class", "target_taken"])
def test_bad_rows_are_one_data_error(data, test_data, complaint):
    with pytest.raises(DataError, match="^[^\n]*$") as error:
        rows = InMemory(data, test_data)
        load_dataset(rows.name, data=rows, **({"target": DEFAULT_TARGET} if rows.is_table else {}))
    assert complaint in str(error.value)


def test_a_frame_without_the_studys_target_names_its_columns():
    with pytest.raises(DataError, match="target: 'label' is not a column of data"):
        load_dataset("table", data=InMemory(churn_frame()), target="label")
