"""Tests for search.outcome.summary: the lines a finished study prints (the files on the parent run
are checked end to end in test_service and test_champion)."""

from types import SimpleNamespace

import optuna
from optuna.distributions import CategoricalDistribution, FloatDistribution
from optuna.trial import TrialState, create_trial

from search.outcome.summary import summary_text

SPEC = SimpleNamespace(name="tiny", metric="val_accuracy", time_budget=None)
STAGES = [{"stage": 1, "trials": 2, "budget": 3, "best_value": 0.8125, "ranges": {"lambda": "float[1e-05, 0.01] log"}},
          {"stage": 2, "trials": 0, "budget": 2, "best_value": None, "ranges": {"lambda": "float[0.0001, 0.001] log"}}]
DISTRIBUTIONS = {"width": CategoricalDistribution(["16-8", "32"]), "lambda": FloatDistribution(1e-5, 1e-2, log=True)}


def study_of(*trials):
    study = optuna.create_study(direction="maximize")
    study.add_trials(trials)
    return study


def test_the_summary_gives_each_stage_and_the_best_trial():
    study = study_of(create_trial(value=0.75, params={"width": "32", "lambda": 1e-3}, distributions=DISTRIBUTIONS),
                     create_trial(value=0.8125, params={"width": "16-8", "lambda": 2e-4}, distributions=DISTRIBUTIONS))
    assert summary_text(study, SPEC, STAGES).splitlines() == [
        "study tiny: 2 trials",
        "  stage 1: 2/3 trials, best val_accuracy 0.8125; lambda float[1e-05, 0.01] log",
        "  stage 2: 0/2 trials, best val_accuracy -; lambda float[0.0001, 0.001] log",
        "best: trial 1, val_accuracy=0.8125: width=16-8, lambda=0.0002"]


def test_a_study_without_a_complete_trial_names_no_best():
    study = study_of(create_trial(state=TrialState.FAIL, params={}, distributions={}))
    lines = summary_text(study, SPEC, STAGES[:1]).splitlines()
    assert lines[0] == "study tiny: 1 trials" and not any(line.startswith("best:") for line in lines)
