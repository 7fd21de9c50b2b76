"""MLflow bookkeeping: one experiment per study, a parent run per invocation,
a child run ``trial-<number>`` per trial.

Everything goes through ``MlflowClient`` with explicit run ids, so any number
of worker processes can log into the same experiment. Per-epoch metrics are
sent once per trial with ``log_batch`` (measured here: about 55 ms a trial,
against about 470 ms for a ``log_metrics`` call per epoch).

This module is the client's side: connecting, experiments, runs, batches
with retries. Beside it: :mod:`.names` (every param, tag and attribute
name shared across modules), :mod:`.states` (the one map between Optuna
states and MLflow statuses) and :mod:`.registry` (registered versions and
the champion alias).
"""

import functools
import json
import os
import sys
import time
from pathlib import Path

from mlflow.entities import Metric, Param, RunTag
from mlflow.tracking import MlflowClient
from mlflow.utils.mlflow_tags import (MLFLOW_EXPERIMENT_PRIMARY_METRIC_GREATER_IS_BETTER,
                                      MLFLOW_EXPERIMENT_PRIMARY_METRIC_NAME, MLFLOW_GIT_COMMIT,
                                      MLFLOW_PROJECT_ENTRY_POINT, MLFLOW_RUN_NAME,
                                      MLFLOW_SOURCE_NAME, MLFLOW_SOURCE_TYPE)
from sqlalchemy.engine import make_url

from . import names
from .names import EXPERIMENT_KIND_TAG, MODEL_TRAINING, SHARED_VIEW_TAG, VIEW_KEY
from ..secrets import mask as mask_password
from ..secrets import reason as masked_reason
from ..stores.files import folder_lock, sqlite_path_problem

DEFAULT_TRACKING_URI = "sqlite:///mlflow.db"
RETRIES = 3


class TrackingError(RuntimeError):
    """The tracking server refused a write, after retries."""


class TrackingUnreachable(TrackingError):
    """The tracking server does not answer at start: nothing has run yet."""


def resolve_uri(tracking_uri=None):
    """The tracking URI in use: the argument, else ``$MLFLOW_TRACKING_URI``, else ``./mlflow.db``.

    A relative SQLite path is made absolute: MLflow keeps one database engine
    per URI string for the life of the process, so ``sqlite:///mlflow.db``
    would go on writing to the first folder's file after a change of folder.
    """
    uri = tracking_uri or os.environ.get("MLFLOW_TRACKING_URI") or DEFAULT_TRACKING_URI
    prefix = "sqlite:///"
    if uri.startswith(prefix):
        path, mark, query = uri[len(prefix):].partition("?")
        if path and path != ":memory:" and not os.path.isabs(path):
            uri = prefix + os.path.abspath(path) + mark + query
    return uri


def connect(tracking_uri, create=True):
    """A client for ``tracking_uri`` that has answered once.

    A local SQLite database is looked at first (read-only), then created, or
    its schema upgraded, under a lock on its folder, so that commands
    started together do not race MLflow's schema migration; with
    ``create=False`` a missing one is an error and nothing is written.

    Raises
    ------
    TrackingUnreachable
        One line naming the (masked) URI and the cause, before any training starts.
    """
    tracking_uri = resolve_uri(tracking_uri)
    database = sqlite_file(tracking_uri)
    if database is not None:
        problem = sqlite_path_problem(database, "mlflow")
        if problem is None and not create and not Path(database).exists():
            problem = f"no MLflow database at {database} (run a study first, or give --tracking-uri)"
        if problem:
            raise TrackingUnreachable(f"MLflow tracking at {mask_password(tracking_uri)}: {problem}")
        with folder_lock(Path(database).parent):
            return _answering_client(tracking_uri, "cannot be opened")
    if tracking_uri.startswith(("http://", "https://")):
        # Fail in seconds rather than after MLflow's default minutes of retries.
        os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
        os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "10")
        # MLflow prints "View run ... at http://user:pw@host/..." for every run it ends.
        os.environ.setdefault("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")
        return _answering_client(tracking_uri, "is not reachable")
    return _answering_client(tracking_uri, "cannot be used")


def _answering_client(tracking_uri, failure):
    try:
        client = MlflowClient(tracking_uri)
        client.search_experiments(max_results=1)
    except Exception as error:  # MLflow raises many kinds here; the words say which kind of store
        raise TrackingUnreachable(f"MLflow tracking at {mask_password(tracking_uri)} {failure}: "
                                  f"{masked_reason(error)}") from None
    return client


