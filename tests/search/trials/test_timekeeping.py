"""Tests for search.trials.timekeeping: a time plan at work, with fake runs and trials (no clock waited on;
the whole command under a budget runs in test_service)."""

import time
from datetime import datetime, timedelta
from types import SimpleNamespace

import numpy as np
import optuna
import pytest
from optuna.trial import FrozenTrial, TrialState, create_trial

from search.data import load_dataset
from search.study import timeplan as tp
from search.study.task import TASKS
from search.trials import timekeeping
from tests.search.study.test_timeplan import ALL, WORK, plan

DIGITS = load_dataset("digits", validation_fraction=0.2)


class Client:
    """Keeps what is logged, as MlflowClient.log_batch takes it."""

    def __init__(self):
        self.metrics = {}

    def log_batch(self, run_id, metrics=(), params=(), tags=()):
        self.metrics.update({metric.key: metric.value for metric in metrics})


def fake_run(timeplan=None, data=DIGITS, seeds=(0, 1)):
    spec = SimpleNamespace(seeds=list(seeds), epochs=30, time_budget=300, direction="maximize")
    return SimpleNamespace(data=data, spec=spec, timing=timeplan, client=Client(), parent="parent",
                           task=TASKS["classification"], trains_here=False, kept_model=lambda number: None)


def timed_trial(seconds, epochs, rows, wall, started=100.0):
    """A complete trial that started at ``started`` (time.time()), took ``wall`` seconds and recorded its fits'."""
    start = datetime.fromtimestamp(started)
    return FrozenTrial(number=0, trial_id=0, state=TrialState.COMPLETE, value=0.5, datetime_start=start,
                       datetime_complete=start + timedelta(seconds=wall), params={}, distributions={},
                       user_attrs={"timing": {"seconds": seconds, "epochs": epochs, "rows": rows}},
                       system_attrs={}, intermediate_values={})


def test_the_work_counts_a_trial_s_rows_fits_and_the_refit_s_rows():
    work = timekeeping.work_of(fake_run())
    assert (work.rows, work.val_rows) == (len(DIGITS.X_train), len(DIGITS.X_val))
    assert (work.refit_rows, work.refit_val_rows) == (len(DIGITS.X_train) + len(DIGITS.X_val), len(DIGITS.X_val))
    assert (work.fits, work.max_epochs) == (2, 30)
    folds = load_dataset("digits", validation={"folds": 3})
    work = timekeeping.work_of(fake_run(data=folds, seeds=[0]))
    assert (work.rows, work.val_rows, work.fits) == (len(folds.folds[0][0]), len(folds.folds[0][1]), 3)
    assert (work.refit_rows, work.refit_val_rows) == (len(folds.X_train), 0)


def test_stage_1_trains_on_the_same_part_of_the_rows_every_time_stratified_by_class():
    task = TASKS["classification"]
    part = timekeeping.part(DIGITS, 500, task)
    assert len(part.X_train) == len(part.y_train) == 500 and len(part.X_val) == len(DIGITS.X_val)
    again = timekeeping.part(DIGITS, 500, task)
    np.testing.assert_array_equal(part.X_train, again.X_train)
    shares = np.bincount(part.y_train) / 500
    np.testing.assert_allclose(shares, np.bincount(DIGITS.y_train) / len(DIGITS.y_train), atol=0.01)
    assert timekeeping.part(DIGITS, 10**6, task) is DIGITS


def test_the_speed_is_the_median_trial_s_so_one_stalled_trial_does_not_pull_it():
    timeplan = plan(300)
    timeplan.started = 50.0
    units = WORK.units(1000)
    study = optuna.create_study()
    for seconds, wall in ((1.0, 1.5), (1.2, 1.6), (30.0, 30.4)):  # the last stalled on a busy machine
        study.add_trial(timed_trial(seconds, 10, 1000, wall))
    study.add_trial(timed_trial(99.0, 10, 1000, 100.0, started=10.0))  # an earlier invocation's: not counted
    speed = timekeeping.measured(fake_run(timeplan, data=SimpleNamespace(folds=(), X_train=np.zeros((10000, 1)),
                                                                          X_val=np.zeros((2000, 1)))), study)
    assert speed.row_seconds == pytest.approx(1.2 / (10 * units))
    assert speed.trial_seconds == pytest.approx(0.4)
    empty = timekeeping.measured(fake_run(timeplan), optuna.create_study())
    assert (empty.row_seconds, empty.trial_seconds) == (timeplan.row_seconds, timeplan.trial_seconds)


def test_a_trial_whose_next_epoch_would_end_past_the_search_is_pruned_at_this_epoch_s_end():
    record = {"epoch": 4, "seconds": 2.0}
    assert timekeeping.DeadlineStop(time.time() + 3600)(None, record) is False
    with pytest.raises(optuna.TrialPruned, match="stopped at epoch 4: the time plan's search ends"):
        timekeeping.DeadlineStop(time.time() + 1.0)(None, record)


def test_the_first_trial_of_stage_1_starts_however_late_a_champion_needs_one():
    timeplan = plan(300)
    timeplan.coarse_end = time.time() - 1  # stage 1's time is spent
    run, study = fake_run(timeplan), optuna.create_study()
    assert timekeeping.may_start(run, study)
    study.add_trial(create_trial(state=TrialState.COMPLETE, value=0.5))
    assert not timekeeping.may_start(run, study)
    assert timekeeping.may_start(fake_run(), study)  # no time plan: always


def test_trial_figures_under_a_plan_are_stage_2_s_when_planned():
    timeplan = plan(300)
    trial = SimpleNamespace(user_attrs={"stage": tp.FINE})
    assert timekeeping.draws_figures(fake_run(), trial)
    for figures, stage, drawn in ((True, tp.FINE, True), (True, tp.COARSE, False), (False, tp.FINE, False)):
        timeplan.extras["trial_plots"] = figures
        assert timekeeping.draws_figures(fake_run(timeplan), SimpleNamespace(user_attrs={"stage": stage})) is drawn


def test_the_refit_s_epochs_are_the_planned_ones_or_fewer_said_in_a_line():
    now = time.time()
    run = fake_run(seeds=[0])
    timeplan = tp.plan(tp.Clock(now - 10, 300), now - 5, timekeeping.work_of(run), tp.Speed(1e-4), ALL)
    run.timing, best = timeplan, SimpleNamespace(user_attrs={}, number=0)
    assert timeplan.epochs > 1
    assert timekeeping.refit_epochs(fake_run(), best) == (None, None)
    assert timekeeping.refit_epochs(run, best) == (timeplan.epochs, None)
    assert run.client.metrics == {"refit_epochs": timeplan.epochs}
    timeplan.started = timeplan.started - 295  # almost all of it spent
    epochs, line = timekeeping.refit_epochs(run, best)
    assert epochs == 1 and line == f"refit for 1 epochs, not the planned {timeplan.epochs}: what the time left holds"
