"""The one map between Optuna's trial states and MLflow's run statuses.

A trial's MLflow run ends with the status its trial's state maps to, and carries that state in the
tag ``optuna.state`` (:data:`search.tracking.names.OPTUNA_STATE`), by the state's name. KILLED is
MLflow's mark for a stopped run: a pruned trial stands out in the runs table, and a trial stopped
by Ctrl-C or SIGTERM (state FAIL, to be retried) ends KILLED too (:func:`status_of`).
"""

from mlflow.entities import RunStatus
from optuna.trial import TrialState

COMPLETE, PRUNED, FAIL, RUNNING, WAITING = (s.name for s in (
    TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL, TrialState.RUNNING, TrialState.WAITING))
FINISHED, KILLED, FAILED = (RunStatus.to_string(s) for s in (RunStatus.FINISHED, RunStatus.KILLED, RunStatus.FAILED))

# Optuna state name -> the status a trial's run ends with.
MLFLOW_STATUS = {COMPLETE: FINISHED, PRUNED: KILLED, FAIL: FAILED, RUNNING: RunStatus.to_string(RunStatus.RUNNING)}
# MLflow status -> the Optuna state a run without an ``optuna.state`` tag stands for (runs logged
# before the tag existed): a run that ended otherwise than FINISHED or RUNNING did not complete.
OPTUNA_STATE = {FINISHED: COMPLETE, MLFLOW_STATUS[RUNNING]: RUNNING}


def status_of(state, interrupted=False):
    """The MLflow status for a trial that ended in ``state`` (a name); KILLED when a person stopped it."""
    return KILLED if interrupted else MLFLOW_STATUS[state]


def state_of(status, tagged=None):
    """The Optuna state a trial's run stands for: its ``optuna.state`` tag, else from its ``status``."""
    return tagged or OPTUNA_STATE.get(status, FAIL)
