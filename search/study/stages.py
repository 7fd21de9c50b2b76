"""Coarse-to-fine stages, and the samplers and pruners that search them.

A study runs its stages one after the other: stage 1 searches the whole
space, each later stage the space narrowed around the best trial so far.
Here are the stage's spec (:class:`Stage`) and its default narrowing, how a
space is narrowed, which stage a trial belongs to (:class:`StagePlan`), the
per-stage table of a study's summary, and the registries of samplers and
pruners: the study-file checker builds them through the same factories that
run them, so an option one refuses fails before anything runs.
"""

import inspect
from dataclasses import dataclass
from typing import Callable

import numpy as np
import optuna
from optuna.trial import TrialState

from ..stores import budget
from ..stores.budget import retried_number, retried_numbers
from ..tracking.names import RANGES, STAGE
from .space import Range, SearchSpace

STAGE_KEYS = {"n_trials", "decades", "fraction", "sampler"}
DEFAULT_NARROWING = [(1.0, 0.25), (0.5, 0.125)]  # (decades, fraction) of stages 2, 3, ...


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
        return narrowed(self.spec.space, study.best_trial.params, stage.decades, stage.fraction)

    def next_stage(self, study):
        """The stage of the next queued trial; None when nothing is queued."""
        trials = study.get_trials(deepcopy=False)
        queued = budget.waiting(trials)
        return self.stage_of(trials, queued[0].number) if queued else None


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
    best = max(complete, key=lambda t: t.value) if spec.direction == "maximize" and complete else (
        min(complete, key=lambda t: t.value) if complete else None)
    return {
        "stage": index + 1,
        "budget": stage.n_trials,
        "trials": len(trials),
        "complete": len(complete),
        "ranges": trials[-1].user_attrs.get(RANGES, {}) if trials else {},
        "spread": spread,  # log ranges in decades
        "best_value": None if best is None else best.value,
    }


# ---------------------------------------------------------------- samplers and pruners


@dataclass(frozen=True)
class Factory:
    """How a study file's sampler or pruner is built, and which options it accepts.

    Attributes
    ----------
    kind : type
        The Optuna class built; its signature names the options and, by their
        defaults, their types.
    build : callable
        ``build(spec, options) -> kind``; ``options`` are the study file's,
        without ``name``.
    forwards : bool
        Whether every option of ``kind`` is passed on; else only ``seed``.
    shared_seed : bool
        Samplers only: every worker keeps the file's seed (a trial's point
        is its index in one seeded sequence that the whole study walks).
    """

    kind: type
    build: Callable
    forwards: bool = True
    shared_seed: bool = False

    def options(self):
        """The option names a study file may give it."""
        parameters = set(inspect.signature(self.kind).parameters)
        return parameters if self.forwards else parameters & {"seed"}

    def refused(self, options):
        """The options it does not accept, in the file's order."""
        accepted = self.options()
        return [option for option in options if option != "name" and option not in accepted]


SAMPLERS = {
    "tpe": Factory(optuna.samplers.TPESampler, lambda spec, options: optuna.samplers.TPESampler(**options)),
    "random": Factory(optuna.samplers.RandomSampler,
                      lambda spec, options: optuna.samplers.RandomSampler(seed=options.get("seed")),
                      forwards=False),
    "grid": Factory(optuna.samplers.GridSampler,
                    lambda spec, options: optuna.samplers.GridSampler(spec.space.grid(), seed=options.get("seed")),
                    forwards=False, shared_seed=True),
    "qmc": Factory(optuna.samplers.QMCSampler, lambda spec, options: optuna.samplers.QMCSampler(**options),
                   shared_seed=True),
}
PRUNERS = {
    "median": Factory(optuna.pruners.MedianPruner, lambda spec, options: optuna.pruners.MedianPruner(
        **{"n_startup_trials": 5, "n_warmup_steps": max(1, spec.epochs // 5), **options})),
    "hyperband": Factory(optuna.pruners.HyperbandPruner, lambda spec, options: optuna.pruners.HyperbandPruner(
        **{"min_resource": 1, "max_resource": spec.epochs, **options})),
    "none": Factory(optuna.pruners.NopPruner, lambda spec, options: optuna.pruners.NopPruner(), forwards=False),
}


def make_sampler(spec, stage_index=0, worker_index=0, trials_before=0):
    """The stage's sampler for one worker, ``trials_before`` trials into the study.

    A fresh study's first worker keeps the file's seed. Other workers, and a
    resumed study, draw a random or TPE stream of their own: with the file's
    seed they would propose the points already tried again.
    """
    options = dict(spec.sampler)
    name = spec.stages[stage_index].sampler or options["name"]
    options.pop("name")
    factory = SAMPLERS[name]
    seed = options.pop("seed", None)
    if not factory.shared_seed and seed is not None and (worker_index or trials_before):
        seed = int(np.random.SeedSequence([seed, worker_index, trials_before]).generate_state(1)[0])
    return factory.build(spec, {"seed": seed, **options})


def make_pruner(spec):
    options = dict(spec.pruner)
    return PRUNERS[options.pop("name")].build(spec, options)
