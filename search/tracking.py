"""MLflow bookkeeping: one experiment per study, a parent run per invocation,
a child run ``trial-<number>`` per trial.

Everything goes through ``MlflowClient`` with explicit run ids, so any number
of worker processes can log into the same experiment. Per-epoch metrics are
sent once per trial with ``log_batch`` (measured here: about 55 ms a trial,
against about 470 ms for a ``log_metrics`` call per epoch).
"""

import os
import time
from pathlib import Path

from mlflow.entities import Metric, Param, RunTag
from mlflow.tracking import MlflowClient
from mlflow.utils.mlflow_tags import MLFLOW_PARENT_RUN_ID, MLFLOW_RUN_NAME
from sqlalchemy.engine import make_url

from .secrets import mask as mask_password
from .secrets import reason as masked_reason
from .storefiles import folder_lock, sqlite_path_problem

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
    """The id of the experiment ``name`` (``MLFLOW_EXPERIMENT_ID`` under ``mlflow run``), created if needed."""
    if os.environ.get("MLFLOW_EXPERIMENT_ID"):
        return os.environ["MLFLOW_EXPERIMENT_ID"]
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


def start_parent_run(client, experiment, study_name, tags):
    """The invocation's parent run: the one ``mlflow run`` made (``MLFLOW_RUN_ID``), else a new one."""
    run_id = os.environ.get("MLFLOW_RUN_ID")
    if run_id:
        client.log_batch(run_id, tags=[RunTag(k, str(v)) for k, v in tags.items()])
        return run_id
    run = client.create_run(experiment, run_name=f"{study_name}-{time.strftime('%Y%m%d-%H%M%S')}",
                            tags={k: mask_password(str(v)) for k, v in tags.items()})
    return run.info.run_id


def start_trial_run(client, experiment, parent_run_id, trial_number, tags):
    tags = {MLFLOW_PARENT_RUN_ID: parent_run_id, MLFLOW_RUN_NAME: f"trial-{trial_number}", **tags}
    run = _with_retries(f"create the MLflow run of trial {trial_number}",
                        lambda: client.create_run(experiment, tags=tags))
    return run.info.run_id


def params_of(values):
    """MLflow params from a mapping: tuples as 'a-b-c', None as 'None'."""
    from .space import label

    return [Param(str(k), mask_password(str(label(v)))) for k, v in values.items()]


def metrics_of(records, prefix=""):
    """Per-epoch MLflow metrics (step = epoch) from an estimator's ``history_`` records."""
    now = int(time.time() * 1000)
    metrics = []
    for record in records:
        for key, value in flatten_record(record).items():
            metrics.append(Metric(prefix + key, value, now, record["epoch"]))
    return metrics


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
    """Mark a run FINISHED, FAILED or KILLED; never raises (a run must not stay RUNNING)."""
    try:
        client.set_terminated(run_id, status=status)
    except Exception:
        pass


def fail_run(client, run_id, reason, status="FAILED"):
    """End a trial's run whose trial died, saying why; never raises."""
    try:
        client.log_batch(run_id, tags=tags_of({"optuna.state": "FAIL", "fail_reason": reason}))
    except Exception:
        pass
    end_run(client, run_id, status)


def close_dead_parents(client, experiment, study_name, alive):
    """End as KILLED the parent runs of earlier invocations whose process died (and their RUNNING trials)."""
    runs = client.search_runs([experiment], filter_string=f"tags.study = '{study_name}' "
                                                          "and attributes.status = 'RUNNING'")
    for run in runs:
        if not alive(run.data.tags.get("worker", "")):
            close_orphan_runs(client, experiment, run.info.run_id)
            end_run(client, run.info.run_id, "KILLED")


def close_orphan_runs(client, experiment, parent_run_id, running_run_ids=()):
    """End as FAILED the child runs still RUNNING whose trial no longer runs (a killed worker's)."""
    runs = client.search_runs(
        [experiment], filter_string=f"tags.{MLFLOW_PARENT_RUN_ID} = '{parent_run_id}' "
                                    "and attributes.status = 'RUNNING'")
    closed = [run.info.run_id for run in runs if run.info.run_id not in running_run_ids]
    for run_id in closed:
        fail_run(client, run_id, "its worker stopped before the trial ended")
    return closed
