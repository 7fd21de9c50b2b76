"""The search service: create or resume a study, run its stages, refit and register.

``run`` is what ``python -m search run`` and ``mlflow run . -e search`` do;
``work`` is one worker's loop, the same in the processes that ``run
--workers K`` starts and in ``python -m search worker`` on another machine.
"""

import os
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import optuna
from optuna.trial import TrialState

from estimators import DivergenceError, propagate_interrupts

from . import budget, names, tracking
from .data import load_dataset
from .objective import FIGURES, Objective
from .progress import Progress
from .budget import retried_numbers
from .storage import (StorageError, beside_tracking, check_url, describe, exists, open_storage,
                      retry_trial)
from .stages import StagePlan, make_pruner, make_sampler
from .studyfile import load_study

HEARTBEAT_STOPPED = "its worker stopped sending heartbeats"


def load_data(spec):
    options = {k: v for k, v in spec.dataset.items() if k != "name"}
    return load_dataset(spec.dataset["name"], task=spec.task, **options)


def _close_dead_trial_run(tracking_uri):
    """Heartbeat callback: a dead trial's MLflow run is ended as FAILED before the retry."""
    def close(study, trial):
        run_id = trial.user_attrs.get(names.MLFLOW_RUN_ID)
        if run_id:
            tracking.fail_run(tracking.MlflowClient(tracking_uri), run_id, HEARTBEAT_STOPPED)
    return close


def open_study(spec, storage_url, tracking_uri, create=False):
    """The study named by ``spec`` on ``storage_url``; ``create`` makes it if missing."""
    storage = open_storage(storage_url, on_failed_trial=_close_dead_trial_run(tracking_uri), queue_only=True)
    if create:
        return optuna.create_study(study_name=spec.name, storage=storage, direction=spec.direction,
                                   sampler=make_sampler(spec), pruner=make_pruner(spec),
                                   load_if_exists=True)
    return optuna.load_study(study_name=spec.name, storage=storage, sampler=make_sampler(spec),
                             pruner=make_pruner(spec))


def work(spec, study, client, data, n_trials=None, timeout=None, worker_index=0, progress=None):
    """One worker's loop: the study's queued trials, until none is left, or ``n_trials`` or ``timeout`` is spent.

    Returns the number of trials this worker ran.
    """
    plan = StagePlan(spec)
    objective = Objective(spec, data, plan, client, study.user_attrs[names.EXPERIMENT_ID],
                          study.user_attrs[names.PARENT_RUN_ID], worker=worker_id())
    progress = progress or Progress(plan.total, spec.metric)
    deadline = None if timeout is None else time.monotonic() + timeout
    ran, samplers = 0, {}
    with sigterm_as_interrupt():
        while (n_trials is None or ran < n_trials) and not (deadline and time.monotonic() > deadline):
            budget.fail_stale(study, HEARTBEAT_STOPPED)  # a dead trial is queued again, so found below
            stage = plan.next_stage(study)
            if stage is None:
                break
            # One sampler per stage, kept: a new seeded sampler per trial would repeat its first point.
            if stage not in samplers:
                samplers[stage] = make_sampler(spec, stage, worker_index,
                                               len(study.get_trials(deepcopy=False)))
            study.sampler = samplers[stage]
            try:
                study.optimize(objective, n_trials=1, catch=(DivergenceError,),
                               callbacks=[progress.trial_finished])
            except budget.BudgetSpent:
                break  # another worker took the last queued trial
            except KeyboardInterrupt as error:
                if isinstance(error, Interrupted):
                    raise
                number = retry_interrupted(study, objective.trial_number)
                raise Interrupted(f"trial {number} was recorded as failed and queued again" if number is not None
                                  else "no trial was running") from None
            ran += 1
    FIGURES.wait()
    return ran


def join(study_name, storage_url, tracking_uri, n_trials=None, timeout=None, worker_index=0):
    """``python -m search worker``: join a study that ``run`` created, from any machine."""
    text = None
    storage_url = storage_url or beside_tracking(tracking.resolve_uri(tracking_uri))  # as run's default
    if exists(check_url(storage_url)):  # never create a storage only to find it empty
        storage = open_storage(storage_url)
        try:
            text = optuna.load_study(study_name=study_name, storage=storage).user_attrs.get(names.STUDY_FILE)
        except KeyError:
            pass
    if text is None:
        raise StorageError(f"storage {describe(storage_url)} has no study {study_name!r} created by "
                           "'python -m search run'; run that first")
    spec = load_study(text=text, path=f"<study {study_name}>")
    tracking_uri = tracking.resolve_uri(tracking_uri)
    client = tracking.connect(tracking_uri)
    study = open_study(spec, storage_url, tracking_uri)
    return work(spec, study, client, load_data(spec), n_trials, timeout, worker_index)


