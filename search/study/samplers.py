"""The samplers and pruners a study file may name, and how each is built.

``SAMPLERS`` and ``PRUNERS`` map a study file's name to a :class:`Factory`.
The study-file checker builds them through the same factories that run
them, so an option one refuses fails before anything runs. A new sampler or
pruner is one entry here.
"""

import importlib.util
import inspect
from dataclasses import dataclass
from typing import Callable

import numpy as np
import optuna


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
    objects : frozenset
        Options that take Python objects (another sampler, a function), which
        a study file cannot write: refused.
    """

    kind: type
    build: Callable
    forwards: bool = True
    shared_seed: bool = False
    objects: frozenset = frozenset()

    def options(self):
        """The option names a study file may give it."""
        parameters = set(inspect.signature(self.kind).parameters) - self.objects
        return parameters if self.forwards else parameters & {"seed"}

    def refused(self, options):
        """The options it does not accept, in the file's order."""
        accepted = self.options()
        return [option for option in options if option != "name" and option not in accepted]


def _installed(module):
    return importlib.util.find_spec(module) is not None


def _gaussian_process(spec, options):
    """Optuna's GPSampler, refused up front where PyTorch, which it fits with, is missing.

    Without the check it would fail only after its startup trials, mid-study.
    Its warning on every independently sampled parameter is off unless asked
    for: a conditional space (momentum with sgd only) would print one a trial.
    """
    if not _installed("torch"):
        raise ValueError("the gp sampler needs PyTorch, which is not installed (pip install torch; "
                         "the CPU build is enough)")
    return optuna.samplers.GPSampler(**{"warn_independent_sampling": False, **options})


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
    "gp": Factory(optuna.samplers.GPSampler, _gaussian_process,
                  objects=frozenset({"independent_sampler", "constraints_func"})),
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
