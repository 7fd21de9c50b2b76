"""Tests for search.study.timeplan: a time budget's plan, by its arithmetic alone (speeds given, no clock)."""

import json
from dataclasses import replace

import optuna
import pytest
from optuna.trial import TrialState, create_trial

from search.study import timeplan as tp
from search.study.file import load_study
from search.study.stages import DEFAULT_NARROWING, Stage
from tests.conftest import tiny_study_text

# 10000 training rows, 2000 validation rows, one fit per trial, at most 50 epochs; an epoch of every
# training row (and the validation rows scored) takes 1e-5 * (10000 + 2000 / 3) s, about 0.107 s.
WORK = tp.Work(rows=10000, val_rows=2000, refit_rows=12000, refit_val_rows=2000, fits=1, max_epochs=50)
SPEED = tp.Speed(row_seconds=1e-5, trial_seconds=0.5)
EPOCH = SPEED.row_seconds * WORK.units(WORK.rows)
ALL = {name: True for name in tp.EXTRA_WORDS}


def plan(budget, now=10.0, speed=SPEED, work=WORK, wanted=ALL):
    return tp.plan(tp.Clock(started=0.0, time_budget=budget), now, work, speed, wanted)


def fine_time(timeplan, work=WORK, speed=SPEED):
    return timeplan.fine_trials * tp.fine_seconds(timeplan.epochs, work, speed)


# ---------------------------------------------------------------- durations


@pytest.mark.parametrize("value, seconds", [(90, 90.0), (12.5, 12.5), ("90s", 90.0), ("15m", 900.0), ("1h", 3600.0),
                                            ("1.5h", 5400.0), (" 20 ", 20.0), ("0.5m", 30.0), (".5m", 30.0)])
def test_a_duration_is_seconds_or_a_number_with_a_unit(value, seconds):
    assert tp.seconds_of(value) == seconds


@pytest.mark.parametrize("value, words", [("soon", "or a duration such as 90s"), ("15 min", "duration"),
                                          ("-5s", "duration"), (-5, "above 0"), (0, "above 0"), ("0s", "above 0"),
                                          (float("inf"), "above 0"), (True, "duration"), (None, "duration"),
                                          ([15], "duration")])
def test_a_duration_refuses_anything_else_in_one_line(value, words):
    with pytest.raises(ValueError) as refused:
        tp.seconds_of(value)
    assert words in str(refused.value) and "\n" not in str(refused.value)


# ---------------------------------------------------------------- the plan


@pytest.mark.parametrize("budget", [30, 60, 300, 900, 3600])
def test_the_plan_reserves_the_finish_and_the_refit_and_shares_the_rest_between_the_stages(budget):
    timeplan = plan(budget)
    deadline, now = budget, 10.0
    refit = tp.refit_seconds(timeplan.epochs, WORK, SPEED)
    assert timeplan.search_end + timeplan.finish_seconds + refit == pytest.approx(deadline)
    available = deadline - now - timeplan.finish_seconds
    assert timeplan.coarse_end - now == pytest.approx(tp.COARSE_SHARE * available)
    # What stage 2 and the refit are planned to take fits in what is left after stage 1.
    assert fine_time(timeplan) + refit <= (1 - tp.COARSE_SHARE) * available + 1e-9
    assert fine_time(timeplan) <= timeplan.search_end - timeplan.coarse_end + 1e-9
    # Stage 1's trials, each training about half its epochs, fit in its share.
    assert timeplan.coarse_trials * timeplan.trial_seconds_of(tp.COARSE, WORK) <= timeplan.coarse_end - now + 1e-9
    assert timeplan.enough and 1 <= timeplan.epochs <= WORK.max_epochs


def test_stage_1_trains_on_a_fifth_of_the_rows_at_least_2000_and_a_third_of_the_epochs():
    timeplan = plan(300)
    assert timeplan.coarse_rows == 2000 and timeplan.fidelity(tp.COARSE) == (2000, timeplan.coarse_epochs)
    assert timeplan.coarse_epochs == round(timeplan.epochs / 3)
    assert plan(300, work=replace(WORK, rows=50000)).coarse_rows == 10000
    assert plan(300, work=replace(WORK, rows=1500)).coarse_rows == 1500  # fewer rows than that: all of them
    assert timeplan.fidelity(tp.FINE) == (None, timeplan.epochs)  # None: every training row