def retry_interrupted(study, number):
    """Queue again the trial this worker was running when Ctrl-C or SIGTERM stopped it; its number, or None."""
    if number is None:
        return None
    trials = study.get_trials(deepcopy=False)
    if trials[number].state == TrialState.FAIL and number not in retried_numbers(trials):
        retry_trial(study, trials[number])
        return number
    return None


class Interrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM, with what it stopped: the one line the command prints."""

    def __init__(self, what):
        super().__init__(what)
        self.what = what


def worker_id(pid=None):
    return f"{socket.gethostname()}:{pid or os.getpid()}"


class sigterm_as_interrupt:
    """Within it, SIGTERM ends the running trial as Ctrl-C does (training lets both through)."""

    def __enter__(self):
        self.previous = signal.signal(signal.SIGTERM, self._interrupt)
        self.propagating = propagate_interrupts()  # not sklearn's warn-and-return
        self.propagating.__enter__()
        return self

    @staticmethod
    def _interrupt(signum, frame):
        raise KeyboardInterrupt("SIGTERM")

    def __exit__(self, *exc):
        self.propagating.__exit__(*exc)
        signal.signal(signal.SIGTERM, self.previous)


def start_workers(spec, storage_url, tracking_uri, workers, timeout):
    """``workers`` processes of ``python -m search worker``, sharing the queued trials, each with its share of the cores.

    The storage URL travels in the environment, not on the command line,
    where any user of the machine could read its password.
    """
    threads = str(max(1, (os.cpu_count() or 1) // workers))
    env = {**os.environ, "OMP_NUM_THREADS": threads, "OPENBLAS_NUM_THREADS": threads,
           "MKL_NUM_THREADS": threads, "OPTUNA_STORAGE": storage_url,
           "MLFLOW_TRACKING_URI": tracking_uri}
    env.pop("MLFLOW_RUN_ID", None)  # the parent run belongs to this process
    processes = []
    for index in range(workers):
        command = [sys.executable, "-m", "search", "worker", "--study", spec.name,
                   "--worker-index", str(index)]
        if timeout is not None:
            command += ["--timeout", str(timeout)]
        processes.append(subprocess.Popen(command, env=env))
    return processes


def recover_dead_trials(study, client):
    """Fail and queue again the RUNNING trials of this machine's workers that no longer exist.

    After a crash of the whole study (or a worker killed where no heartbeat
    watches, as with a journal file), the same command continues from there.
    """
    budget.fail_stale(study, HEARTBEAT_STOPPED)
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        worker = trial.user_attrs.get(names.WORKER, "")
        if worker and not _alive_here(worker):
            fail_and_retry(study, client, trial, f"its worker {worker} is gone")


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return pid != os.getpid()


def _alive_here(worker):
    """False for a ``host:pid`` of this host whose process is gone; True when it may still run."""
    host, _, pid = worker.rpartition(":")
    return host != socket.gethostname() or not pid.isdigit() or _alive(int(pid))


def fail_and_retry(study, client, trial, reason):
    """End a dead trial as FAIL (its MLflow run too, with the reason) and queue it again."""
    try:  # while it is RUNNING and may take one
        study._storage.set_trial_user_attr(trial._trial_id, names.FAIL_REASON, reason)
        study.tell(trial.number, state=TrialState.FAIL)
    except (ValueError, RuntimeError):  # it ended meanwhile (UpdateFinishedTrialError is a RuntimeError)
        return
    run_id = trial.user_attrs.get(names.MLFLOW_RUN_ID)
    if run_id:
        tracking.fail_run(client, run_id, reason)
    retry_trial(study, study.get_trials(deepcopy=False)[trial.number])


def wait_for_workers(processes, study, client):
    """Wait; a worker that died has its running trials failed and queued again."""
    try:
        for process in processes:
            process.wait()
    except KeyboardInterrupt:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            process.wait()
        raise Interrupted("the workers' running trials were recorded as failed and queued again") from None
    for process in processes:
        if process.returncode != 0:
            for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
                if trial.user_attrs.get(names.WORKER) == worker_id(process.pid):
                    fail_and_retry(study, client, trial, f"worker {process.pid} ended with code "
                                                         f"{process.returncode}")
    return [p.returncode for p in processes]


def run(spec, storage_url=None, tracking_uri=None, workers=1, n_trials=None, timeout=None):
    """Create or resume the study, run its trials, summarise, refit and register the best.

    Everything that can be checked is checked before anything is written: the
    tracking server answers, the data loads, the storage opens.

    Returns
    -------
    dict
        ``study``, ``parent_run_id``, ``stages``, ``scores`` and ``model_uri``
        (the last two absent when no trial completed).
    """
    import mlflow

    tracking_uri = tracking.resolve_uri(tracking_uri)
    # '' is what MLproject passes when no storage is given
    storage_url = storage_url or os.environ.get("OPTUNA_STORAGE") or beside_tracking(tracking_uri)
    if os.environ.get("MLFLOW_RUN_ID") and describe(storage_url) != storage_url:
        print("warning: mlflow run logs its -P parameters, so this storage URL's password is now a "
              "param of the run; give it in PGPASSWORD instead", file=sys.stderr)
    data = load_data(spec)
    check_url(storage_url)
    tracking_file = tracking.sqlite_file(tracking_uri)
    if tracking_file and tracking.sqlite_file(storage_url) and \
            os.path.abspath(tracking.sqlite_file(storage_url)) == os.path.abspath(tracking_file):
        raise StorageError(f"storage {describe(storage_url)}: is the MLflow tracking database; "
                           "give Optuna a file of its own (sqlite:///optuna.db)")
    client = tracking.connect(tracking_uri)
    mlflow.set_tracking_uri(tracking_uri)
    experiment = tracking.experiment_id(client, spec.name)
    tracking.mark_experiment(client, experiment, spec.metric, spec.direction, [name for name, _ in spec.space])
    study = open_study(spec, storage_url, tracking_uri, create=True)
    tracking.close_dead_parents(client, experiment, spec.name, _alive_here)
    parent = tracking.start_parent_run(client, experiment, spec.name, {
        names.STUDY: spec.name, names.STUDY_FILE: str(spec.path), "storage": describe(storage_url),
        names.WORKER: worker_id()})
    try:  # from the parent run's start, Ctrl-C ends it (and its trials' runs) as KILLED
        for key, value in {names.STUDY_FILE: spec.text, names.EXPERIMENT_ID: experiment, names.PARENT_RUN_ID: parent}.items():
            study.set_user_attr(key, value)
        tracking.log_batch(client, parent, params=tracking.params_of(study_params(spec, data)))
        print(f"study {spec.name}: storage {describe(storage_url)}, tracking {tracking.mask_password(tracking_uri)}, "
              f"{len(budget.used(study.get_trials(deepcopy=False)))} trials so far of {StagePlan(spec).total}",
              flush=True)
        with sigterm_as_interrupt():
            recover_dead_trials(study, client)
            run_trials(spec, study, client, data, storage_url, tracking_uri, workers, n_trials, timeout)
    except KeyboardInterrupt:
        tracking.close_orphan_runs(client, experiment, parent)
        tracking.end_run(client, parent, "KILLED")
        raise
    try:
        result = finish(client, experiment, parent, study, spec, data)
    except KeyboardInterrupt:
        tracking.end_run(client, parent, "KILLED")
        raise Interrupted("every trial was recorded; the summary or the refit was stopped and nothing was "
                          "registered") from None
    print(f"MLflow UI (mlflow ui): {tracking.ui_link(tracking_uri, experiment)}", flush=True)
    return result


def finish(client, experiment, parent, study, spec, data):
    """After the trials: the summary on the parent run, then the refit and registration of the best."""
    from .results import log_summary, refit_and_register, summary_text

    FIGURES.wait()
    tracking.close_orphan_runs(client, experiment, parent, running_of(study))
    stages = log_summary(client, parent, study, spec)
    print(summary_text(study, spec, stages), flush=True)
    result = {"study": study, "parent_run_id": parent, "stages": stages}
    if study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        champion = refit_and_register(client, parent, study, spec, data)
        print("\n".join(champion.lines), flush=True)
        result.update(model=champion.model, scores=champion.scores, model_uri=champion.model_uri,
                      champion=champion)
    tracking.end_run(client, parent, "FINISHED")
    return result


def run_trials(spec, study, client, data, storage_url, tracking_uri, workers, n_trials, timeout):
    """Queue this invocation's trials, run them here or in ``workers`` processes; then what a dead worker left."""
    budget.fill(study, StagePlan(spec).total, n_trials)
    if workers == 1:
        work(spec, study, client, data, n_trials, timeout)
        return
    deadline = None if timeout is None else time.monotonic() + timeout
    wait_for_workers(start_workers(spec, storage_url, tracking_uri, workers, timeout), study, client)
    # A worker that died had its trial queued again (wait_for_workers): it runs here, in the time left.
    left = None if deadline is None else deadline - time.monotonic()
    if left is None or left > 0:
        work(spec, study, client, data, None, left)


def running_of(study):
    """MLflow run ids of trials still running (on other machines' workers)."""
    return {t.user_attrs.get(names.MLFLOW_RUN_ID) for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))}


def study_params(spec, data):
    """The study's settings as parent-run params (never the storage URL: it may hold a password)."""
    fixed = {k: v for k, v in spec.estimator.items()}
    return {
        **{f"fixed.{k}": v for k, v in fixed.items()},
        "dataset": spec.dataset["name"], "n_train": len(data.X_train), "n_val": len(data.X_val),
        "n_test": len(data.X_test), "epochs": spec.epochs, "repeats": spec.repeats,
        "trial_budget": StagePlan(spec).total, "stages": len(spec.stages), "metric": spec.metric,
        "direction": spec.direction, "sampler": spec.sampler["name"], "pruner": spec.pruner["name"],
        **{f"space.{k}": v for k, v in spec.space.describe().items()},
    }
