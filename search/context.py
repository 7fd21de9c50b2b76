"""The one object a study's invocation passes down: :class:`StudyRun`."""

from dataclasses import dataclass, field

from .study.stages import StagePlan
from .study.task import TASKS


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
