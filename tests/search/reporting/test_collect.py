"""What a report reads from MLflow: trials from child runs, metric histories, the objective, the context."""

from pathlib import Path
from types import SimpleNamespace

import pytest

from search.reporting import collect
from search.reporting.collect import ReportContext, ReportError, Trial
from search.tracking.states import COMPLETE, FAIL, RUNNING


def run(status, tags=None, params=None, metrics=None, name="trial-7"):
    """An MLflow run as the client returns it, reduced to what the report reads."""
    return SimpleNamespace(info=SimpleNamespace(run_id="r1", run_name=name, status=status),
                           data=SimpleNamespace(params=params or {}, tags=tags or {}, metrics=metrics or {}))


@pytest.mark.parametrize("status, tags, state", [
    ("FINISHED", {"optuna.state": "PRUNED"}, "PRUNED"),  # the tag, when the trial logged it
    ("FINISHED", {}, COMPLETE), ("RUNNING", {}, RUNNING), ("FAILED", {}, FAIL), ("KILLED", {}, FAIL)])
def test_a_trial_state_is_its_tag_else_its_run_status(status, tags, state):
    assert collect.trial_of(run(status, tags), 0, []).state == state


def test_a_trial_reads_its_number_searched_params_stage_and_reason():
    trial = collect.trial_of(run("FAILED", {"fail_reason": "diverged"}, {"slope": "0.5", "stage": "2", "epochs": "3"},
                                 {"test_loss": 0.3}, name="trial-12"), 1, ["slope", "lambda"])
    assert (trial.number, trial.parent, trial.stage, trial.params) == (12, 1, "2", {"slope": "0.5"})
    assert trial.metrics == {"test_loss": 0.3} and trial.fail_reason == "diverged"
    assert collect.trial_of(run("FINISHED", params={"trial_number": "4"}), 0, []).number == 4
    assert collect.trial_of(run("FINISHED", name="odd"), 0, []).number == -1


class Client:
    """Metric histories as MLflow's client holds them, and no experiment."""

    tracking_uri = "sqlite:///mlflow.db"

    def __init__(self, points=()):
        self.points, self.asked = list(points), 0

    def get_metric_history(self, run_id, key):
        self.asked += 1
        return [SimpleNamespace(step=s, timestamp=t, value=v) for s, t, v in self.points]

    def get_experiment_by_name(self, name):
        return None

    def search_experiments(self):
        return []


def test_a_history_takes_the_first_repeat_where_a_step_holds_the_summary_too():
    client = Client([(2, 5, 0.7), (1, 1, 0.5), (2, 3, 0.8)])  # step 2: the summary (0.7) logged after epoch 2
    trial = Trial("r", 0, 0, COMPLETE, "1", {}, {"val_accuracy": 0.7, "val_accuracy_repeat0": 0.79})
    assert collect.history(client, trial, "val_accuracy") == [(1, 0.5), (2, 0.8)]
    assert collect.history(client, trial, "val_accuracy") == [(1, 0.5), (2, 0.8)] and client.asked == 1  # cached
    assert collect.history(client, trial, "val_loss") == [] and client.asked == 1  # not logged: not asked


def test_the_objective_is_the_mean_over_the_repeats_when_logged():
    trial = Trial("r", 0, 0, COMPLETE, "1", {}, {"val_accuracy_repeat0": 0.8, "val_accuracy_repeat1": 0.9,
                                                 "val_accuracy_mean": 0.1, "val_accuracy": 0.2})
    assert collect.final_value(trial, "val_accuracy") == pytest.approx(0.85)
    assert collect.final_value(Trial("r", 0, 0, COMPLETE, "1", {}, {"val_loss_mean": 0.3, "val_loss": 0.2}),
                               "val_loss") == 0.3
    assert collect.final_value(Trial("r", 0, 0, COMPLETE, "1", {}, {"val_loss": 0.2}), "val_loss") == 0.2


def test_numbered_metrics_are_in_number_order():
    metrics = {"grad_norm_max_layer10": 3.0, "grad_norm_max_layer2": 1.0, "grad_norm_max_layerx": 9.0, "other": 0}
    assert collect.numbered(metrics, "grad_norm_max_layer{}") == {2: 1.0, 10: 3.0}


def test_a_trial_label_rounds_long_logged_numbers():
    trial = Trial("r", 3, 0, COMPLETE, "1", {"slope": "-0.12482557747461498", "learning_rate_init": "0.0125206538"},
                  {})
    assert trial.label(["slope", "learning_rate_init"]) == "slope=-0.125, learning_rate_init=0.0125"
    assert trial.label([]) == "trial 3"


def test_the_context_reads_the_objective_and_space_from_the_latest_parent():
    parents = [run("FINISHED", params={"metric": "val_loss"}),
               run("FINISHED", params={"metric": "val_r2", "direction": "maximize", "space.lambda": "float[1e-06, 0.1] log"})]
    context = ReportContext(Client(), "s", parents, [], ["lambda"], Path("out"))
    assert (context.metric, context.direction) == ("val_r2", "maximize")
    assert context.space == {"lambda": "float[1e-06, 0.1] log"}
    defaults = ReportContext(Client(), "s", parents[:1], [], [], Path("out"))
    assert (defaults.metric, defaults.direction) == ("val_loss", "minimize")
    parents[0].data.params.clear()
    assert (defaults.metric, defaults.direction) == ("val_accuracy", "maximize")


def test_a_study_without_runs_is_a_report_error_of_one_line():
    with pytest.raises(ReportError, match="no MLflow runs of study 'nothing'") as error:
        collect.find_parents(Client(), "nothing")
    assert "\n" not in str(error.value)


def test_the_test_score_is_r2_for_a_regression_else_accuracy():
    assert collect.test_score([{"test_loss": 1.0}, {"test_r2": 0.4}]) == ("test_r2", "test R^2")
    assert collect.test_score([{"test_accuracy": 0.9}]) == ("test_accuracy", "test accuracy")
