"""Tests for search.tracking.names: each stored name is defined once, distinct where it could mix, and
the names MLflow gives meaning to are MLflow's own."""

import json
from pathlib import Path
from types import SimpleNamespace

import mlflow
import pytest
from mlflow.utils import mlflow_tags

from estimators import MLPClassifier, MLPRegressor
from search.study.task import TASKS
from search.tracking import mark_experiment, names, ui_link

# Where each name is stored (a name may be stored in several places: FAIL_REASON is a trial's
# attribute and its run's tag). A new name must be placed here, so that these tests check it.
TRIAL_ATTRS = ["FAIL_REASON", "MLFLOW_RUN_ID", "WORKER", "STAGE", "RANGES", "TIMING"]
STUDY_ATTRS = ["STUDY_FILE", "EXPERIMENT_ID", "PARENT_RUN_ID", "DATA_FINGERPRINT", "TIME_PLAN"]
RUN_TAGS = ["STUDY", "PARENT_RUN", "NOTE", "OPTUNA_STATE", "PRUNE_REASON", "CHAMPION_SOURCE",
            "REGISTERED_VERSION", "LAUNCHER_RUN_ID", "STUDY_PARENT_RUN_ID", "STUDY_EXPERIMENT_ID",
            "FAIL_REASON", "WORKER", "STUDY_FILE", "TIME_PLAN", "TIME_SPENT"]
RUN_PARAMS = ["STAGE", "TRIAL_NUMBER", "TIME_BUDGET"]
RUN_METRICS = ["REFIT_EPOCHS", "PLAN_PREFIX", "SPENT_PREFIX"]  # a name, or the prefix of several
EXPERIMENT_TAGS = ["EXPERIMENT_KIND_TAG", "SHARED_VIEW_TAG"]
VALUES = ["MODEL_TRAINING", "VIEW_KEY"]  # values of a tag, or part of one: no namespace of their own
PLACES = {"trial attribute": TRIAL_ATTRS, "study attribute": STUDY_ATTRS, "run tag": RUN_TAGS,
          "run param": RUN_PARAMS, "run metric": RUN_METRICS, "experiment tag": EXPERIMENT_TAGS}


def defined():
    """The module's string constants (MLflow's imported ones aside: they are checked below)."""
    return {key: value for key, value in vars(names).items()
            if key.isupper() and isinstance(value, str) and key not in ("MLFLOW_PARENT_RUN_ID", "MLFLOW_RUN_NOTE")}


def test_every_name_is_placed_so_these_tests_cover_it():
    placed = {key for keys in PLACES.values() for key in keys} | set(VALUES)
    assert set(defined()) == placed


@pytest.mark.parametrize("place", PLACES)
def test_no_two_names_stored_in_one_place_share_a_value(place):
    values = [getattr(names, key) for key in PLACES[place]]
    assert len(set(values)) == len(values), sorted(v for v in values if values.count(v) > 1)


def test_only_mlflow_s_own_names_are_in_its_reserved_mlflow_namespace():
    reserved = {key: value for key, value in defined().items() if value.startswith("mlflow.")}
    assert reserved == {"PARENT_RUN": "mlflow.parentRunId", "NOTE": "mlflow.note.content",
                        "EXPERIMENT_KIND_TAG": "mlflow.experimentKind",
                        "SHARED_VIEW_TAG": "mlflow.sharedViewState."}
    assert names.PARENT_RUN == mlflow_tags.MLFLOW_PARENT_RUN_ID
    assert names.NOTE == mlflow_tags.MLFLOW_RUN_NOTE


def test_the_ui_tags_are_the_ones_mlflow_s_ui_reads():
    bundle = Path(mlflow.__file__).parent / "server" / "js" / "build" / "static" / "js"
    scripts = sorted(bundle.glob("main.*.js")) if bundle.is_dir() else []
    if not scripts:
        pytest.skip("this MLflow has no UI bundle (mlflow-skinny)")
    text = scripts[0].read_text(encoding="utf-8", errors="replace")
    for value in (names.EXPERIMENT_KIND_TAG, names.SHARED_VIEW_TAG, names.MODEL_TRAINING, "viewStateShareKey"):
        assert f'"{value}"' in text, value


@pytest.mark.parametrize("cls", [MLPClassifier, MLPRegressor])
def test_the_run_params_of_the_service_are_no_estimator_parameter(cls):
    """One vocabulary: an estimator's argument is its MLflow param, so the service's own must differ."""
    assert not {getattr(names, key) for key in RUN_PARAMS} & set(cls().get_params())


class TagRecorder:
    """The two calls ``mark_experiment`` makes of an MlflowClient."""

    def __init__(self):
        self.tags = {}

    def get_experiment(self, experiment):
        return type("Experiment", (), {"tags": dict(self.tags)})()

    def set_experiment_tag(self, experiment, key, value):
        self.tags[key] = value


def test_the_ui_view_shows_and_groups_by_the_names_trial_runs_are_logged_with():
    client = TagRecorder()
    spec = SimpleNamespace(metric="val_accuracy", direction="maximize", space=[("activation", None), ("alpha", None)])
    mark_experiment(client, "7", spec, TASKS["classification"])
    assert client.tags[names.EXPERIMENT_KIND_TAG] == names.MODEL_TRAINING
    view = json.loads(client.tags[names.SHARED_VIEW_TAG + names.VIEW_KEY])
    assert f"tags.`{names.OPTUNA_STATE}`" in view["selectedColumns"]
    assert f"params.`{names.STAGE}`" in view["selectedColumns"]
    assert view["groupBy"]["groupByKeys"] == [{"mode": "param", "groupByData": names.STAGE}]
    assert ui_link("http://host:5000", "7").endswith(f"viewStateShareKey={names.VIEW_KEY}")
