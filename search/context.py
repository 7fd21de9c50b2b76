"""What a study's invocation passes down: its :class:`Options`, and the :class:`StudyRun` made from them."""

from dataclasses import dataclass, field

from .study.stages import StagePlan
from .study.task import TASKS


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
    """

    storage_url: str = None
    tracking_uri: str = None
    workers: int = 1
    n_trials: int = None
    timeout: float = None
    worker_index: int = 0


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
    """

    spec: object
    data: object
    client: object
    tracking_uri: str
    storage_url: str
    experiment: str = None
    parent: str = None
    plan: StagePlan = field(init=False)

    def __post_init__(self):
        self.plan = StagePlan(self.spec)

    @property
    def task(self):
        """The study's :class:`search.study.task.Task`: what differs between classification and regression."""
        return TASKS[self.spec.task]
