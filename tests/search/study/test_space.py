"""Tests for search.study.space: suggesting, labels, narrowing a dimension, grids, estimator arguments."""

import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.trial import FixedTrial

from search.study.space import Categorical, Range, SearchSpace, estimator_params, label, trial_params

LAMBDA = Range(1e-6, 1e-1, log=True)
SLOPE = Range(-1.0, 1.0)
WIDTH = Range(16, 256, log=True, integer=True)
DEPTH = Range(1, 6, integer=True)
LAYERS = Categorical([(1024, 512, 64), (256,), (128, 128)])


# ----------------------------------------------------------------------------
# Suggesting
# ----------------------------------------------------------------------------

def test_float_range_suggests_through_optuna():
    trial = FixedTrial({"lambda": 3e-4, "slope": -0.25})
    assert LAMBDA.suggest(trial, "lambda") == 3e-4
    assert SLOPE.suggest(trial, "slope") == -0.25
    assert trial.distributions["lambda"] == FloatDistribution(1e-6, 1e-1, log=True)
    assert trial.distributions["slope"] == FloatDistribution(-1.0, 1.0)


def test_int_range_suggests_an_int():
    trial = FixedTrial({"width": 64})
    value = WIDTH.suggest(trial, "width")
    assert value == 64 and isinstance(value, int)
    assert trial.distributions["width"] == IntDistribution(16, 256, log=True)


def test_layer_tuples_travel_as_labels_and_come_back_as_tuples():
    assert LAYERS.labels == ["1024-512-64", "256", "128-128"]
    trial = FixedTrial({"hidden_layer_sizes": "1024-512-64"})
    assert LAYERS.suggest(trial, "hidden_layer_sizes") == (1024, 512, 64)
    # Optuna only ever sees the labels
    assert trial.distributions["hidden_layer_sizes"] == CategoricalDistribution(
        ["1024-512-64", "256", "128-128"])
    assert trial.params["hidden_layer_sizes"] == "1024-512-64"


def test_plain_choices_are_their_own_labels():
    norm = Categorical([None, "before", "after"])
    assert norm.labels == [None, "before", "after"]
    assert norm.suggest(FixedTrial({"batch_norm": None}), "batch_norm") is None
    assert norm.suggest(FixedTrial({"batch_norm": "after"}), "batch_norm") == "after"
    assert label((8,)) == "8" and label(0.5) == 0.5


def test_space_suggests_every_dimension_in_order():
    space = SearchSpace({"lambda": LAMBDA, "width": WIDTH, "hidden_layer_sizes": LAYERS})
    values = space.suggest(FixedTrial({"lambda": 1e-3, "width": 32, "hidden_layer_sizes": "256"}))
    assert values == {"lambda": 1e-3, "width": 32, "hidden_layer_sizes": (256,)}
    assert list(values) == ["lambda", "width", "hidden_layer_sizes"]
    assert len(space) == 3


# ----------------------------------------------------------------------------
# Narrowing for the next stage
# ----------------------------------------------------------------------------

def test_log_range_narrows_by_decades_around_best():
    narrowed = LAMBDA.around(1e-3, decades=1.0, fraction=0.25, full=LAMBDA)
    assert narrowed.low == pytest.approx(1e-4) and narrowed.high == pytest.approx(1e-2)
    assert narrowed.log and not narrowed.integer


def test_log_range_is_clipped_to_the_full_range():
    at_bottom = LAMBDA.around(3e-6, decades=1.0, fraction=0.25, full=LAMBDA)
    assert at_bottom.low == 1e-6 and at_bottom.high == pytest.approx(3e-5)
    at_top = LAMBDA.around(5e-2, decades=0.5, fraction=0.125, full=LAMBDA)
    assert at_top.low == pytest.approx(5e-2 / 10**0.5) and at_top.high == 1e-1


def test_linear_range_narrows_by_a_fraction_of_the_full_width():
    narrowed = SLOPE.around(0.0, decades=1.0, fraction=0.25, full=SLOPE)  # half-width 0.25 * 2
    assert (narrowed.low, narrowed.high) == pytest.approx((-0.5, 0.5))
    clipped = SLOPE.around(0.9, decades=1.0, fraction=0.25, full=SLOPE)
    assert (clipped.low, clipped.high) == pytest.approx((0.4, 1.0))


def test_int_ranges_stay_ints_when_narrowed():
    depth = DEPTH.around(3, decades=1.0, fraction=0.25, full=DEPTH)  # 3 +- 1.25, widened to ints
    assert (depth.low, depth.high) == (1, 5)
    width = WIDTH.around(100, decades=0.5, fraction=0.125, full=WIDTH)  # 100 / 10**0.5 = 31.6
    assert (width.low, width.high) == (31, 256)
    for r in (depth, width):
        assert r.integer and isinstance(r.low, int) and isinstance(r.high, int)
    assert width.suggest(FixedTrial({"width": 40}), "width") == 40