def sqlite_file(uri):
    """The file of an ``sqlite:///`` URI, or None (another scheme, or an in-memory database)."""
    if not uri.startswith("sqlite:"):
        return None
    database = make_url(uri).database
    return None if database in (None, "", ":memory:") else database


def experiment_id(client, name):
    """The id of the experiment ``name``, created if needed.

    Also under ``mlflow run``, whose ``MLFLOW_EXPERIMENT_ID`` (often "Default")
    is not used: a study lives in its own experiment, however it is started.
    """
    experiment = client.get_experiment_by_name(name)
    if experiment is not None:
        return experiment.experiment_id
    try:
        return client.create_experiment(name)
    except Exception:
        # Another process created it between our two calls.
        experiment = client.get_experiment_by_name(name)
        if experiment is None:
            raise
        return experiment.experiment_id


def mark_experiment(client, experiment, spec, task):
    """Tag the study's experiment for MLflow's UI: the model-training view, charts led by the study's
    objective, and a shared view of the runs table with the study's columns (see :func:`ui_link`):
    the objective, ``task``'s test metric, the trial's state, its stage and the searched params.

    The UI puts the experiment's primary metric first among the runs' charts.
    """
    metric, direction = spec.metric, spec.direction
    columns = [f"metrics.`{metric}_mean`", f"metrics.`{task.test_metric}`", f"tags.`{names.OPTUNA_STATE}`",
               f"params.`{names.STAGE}`", *(f"params.`{name}`" for name, _ in spec.space)]
    # Grouped by stage: the trials show at once, not folded under their parent run.
    view = {"selectedColumns": columns, "orderByKey": "attributes.start_time", "orderByAsc": False,
            "groupBy": {"aggregateFunction": "average", "groupByKeys": [{"mode": "param", "groupByData": names.STAGE}]}}
    tags = {EXPERIMENT_KIND_TAG: MODEL_TRAINING, MLFLOW_EXPERIMENT_PRIMARY_METRIC_NAME: metric,
            MLFLOW_EXPERIMENT_PRIMARY_METRIC_GREATER_IS_BETTER: str(direction == "maximize"),
            SHARED_VIEW_TAG + VIEW_KEY: json.dumps(view)}
    current = client.get_experiment(experiment).tags
    for key, value in tags.items():
        if current.get(key) != value:
            _with_retries(f"tag MLflow experiment {experiment}",
                          lambda: client.set_experiment_tag(experiment, key, value))


def ui_link(tracking_uri, experiment):
    """Where MLflow's UI shows the study: its runs table in the model-training view, with the study's columns.

    MLflow 3.17's UI opens every experiment in the view last chosen in the
    browser (GenAI at first), whatever the experiment's kind tag:
    ``workflowType`` in the address overrides it.
    """
    base = tracking_uri if str(tracking_uri).startswith(("http://", "https://")) else "http://127.0.0.1:5000"
    return (f"{mask_password(base).rstrip('/')}/#/experiments/{experiment}/runs"
            f"?workflowType=machine_learning&viewStateShareKey={VIEW_KEY}")


@functools.lru_cache(maxsize=1)
def source_tags():
    """Where a run comes from, as MLflow's Source column reads it: the command and the git commit.

    ``python -m search run`` gives the source ``python -m search run`` and the
    entry point ``run`` (``worker`` for a worker); another program calling the
    service gives its own name. The commit is this checkout's, when it is one.
    """
    from mlflow.utils.git_utils import get_git_commit

    main = Path(sys.argv[0]) if sys.argv and sys.argv[0] else Path("python")
    tags = {MLFLOW_SOURCE_NAME: main.name, MLFLOW_SOURCE_TYPE: "LOCAL"}
    if main.name == "__main__.py" and main.parent.name == "search" and len(sys.argv) > 1:
        tags.update({MLFLOW_SOURCE_NAME: f"python -m search {sys.argv[1]}",
                     MLFLOW_PROJECT_ENTRY_POINT: sys.argv[1]})
    commit = get_git_commit(str(Path(__file__).resolve().parent))
    if commit:
        tags[MLFLOW_GIT_COMMIT] = commit
    return tags


