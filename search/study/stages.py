"""Coarse-to-fine stages.

A study runs its stages one after the other: stage 1 searches the whole
space, each later stage the space narrowed around the best trial so far.
Here are the stage's spec (:class:`Stage`) and its default narrowing, how a
space is narrowed, which stage a trial belongs to (:class:`StagePlan`), and
the per-stage table of a study's summary. The samplers that search each
stage are in :mod:`search.study.samplers`.
"""

from dataclasses import dataclass

import numpy as np
from optuna.trial import TrialState

from ..stores import budget
from ..stores.budget import retried_number, retried_numbers
from ..tracking.names import RANGES, STAGE
from .metrics import best
from .space import Range, SearchSpace

STAGE_KEYS = {"n_trials", "decades", "fraction", "sampler"}
DEFAULT_NARROWING = [(1.0, 0.25), (0.5, 0.125)]  # (decades, fraction) of stages 2, 3, ...
COARSE, FINE = 1, 2  # a time plan's two stages (search.study.timeplan), numbered from 1 as everywhere


@dataclass
class Stage:
    """One stage of a coarse-to-fine search: a budget and how far to narrow."""

    n_trials: int
    decades: float = 0.0  # half-width of log ranges around the best value, in decades
    fraction: float = 0.0  # half-width of linear ranges, as a fraction of the full range
    sampler: str | None = None


def default_narrowing(index):
    """``(decades, fraction)`` of stage ``index`` (from 0) when the study file gives none."""
    return (0.0, 0.0) if index == 0 else DEFAULT_NARROWING[min(index, 2) - 1]


def narrowed(space, best_values, decades, fraction):
    """``space`` concentrated around ``best_values``: the space of a later stage.

    Ranges never leave the given space's own, so pass the full space.
    """
    return SearchSpace({
        name: dim.around(best_values[name], decades, fraction, dim) if name in best_values else dim
        for name, dim in space
    })


class StagePlan:
    """Which coarse-to-fine stage a trial belongs to, and that stage's space.

    A trial's position is the number of trials before it, not counting failed
    trials that were queued again (their retry takes their place, and their
    stage). Stage k holds the positions from the sum of the earlier budgets on
    and, for k > 0, searches the full space narrowed around the best trial so far.
    """

    def __init__(self, spec):
        self.spec = spec
        self.bounds = np.cumsum([stage.n_trials for stage in spec.stages])

    @property
    def total(self):
        return int(self.bounds[-1])

    def stage_at(self, position):
        return min(int(np.searchsorted(self.bounds, position, side="right")), len(self.bounds) - 1)

    def stage_of(self, trials, number):
        original = retried_number(trials[number])
        if original is not None:
            return max(0, trials[original].user_attrs.get(STAGE, 1) - 1)  # stages are numbered from 1
        retried = retried_numbers(trials)
        return self.stage_at(sum(1 for t in trials if t.number < number and t.number not in retried))

    def stage_and_space(self, trial):
        trials = trial.study.get_trials(deepcopy=False)
        index = self.stage_of(trials, trial.number)
        return index, self.space(trial.study, index, trials)

    def space(self, study, index, trials):
        if index == 0 or not any(t.state == TrialState.COMPLETE for t in trials):
            return self.spec.space
        stage = self.spec.stages[index]
        return narrowed(self.spec.space, best_trial(study, self.spec).params, stage.decades, stage.fraction)

    def next_stage(self, study):
        """The stage of the next queued trial; None when nothing is queued."""
        trials = study.get_trials(deepcopy=False)
        queued = budget.waiting(trials)
        return self.stage_of(trials, queued[0].number) if queued else None


def best_trial(study, spec):
    """The best trial, which later stages narrow around and the champion is refit from: the study's best;
    under a time budget the best of stage 2 once it has one (stage 1's trials train on fewer rows and
    epochs: their values are not comparable). The study has a complete trial."""
    if spec.time_budget is not None:
        fine = [t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
                if t.user_attrs.get(STAGE) == FINE]
        if fine:
            return best(fine, spec.direction)
    return study.best_trial


def stage_table(study, spec):
    """Per stage: its trials, the ranges they searched, and how spread their values were."""
    used = budget.used(study.get_trials(deepcopy=False))
    return [_stage_row(spec, index, stage, [t for t in used if t.user_attrs.get(STAGE) == index + 1])
            for index, stage in enumerate(spec.stages)]


def _stage_row(spec, index, stage, trials):
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    spread = {}
    for name, dim in spec.space:
        values = [t.params[name] for t in trials if name in t.params]
        if values and isinstance(dim, Range):
            spread[name] = float(np.ptp(np.log10(values) if dim.log else values))
    top = best(complete, spec.direction)
    return {
        "stage": index + 1,
        "budget": stage.n_trials,
        "trials": len(trials),
        "complete": len(complete),
        "ranges": trials[-1].user_attrs.get(RANGES, {}) if trials else {},
        "spread": spread,  # log ranges in decades
        "best_value": None if top is None else top.value,
    }
