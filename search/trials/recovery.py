"""Trials that stopped before their end, and their MLflow runs: failed with a reason, and queued again.

One place for it, as Optuna keeps its heartbeat and the failing of stale trials
together (``optuna/storages/_heartbeat.py``). A trial stops early in one of three ways:

- **stale**: its worker stopped sending heartbeats (RDB storages): :func:`fail_stale`, and
  the storage's :func:`stale_trial_callback`;
- **dead**: its worker's process is gone (a journal file has no heartbeat): :func:`recover_dead_trials`
  after a crash, :func:`recover_dead_worker` for a worker process seen to end badly;
- **interrupted**: Ctrl-C or SIGTERM in its worker: :func:`interrupted`.

A worker cut off from the storage past the grace period may come back and finish a trial that was failed
and queued again meanwhile: it checks (:func:`still_running`) and drops its results (:class:`TrialLost`)
rather than end the trial's run as COMPLETE beside its retry's.

Each is recorded as FAIL with its ``fail_reason``, its MLflow run is ended (FAILED, or KILLED when a
person stopped it), and it is queued again once, as Optuna's ``RetryHeartbeatStaleTrialCallback``
does, so that the retry takes its place in the budget (:mod:`search.stores.budget`). MLflow runs
that a dead invocation left RUNNING are closed too (:func:`close_dead_parents`, :func:`close_orphan_runs`).

A worker is ``host:pid`` (:func:`worker_id`), kept on each trial it runs, so that a trial whose
worker is gone can be found.
"""

import os
import socket
import warnings

import optuna
from optuna.storages import RetryHeartbeatStaleTrialCallback, _CachedStorage, fail_stale_trials
from optuna.storages._heartbeat import is_heartbeat_enabled
from optuna.trial import TrialState

from .. import tracking
from ..stores.budget import retried_numbers
from ..tracking import names
from ..tracking.states import FAIL, FAILED, KILLED, MLFLOW_STATUS, RUNNING

HEARTBEAT_STOPPED = "its worker stopped sending heartbeats"
WORKER_STOPPED = "its worker stopped before the trial ended"
MAX_RETRY = 2  # retries of one trial: one that kills its worker every time is not retried for ever
STILL_RUNNING = f"attributes.status = '{MLFLOW_STATUS[RUNNING]}'"  # MLflow's search filter


class Interrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM, with what it stopped: the one line the command prints."""

    def __init__(self, what):
        super().__init__(what)
        self.what = what


class TrialLost(RuntimeError):
    """This worker's trial was failed and queued again by another (its heartbeat had stopped)."""


def worker_id(pid=None):
    return f"{socket.gethostname()}:{pid or os.getpid()}"


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return pid != os.getpid()


def alive_here(worker):
    """False for a ``host:pid`` of this host whose process is gone; True when it may still run."""
    host, _, pid = worker.rpartition(":")
    return host != socket.gethostname() or not pid.isdigit() or _alive(int(pid))


# ---------------------------------------------------------------- trials


