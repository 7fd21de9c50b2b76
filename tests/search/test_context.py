"""Tests for search.context: the options of an invocation, as a script gives them."""

import time

import pytest

from search.context import OptionError, Options


def test_a_scripts_options_mean_what_the_flags_mean():
    assert Options.of() == Options()
    assert Options.of(n_trials=0, timeout=0) == Options(n_trials=None, timeout=None)  # 0: no limit, as --n-trials 0
    options = Options.of(n_trials=3, timeout=5, workers=2, storage="journal:x.journal", tracking_uri="sqlite:///m.db")
    assert options == Options(storage_url="journal:x.journal", tracking_uri="sqlite:///m.db", workers=2, n_trials=3,
                              timeout=5.0)


def test_a_time_budget_is_seconds_and_the_clock_starts_when_the_options_are_given():
    before = time.time()
    options = Options.of(time_budget=20)
    assert options.time_budget == 20.0 and before <= options.started <= time.time()
    assert Options.of(time_budget=0).time_budget is None  # 0: the study file's, as --time-budget 0


@pytest.mark.parametrize("given", [{"time_budget": 20, "n_trials": 3}, {"time_budget": 20, "timeout": 60}])
def test_a_time_budget_plans_the_trials_itself(given):
    with pytest.raises(OptionError, match="^a time budget plans the trials and when they stop"):
        Options.of(**given)


@pytest.mark.parametrize("given", [{"n_trials": True}, {"timeout": -1}, {"timeout": float("inf")}, {"workers": 1.0},
                                   {"tracking_uri": b"sqlite://"}, {"time_budget": -1}, {"time_budget": "20s"},
                                   {"time_budget": float("nan")}])
def test_a_bad_value_is_an_option_error(given):
    with pytest.raises(OptionError, match=f"^{next(iter(given))} must be"):
        Options.of(**given)
