"""The one map between Optuna states and MLflow statuses."""

from mlflow.entities import RunStatus
from optuna.trial import TrialState

from search.tracking import states


def test_every_finished_state_maps_to_a_terminal_mlflow_status():
    for state in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL):
        assert RunStatus.is_terminated(RunStatus.from_string(states.status_of(state.name)))
    assert states.status_of("COMPLETE") == "FINISHED" and states.status_of("PRUNED") == "KILLED"
    assert states.status_of("FAIL") == "FAILED"


def test_a_stopped_trial_fails_but_its_run_is_killed():
    assert states.status_of(states.FAIL, interrupted=True) == "KILLED"


def test_a_run_stands_for_its_tagged_state_else_for_what_its_status_says():
    assert states.state_of("FINISHED", tagged="PRUNED") == "PRUNED"
    assert states.state_of("FINISHED") == "COMPLETE" and states.state_of("RUNNING") == "RUNNING"
    assert states.state_of("KILLED") == "FAIL" and states.state_of("FAILED") == "FAIL"