def test_categorical_around_is_itself():
    assert LAYERS.around("256", 1.0, 0.25, LAYERS) is LAYERS


# ----------------------------------------------------------------------------
# Grid
# ----------------------------------------------------------------------------

def test_grid_of_choices_and_int_ranges():
    space = SearchSpace({"hidden_layer_sizes": LAYERS, "depth": Range(1, 3, integer=True)})
    assert space.grid() == {"hidden_layer_sizes": ["1024-512-64", "256", "128-128"], "depth": [1, 2, 3]}


def test_grid_refuses_float_ranges():
    with pytest.raises(ValueError, match=r"space\.slope"):
        SearchSpace({"depth": DEPTH, "slope": SLOPE}).grid()


def test_describe():
    assert SearchSpace({"lambda": LAMBDA, "depth": DEPTH, "norm": Categorical([None, "before"])}).describe() == {
        "lambda": "float[1e-06, 0.1] log", "depth": "int[1, 6]", "norm": "{None, before}"}


# ----------------------------------------------------------------------------
# Estimator arguments
# ----------------------------------------------------------------------------

def test_lambda_becomes_alpha_with_an_int_batch_size():
    params = estimator_params({"lambda": 1e-4}, {"batch_size": 64, "solver": "sgd"}, n_train=1000)
    assert params == {"batch_size": 64, "solver": "sgd", "alpha": pytest.approx(2 * 64 * 1e-4)}
    assert "lambda" not in params


@pytest.mark.parametrize("n_train, batch", [(1000, 200), (150, 150)])
def test_lambda_with_auto_batch_size_uses_min_200_n(n_train, batch):
    params = estimator_params({"lambda": 1e-3}, {}, n_train=n_train)
    assert params["alpha"] == pytest.approx(2 * batch * 1e-3)
    params = estimator_params({"lambda": 1e-3}, {"batch_size": "auto"}, n_train=n_train)
    assert params["alpha"] == pytest.approx(2 * batch * 1e-3) and params["batch_size"] == "auto"


def test_lambda_batch_size_larger_than_the_data_is_clipped():
    params = estimator_params({"lambda": 1e-3}, {"batch_size": 512}, n_train=100)
    assert params["alpha"] == pytest.approx(2 * 100 * 1e-3)


def test_fixed_lambda_is_converted_too():
    params = estimator_params({"activation": "tanh"}, {"lambda": 1e-5, "batch_size": 32}, n_train=500)
    assert params == {"activation": "tanh", "batch_size": 32, "alpha": pytest.approx(2 * 32 * 1e-5)}


def test_depth_and_width_become_hidden_layer_sizes():
    params = estimator_params({"depth": 3, "width": 64}, {"solver": "adam"}, n_train=100)
    assert params == {"solver": "adam", "hidden_layer_sizes": (64, 64, 64)}


def test_searched_and_fixed_values_merge_searched_first():
    params = estimator_params({"hidden_layer_sizes": (256,), "learning_rate_init": 0.01},
                              {"learning_rate_init": 0.1, "solver": "sgd"}, n_train=10)
    assert params == {"learning_rate_init": 0.01, "solver": "sgd", "hidden_layer_sizes": (256,)}


def test_augment_entries_join_the_fixed_augment_dict():
    fixed = {"augment": {"flip": True}, "image_shape": (28, 28)}
    params = estimator_params({"augment_shift": 2, "augment_crop_padding": 0}, fixed, n_train=10)
    assert params == {"augment": {"flip": True, "shift": 2, "crop_padding": 0}, "image_shape": (28, 28)}
    assert fixed == {"augment": {"flip": True}, "image_shape": (28, 28)}  # the study's dict is not changed
    assert estimator_params({"augment_flip": False}, {}, n_train=10) == {"augment": {"flip": False}}


def test_trial_params_are_the_estimator_arguments_for_the_studys_epochs_unless_fixed():
    from types import SimpleNamespace

    spec = SimpleNamespace(estimator={"batch_size": 32}, epochs=7)
    assert trial_params({"lambda": 1e-3, "depth": 2, "width": 16}, spec, 500) == {
        "batch_size": 32, "alpha": pytest.approx(0.064), "hidden_layer_sizes": (16, 16), "max_iter": 7}
    spec = SimpleNamespace(estimator={"max_iter": 3}, epochs=7)
    assert trial_params({}, spec, 500) == {"max_iter": 3}
