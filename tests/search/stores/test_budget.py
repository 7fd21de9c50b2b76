"""Tests for search.stores.budget: every budget met exactly, by run and by joining workers; a queued trial is
handed out once; retries always run (dead trials: test_recovery)."""

import multiprocessing
import uuid

import optuna
import pytest
from optuna.trial import TrialState

from search import cli, service
from search.trials import objective
from search.study import stages
from search.stores import budget
from search.stores.budget import BudgetSpent, Share
from search.stores.storage import open_storage
from tests.conftest import postgres_url

# End to end (subprocesses, MLflow stores, whole studies) are marked slow: `pytest -m "not slow"` leaves them out.


def study_of(name, storage):
    return optuna.load_study(study_name=name, storage=storage)


@pytest.mark.slow
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


@pytest.mark.slow
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


@pytest.mark.slow
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


def storage_url(kind, folder):
    return {"journal": f"journal:{folder}/o.journal", "sqlite": f"sqlite:///{folder}/o.db",
            "postgresql": postgres_url()}[kind]


def queue_only_study(url, name=None):
    storage = open_storage(url, queue_only=True)
    return optuna.create_study(study_name=name or f"b-{uuid.uuid4().hex[:8]}", storage=storage, load_if_exists=True)


def take(study):
    """Take a queued trial and complete it, as a worker's objective would; False when none was queued."""
    try:
        trial = study.ask()
    except BudgetSpent:
        return False
    study.tell(trial, 1.0)
    return True


def complete(study):
    return sum(t.state == TrialState.COMPLETE for t in study.get_trials())


def test_joining_workers_queue_one_trial_for_each_they_take_and_never_past_the_budget(tmp_path):
    study = queue_only_study(f"journal:{tmp_path}/o.journal")
    budget.fill(study, 6, 2)  # run --n-trials 2 of a budget of 6
    assert take(study) and take(study)
    first, second = Share(6), Share(6)
    # Both find nothing queued and queue one each; each then takes one, whichever it is.
    assert first.ready(study) and second.ready(study)
    assert len(budget.waiting(study.get_trials())) == 2
    assert take(study) and take(study)  # each takes one, whichever it is
    first.took(), second.took()
    assert first.ready(study) and take(study)  # the fifth
    first.took()
    assert second.ready(study) and second.owed  # queues the sixth, the last of the budget
    assert first.ready(study) and not first.owed  # no room: it may take the queued one, and does
    assert take(study)
    first.took()
    assert not second.ready(study)  # its trial was taken, and the budget has no room left
    assert not first.ready(study)
    assert complete(study) == 6 and len(study.get_trials()) == 6


def test_a_share_takes_a_queued_retry_before_it_queues(tmp_path):
    study = queue_only_study(f"journal:{tmp_path}/o.journal")
    budget.fill(study, 2)
    share = Share(2)
    assert share.ready(study) and not share.owed  # two queued already, and no room for a third
    assert take(study) and take(study)
    assert not share.ready(study)


def test_fill_queues_the_trials_asked_for_within_the_budget(tmp_path):
    study = queue_only_study(f"journal:{tmp_path}/o.journal")
    assert budget.fill(study, 5, 2) == 2
    assert budget.fill(study, 5, 3) == 1  # two are queued already
    assert budget.fill(study, 5) == 2
    assert budget.fill(study, 5) == 0
    assert len(study.get_trials()) == 5


def test_an_idle_worker_says_why(tmp_path):
    study = queue_only_study(f"journal:{tmp_path}/o.journal")
    budget.fill(study, 3, 2)
    assert take(study) and take(study)
    assert budget.idle_reason(study.get_trials(), 3).startswith("no trial is queued, and 1 of the budget of 3")
    budget.fill(study, 3)
    running = study.ask()
    assert budget.idle_reason(study.get_trials(), 3) == (
        "the budget of 3 trials is met: every trial is taken, 1 still running on other workers")
    study.tell(running, state=TrialState.FAIL)
    assert budget.idle_reason(study.get_trials(), 3) == "the study is finished: all 3 trials of its budget ran"


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_a_queued_trial_is_handed_out_once_to_racing_workers(tmp_path, kind):
    # Optuna reads WAITING, then writes RUNNING, relying on SELECT ... FOR UPDATE: SQLite has none, and
    # four processes were handed 244 trials of 200 (the SIGKILL test's trial that completed elsewhere).
    url = storage_url(kind, tmp_path)
    study = queue_only_study(url)
    budget.fill(study, 200)
    taken = race(url, study.study_name, pop_all)
    assert sum(map(len, taken)) == 200 and len(set().union(*map(set, taken))) == 200
    if kind == "postgresql":
        optuna.delete_study(study_name=study.study_name, storage=url)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["journal", "sqlite", "postgresql"])
def test_racing_joining_workers_meet_the_budget_exactly(tmp_path, kind):
    # Four workers each want 20 trials of a budget of 50 and queue their own as they go, all at once.
    url = storage_url(kind, tmp_path)
    study = queue_only_study(url)
    ran = race(url, study.study_name, share_of_20)
    assert sum(ran) == 50 and max(ran) <= 20
    assert len(study.get_trials()) == 50 and complete(study) == 50
    if kind == "postgresql":
        optuna.delete_study(study_name=study.study_name, storage=url)


def race(url, name, target, workers=4):
    """``target(url, name)`` in ``workers`` processes at once; what each returned."""
    context = multiprocessing.get_context("fork")
    with context.Pool(workers) as pool:
        return pool.starmap(target, [(url, name)] * workers)


def pop_all(url, name):
    study = queue_only_study(url, name)
    taken = []
    while (trial_id := study._pop_waiting_trial_id()) is not None:
        taken.append(trial_id)
    return taken


def share_of_20(url, name):
    study, share, ran = queue_only_study(url, name), Share(50), 0
    while ran < 20 and share.ready(study):
        if take(study):
            share.took()
            ran += 1
    return ran
