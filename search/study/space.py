"""The search space: ranges and choices, and estimator parameters.

A stage narrows a space (:func:`search.study.stages.narrowed`) by each dimension's ``around``.

One vocabulary: a name in the space is the Optuna parameter's name and the
MLflow param's name, and it is the estimator's argument of the same name, but
for a few study-level names: ``lambda`` (the seeds' L2 coefficient, turned
into ``alpha``), ``depth`` and ``width`` (turned into ``hidden_layer_sizes``),
and ``augment_<key>`` (one entry of the ``augment`` dict for each key of
:data:`estimators.augment.AUGMENT_KEYS`: ``augment_shift``,
``augment_crop_padding``, ``augment_flip``, ``augment_elastic``,
``augment_elastic_sigma``).
"""

import math
from dataclasses import dataclass, replace

# augment_shift: 2 in a space or an estimator section is augment={"shift": 2}.
AUGMENT_PREFIX = "augment_"


@dataclass(frozen=True)
class Range:
    """A float or int interval, uniform or log-uniform."""

    low: float
    high: float
    log: bool = False
    integer: bool = False

    def suggest(self, trial, name):
        if self.integer:
            return trial.suggest_int(name, int(self.low), int(self.high), log=self.log)
        return trial.suggest_float(name, self.low, self.high, log=self.log)

    def around(self, best, decades, fraction, full):
        """This range narrowed to ``best`` +- ``decades`` (log) or +- ``fraction`` of ``full`` (linear)."""
        if self.log:
            low, high = best / 10**decades, best * 10**decades
        else:
            half = fraction * (full.high - full.low)
            low, high = best - half, best + half
        low, high = max(low, full.low), min(high, full.high)
        if self.integer:
            low, high = math.floor(low), math.ceil(high)
        return replace(self, low=low, high=high)

    def middle(self):
        """The range's middle (geometric for a log range): where a probe measures a study's speed."""
        middle = math.sqrt(self.low * self.high) if self.log else (self.low + self.high) / 2
        return round(middle) if self.integer else middle

    def describe(self):
        kind = "int" if self.integer else "float"
        return f"{kind}[{self.low:g}, {self.high:g}]{' log' if self.log else ''}"


@dataclass(frozen=True)
class Categorical:
    """A list of choices; tuples (layer sizes) travel through Optuna as labels like '1024-512-64'."""

    choices: tuple

    def __init__(self, choices):
        object.__setattr__(self, "choices", tuple(choices))

    @property
    def labels(self):
        return [label(c) for c in self.choices]

    def suggest(self, trial, name):
        picked = trial.suggest_categorical(name, self.labels)
        return self.choices[self.labels.index(picked)]

    def around(self, best, decades, fraction, full):
        return self

    def middle(self):
        return self.choices[len(self.choices) // 2]

    def describe(self):
        return "{" + ", ".join(map(str, self.labels)) + "}"


def label(value):
    """The Optuna and MLflow form of a value: tuples become 'a-b-c'."""
    if isinstance(value, tuple):
        return "-".join(str(v) for v in value)
    return value


class SearchSpace:
    """Named dimensions, in the order the study file gives them."""

    def __init__(self, dimensions):
        self.dimensions = dict(dimensions)

    def __iter__(self):
        return iter(self.dimensions.items())

    def __len__(self):
        return len(self.dimensions)

    def suggest(self, trial):
        """Values for one trial, keyed by space name."""
        return {name: dim.suggest(trial, name) for name, dim in self}

    def middle(self):
        """Each dimension's middle value, keyed by space name."""
        return {name: dim.middle() for name, dim in self}

    def grid(self):
        """Every value of each dimension, for Optuna's GridSampler."""
        grid = {}
        for name, dim in self:
            if isinstance(dim, Categorical):
                grid[name] = dim.labels
            elif dim.integer:
                grid[name] = list(range(int(dim.low), int(dim.high) + 1))
            else:
                raise ValueError(f"space.{name}: the grid sampler needs choices or an int range")
        return grid

    def describe(self):
        return {name: dim.describe() for name, dim in self}


def estimator_params(values, fixed, n_train):
    """The MLPClassifier arguments of a trial.

    Parameters
    ----------
    values : dict
        The trial's values by space name.
    fixed : dict
        The study file's ``estimator`` section (may hold ``lambda``).
    n_train : int
        Training rows, for ``batch_size='auto'`` when lambda is converted.

    Returns
    -------
    dict
        Keyword arguments for MLPClassifier; ``lambda``, ``depth`` and
        ``width`` are replaced by ``alpha`` and ``hidden_layer_sizes``, and
        ``augment_<key>`` values join the ``augment`` dict.
    """
    params = {**fixed, **values}
    for name in [n for n in params if n.startswith(AUGMENT_PREFIX)]:
        params["augment"] = {**(params.get("augment") or {}), name[len(AUGMENT_PREFIX):]: params.pop(name)}
    if "depth" in params:
        params["hidden_layer_sizes"] = (int(params.pop("width")),) * int(params.pop("depth"))
    if "lambda" in params:
        batch_size = params.get("batch_size", "auto")
        batch_size = min(200, n_train) if batch_size == "auto" else min(batch_size, n_train)
        params["alpha"] = 2 * batch_size * params.pop("lambda")
    return params


def trial_params(values, spec, n_train, epochs=None):
    """The estimator arguments a trial trains with: :func:`estimator_params` of its ``values`` and the
    study's fixed ones, for ``epochs`` (by default ``spec.epochs``; under a time budget, the plan's) unless
    the study fixes ``max_iter``.

    The objective calls it as the trial starts, the champion's refit for the finished best trial:
    both train the same configuration.
    """
    params = estimator_params(values, spec.estimator, n_train)
    params.setdefault("max_iter", epochs or spec.epochs)
    return params
