"""What a study's invocation passes down: its :class:`Options`, and the :class:`StudyRun` made from them."""

import math
import time
from dataclasses import dataclass, field
from numbers import Integral, Real

from .study.metrics import better
from .study.stages import StagePlan
from .study.timeplan import PhasedStages, planned_spec
from .study.task import TASKS


class OptionError(ValueError):
    """An option that cannot be used (``search.run_study``'s keywords); the message is one line."""


# search.run_study's keyword -> the Options field it sets
OPTION_KEYWORDS = {"n_trials": "n_trials", "timeout": "timeout", "workers": "workers", "storage": "storage_url",
                   "tracking_uri": "tracking_uri", "time_budget": "time_budget"}


@dataclass(frozen=True)
class Options:
    """What one command was asked for, beside the study: ``python -m search run`` or ``worker``.

    Attributes
    ----------
    storage_url : str, default None
        The Optuna storage; None: ``$OPTUNA_STORAGE``, else a journal file beside the tracking store.
    tracking_uri : str, default None
        The MLflow tracking URI; None: ``$MLFLOW_TRACKING_URI``, else ``sqlite:///mlflow.db``.
    workers : int, default 1
        Worker processes on this machine (``run``).
    n_trials : int, default None
        Run at most this many trials now; None: the rest of the budget (``run``), as long as trials
        are queued (``worker``).
    timeout : float, default None
        Stop starting trials after this many seconds; None: no limit.
    worker_index : int, default 0
        A worker's place among the workers that ``run`` started: it seeds the worker's sampler.
    time_budget : float, default None
        Seconds the whole command may take, in place of the study file's ``budget``; None: the file's.
    started : float, default None
        When the command started (``time.time()``): a time budget counts from there; None: when the
        service is called.
    """

    storage_url: str = None
    tracking_uri: str = None
    workers: int = 1
    n_trials: int = None
    timeout: float = None
    worker_index: int = 0
    time_budget: float = None
    started: float = field(default=None, compare=False)  # a moment, not an option asked for

    @classmethod
    def of(cls, **given):
        """The options of a script's keywords (:data:`OPTION_KEYWORDS`), checked as the command line checks
        its flags: 0 or None is no limit; a bad value is a one-line :class:`OptionError`."""
        n_trials, timeout, workers = (given.get(key) for key in ("n_trials", "timeout", "workers"))
        if n_trials is not None and (isinstance(n_trials, bool) or not isinstance(n_trials, Integral)
                                     or n_trials < 0):
            raise OptionError(f"n_trials must be a positive integer (or 0 or None for no limit), got {n_trials!r}")
        if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, Real)
                                    or not math.isfinite(timeout) or timeout < 0):
            raise OptionError(f"timeout must be a positive number of seconds (or 0 or None for no limit), "
                              f"got {timeout!r}")
        time_budget = given.get("time_budget")
        if time_budget is not None and (isinstance(time_budget, bool) or not isinstance(time_budget, Real)
                                        or not math.isfinite(time_budget) or time_budget < 0):
            raise OptionError(f"time_budget must be a positive number of seconds (or 0 or None for the study "
                              f"file's), got {time_budget!r}")
        check_time_budget(time_budget, n_trials, timeout)
        if workers is not None and (isinstance(workers, bool) or not isinstance(workers, Integral) or workers < 1):
            raise OptionError(f"workers must be a positive integer, got {workers!r}")
        for key in ("storage", "tracking_uri"):
            if given.get(key) is not None and not isinstance(given[key], str):
                raise OptionError(f"{key} must be a URL string, got {type(given[key]).__name__}")
        return cls(storage_url=given.get("storage"), tracking_uri=given.get("tracking_uri"),
                   workers=int(workers or 1), n_trials=int(n_trials) if n_trials else None,
                   timeout=float(timeout) if timeout else None,
                   time_budget=float(time_budget) if time_budget else None, started=time.time())


def check_quick(quick, time_budget):
    """The quick form is a check in seconds, with no time budget of its own."""
    if quick and time_budget:
        raise OptionError("the quick form runs without a time budget: give quick or a time budget, not both")


def check_time_budget(time_budget, n_trials, timeout):
    """A time budget's plan chooses the trials and when they stop: neither a trial count nor a timeout."""
    if time_budget and (n_trials or timeout):
        raise OptionError("a time budget plans the trials and when they stop: give it without a trial count "
                          "(n_trials) or a timeout")


@dataclass
class StudyRun:
    """What every layer below the service needs to know of the study being run, made once.

    Attributes
    ----------
    spec : search.study.file.StudySpec
    data : search.data.Dataset
    client : mlflow.MlflowClient
    tracking_uri : str
    storage_url : str
    experiment : str
        The study's MLflow experiment id.
    parent : str
        This invocation's parent run id (for a worker, the run of the ``run`` that queued its trials).
    plan : search.study.stages.StagePlan
        Made from ``spec``: each trial's stage and that stage's space.
    timing : search.study.timeplan.TimePlan
        The time plan followed (:meth:`follow`); None without a time budget.
    trains_here : bool
        Whether this invocation's trials train in this process (not in the workers it starts).
    kept : tuple
        ``(number, value, model)`` of the best trial trained in this process on every training row
        (:meth:`keep`): the refit guard's "trial's own model", which it need not train again.
    """

    spec: object
    data: object
    client: object
    tracking_uri: str
    storage_url: str
    experiment: str = None
    parent: str = None
    plan: StagePlan = field(init=False)
    timing: object = field(default=None, init=False)
    trains_here: bool = True
    kept: tuple = field(default=None, init=False, repr=False)

    def __post_init__(self):
        self.plan = StagePlan(self.spec)

    def follow(self, timeplan):
        """Run by ``timeplan`` from now on: its stages, their trial counts, and the study as it plans it."""
        self.timing = timeplan
        self.spec = planned_spec(self.spec, timeplan)
        self.plan = PhasedStages(self.spec, timeplan)

    def keep(self, number, value, model):
        """Keep trial ``number``'s ``model`` if its ``value`` is the best kept so far (one model at most)."""
        if self.kept is None or better(value, self.kept[1], self.spec.direction):
            self.kept = (number, value, model)

    def kept_model(self, number):
        """Trial ``number``'s model if this process kept it, else None."""
        return self.kept[2] if self.kept is not None and self.kept[0] == number else None

    @property
    def task(self):
        """The study's :class:`search.study.task.Task`: what differs between classification and regression."""
        return TASKS[self.spec.task]
