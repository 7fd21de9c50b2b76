"""Tests for search.study.samplers: the sampler and pruner registries, and the seeds each worker draws."""

import optuna
import pytest

from search.study import samplers
from search.study.file import load_study
from tests.conftest import tiny_study_text
from tests.search.study.test_file import refused, write
from tests.search.study.test_stages import spec_of


@pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning")  # QMCSampler
def test_grid_and_qmc_samplers_share_the_seed_that_random_and_tpe_vary():
    def sampler(name, **where):
        text = tiny_study_text("s", sampler={"name": name, "seed": 3},
                               space={"width": {"low": 8, "high": 64}})
        return samplers.make_sampler(load_study("s.yaml", text=text), **where)

    def first_draw(s):
        return s._rng.rng.random() if hasattr(s, "_rng") else s._random_sampler._rng.rng.random()

    for where in ({"worker_index": 1}, {"trials_before": 5}):
        assert sampler("grid", **where)._all_grids == sampler("grid")._all_grids
        assert sampler("qmc", **where)._seed == sampler("qmc")._seed == 3
        assert first_draw(sampler("random", **where)) != first_draw(sampler("random"))
        assert first_draw(sampler("tpe", **where)) != first_draw(sampler("tpe"))
    assert first_draw(sampler("tpe")) == first_draw(sampler("tpe"))  # a fresh study: the file's seed


def test_the_registry_refuses_an_option_a_sampler_does_not_take_naming_it(tmp_path):
    assert samplers.SAMPLERS["random"].refused({"name": "random", "seed": 1, "n_startup_trials": 5}) == [
        "n_startup_trials"]
    assert samplers.SAMPLERS["tpe"].refused({"name": "tpe", "seed": 1, "n_startup_trials": 5}) == []
    message = refused(write(tmp_path, "sampler: {name: random, flavour: 1}\n"))
    assert "sampler: the random sampler takes no option 'flavour' (it takes seed)" in message


def test_the_registry_refuses_a_pruner_option_and_says_none_are_taken(tmp_path):
    assert "the none pruner takes no option 'patience' (it takes none)" in refused(
        write(tmp_path, "pruner: {name: none, patience: 3}\n"))


@pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning")  # QMCSampler
def test_every_registered_sampler_and_pruner_builds_its_optuna_class(monkeypatch):
    monkeypatch.setattr(samplers, "_installed", lambda module: True)  # gp's PyTorch, which CI lacks
    for name, factory in samplers.SAMPLERS.items():
        spec = spec_of(sampler={"name": name, "seed": 0}, space={"width": {"low": 8, "high": 64}})
        assert isinstance(samplers.make_sampler(spec), factory.kind)
    for name, factory in samplers.PRUNERS.items():
        assert isinstance(samplers.make_pruner(spec_of(pruner=name)), factory.kind)


def test_pruners_take_their_defaults_from_the_study_and_options_from_the_file():
    median = samplers.make_pruner(spec_of(epochs=10, pruner="median"))
    assert (median._n_startup_trials, median._n_warmup_steps) == (5, 2)
    hyperband = samplers.make_pruner(spec_of(epochs=10, pruner={"name": "hyperband", "min_resource": 3}))
    assert (hyperband._min_resource, hyperband._max_resource) == (3, 10)


def test_a_stage_sampler_replaces_the_study_s_for_that_stage():
    spec = spec_of(stages=[{"n_trials": 1}, {"n_trials": 1, "sampler": "random"}])
    assert isinstance(samplers.make_sampler(spec, 0), optuna.samplers.TPESampler)
    assert isinstance(samplers.make_sampler(spec, 1), optuna.samplers.RandomSampler)


def test_the_gp_sampler_is_refused_in_one_line_where_pytorch_is_missing(tmp_path, monkeypatch):
    monkeypatch.setattr(samplers, "_installed", lambda module: module != "torch")
    message = refused(write(tmp_path, tiny_study_text("s", sampler={"name": "gp", "seed": 0})))
    assert "sampler: the gp sampler needs PyTorch, which is not installed (pip install torch" in message


def test_the_gp_sampler_takes_its_options_but_none_that_a_file_cannot_write(tmp_path, monkeypatch):
    monkeypatch.setattr(samplers, "_installed", lambda module: True)
    spec = spec_of(sampler={"name": "gp", "seed": 0, "n_startup_trials": 4})
    gp = samplers.make_sampler(spec)
    assert (gp._n_startup_trials, gp._warn_independent_sampling) == (4, False)
    message = refused(write(tmp_path, tiny_study_text("s", sampler={"name": "gp", "constraints_func": "f"})))
    assert "the gp sampler takes no option 'constraints_func'" in message