def start_parent_run(client, experiment, study_name, tags):
    """The invocation's parent run, in the study's experiment, named ``<study>-<time>``.

    Under ``mlflow run`` (``MLFLOW_RUN_ID``), MLflow's run is the parent when
    it is in the study's experiment; otherwise (MLflow put it in "Default")
    the parent is a new run in the study's experiment, and the two are linked
    by tags (``launcher_run_id`` on the parent, ``study_parent_run_id`` and
    ``study_experiment_id`` on MLflow's run), so that one study never spans
    two experiments.
    """
    name = f"{study_name}-{time.strftime('%Y%m%d-%H%M%S')}"
    launcher = os.environ.get("MLFLOW_RUN_ID")
    tags = {k: mask_password(str(v)) for k, v in tags.items()}
    if launcher and client.get_run(launcher).info.experiment_id == experiment:
        client.log_batch(launcher, tags=[RunTag(k, v) for k, v in tags.items()])
        client.update_run(launcher, name=name)
        return launcher
    if launcher:
        tags = {**tags, names.LAUNCHER_RUN_ID: launcher}
    run_id = client.create_run(experiment, run_name=name, tags={**source_tags(), **tags}).info.run_id
    if launcher:
        client.log_batch(launcher, tags=tags_of({names.STUDY_PARENT_RUN_ID: run_id,
                                                 names.STUDY_EXPERIMENT_ID: experiment}))
        client.update_run(launcher, name=f"{name}-launcher")
    return run_id


def start_trial_run(client, experiment, parent_run_id, trial_number, tags):
    tags = {names.PARENT_RUN: parent_run_id, MLFLOW_RUN_NAME: f"trial-{trial_number}",
            **source_tags(), **tags}
    run = _with_retries(f"create the MLflow run of trial {trial_number}",
                        lambda: client.create_run(experiment, tags=tags))
    return run.info.run_id


def params_of(values):
    """MLflow params from a mapping: tuples as 'a-b-c', None as 'None'."""
    from ..study.space import label

    return [Param(str(k), mask_password(str(label(v)))) for k, v in values.items()]


def metrics_of(records, prefix=""):
    """Per-epoch MLflow metrics (step = epoch) from an estimator's ``history_`` records."""
    now = int(time.time() * 1000)
    metrics = []
    for record in records:
        for key, value in flatten_record(record).items():
            metrics.append(Metric(prefix + key, value, now, record["epoch"]))
    return metrics


def summary_metrics(values):
    """Single values (a trial's objective, test scores) as metrics at step 0, one point each."""
    now = int(time.time() * 1000)
    return [Metric(str(k), float(v), now, 0) for k, v in values.items()]


def flatten_record(record):
    """A ``history_`` record as flat metric names: ``grad_norm_max_layer1``, ``prelu_slope_layer0``..."""
    flat = {}
    for key, value in record.items():
        if key == "epoch":
            continue
        if key == "prelu_slopes":
            for i, slopes in enumerate(value):
                flat[f"prelu_slope_layer{i}"] = float(sum(slopes) / len(slopes))
        elif isinstance(value, list):
            for i, item in enumerate(value):
                flat[f"{key}_layer{i}"] = float(item)
        else:
            flat[key] = float(value)
    return flat


def log_batch(client, run_id, metrics=(), params=(), tags=()):
    """``log_batch`` with a few retries: a trial's metrics are not lost to a passing fault."""
    metrics, params, tags = list(metrics), list(params), list(tags)

    def send():
        # MLflow takes at most 1000 metrics per batch.
        for start in range(0, max(len(metrics), 1), 1000):
            client.log_batch(run_id, metrics=metrics[start:start + 1000],
                             params=params if start == 0 else [], tags=tags if start == 0 else [])

    _with_retries(f"log to MLflow run {run_id}", send)


def _with_retries(what, action):
    """``action()``, tried a few times; then a :class:`TrackingError` saying what could not be done."""
    for attempt in range(RETRIES):
        try:
            return action()
        except Exception as error:
            if attempt == RETRIES - 1:
                raise TrackingError(f"could not {what}: {masked_reason(error)}") from None
            time.sleep(0.5 * 2**attempt)


def tags_of(values):
    return [RunTag(str(k), mask_password(str(v))) for k, v in values.items()]


def end_run(client, run_id, status):
    """Mark a run with ``status`` (FINISHED, FAILED or KILLED: :mod:`search.tracking.states`); never raises
    (a run must not stay RUNNING)."""
    try:
        client.set_terminated(run_id, status=status)
    except Exception:
        pass