def queue_again(study, trial):
    """Queue the failed ``trial`` (a FrozenTrial) again, as the heartbeat's retry does."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)  # stable since 2.8
        RetryHeartbeatStaleTrialCallback(max_retry=MAX_RETRY)(study, trial)


def stale_trial_callback(tracking_uri):
    """The storage's heartbeat callback (see :func:`search.stores.storage.open_storage`): a dead trial's
    MLflow run is ended as FAILED, then the trial is queued again."""
    def failed(study, trial):
        run_id = trial.user_attrs.get(names.MLFLOW_RUN_ID)
        if run_id:
            fail_run(tracking.MlflowClient(tracking_uri), run_id, HEARTBEAT_STOPPED)
        queue_again(study, trial)
    return failed


def fail_stale(study, reason=HEARTBEAT_STOPPED):
    """Fail (and, through the storage's callback, queue again) RUNNING trials whose heartbeat stopped.

    Optuna does this only at the start of a trial inside ``optimize``: a
    worker that finds nothing queued, or a command started after a crash,
    would otherwise leave a dead trial RUNNING for good. The trial gets its
    ``fail_reason`` first, while it is still RUNNING and can take attributes.
    """
    storage = study._storage
    if not is_heartbeat_enabled(storage):
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        for trial_id in storage._get_stale_trial_ids(study._study_id):
            try:
                storage.set_trial_user_attr(trial_id, names.FAIL_REASON, reason)
            except optuna.exceptions.UpdateFinishedTrialError:
                pass  # another process failed it first
        fail_stale_trials(study)


def fail_and_retry(study, client, trial, reason):
    """End a dead trial as FAIL (its MLflow run too, with the reason) and queue it again."""
    try:  # while it is RUNNING and may take one
        study._storage.set_trial_user_attr(trial._trial_id, names.FAIL_REASON, reason)
        study.tell(trial.number, state=TrialState[FAIL])
    except (ValueError, RuntimeError):  # it ended meanwhile (UpdateFinishedTrialError is a RuntimeError)
        return
    run_id = trial.user_attrs.get(names.MLFLOW_RUN_ID)
    if run_id:
        fail_run(client, run_id, reason)
    queue_again(study, study.get_trials(deepcopy=False)[trial.number])


def _running(study):
    return study.get_trials(deepcopy=False, states=(TrialState[RUNNING],))


def still_running(trial):
    """Whether ``trial`` (the :class:`optuna.Trial` this worker runs) is still RUNNING in the storage.

    Read from the database itself: Optuna's cache holds this worker's trial as the worker left it.
    """
    storage = trial.study._storage
    if isinstance(storage, _CachedStorage):
        storage = storage._backend
    return storage.get_trial(trial._trial_id).state == TrialState[RUNNING]


def recover_dead_trials(study, client):
    """Fail and queue again the RUNNING trials whose heartbeat stopped, or whose worker here no longer exists.

    After a crash of the whole study (or a worker killed where no heartbeat
    watches, as with a journal file), the same command continues from there.
    """
    fail_stale(study)
    for trial in _running(study):
        worker = trial.user_attrs.get(names.WORKER, "")
        if worker and not alive_here(worker):
            fail_and_retry(study, client, trial, f"its worker {worker} is gone")


def recover_dead_worker(study, client, process):
    """A worker ``process`` (a finished ``Popen``) that ended badly: its RUNNING trials are failed and queued again."""
    if process.returncode == 0:
        return
    for trial in _running(study):
        if trial.user_attrs.get(names.WORKER) == worker_id(process.pid):
            fail_and_retry(study, client, trial, f"worker {process.pid} ended with code {process.returncode}")


def interrupted(study, number, error):
    """Ctrl-C or SIGTERM (``error``) stopped this worker in trial ``number`` (None: before any): the
    :class:`Interrupted` to raise, once the trial, which the objective failed, is queued again."""
    if isinstance(error, Interrupted):
        return error  # already says what it stopped
    number = _retry_interrupted(study, number)
    return Interrupted(f"trial {number} was recorded as failed and queued again" if number is not None
                       else "no trial was running")


def _retry_interrupted(study, number):
    """Queue again trial ``number`` if it failed and is not queued again yet; its number, or None."""
    if number is None:
        return None
    trials = study.get_trials(deepcopy=False)
    if trials[number].state == TrialState[FAIL] and number not in retried_numbers(trials):
        queue_again(study, trials[number])
        return number
    return None


# ---------------------------------------------------------------- MLflow runs


def fail_run(client, run_id, reason):
    """End a trial's run whose trial died, saying why; never raises."""
    try:
        client.log_batch(run_id, tags=tracking.tags_of({names.OPTUNA_STATE: FAIL, names.FAIL_REASON: reason}))
    except Exception:
        pass
    tracking.end_run(client, run_id, FAILED)


def running_run_ids(study):
    """MLflow run ids of trials still running (on other machines' workers)."""
    return {t.user_attrs.get(names.MLFLOW_RUN_ID) for t in _running(study)}


def close_orphan_runs(client, experiment, parent_run_id, running=()):
    """End as FAILED the child runs of ``parent_run_id`` still RUNNING whose trial no longer runs (ids not in
    ``running``, :func:`running_run_ids`): a killed worker's. Returns their ids."""
    runs = client.search_runs([experiment], filter_string=f"tags.{names.PARENT_RUN} = '{parent_run_id}' "
                                                          f"and {STILL_RUNNING}")
    closed = [run.info.run_id for run in runs if run.info.run_id not in running]
    for run_id in closed:
        fail_run(client, run_id, WORKER_STOPPED)
    return closed


def close_failed_runs(client, experiment, study):
    """End as FAILED the runs still RUNNING whose trial failed: a worker that lost the tracking server
    failed its trial (with the reason) but could not end its run, which belongs to another invocation."""
    failed = {t.user_attrs.get(names.MLFLOW_RUN_ID): t for t in study.get_trials(deepcopy=False, states=(
        TrialState[FAIL],))}
    for run in client.search_runs([experiment], filter_string=STILL_RUNNING, max_results=5000):
        if run.info.run_id in failed:
            fail_run(client, run.info.run_id, failed[run.info.run_id].user_attrs.get(names.FAIL_REASON)
                     or WORKER_STOPPED)


def kill_parent(client, experiment, parent_run_id):
    """End a stopped invocation's parent run as KILLED, and its trials' runs still RUNNING as FAILED."""
    close_orphan_runs(client, experiment, parent_run_id)
    tracking.end_run(client, parent_run_id, KILLED)


def close_dead_parents(client, experiment, study_name):
    """End as KILLED the parent runs of earlier invocations on this host whose process died (and their
    RUNNING trials' runs as FAILED)."""
    runs = client.search_runs([experiment], filter_string=f"tags.{names.STUDY} = '{study_name}' "
                                                          f"and {STILL_RUNNING}")
    for run in runs:
        if not alive_here(run.data.tags.get(names.WORKER, "")):
            kill_parent(client, experiment, run.info.run_id)
