"""Tests for search.stores.budget: every budget met exactly; retries always run (dead trials: test_recovery)."""

import uuid

import optuna
import pytest
from optuna.trial import TrialState

from search import cli, service
from search.trials import objective
from search.study import stages
from search.stores.budget import BudgetSpent
from search.stores.storage import open_storage
from tests.conftest import postgres_url

# End to end (subprocesses, MLflow stores, whole studies): `pytest -m "not slow"` leaves them out.
pytestmark = pytest.mark.slow


def study_of(name, storage):
    return optuna.load_study(study_name=name, storage=storage)


def test_a_worker_that_loses_the_race_for_the_last_trial_creates_none(write_study, monkeypatch, capsys):
    # Between one worker's look at the budget and its trial, another worker takes the last trial.
    path = write_study("race", n_trials=3, register=False)
    original_next, original_work = stages.StagePlan.next_stage, service.work
    outer = []

    def work(spec, study, client, data, *args, **kwargs):
        outer.append((spec, study, client, data))
        return original_work(spec, study, client, data, *args, **kwargs)

    def next_stage(self, study):
        stage = original_next(self, study)
        if len(outer) == 1 and len(study.get_trials(states=(TrialState.COMPLETE,))) == 2:
            outer.append("the other worker ran")
            original_work(*outer[0])
        return stage

    monkeypatch.setattr(service, "work", work)
    monkeypatch.setattr(stages.StagePlan, "next_stage", next_stage)
    assert cli.main(["run", str(path)]) == 0
    trials = study_of("race", open_storage("journal:optuna.journal")).trials
    assert len(outer) == 2
    assert len(trials) == 3 and all(t.state == TrialState.COMPLETE for t in trials)


def interrupt_trial(number, monkeypatch):
    """Ctrl-C lands while trial ``number`` trains (once)."""
    fit = objective.Objective.fit

    def fit_or_interrupt(self, trial, *args, **kwargs):
        if trial.number == number and not trial.study.get_trials(states=(TrialState.FAIL,)):
            raise KeyboardInterrupt
        return fit(self, trial, *args, **kwargs)

    monkeypatch.setattr(objective.Objective, "fit", fit_or_interrupt)


def test_a_trial_interrupted_at_the_end_of_the_budget_runs_again(write_study, monkeypatch, capsys):
    path = write_study("last", n_trials=3, register=False)
    interrupt_trial(2, monkeypatch)
    assert cli.main(["run", str(path)]) == 130
    assert cli.main(["run", str(path)]) == 0
    out = capsys.readouterr().out
    assert ", 2 trials so far of 3" in out and "study last: 3 trials" in out
    trials = study_of("last", open_storage("journal:optuna.journal")).trials
    assert trials[2].state == TrialState.FAIL
    assert sum(t.state == TrialState.COMPLETE for t in trials) == 3
    assert len(trials) == 4  # the retry took the failed trial's place


@pytest.mark.parametrize("kind", ["journal", "sqlite", "postgresql"])
def test_a_queue_only_storage_never_creates_a_trial_of_its_own(tmp_path, kind):
    # On RDB, Optuna wraps the storage in its _CachedStorage, which creates trials through
    # _create_new_trial, not create_new_trial: a fifth worker got a 101st trial that way.
    url = {"journal": f"journal:{tmp_path}/o.journal", "sqlite": f"sqlite:///{tmp_path}/o.db",
           "postgresql": postgres_url()}[kind]
    storage = open_storage(url, queue_only=True)
    study = optuna.create_study(study_name=f"q-{uuid.uuid4().hex[:8]}", storage=storage)
    study.add_trial(optuna.trial.create_trial(state=TrialState.WAITING))
    study.optimize(lambda trial: trial.suggest_float("x", 0, 1), n_trials=1)
    with pytest.raises(BudgetSpent):
        study.optimize(lambda trial: trial.suggest_float("x", 0, 1), n_trials=1)
    assert len(study.trials) == 1
    if kind == "postgresql":
        optuna.delete_study(study_name=study.study_name, storage=url)
