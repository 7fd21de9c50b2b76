"""Tests for search.context: the options of an invocation, as a script gives them."""

import pytest

from search.context import OptionError, Options


def test_a_scripts_options_mean_what_the_flags_mean():
    assert Options.of() == Options()
    assert Options.of(n_trials=0, timeout=0) == Options(n_trials=None, timeout=None)  # 0: no limit, as --n-trials 0
    options = Options.of(n_trials=3, timeout=5, workers=2, storage="journal:x.journal", tracking_uri="sqlite:///m.db")
    assert options == Options(storage_url="journal:x.journal", tracking_uri="sqlite:///m.db", workers=2, n_trials=3,
                              timeout=5.0)


@pytest.mark.parametrize("given", [{"n_trials": True}, {"timeout": -1}, {"timeout": float("inf")}, {"workers": 1.0},
                                   {"tracking_uri": b"sqlite://"}])
def test_a_bad_value_is_an_option_error(given):
    with pytest.raises(OptionError, match=f"^{next(iter(given))} must be"):
        Options.of(**given)