def test_the_epochs_are_those_3_trials_and_the_refit_hold_then_more_trials_once_the_study_s_epochs_cap_them():
    timeplan = plan(60)
    assert timeplan.epochs < WORK.max_epochs and timeplan.fine_trials == tp.FINE_TRIALS
    longer = plan(60, work=replace(WORK, max_epochs=5))
    assert longer.epochs == 5 and longer.fine_trials > tp.FINE_TRIALS
    # Twice the budget: more epochs, until the cap.
    assert plan(120).epochs > timeplan.epochs
    assert plan(3600).epochs == WORK.max_epochs


def test_repeats_and_folds_make_each_trial_longer_and_so_fewer_epochs():
    assert plan(60, work=replace(WORK, fits=2)).epochs < plan(60).epochs


def test_a_budget_already_spent_plans_one_trial_of_one_epoch_and_says_it_is_not_enough():
    timeplan = plan(20, now=19.0)
    assert (timeplan.epochs, timeplan.fine_trials, timeplan.coarse_trials) == (1, 1, 1)
    assert not timeplan.enough
    assert "one trial runs, and the budget is overrun" in tp.describe(timeplan, WORK)
    assert plan(300).enough


def test_an_extra_runs_when_it_takes_at_most_5_percent_of_the_budget_and_the_study_wants_it():
    assert plan(100).extras == {"study_figures": True, "champion_figures": True, "evaluate": True,
                                "trial_plots": True}
    assert plan(30).extras == {"study_figures": False, "champion_figures": True, "evaluate": False,
                               "trial_plots": False}
    assert plan(100, wanted={**ALL, "evaluate": False}).extras["evaluate"] is False
    assert plan(100).finish_seconds == pytest.approx(tp.SUMMARY_SECONDS + tp.AFTER_REFIT_SECONDS + sum(
        tp.EXTRA_SECONDS.values()) + tp.FIGURE_SECONDS * plan(100).extras["trial_plots"])
    assert plan(30).finish_seconds == pytest.approx(tp.SUMMARY_SECONDS + tp.AFTER_REFIT_SECONDS
                                                    + tp.EXTRA_SECONDS["champion_figures"])


def test_trial_figures_are_drawn_when_a_stage_2_trial_lasts_twice_a_drawing():
    slow = replace(SPEED, row_seconds=1e-4)  # epochs of about 1 s
    assert plan(600, speed=slow).extras["trial_plots"]
    assert plan(600, speed=slow).trial_seconds_of(tp.FINE, WORK) >= 2 * tp.FIGURE_SECONDS
    quick = replace(SPEED, row_seconds=1e-7, trial_seconds=0.1)  # trials of a fraction of a second
    assert not plan(600, speed=quick).extras["trial_plots"]
    figures = plan(600, speed=slow)
    without = tp.arrange(tp.Clock(0.0, 600), 10.0, WORK, slow, {**figures.extras, "trial_plots": False})
    assert figures.finish_seconds == pytest.approx(without.finish_seconds + tp.FIGURE_SECONDS)


def test_stage_2_is_planned_again_from_the_speed_stage_1_measured():
    timeplan = plan(60)
    faster = tp.Speed(row_seconds=SPEED.row_seconds / 4, trial_seconds=0.2)
    again = tp.replan(timeplan, timeplan.coarse_end, WORK, faster)
    assert again.stage == tp.FINE and again.epochs > timeplan.epochs
    assert (again.row_seconds, again.trial_seconds) == (faster.row_seconds, 0.2)
    assert again.search_end + timeplan.finish_seconds + tp.refit_seconds(again.epochs, WORK, faster) == \
        pytest.approx(60)
    late = tp.replan(timeplan, timeplan.search_end, WORK, SPEED)  # stage 1 overran: stage 2 gets less
    assert late.epochs < timeplan.epochs
    assert (again.coarse_trials, again.finish_seconds) == (timeplan.coarse_trials, timeplan.finish_seconds)


