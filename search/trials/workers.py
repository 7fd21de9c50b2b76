"""Worker processes: starting them, and waiting for them; signals as interrupts.

Ctrl-C and SIGTERM stop a worker's trial the same way
(:class:`sigterm_as_interrupt`); :class:`search.trials.recovery.Interrupted` says
what they stopped. A worker that dies has its trials recovered by
:mod:`search.trials.recovery`.
"""

import os
import signal
import subprocess
import sys

from estimators import propagate_interrupts

from . import recovery
from .recovery import Interrupted


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


def start_workers(run, workers, timeout):
    """``workers`` processes of ``python -m search worker`` for ``run`` (a StudyRun), sharing the queued
    trials, each with its share of the cores.

    The storage URL travels in the environment, not on the command line,
    where any user of the machine could read its password.
    """
    threads = str(max(1, (os.cpu_count() or 1) // workers))
    env = {**os.environ, "OMP_NUM_THREADS": threads, "OPENBLAS_NUM_THREADS": threads,
           "MKL_NUM_THREADS": threads, "OPTUNA_STORAGE": run.storage_url,
           "MLFLOW_TRACKING_URI": run.tracking_uri}
    env.pop("MLFLOW_RUN_ID", None)  # the parent run belongs to this process
    processes = []
    for index in range(workers):
        command = [sys.executable, "-m", "search", "worker", "--study", run.spec.name,
                   "--worker-index", str(index), "--queued-only"]  # run queued their trials
        if timeout is not None:
            command += ["--timeout", str(timeout)]
        processes.append(subprocess.Popen(command, env=env))
    return processes


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
        recovery.recover_dead_worker(study, client, process)
    return [p.returncode for p in processes]
