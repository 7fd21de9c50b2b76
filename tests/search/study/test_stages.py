"""Tests for search.study.stages: the stage spec and its narrowing, the stage plan, the stage table."""

import optuna
import pytest
from optuna.distributions import FloatDistribution
from optuna.trial import TrialState, create_trial

from search.study import stages
from search.study.space import SearchSpace
from search.study.file import load_study
from tests.conftest import tiny_study_text
from tests.search.study.test_space import DEPTH, LAMBDA, LAYERS, SLOPE
from tests.search.study.test_file import write


def spec_of(**keys):
    return load_study("s.yaml", text=tiny_study_text("s", **keys))


# ---------------------------------------------------------------- narrowing


def test_space_narrowed_around_best_values():
    space = SearchSpace({"lambda": LAMBDA, "slope": SLOPE, "hidden_layer_sizes": LAYERS, "depth": DEPTH})
    narrowed = stages.narrowed(space, {"lambda": 1e-3, "slope": 0.0, "hidden_layer_sizes": "256"}, 0.5, 0.125)
    dims = narrowed.dimensions
    assert dims["lambda"].low == pytest.approx(1e-3 / 10**0.5)
    assert dims["lambda"].high == pytest.approx(1e-3 * 10**0.5)
    assert (dims["slope"].low, dims["slope"].high) == pytest.approx((-0.25, 0.25))
    assert dims["hidden_layer_sizes"] is LAYERS  # categoricals are unchanged
    assert dims["depth"] is DEPTH  # no best value: unchanged
    assert space.dimensions["lambda"] is LAMBDA  # the full space is left as it was
    assert list(dims) == list(space.dimensions)


def test_the_default_narrowing_halves_from_the_third_stage_on():
    assert stages.default_narrowing(0) == (0.0, 0.0)
    assert stages.default_narrowing(1) == stages.DEFAULT_NARROWING[0]
    assert stages.default_narrowing(2) == stages.default_narrowing(5) == stages.DEFAULT_NARROWING[1]


def test_stages_get_default_narrowing(tmp_path):
    text = "stages:\n  - n_trials: 8\n  - n_trials: 4\n  - n_trials: 2\n  - n_trials: 2\n"
    spec = load_study(write(tmp_path, text))
    got = [(s.n_trials, s.decades, s.fraction, s.sampler) for s in spec.stages]
    assert got == [(8, 0.0, 0.0, None), (4, 1.0, 0.25, None), (2, 0.5, 0.125, None), (2, 0.5, 0.125, None)]
    assert spec.n_trials == 16


def test_stages_with_explicit_narrowing(tmp_path):
    text = ("stages:\n  - {n_trials: 5, sampler: random}\n"
            "  - {n_trials: 3, decades: 2, fraction: 0.3, sampler: tpe}\n")
    spec = load_study(write(tmp_path, text))
    assert [(s.n_trials, s.decades, s.fraction, s.sampler) for s in spec.stages] == [
        (5, 0.0, 0.0, "random"), (3, 2, 0.3, "tpe")]



# ---------------------------------------------------------------- the plan and the table


def finished(number, value, stage, **attrs):
    return create_trial(value=value, params={"lambda": value / 1000},
                        distributions={"lambda": FloatDistribution(1e-5, 1e-2, log=True)},
                        user_attrs={"stage": stage, "ranges": {"lambda": f"stage {stage}"}}, **attrs)


def study_of(trials):
    study = optuna.create_study(direction="maximize")
    for trial in trials:
        study.add_trial(trial)
    return study


def test_the_plan_places_trials_by_position_and_retries_in_their_original_s_stage():
    plan = stages.StagePlan(spec_of(stages=[{"n_trials": 2}, {"n_trials": 3}]))
    assert plan.total == 5
    assert [plan.stage_at(p) for p in range(7)] == [0, 0, 1, 1, 1, 1, 1]  # past the budget: the last stage
    study = study_of([finished(0, 0.5, 1), create_trial(state=TrialState.FAIL, user_attrs={"stage": 1}),
                      create_trial(state=TrialState.WAITING, system_attrs={"failed_trial": 1})])
    trials = study.get_trials(deepcopy=False)
    assert plan.stage_of(trials, 2) == 0  # the retry of trial 1 stays in stage 1
    assert plan.next_stage(study) == 0


def test_a_later_stage_searches_the_space_narrowed_around_the_best():
    spec = spec_of(stages=[{"n_trials": 2}, {"n_trials": 2, "decades": 1, "fraction": 0.25}])
    plan = stages.StagePlan(spec)
    study = study_of([finished(0, 5.0, 1), finished(1, 2.0, 1)])
    trials = study.get_trials(deepcopy=False)
    assert plan.space(study, 0, trials) is spec.space
    narrowed = plan.space(study, 1, trials).dimensions["lambda"]
    assert (narrowed.low, narrowed.high) == pytest.approx((5e-4, 1e-2))  # 5e-3 +- a decade, within the range


def test_the_stage_table_counts_each_stage_s_trials_and_best_value():
    spec = spec_of(stages=[{"n_trials": 2}, {"n_trials": 2}])
    study = study_of([finished(0, 5.0, 1), finished(1, 2.0, 1), finished(2, 7.0, 2)])
    rows = stages.stage_table(study, spec)
    assert [(r["stage"], r["budget"], r["trials"], r["complete"], r["best_value"]) for r in rows] == [
        (1, 2, 2, 2, 5.0), (2, 2, 1, 1, 7.0)]
    assert rows[0]["ranges"] == {"lambda": "stage 1"}
    assert rows[0]["spread"]["lambda"] == pytest.approx(0.39794, abs=1e-4)  # log10(5e-3 / 2e-3)


def test_under_a_time_budget_the_best_trial_is_stage_2_s_once_it_has_one():
    study = optuna.create_study(direction="maximize")
    study.add_trial(create_trial(state=TrialState.COMPLETE, value=0.99, user_attrs={"stage": 1}))
    budgeted, unbudgeted = spec_of(budget={"time": 60}), spec_of()
    assert stages.best_trial(study, budgeted).number == 0  # stage 2 has none yet
    study.add_trial(create_trial(state=TrialState.COMPLETE, value=0.95, user_attrs={"stage": 2}))
    study.add_trial(create_trial(state=TrialState.COMPLETE, value=0.97, user_attrs={"stage": 2}))
    assert stages.best_trial(study, budgeted).number == 2  # stage 1's 0.99 came from fewer rows and epochs
    assert stages.best_trial(study, unbudgeted).number == 0  # without one, every stage is alike
