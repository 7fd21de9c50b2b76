"""Work beside training: the process that draws trial figures, and the cores it shares with training.

:data:`FIGURES` draws and logs each trial's figures in a process of its own
while the next trial trains; :data:`CORE_SHARING` gives it a core while it has
work, by taking one BLAS thread from training.
"""

import multiprocessing
import os
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager

from threadpoolctl import ThreadpoolController

from . import lifeline
from .. import tracking
from ..plots import trial as trial_plots


def draw_and_log(tracking_uri, run_id, payload):
    """In the figure process: draw one trial's figures (``payload``: the study's task's
    :meth:`~search.study.task.Task.trial_payload`) and log them to its (finished) run."""
    with tempfile.TemporaryDirectory() as folder:
        trial_plots.trial_figures(folder, payload)
        tracking.MlflowClient(tracking_uri).log_artifacts(run_id, folder, "plots")


class FigureWriter:
    """One background process that draws trial figures while the next trial trains.

    Drawing a trial's four figures takes longer than training a small trial;
    the second core does it instead, and MLflow accepts artifacts on a run that
    has already ended. ``wait`` (called before the study summary) lets the
    queue drain; a figure that fails is reported, never fatal to the study.
    """

    def __init__(self):
        self._executor, self._pending = None, []

    def busy(self):
        """Whether figure jobs wait; one process takes them in order, so the last one tells."""
        return bool(self._pending) and not self._pending[-1].done()

    def submit(self, tracking_uri, run_id, payload):
        if self._executor is None:
            context = multiprocessing.get_context("spawn")  # no forked BLAS or MLflow state
            self._executor = ProcessPoolExecutor(1, mp_context=context, initializer=lifeline.watch_parent,
                                                 initargs=(os.getpid(),))
        # the process starts here: Ctrl-C must not reach it mid-start, nor may it run a script's top level
        with lifeline.no_interrupt(), _script_left_alone():
            self._pending.append(self._executor.submit(draw_and_log, tracking_uri, run_id, payload))

    def wait(self):
        for job in self._pending:
            try:
                job.result()
            except Exception as error:
                print(f"warning: a trial figure was not logged: {error}", flush=True)
        self._pending.clear()


FIGURES = FigureWriter()


@contextmanager
def _script_left_alone():
    """Within it, a spawned process does not run the main script again.

    Python's spawn runs ``python script.py``'s top level again in the child,
    as ``__mp_main__``: a script calling ``search.run_study`` without ``if
    __name__ == "__main__":`` would run its study a second time there. The
    figure process needs nothing of it (it imports ``search`` only), so the
    script's path is hidden while the process starts, as in a notebook, which
    has none. ``python -m search`` (a module, imported by name) is left as it is.
    """
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    if path is None or getattr(getattr(main, "__spec__", None), "name", None):
        yield
        return
    del main.__file__
    try:
        yield
    finally:
        main.__file__ = path


class CoreSharing:
    """Training takes one BLAS thread fewer while figure jobs wait; checked after every epoch.

    An estimator callback and a context around ``fit`` (which gives the
    threads back). On short trials (digits) drawing takes longer than
    training, and BLAS threads busy on every core would starve the figure
    process; on long trials the queue empties within an epoch and training
    gets every core back.
    """

    def __init__(self, figures):
        self.figures, self._limiter, self._blas = figures, None, None

    def __call__(self, estimator=None, record=None):
        waiting = self.figures.busy()
        if waiting and self._limiter is None:
            if self._blas is None:
                self._blas = ThreadpoolController().select(user_api="blas")
            threads = max((info["num_threads"] for info in self._blas.info()), default=1)
            self._limiter = self._blas.limit(limits=max(1, threads - 1))
        elif not waiting:
            self.__exit__()
        return False

    def __enter__(self):
        self()
        return self

    def __exit__(self, *exc):
        if self._limiter is not None:
            self._limiter.restore_original_limits()
            self._limiter = None

    def __deepcopy__(self, memo):
        return self  # shared by every trial's estimators, as the figure queue is


CORE_SHARING = CoreSharing(FIGURES)