# ---------------------------------------------------------------- following it


def test_a_stage_1_trial_starts_until_stage_1_s_end_a_stage_2_trial_only_if_it_ends_before_the_search_does():
    timeplan = plan(300)
    assert timeplan.may_start(timeplan.coarse_end - 0.01, WORK)
    assert not timeplan.may_start(timeplan.coarse_end, WORK)
    fine = replace(timeplan, stage=tp.FINE)
    trial = fine.trial_seconds_of(tp.FINE, WORK)
    assert trial == pytest.approx(SPEED.trial_seconds + fine.epochs * EPOCH)
    assert fine.may_start(fine.search_end - trial, WORK)
    assert not fine.may_start(fine.search_end - trial + 0.01, WORK)


def test_more_trials_fill_the_time_left_in_the_stage():
    fine = replace(plan(300), stage=tp.FINE)
    trial = fine.trial_seconds_of(tp.FINE, WORK)
    assert fine.more(fine.search_end - 3.5 * trial, WORK, SPEED) == 3
    assert fine.more(fine.search_end - 0.5 * trial, WORK, SPEED) == 0
    assert fine.with_more(3).fine_trials == fine.fine_trials + 3
    coarse = plan(300)
    assert coarse.with_more(2).coarse_trials == coarse.coarse_trials + 2


def test_the_refit_trains_the_planned_epochs_or_what_the_time_left_holds():
    timeplan = plan(300)
    after = tp.AFTER_REFIT_SECONDS + tp.EXTRA_SECONDS["champion_figures"] + tp.EXTRA_SECONDS["evaluate"]
    epoch = SPEED.row_seconds * WORK.refit_units()
    assert timeplan.refit_epochs(timeplan.search_end, SPEED.row_seconds, WORK, guard=True) == timeplan.epochs
    assert timeplan.refit_epochs(300 - after - 5.5 * epoch, SPEED.row_seconds, WORK, guard=True) == 5
    assert timeplan.refit_epochs(300, SPEED.row_seconds, WORK, guard=True) == 1  # late: one epoch, never none
    # Without the guard's retraining (its model kept), the same time holds more epochs of the refit alone.
    alone = SPEED.row_seconds * WORK.refit_units(guard=False)
    assert timeplan.refit_epochs(300 - after - 9.5 * alone, SPEED.row_seconds, WORK, guard=False) == 9


KEEPS = replace(WORK, rows=55000, val_rows=5000, refit_rows=60000, refit_val_rows=5000, max_epochs=60,
                keeps_models=True)  # MNIST as the grey-image recipe splits it, trials trained in this process
MNIST = tp.Speed(row_seconds=5e-5, trial_seconds=0.5)  # an epoch of 55000 distorted digits: about 2.8 s


def test_a_kept_model_spares_the_refit_guard_s_retraining():
    assert KEEPS.refit_units() == KEEPS.units(60000, 5000)
    assert replace(KEEPS, keeps_models=False).refit_units() == KEEPS.units(60000, 5000) + KEEPS.units(55000, 5000)


def test_a_plan_short_of_time_gives_a_refit_that_adds_few_rows_to_stage_2_s_epochs():
    short = plan(300, work=KEEPS, speed=MNIST)
    assert not short.refit and short.epochs < KEEPS.max_epochs
    assert short.search_end + short.finish_seconds == pytest.approx(300)  # nothing reserved for a refit
    with_refit = plan(300, work=replace(KEEPS, keeps_models=False), speed=MNIST)
    assert with_refit.refit and short.epochs > with_refit.epochs
    assert fine_time(short, KEEPS, MNIST) <= short.search_end - short.coarse_end + 1e-9
    assert not tp.replan(replace(short, stage=tp.FINE), 150.0, KEEPS, MNIST).refit


