"""Tests for search.study.stages: the stage spec and its narrowing, the stage plan, the stage table, and
the sampler and pruner registries."""

import optuna
import pytest
from optuna.distributions import FloatDistribution
from optuna.trial import TrialState, create_trial

from search.study import stages
from search.study.space import SearchSpace
from search.study.file import load_study
from tests.conftest import tiny_study_text
from tests.search.study.test_space import DEPTH, LAMBDA, LAYERS, SLOPE
from tests.search.study.test_file import refused, write


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



# ---------------------------------------------------------------- samplers and pruners


@pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning")  # QMCSampler
def test_grid_and_qmc_samplers_share_the_seed_that_random_and_tpe_vary():
    def sampler(name, **where):
        text = tiny_study_text("s", sampler={"name": name, "seed": 3},
                               space={"width": {"low": 8, "high": 64}})
        return stages.make_sampler(load_study("s.yaml", text=text), **where)

    def first_draw(s):
        return s._rng.rng.random() if hasattr(s, "_rng") else s._random_sampler._rng.rng.random()

    for where in ({"worker_index": 1}, {"trials_before": 5}):
        assert sampler("grid", **where)._all_grids == sampler("grid")._all_grids
        assert sampler("qmc", **where)._seed == sampler("qmc")._seed == 3
        assert first_draw(sampler("random", **where)) != first_draw(sampler("random"))
        assert first_draw(sampler("tpe", **where)) != first_draw(sampler("tpe"))
    assert first_draw(sampler("tpe")) == first_draw(sampler("tpe"))  # a fresh study: the file's seed


def test_the_registry_refuses_an_option_a_sampler_does_not_take_naming_it(tmp_path):
    assert stages.SAMPLERS["random"].refused({"name": "random", "seed": 1, "n_startup_trials": 5}) == [
        "n_startup_trials"]
    assert stages.SAMPLERS["tpe"].refused({"name": "tpe", "seed": 1, "n_startup_trials": 5}) == []
    message = refused(write(tmp_path, "sampler: {name: random, flavour: 1}\n"))
    assert "sampler: the random sampler takes no option 'flavour' (it takes seed)" in message


def test_the_registry_refuses_a_pruner_option_and_says_none_are_taken(tmp_path):
    assert "the none pruner takes no option 'patience' (it takes none)" in refused(
        write(tmp_path, "pruner: {name: none, patience: 3}\n"))


@pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning")  # QMCSampler
def test_every_registered_sampler_and_pruner_builds_its_optuna_class():
    for name, factory in stages.SAMPLERS.items():
        spec = spec_of(sampler={"name": name, "seed": 0}, space={"width": {"low": 8, "high": 64}})
        assert isinstance(stages.make_sampler(spec), factory.kind)
    for name, factory in stages.PRUNERS.items():
        assert isinstance(stages.make_pruner(spec_of(pruner=name)), factory.kind)


def test_pruners_take_their_defaults_from_the_study_and_options_from_the_file():
    median = stages.make_pruner(spec_of(epochs=10, pruner="median"))
    assert (median._n_startup_trials, median._n_warmup_steps) == (5, 2)
    hyperband = stages.make_pruner(spec_of(epochs=10, pruner={"name": "hyperband", "min_resource": 3}))
    assert (hyperband._min_resource, hyperband._max_resource) == (3, 10)


def test_a_stage_sampler_replaces_the_study_s_for_that_stage():
    spec = spec_of(stages=[{"n_trials": 1}, {"n_trials": 1, "sampler": "random"}])
    assert isinstance(stages.make_sampler(spec, 0), optuna.samplers.TPESampler)
    assert isinstance(stages.make_sampler(spec, 1), optuna.samplers.RandomSampler)


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
