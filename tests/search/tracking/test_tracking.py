"""Tests for search.tracking: which MLflow database a process writes to."""

import pytest

from search import tracking


@pytest.mark.parametrize("given, expected", [
    ("sqlite:///mlflow.db", "sqlite:///{cwd}/mlflow.db"),
    ("sqlite:///runs/m.db?timeout=30", "sqlite:///{cwd}/runs/m.db?timeout=30"),
    ("sqlite:////data/m.db", "sqlite:////data/m.db"),
    ("sqlite:///:memory:", "sqlite:///:memory:"),
    ("http://127.0.0.1:5000", "http://127.0.0.1:5000"),
    ("postgresql://u:pw@db/mlflow", "postgresql://u:pw@db/mlflow"),
])
def test_resolve_uri_makes_only_relative_sqlite_paths_absolute(given, expected, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert tracking.resolve_uri(given) == expected.format(cwd=tmp_path)


def test_resolve_uri_defaults_to_the_environment_then_the_working_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert tracking.resolve_uri() == f"sqlite:///{tmp_path}/mlflow.db"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://tracking:5000")
    assert tracking.resolve_uri() == "http://tracking:5000"


def test_each_working_folder_gets_its_own_database_in_one_process(tmp_path, monkeypatch):
    # MLflow caches an engine per URI string: with the relative default, the
    # second folder's client used to read and write the first folder's file.
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir(), second.mkdir()
    monkeypatch.chdir(first)
    tracking.connect(None).create_experiment("only-in-first")
    monkeypatch.chdir(second)
    names = [e.name for e in tracking.connect(None).search_experiments()]
    assert "only-in-first" not in names
    assert (second / "mlflow.db").exists()


class RefusingClient:
    """An MLflow client whose server has gone."""

    calls = 0

    def create_run(self, *args, **kwargs):
        self.calls += 1
        raise ConnectionError("Connection refused\nsecond line")

    log_batch = create_run


@pytest.mark.parametrize("write, message", [
    (lambda client: tracking.start_trial_run(client, "1", "parent", 7, {}),
     "could not create the MLflow run of trial 7: Connection refused"),
    (lambda client: tracking.log_batch(client, "abc", tags=[]), "could not log to MLflow run abc: Connection refused"),
])
def test_a_refused_write_is_retried_then_raised_as_a_tracking_error(write, message, monkeypatch):
    monkeypatch.setattr(tracking.time, "sleep", lambda seconds: None)
    client = RefusingClient()
    with pytest.raises(tracking.TrackingError) as raised:
        write(client)
    assert str(raised.value) == message
    assert client.calls == tracking.RETRIES


@pytest.mark.parametrize("argv, name, entry", [
    (["/x/search/__main__.py", "run", "studies/quickstart.yaml"], "python -m search run", "run"),
    (["/x/search/__main__.py", "worker", "--study", "q"], "python -m search worker", "worker"),
    (["/usr/bin/mytool", "go"], "mytool", None),
])
def test_runs_name_their_source_and_entry_point(argv, name, entry, monkeypatch):
    from search import tracking

    monkeypatch.setattr("sys.argv", argv)
    tracking.source_tags.cache_clear()
    try:
        tags = tracking.source_tags()
    finally:
        tracking.source_tags.cache_clear()
    assert tags["mlflow.source.name"] == name and tags["mlflow.source.type"] == "LOCAL"
    assert tags.get("mlflow.project.entryPoint") == entry


def test_the_ui_link_opens_the_model_training_view_with_the_study_columns():
    from search.tracking import ui_link

    assert ui_link("sqlite:///x/mlflow.db", "3") == (
        "http://127.0.0.1:5000/#/experiments/3/runs?workflowType=machine_learning&viewStateShareKey=study")
    assert ui_link("http://u:secret@host:5000/", "3").startswith("http://u:***@host:5000/#/experiments/3/runs?")


@pytest.mark.parametrize("uri, words", [
    ("file:./mlruns", "cannot be used"),  # MLflow's deprecated file store
    ("sqlite:///{tmp}/folder.db", "is a folder, not a database file"),
    ("sqlite:///{tmp}/text.db", "is not an SQLite database"),
])
def test_a_store_that_cannot_be_used_is_not_called_unreachable(uri, words, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_ALLOW_FILE_STORE", raising=False)
    (tmp_path / "folder.db").mkdir()
    (tmp_path / "text.db").write_text("plain text, no database here " * 10)
    with pytest.raises(tracking.TrackingUnreachable) as error:
        tracking.connect(uri.format(tmp=tmp_path))
    assert words in str(error.value) and "not reachable" not in str(error.value)


@pytest.mark.parametrize("task, test_column", [("classification", "test_accuracy"), ("regression", "test_r2")])
def test_the_experiments_runs_table_shows_the_objective_and_the_tasks_test_metric(task, test_column):
    import json
    from types import SimpleNamespace

    from search.study.space import Categorical, SearchSpace
    from search.study.task import TASKS
    from search.tracking.names import SHARED_VIEW_TAG, VIEW_KEY

    class Client:
        def __init__(self):
            self.tags = {}

        def get_experiment(self, experiment):
            return SimpleNamespace(tags=dict(self.tags))

        def set_experiment_tag(self, experiment, key, value):
            self.tags[key] = value

    spec = SimpleNamespace(metric="val_loss", direction="minimize",
                           space=SearchSpace({"activation": Categorical(["relu"])}))
    client = Client()
    tracking.mark_experiment(client, "1", spec, TASKS[task])
    view = json.loads(client.tags[SHARED_VIEW_TAG + VIEW_KEY])
    assert view["selectedColumns"] == ["metrics.`val_loss_mean`", f"metrics.`{test_column}`",
                                       "tags.`optuna.state`", "params.`stage`", "params.`activation`"]
    assert client.tags["mlflow.experiment.primaryMetric.greaterIsBetter"] == "False"