@pytest.mark.parametrize("why", ["the study's epochs fit", "its trials train in workers", "it adds a fifth more rows"])
def test_otherwise_the_plan_refits(why):
    work = {"the study's epochs fit": replace(KEEPS, rows=5500, refit_rows=6000, val_rows=500, refit_val_rows=500),
            "its trials train in workers": replace(KEEPS, keeps_models=False),
            "it adds a fifth more rows": replace(KEEPS, rows=48000)}[why]
    timeplan = plan(300, work=work, speed=MNIST)
    assert timeplan.refit
    assert timeplan.search_end + timeplan.finish_seconds + tp.refit_seconds(timeplan.epochs, work, MNIST) == \
        pytest.approx(300)
    assert tp.replan(replace(timeplan, stage=tp.FINE), 150.0, work, MNIST).refit


def test_the_plan_travels_to_workers_as_json():
    timeplan = plan(300)
    timeplan.marks = {"start": 1.0}
    again = tp.TimePlan.from_attr(json.loads(json.dumps(timeplan.to_attr())))
    assert again == timeplan


def test_the_plan_is_one_line_with_its_stages_reserve_and_what_is_off():
    line = tp.describe(plan(30), WORK)
    assert "\n" not in line and line.startswith("time plan for 30 s:")
    for words in ("stage 1:", "successive halving", "stage 2:", "on every row", "s kept",
                  "off: study figures, MLflow's evaluation, trial figures, baselines"):
        assert words in line


# ---------------------------------------------------------------- the study under a plan


def spec_of(**keys):
    return load_study("s.yaml", text=tiny_study_text("s", **{"budget": {"time": 60}, **keys}))


def test_the_study_runs_two_stages_with_the_planned_counts_and_its_own_narrowing():
    timeplan = plan(300)
    planned = tp.planned_spec(spec_of(), timeplan)
    assert [(s.n_trials, s.decades, s.fraction) for s in planned.stages] == [
        (timeplan.coarse_trials, 0.0, 0.0), (timeplan.fine_trials, *DEFAULT_NARROWING[0])]
    narrowed = spec_of(n_trials=None, stages=[{"sampler": "random"}, {"decades": 0.5, "fraction": 0.1}])
    stages = tp.planned_spec(narrowed, timeplan).stages
    assert stages == [Stage(timeplan.coarse_trials, sampler="random"), Stage(timeplan.fine_trials, 0.5, 0.1)]
    assert not planned.baselines and planned.artifacts == timeplan.extras


def trial(stage, **attrs):
    return create_trial(state=TrialState.COMPLETE, value=0.5, user_attrs={"stage": stage}, **attrs)


def test_a_trial_s_stage_is_the_stage_in_progress_when_it_starts_and_a_retry_keeps_its_original_s():
    timeplan = plan(300)
    stages = tp.PhasedStages(tp.planned_spec(spec_of(), timeplan), timeplan)
    study = optuna.create_study()
    study.add_trial(trial(1))
    study.add_trial(create_trial(state=TrialState.FAIL, user_attrs={"stage": 1}))
    study.add_trial(create_trial(state=TrialState.WAITING, system_attrs={"failed_trial": 1}))
    study.add_trial(create_trial(state=TrialState.WAITING))
    trials = study.get_trials(deepcopy=False)
    timeplan.stage = tp.FINE
    assert (stages.stage_of(trials, 3), stages.stage_of(trials, 2)) == (1, 0)  # indices: stage 2, stage 1
    assert stages.total == timeplan.coarse_trials + timeplan.fine_trials


def report(study, stage, values):
    """A RUNNING trial of ``stage`` that reported ``values`` at steps 1, 2, ...; the pruner's verdict."""
    running = study.ask()
    running.set_user_attr("stage", stage)
    for step, value in enumerate(values, 1):
        running.report(value, step)
        if running.should_prune():
            study.tell(running, state=TrialState.PRUNED)
            return True
    study.tell(running, values[-1])
    return False


def test_successive_halving_stops_stage_1_s_worse_trials_early_and_never_a_stage_2_trial():
    study = optuna.create_study(direction="maximize", pruner=tp.PhasePruner(coarse_epochs=9))
    assert not report(study, 1, [0.9, 0.92, 0.95])  # the first reaches every rung
    assert report(study, 1, [0.1, 0.1, 0.1])  # far worse at the first rung (epoch 1): stopped there
    assert study.trials[-1].last_step == 1
    assert not report(study, 2, [0.1, 0.1, 0.1])  # stage 2: only the search's end stops a trial
