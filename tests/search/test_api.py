"""Tests for search.api: ``search.run_study``, the command line's path called from Python."""

import mlflow
import numpy as np
import pytest
import yaml
from mlflow.tracking import MlflowClient
from palmerpenguins import load_penguins

import search
from search import DataError, OptionError, StudyFileError, StudyResult, run_study
from tests.conftest import tiny_study_text


def penguins_study(**keys):
    """A tiny penguins study whose rows come from the script: the table's target named, no file."""
    study = yaml.safe_load(tiny_study_text("penguins_api", **keys))
    study["dataset"] = {"target": "species", "validation_fraction": 0.25}
    study["estimator"]["hidden_layer_sizes"] = [8]
    return study


def test_run_study_and_its_result_and_errors_are_the_packages():
    assert set(search.__all__) >= {"run_study", "StudyResult", "OptionError", "DataError", "StudyFileError"}
    assert all(issubclass(error, ValueError) for error in (OptionError, DataError, StudyFileError))
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        search.nothing


def test_an_unknown_keyword_is_a_type_error_as_python_gives(workdir):
    with pytest.raises(TypeError, match=r"^run_study\(\) got an unexpected keyword argument 'trials'$"):
        run_study(penguins_study(), load_penguins(), trials=3)
    assert list(workdir.iterdir()) == []


@pytest.mark.parametrize("options, complaint", [
    ({"n_trials": -1}, "n_trials must be a positive integer (or 0 or None for no limit), got -1"),
    ({"n_trials": 2.5}, "n_trials must be a positive integer"),
    ({"timeout": float("nan")}, "timeout must be a positive number of seconds"),
    ({"workers": 0}, "workers must be a positive integer, got 0"),
    ({"storage": 3}, "storage must be a URL string, got int"),
    ({"quick": "yes"}, "quick must be True or False, got 'yes'"),
    ({"workers": 2}, "workers=2: rows in memory reach no other process; use workers=1"),
], ids=["negative_trials", "fractional_trials", "nan_timeout", "no_workers", "storage_not_text", "quick_not_bool",
        "workers_with_rows"])
def test_a_bad_option_is_one_line_before_anything_is_written(workdir, options, complaint):
    with pytest.raises(OptionError, match="^[^\n]*$") as error:
        run_study(penguins_study(), load_penguins(), **options)
    assert complaint in str(error.value)
    assert list(workdir.iterdir()) == []


def test_test_rows_without_rows_are_refused(workdir):
    with pytest.raises(OptionError, match="test_data is given without data"):
        run_study(penguins_study(), test_data=load_penguins())


def test_a_bad_study_dict_or_rows_fail_as_the_command_line_does(workdir):
    with pytest.raises(StudyFileError, match=r"^<study dict>: epochs: must be an integer >= 1"):
        run_study(penguins_study(epochs=0), load_penguins())
    with pytest.raises(DataError, match="target: 'species' is not a column of data"):
        run_study(penguins_study(), load_penguins().drop(columns="species"))
    with pytest.raises(StudyFileError, match="dataset.target: only the table dataset takes"):
        run_study(penguins_study(), (np.zeros((10, 2)), np.arange(10) % 2))  # arrays have no columns to name
    assert list(workdir.iterdir()) == []


@pytest.mark.slow
def test_a_study_on_a_frame_in_memory_runs_resumes_and_refuses_other_rows(workdir):
    frame = load_penguins()
    options = {"storage": f"journal:{workdir}/optuna.journal", "tracking_uri": f"sqlite:///{workdir}/mlflow.db"}

    result = run_study(penguins_study(), frame, quick=True, **options)

    assert isinstance(result, StudyResult) and result.study_name == "penguins_api_quick"
    assert result.model_uri.startswith("models:/") and result.best_trial in (0, 1)
    assert set(result.best_params) == {"activation", "lambda"} and result.best_value > 0.5
    assert 0 <= result.test_scores["test_accuracy"] <= 1
    assert set(result.baseline_scores) == {"dummy", "linear", "hist_gradient_boosting"}
    mlflow.set_tracking_uri(options["tracking_uri"])
    rows = frame.drop(columns="species")[:5]
    assert set(mlflow.pyfunc.load_model(result.model_uri).predict(rows)) <= {"Adelie", "Chinstrap", "Gentoo"}

    again = run_study(penguins_study(), frame, quick=True, **options)  # the study is finished: nothing to run
    assert (again.best_trial, again.best_value) == (result.best_trial, result.best_value)
    client = MlflowClient(options["tracking_uri"])
    experiment = client.get_experiment_by_name("penguins_api_quick").experiment_id
    parents = len(client.search_runs([experiment], "tags.study = 'penguins_api_quick'"))
    with pytest.raises(DataError, match="study penguins_api_quick was run on other data .fingerprint"):
        run_study(penguins_study(), frame[10:], quick=True, **options)
    assert len(client.search_runs([experiment], "tags.study = 'penguins_api_quick'")) == parents
