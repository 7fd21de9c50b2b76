"""Tests for search.data.split: load_dataset's options are checked when made, and splits repeat."""

import numpy as np
import pytest

from search.data import DataError, load_dataset
from search.data.split import SplitOptions, Splitter


def test_an_unknown_option_is_a_one_line_data_error_before_anything_is_read():
    with pytest.raises(DataError) as caught:
        load_dataset("imagenet", validaton_fraction=0.2)  # misspelt, and an unknown dataset too
    assert str(caught.value) == ("unknown dataset option 'validaton_fraction'; use one of validation_fraction, "
                                 "validation_size, subset, test_subset, scaling, random_state")


@pytest.mark.parametrize("options, complaint", [
    ({"subset": True}, "subset must be an integer >= 1, got True"),
    ({"test_subset": 1.5}, "test_subset must be an integer >= 1, got 1.5"),
    ({"validation_size": -1}, "validation_size must be an integer >= 0, got -1"),
    ({"validation_fraction": "0.1"}, "validation_fraction must be in [0, 1), got '0.1'"),
])
def test_options_are_checked_when_made(options, complaint):
    with pytest.raises(DataError) as caught:
        SplitOptions.of(options)
    assert str(caught.value) == complaint


def test_the_validation_count_is_the_size_or_the_fraction_rounded_up():
    assert SplitOptions(validation_fraction=0.1).validation_count(95, "d") == 10
    assert SplitOptions(validation_fraction=0.1, validation_size=7).validation_count(95, "d") == 7
    with pytest.raises(DataError, match="d has 5 training rows, too few to hold out 5"):
        SplitOptions(validation_size=5).validation_count(5, "d")


def test_a_splitter_repeats_its_split_and_falls_back_when_a_class_is_too_small():
    X, y = np.arange(40.0).reshape(20, 2), np.array([0] * 19 + [1])  # class 1 cannot be stratified
    first, again = Splitter(3, "d").validation(X, y, 5), Splitter(3, "d").validation(X, y, 5)
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    assert [len(part) for part in first] == [15, 15, 5, 5]
    assert Splitter(3, "d").sample(X, y, None)[0] is X  # no count: every row


def test_folds_are_stratified_for_classes_plain_for_numbers_and_need_enough_rows():
    y = np.array([0] * 12 + [1] * 6)
    folds = Splitter(0, "d").folds(y, 3)
    assert [np.bincount(y[val]).tolist() for _, val in folds] == [[4, 2]] * 3
    numbers = Splitter(0, "d", stratify=False).folds(np.arange(10.0), 5)
    assert sorted(np.concatenate([val for _, val in numbers]).tolist()) == list(range(10))
    with pytest.raises(DataError, match="class 1 of d has 2 training rows, fewer than the 3 folds"):
        Splitter(0, "d").folds(np.array([0] * 10 + [1] * 2), 3)
    with pytest.raises(DataError, match="d has 4 training rows, too few for 5 folds"):
        Splitter(0, "d", stratify=False).folds(np.arange(4.0), 5)
