"""Worker processes: starting them, watching them, and recovering what a dead one left.

A worker is ``host:pid`` (:func:`worker_id`), kept on each trial it runs, so
that a trial whose worker is gone can be failed, its MLflow run closed, and
queued again. Ctrl-C and SIGTERM stop a worker's trial the same way
(:class:`sigterm_as_interrupt`); :class:`Interrupted` says what they stopped.
"""

import os
import signal
import socket
import subprocess
import sys

from optuna.trial import TrialState

from estimators import propagate_interrupts

from . import budget
from ..tracking import names
from .. import tracking
from .budget import retried_numbers
from ..stores.storage import retry_trial

HEARTBEAT_STOPPED = "its worker stopped sending heartbeats"


def close_dead_trial_run(tracking_uri):
    """Heartbeat callback: a dead trial's MLflow run is ended as FAILED before the retry."""
    def close(study, trial):
        run_id = trial.user_attrs.get(names.MLFLOW_RUN_ID)
        if run_id:
            tracking.fail_run(tracking.MlflowClient(tracking_uri), run_id, HEARTBEAT_STOPPED)
    return close


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
        if worker and not alive_here(worker):
            fail_and_retry(study, client, trial, f"its worker {worker} is gone")


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
