"""Tests for search.study.file: study files are read safely, checked, and refused in one line."""

from pathlib import Path

import pytest
import yaml

from search.data import TASK_NAMES
from search.study.space import Categorical, Range
from search.study.stages import DEFAULT_NARROWING
from search.study.file import StudyFileError, load_study
from search.study.task import TASKS

QUICKSTART = Path(__file__).resolve().parents[3] / "studies" / "quickstart.yaml"


def write(tmp_path, text, name="study.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def refused(path, **kwargs):
    """The StudyFileError message for ``path``, checked to be one line that starts with the file."""
    with pytest.raises(StudyFileError) as caught:
        load_study(path, **kwargs)
    message = str(caught.value)
    assert "\n" not in message and message.strip() == message, message
    assert message.startswith(f"{path}: "), message
    return message


# ----------------------------------------------------------------------------
# Files that load
# ----------------------------------------------------------------------------

def test_quickstart_loads():
    spec = load_study(QUICKSTART)
    assert spec.name == "quickstart"
    assert spec.dataset == {"name": "digits", "validation_fraction": 0.2, "scaling": "standard"}
    assert spec.estimator == {"solver": "sgd", "momentum": 0.9, "batch_size": 64}
    assert list(spec.space.dimensions) == ["learning_rate_init", "activation", "slope", "batch_norm",
                                           "lambda", "width", "depth"]
    dims = spec.space.dimensions
    assert dims["lambda"] == Range(1e-6, 1e-1, log=True, integer=False)
    assert dims["width"] == Range(16, 256, log=True, integer=True)
    assert dims["depth"] == Range(1, 3, log=False, integer=True)
    assert dims["slope"] == Range(-1.0, 1.0, log=False, integer=False)
    assert dims["batch_norm"] == Categorical([None, "before", "after"])
    assert (spec.metric, spec.direction, spec.epochs, spec.repeats, spec.seeds) == (
        "val_accuracy", "maximize", 30, 2, [0, 1])
    assert spec.sampler == {"name": "tpe", "seed": 0}
    assert spec.pruner == {"name": "median"}
    assert [s.n_trials for s in spec.stages] == [24, 12] and spec.n_trials == 36
    assert (spec.stages[1].decades, spec.stages[1].fraction) == DEFAULT_NARROWING[0]
    assert spec.register == {"name": "quickstart", "alias": "champion"}
    assert spec.text == QUICKSTART.read_text()


def test_minimal_file_gets_the_defaults(tmp_path):
    spec = load_study(write(tmp_path, "space:\n  activation: {choices: [relu, tanh]}\n", "mini.yaml"))
    assert spec.name == "mini"  # the file's stem
    assert spec.dataset == {"name": "digits"}
    assert spec.sampler == {"name": "tpe"} and spec.pruner == {"name": "median"}
    assert spec.n_trials == 20 and len(spec.stages) == 1
    assert (spec.metric, spec.direction) == ("val_accuracy", "maximize")
    assert (spec.epochs, spec.repeats, spec.seeds, spec.timeout) == (20, 1, [0], None)
    assert spec.register == {"name": "mini", "alias": "champion"}
    assert spec.space.dimensions == {"activation": Categorical(["relu", "tanh"])}
    assert spec.baselines is True


def test_baselines_can_be_turned_off_and_stay_on_in_the_quick_form(tmp_path):
    assert load_study(write(tmp_path, "baselines: false\n")).baselines is False
    assert load_study(write(tmp_path, "n_trials: 3\n"), quick=True).baselines is True


def test_a_time_budget_is_seconds_from_the_file_or_the_command_line_and_the_quick_form_has_none(tmp_path):
    assert load_study(write(tmp_path, "n_trials: 3\n")).time_budget is None
    spec = load_study(write(tmp_path, "budget: {time: 15m}\nstages: [{sampler: random}, {decades: 0.5}]\n"))
    assert spec.time_budget == 900.0 and [stage.n_trials for stage in spec.stages] == [1, 1]  # the plan counts
    spec = load_study(write(tmp_path, "budget: {time: 15m}\n"), time_budget=20)
    assert spec.time_budget == 20.0
    assert yaml.safe_load(spec.text)["budget"] == {"time": 20}, "workers rebuild the study from its text"
    assert load_study(QUICKSTART, time_budget=30).time_budget == 30.0  # its trial counts are the plan's then
    assert load_study(write(tmp_path, "budget: {time: 90}\n"), quick=True).time_budget is None


def test_val_loss_is_minimized_by_default(tmp_path):
    spec = load_study(write(tmp_path, "objective: val_loss\n"))
    assert (spec.metric, spec.direction) == ("val_loss", "minimize")


def test_text_and_overrides(tmp_path):
    spec = load_study(path="<study s>", text="name: s\nn_trials: 3\n", overrides={"n_trials": 7})
    assert spec.name == "s" and spec.n_trials == 7
    assert yaml.safe_load(spec.text)["n_trials"] == 7, "workers rebuild the study from its text"
    assert load_study(path="<study s>", text="name: s\nn_trials: 3\n").text == "name: s\nn_trials: 3\n"


def test_the_quick_form_is_a_small_study_of_its_own(tmp_path):
    text = ("name: big\nepochs: 50\nrepeats: 5\nseeds: [1, 2, 3, 4, 5]\nregister: true\ntimeout: 600\n"
            "dataset: {name: digits, validation_size: 300}\nstages: [{n_trials: 20}, {n_trials: 10}]\n")
    spec = load_study(write(tmp_path, text), quick=True)
    assert spec.name == "big_quick" and spec.epochs == 2 and spec.repeats == 2 and spec.seeds == [1, 2]
    assert [stage.n_trials for stage in spec.stages] == [1, 1] and spec.timeout is None and spec.register is None
    assert spec.dataset["subset"] == 600 and "validation_size" not in spec.dataset
    assert load_study(path="<study s>", text=spec.text).name == "big_quick"
    unstaged = load_study(write(tmp_path, "name: few\nn_trials: 1\nepochs: 1\n"), quick=True)
    assert unstaged.n_trials == 1 and unstaged.epochs == 1
    assert spec.artifacts == {"evaluate": False}  # MLflow's evaluation of the champion takes seconds
    kept = load_study(write(tmp_path, "artifacts: {trial_plots: false}\n"), quick=True).artifacts
    assert kept == {"trial_plots": False, "evaluate": False}
    assert load_study(write(tmp_path, "n_trials: 3\n")).artifacts == {}  # evaluated unless said otherwise


def test_yaml_11_exponent_strings_are_numbers(tmp_path):
    text = ("estimator: {lambda: 1e-5, learning_rate_init: 1e-3, cyclic_bounds: [1e-5, 1e-1]}\n"
            "dataset: {name: digits, validation_fraction: 2e-1}\n"
            "space:\n"
            "  momentum: {choices: [0.9, 5e-1]}\n"
            "  tol: {low: 1e-6, high: 1e-2, log: true}\n")
    raw = yaml.safe_load(text)
    assert raw["estimator"]["lambda"] == "1e-5"  # the quirk this guards against
    spec = load_study(write(tmp_path, text))
    assert spec.estimator["lambda"] == pytest.approx(1e-5) and isinstance(spec.estimator["lambda"], float)
    assert spec.estimator["learning_rate_init"] == pytest.approx(1e-3)
    assert spec.estimator["cyclic_bounds"] == pytest.approx((1e-5, 1e-1))
    assert spec.dataset["validation_fraction"] == pytest.approx(0.2)
    assert spec.space.dimensions["tol"] == Range(1e-6, 1e-2, log=True, integer=False)
    assert spec.space.dimensions["momentum"] == Categorical([0.9, 0.5])


def test_lambda_in_space_is_a_float_log_range(tmp_path):
    spec = load_study(write(tmp_path, "space:\n  lambda: {low: 1e-6, high: 1e-2, log: true}\n"))
    assert spec.space.dimensions["lambda"] == Range(1e-6, 1e-2, log=True, integer=False)


def test_lambda_with_int_bounds_stays_float(tmp_path):
    spec = load_study(write(tmp_path, "space:\n  lambda: {low: 0, high: 1}\n"))
    assert spec.space.dimensions["lambda"].integer is False


def test_lambda_under_estimator(tmp_path):
    spec = load_study(write(tmp_path, "estimator: {lambda: 0.001, batch_size: 32}\n"))
    assert spec.estimator == {"lambda": 0.001, "batch_size": 32}


def test_depth_and_width_or_fixed_layers(tmp_path):
    spec = load_study(write(tmp_path, "space:\n  depth: {low: 1, high: 3}\n  width: {low: 8, high: 64}\n"))
    assert spec.space.dimensions["depth"] == Range(1, 3, integer=True)
    assert spec.space.dimensions["width"] == Range(8, 64, integer=True)
    # width alone is fine when hidden_layer_sizes is fixed
    load_study(write(tmp_path, "estimator: {hidden_layer_sizes: [32]}\nspace:\n  width: {low: 8, high: 64}\n"))


def test_augmentation_fixed_and_searched(tmp_path):
    text = ("estimator: {augment: {flip: true}, image_shape: [32, 32, 3]}\n"
            "space:\n  augment_shift: {low: 0, high: 2}\n  augment_crop_padding: {choices: [0, 4]}\n")
    spec = load_study(write(tmp_path, text))
    assert spec.estimator == {"augment": {"flip": True}, "image_shape": (32, 32, 3)}
    assert spec.space.dimensions == {"augment_shift": Range(0, 2, integer=True),
                                     "augment_crop_padding": Categorical([0, 4])}


def test_layer_size_choices_become_tuples(tmp_path):
    spec = load_study(write(tmp_path, "space:\n  hidden_layer_sizes: {choices: [[64, 32], [128]]}\n"))
    assert spec.space.dimensions["hidden_layer_sizes"].choices == ((64, 32), (128,))


def test_seeds_one_per_repeat(tmp_path):
    assert load_study(write(tmp_path, "repeats: 3\n")).seeds == [0, 1, 2]
    assert load_study(write(tmp_path, "repeats: 2\nseeds: [7, 11]\n")).seeds == [7, 11]
    path = write(tmp_path, "repeats: 3\nseeds: [7, 11]\n")
    assert "seeds" in refused(path)


@pytest.mark.parametrize("value, expected", [
    ("true", {"name": "r", "alias": "champion"}),
    ("false", None),
    ("{name: model, alias: best}", {"name": "model", "alias": "best"}),
    ("{alias: staging}", {"name": "r", "alias": "staging"}),
])
def test_register(tmp_path, value, expected):
    assert load_study(write(tmp_path, f"name: r\nregister: {value}\n")).register == expected


def test_sampler_and_pruner_with_options(tmp_path):
    spec = load_study(write(tmp_path, "sampler: {name: random, seed: 3}\npruner: {name: hyperband}\n"))
    assert spec.sampler == {"name": "random", "seed": 3} and spec.pruner == {"name": "hyperband"}
    assert load_study(write(tmp_path, "pruner: null\n")).pruner == {"name": "none"}


# ----------------------------------------------------------------------------
# Files that are refused: one line, the file first, then the key
# ----------------------------------------------------------------------------

ERRORS = [
    ("unknown_top_key", "bogus: 1\n", "bogus: unknown key"),
    ("unknown_dataset_key", "dataset: {name: digits, bogus: 1}\n", "dataset.bogus"),
    ("unknown_estimator_param", "estimator: {nope: 1}\n", "estimator.nope"),
    ("low_above_high", "space:\n  learning_rate_init: {low: 0.1, high: 0.01}\n",
     "space.learning_rate_init: low 0.1 is above high 0.01"),
    ("empty_choices", "space:\n  activation: {choices: []}\n", "space.activation.choices"),
    ("unknown_activation_in_choices", "space:\n  activation: {choices: [relu, swishy]}\n",
     "space.activation: "),
    ("unknown_activation_in_estimator", "estimator: {activation: swishy}\n", "estimator.activation: "),
    ("unknown_sampler", "sampler: cmaes\n", "sampler: unknown sampler 'cmaes'"),
    ("unknown_stage_sampler", "stages:\n  - {n_trials: 2, sampler: cmaes}\n", "stages[0].sampler"),
    ("unknown_pruner", "pruner: {name: asha}\n", "pruner: unknown pruner 'asha'"),
    ("unknown_dataset", "dataset: imagenet\n", "dataset.name: unknown dataset 'imagenet'"),
    ("negative_epochs", "epochs: -3\n", "epochs: must be an integer >= 1"),
    ("epochs_not_a_number", "epochs: ten\n", "epochs: "),
    ("log_range_low_zero", "space:\n  learning_rate_init: {low: 0, high: 0.1, log: true}\n",
     "space.learning_rate_init.low: a log range needs low > 0"),
    ("depth_without_width", "space:\n  depth: {low: 1, high: 3}\n", "space.width"),
    ("width_without_depth", "space:\n  width: {low: 8, high: 64}\n", "space.depth"),
    ("lambda_and_alpha_estimator", "estimator: {lambda: 1e-5, alpha: 0.001}\n", "estimator.lambda"),
    ("lambda_and_alpha_space", "space:\n  lambda: {low: 1e-6, high: 1e-3, log: true}\n"
     "  alpha: {low: 1e-5, high: 1e-2, log: true}\n", "space.lambda"),
    ("fixed_and_searched", "estimator: {activation: relu}\nspace:\n  activation: {choices: [relu, tanh]}\n",
     "space.activation: is also fixed"),
    ("unknown_space_param", "space:\n  colour: {choices: [red]}\n", "space.colour"),
    ("range_without_high", "space:\n  slope: {low: 0}\n", "space.slope.high"),
    ("later_stage_zero_narrowing", "stages:\n  - n_trials: 2\n  - {n_trials: 2, decades: 0}\n", "stages[1]"),
    ("lambda_not_a_number", "estimator: {lambda: tiny}\n", "estimator.lambda"),
    ("bad_cyclic_bounds", "estimator: {cyclic_bounds: [1e-1, 1e-5]}\n", "estimator.cyclic_bounds"),
    ("validation_fraction_one", "dataset: {name: digits, validation_fraction: 1}\n",
     "dataset.validation_fraction"),
    ("target_on_csv", "dataset: {name: csv, path: a.csv, target: y}\n",
     "dataset.target: only the table dataset takes target, features, drop, categorical"),
    ("table_without_target", "dataset: {name: table, path: a.csv}\n", "dataset.target: the table dataset needs"),
    ("table_target_a_list", "dataset: {name: table, path: a.csv, target: [a, b]}\n", "dataset.target: "),
    ("table_features_and_drop", "dataset: {name: table, path: a.csv, target: y, features: [a], drop: [b]}\n",
     "dataset.features: give features or drop, not both"),
    ("table_categorical_a_string", "dataset: {name: table, path: a.csv, target: y, categorical: zip}\n",
     "dataset.categorical: must be a list of column names, got 'zip'"),
    ("table_drop_numbers", "dataset: {name: table, path: a.csv, target: y, drop: [1]}\n",
     "dataset.drop: must be a list of column names"),
    ("validation_one_fold", "dataset: {name: digits, validation: {folds: 1}}\n",
     "dataset.validation: folds must be an integer >= 2, got 1"),
    ("validation_file_of_digits", "dataset: {name: digits, validation: {path: v.csv}}\n",
     "dataset.validation: {path: ...} is for the table dataset"),
    ("validation_and_its_fraction", "dataset: {name: digits, validation: {folds: 3}, validation_fraction: 0.2}\n",
     "dataset.validation: give validation or validation_fraction, not both"),
    ("test_folds", "dataset: {name: table, path: a.csv, target: y, test: {folds: 3}}\n",
     "dataset.test: must be one of {path: ...} or {column: ...} or {fraction: ...}"),
    ("register_string", "register: yes please\n", "register"),
    ("baselines_not_a_bool", "baselines: 'no'\n", "baselines: must be true or false, got 'no'"),
    ("register_unknown_key", "register: {stage: prod}\n", "register.stage"),
    ("timeout_negative", "timeout: -5\n", "timeout"),
    ("budget_a_string", "budget: 15m\n", "budget: must be a mapping, got '15m'"),
    ("budget_unknown_key", "budget: {trials: 3}\n", "budget.trials: unknown key (expected one of time)"),
    ("budget_without_time", "budget: {}\n", "budget.time: must be seconds (a number) or a duration"),
    ("budget_negative", "budget: {time: -20}\n", "budget.time: must be a time above 0, got -20"),
    ("budget_zero", "budget: {time: 0}\n", "budget.time: must be a time above 0, got 0"),
    ("budget_unknown_unit", "budget: {time: 2 days}\n", "budget.time: must be seconds (a number) or a duration "
     "such as 90s, 15m or 1h, got '2 days'"),
    ("budget_three_stages", "budget: {time: 60}\nstages: [{n_trials: 1}, {n_trials: 1}, {n_trials: 1}]\n",
     "stages: a time budget runs two stages (coarse, then fine), got 3"),
    ("budget_and_max_iter", "budget: {time: 60}\nestimator: {max_iter: 5}\n",
     "estimator.max_iter: a time budget plans each trial's epochs"),
    ("objective_unknown_metric", "objective: f1\n", "objective.metric"),
    ("invalid_yaml", "space: [1, 2\nepochs: 3\n", "not valid YAML at line 2"),
    ("not_a_mapping", "- epochs: 3\n- n_trials: 2\n", "a study file is a mapping of keys, got list"),
    ("a_scalar", "just some words\n", "a study file is a mapping of keys, got str"),
    ("python_object_tag", "name: !!python/object/apply:os.getcwd []\n", "python/object"),
    ("augment_unknown_key", "estimator: {augment: {rotate: 10}}\n", "estimator.augment: "),
    ("augment_negative_shift", "estimator: {augment: {shift: -2}}\n", "estimator.augment: "),
    ("image_shape_one_number", "estimator: {image_shape: [784]}\n", "estimator.image_shape: "),
    ("augment_shift_float_range", "space:\n  augment_shift: {low: 0, high: 2.5}\n",
     "space.augment_shift: The 'augment' parameter of MLPClassifier ['shift'] must be an int"),
    ("augment_flip_choices", "space:\n  augment_flip: {choices: [true, maybe]}\n", "space.augment_flip: "),
    ("augment_elastic_negative", "space:\n  augment_elastic: {low: -1.0, high: 30.0}\n",
     "space.augment_elastic: The 'augment' parameter of MLPClassifier ['elastic'] must be a number >= 0"),
    ("augment_fixed_and_searched", "estimator: {augment: {shift: 1}}\nspace:\n  augment_shift: {choices: [0, 2]}\n",
     "space.augment_shift: is also fixed"),
]


@pytest.mark.parametrize("text, key", [case[1:] for case in ERRORS], ids=[case[0] for case in ERRORS])
def test_error_is_one_line_naming_file_and_key(tmp_path, text, key):
    message = refused(write(tmp_path, text))
    assert key in message


def test_missing_file(tmp_path):
    message = refused(tmp_path / "nowhere.yaml")
    assert "cannot read" in message


def test_nothing_in_a_study_file_runs_as_code(tmp_path):
    marker = tmp_path / "pwned"
    text = f"name: !!python/object/apply:pathlib.Path.touch [!!python/object/apply:pathlib.Path ['{marker}']]\n"
    with pytest.raises(yaml.YAMLError):
        yaml.safe_load(text)  # what load_study relies on
    message = refused(write(tmp_path, text))
    assert "python/object/apply" in message
    assert not marker.exists()


@pytest.mark.parametrize("text, key", [("epochs: many\n", "epochs"), ("stages: 3\n", "stages"),
                                       ("dataset: [digits]\n", "dataset")])
def test_the_quick_form_of_a_bad_file_names_the_bad_key(tmp_path, text, key):
    with pytest.raises(StudyFileError, match=key):
        load_study(write(tmp_path, text), quick=True)


def test_a_table_study_keeps_its_columns_and_may_be_either_task(tmp_path):
    text = ("dataset: {name: table, path: a.parquet, target: churn, drop: [id], categorical: [zip]}\n"
            "task: regression\n")
    spec = load_study(write(tmp_path, text))
    assert spec.task == "regression"
    assert {key: spec.dataset[key] for key in ("target", "drop", "categorical")} == {
        "target": "churn", "drop": ["id"], "categorical": ["zip"]}


def test_a_study_names_its_own_validation_and_test_rows_and_its_quick_form_keeps_them(tmp_path):
    text = ("dataset: {name: table, path: a.csv, target: churn, validation: {column: split}, "
            "test: {path: t.csv}}\n")
    spec = load_study(write(tmp_path, text), quick=True)
    assert (spec.dataset["validation"], spec.dataset["test"]) == ({"column": "split"}, {"path": "t.csv"})
    assert "validation_fraction" not in spec.dataset
    spec = load_study(write(tmp_path, "dataset: {name: digits, validation: {folds: 3}}\n"))
    assert spec.dataset["validation"] == {"folds": 3}


def test_every_task_a_study_file_may_name_is_one_the_data_layer_reads():
    # The study file checks the task against TASKS; the data layer, which knows no study, by name.
    assert set(TASKS) <= set(TASK_NAMES)

