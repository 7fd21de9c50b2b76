"""The service's own study for each kind of data: what ``python -m search run --dataset`` writes and runs.

Each recipe is a study file of ``studies/`` that is known to work, with the user's data and name in place
of its own (the comment on each says which file, and why that one):

- grey images (MNIST, Fashion-MNIST, an npz of one-channel images): ``mnist_best.yaml``;
- colour images (CIFAR-10, an npz of RGB images): ``cifar10_best.yaml``;
- small images (digits, any image under 16 pixels a side): ``digits_best.yaml``;
- tables (a csv, tsv or Parquet file, penguins, diabetes, an npz of flat rows): ``penguins.yaml``, with
  ``quickstart_regression.yaml``'s objective for a regression.

What a recipe knows of the data is a :class:`search.study.datakind.DataKind`.
"""

import math
from dataclasses import dataclass
from typing import Callable

import yaml

from .datakind import KINDS

# Validation rows: the image files' 5000, or a tenth of fewer rows (5000 is a tenth of CIFAR-10's 50000).
VALIDATION_ROWS = 5000
ZCA_MAX_FEATURES = 3072  # ZCA's eigendecomposition is 25 s at CIFAR-10's 3072 features, and grows as their cube
SMALL_TABLE_ROWS = 1000  # under it, 20% validation rows are a noisy judge: penguins' 3 seeds per trial
LARGE_TABLE_ROWS = 10_000  # from it, batches of 32 make an epoch slow: 128, as the image recipes


def grey_images(data):
    """``studies/mnist_best.yaml``: 800 ReLU units on elastically distorted digits (Simard et al. 2003) with a
    cosine rate, 99.3% on MNIST. The distortions, not the search, carry the last half point, so the space is
    narrow (rate, distortion strength, a little dropout) and most of the time trains."""
    return {
        "dataset": {**data.dataset, "validation_size": validation_rows(data), "scaling": "minmax"},
        "estimator": {"hidden_layer_sizes": [800], "activation": "relu", "solver": "sgd", "momentum": 0.9,
                      "batch_size": 128, "learning_rate": "cosine", "alpha": 0.0,
                      "augment": {"elastic_sigma": 6.0}, "image_shape": list(data.image_shape),
                      "n_iter_no_change": 1000},  # never stop on a plateau: the cosine schedule sets the length
        "space": {"learning_rate_init": {"low": 0.025, "high": 0.1, "log": True},
                  "augment_elastic": {"low": 28.0, "high": 44.0},
                  "dropout": {"low": 0.0, "high": 0.15}},
        "objective": "val_accuracy",
        "epochs": 60,
        "sampler": {"name": "tpe", "seed": 0},
        "pruner": {"name": "median", "n_startup_trials": 3, "n_warmup_steps": 20},
        "n_trials": 12,
        "timeout": 2400,
    }


def colour_images(data):
    """``studies/cifar10_best.yaml``: 1024-1024 ReLU on ZCA-whitened, cropped and flipped images with a cosine
    rate, past 60% on CIFAR-10. Whitening hands the MLP the edges a convolution would find, crops and flips
    stop it memorising; the space is narrow (rate, dropout, L2)."""
    features = math.prod(data.image_shape)
    return {
        "dataset": {**data.dataset, "validation_size": validation_rows(data),
                    "scaling": "zca" if features <= ZCA_MAX_FEATURES else "standard"},
        "estimator": {"hidden_layer_sizes": [1024, 1024], "activation": "relu", "solver": "sgd", "momentum": 0.9,
                      "batch_size": 128, "learning_rate": "cosine", "augment": {"crop_padding": 2, "flip": True},
                      "image_shape": list(data.image_shape), "n_iter_no_change": 1000},
        "space": {"learning_rate_init": {"low": 0.01, "high": 0.04, "log": True},
                  "dropout": {"low": 0.0, "high": 0.3},
                  "alpha": {"low": 1.0e-5, "high": 1.0e-3, "log": True}},
        "objective": "val_accuracy",
        "epochs": 40,
        "sampler": {"name": "tpe", "seed": 0, "n_startup_trials": 5},
        "pruner": {"name": "median", "n_startup_trials": 3, "n_warmup_steps": 15},
        "n_trials": 12,
        "timeout": 4200,
    }


def small_images(data):
    """``studies/digits_best.yaml``: a wide ReLU network with Gaussian jitter and a cosine rate, 98.2% on
    digits against the quickstart's 98.0%; 8 x 8 images are too coarse to shift, crop or distort, but noise
    stops the network memorising its thousand images. The space is narrow (rate, jitter, lambda, width,
    depth), so that a budget of seconds spends its trials near the answer."""
    return {
        "dataset": {**data.dataset, "validation_fraction": 0.2, "scaling": "standard"},
        "estimator": {"activation": "relu", "solver": "sgd", "momentum": 0.9, "batch_size": 64,
                      "learning_rate": "cosine", "n_iter_no_change": 1000},
        "space": {"learning_rate_init": {"low": 1.0e-2, "high": 1.0e-1, "log": True},
                  "jitter": {"low": 0.0, "high": 0.8},
                  "lambda": {"low": 1.0e-6, "high": 1.0e-2, "log": True},
                  "width": {"low": 64, "high": 512, "log": True},
                  "depth": {"low": 1, "high": 2}},
        "objective": "val_accuracy",
        "epochs": 30,
        "repeats": 2,  # a few hundred validation images are a noisy judge
        "sampler": {"name": "tpe", "seed": 0},
        "pruner": "median",
        "stages": [{"n_trials": 24}, {"n_trials": 12}],
    }


def table(data):
    """``studies/penguins.yaml``: Adam over rate, activation, lambda, width and depth on a table's columns
    prepared by kind (inside the champion), plus dropout. The loss judges a classification (accuracy ties on
    few rows); a regression is judged by R^2, as ``quickstart_regression.yaml``, whose space is the same."""
    classification = data.task == "classification"
    return {
        "task": data.task,
        "dataset": {**data.dataset, "validation_fraction": 0.2, "scaling": "standard"},
        "estimator": {"solver": "adam", "batch_size": 32 if data.n_train < LARGE_TABLE_ROWS else 128},
        "space": {"learning_rate_init": {"low": 1.0e-4, "high": 3.0e-2, "log": True},
                  "activation": {"choices": ["relu", "leaky_relu", "tanh"]},
                  "lambda": {"low": 1.0e-6, "high": 1.0e-1, "log": True},
                  "width": {"low": 4, "high": 128, "log": True},
                  "depth": {"low": 1, "high": 2},
                  "dropout": {"low": 0.0, "high": 0.3}},
        "objective": "val_loss" if classification else "val_r2",
        "epochs": 60,
        "repeats": 3 if data.n_train < SMALL_TABLE_ROWS else 1,
        "sampler": {"name": "tpe", "seed": 0},
        "pruner": "median",
        "stages": [{"n_trials": 24}, {"n_trials": 12}],
    }


@dataclass(frozen=True)
class Recipe:
    """A kind of data's study: ``build(data) -> mapping`` and the study file it comes from."""

    build: Callable
    source: str


RECIPES = {
    "grey": Recipe(grey_images, "studies/mnist_best.yaml"),
    "colour": Recipe(colour_images, "studies/cifar10_best.yaml"),
    "small": Recipe(small_images, "studies/digits_best.yaml"),
    "table": Recipe(table, "studies/penguins.yaml"),
}


def validation_rows(data):
    return min(VALIDATION_ROWS, data.n_train // 10)


def study_for(data, time_budget=None):
    """The study for ``data`` as a study file's mapping; with ``time_budget`` (seconds), its time budget."""
    recipe = RECIPES[data.kind]
    study = {"name": data.name, "description": f"the service's study for {KINDS[data.kind]} ({recipe.source})",
             **recipe.build(data), "register": {"name": data.name, "alias": "champion"}}
    return study if time_budget is None else with_time_budget(study, time_budget)


def with_time_budget(study, seconds):
    """``study`` with ``budget: {time: seconds}`` (issue 26), which takes the place of its trial-start timeout.

    The one place a written study gets its time budget.
    """
    kept = {key: value for key, value in study.items() if key != "timeout"}
    return {**kept, "budget": {"time": seconds}}


def study_text(data, time_budget=None):
    """The study file ``--dataset`` writes: a comment saying where it comes from, then the study as YAML."""
    source = RECIPES[data.kind].source
    header = (f"# The study `python -m search run --dataset` chose for {data.name} ({KINDS[data.kind]}): the\n"
              f"# service's recipe, from {source}. Edit it, then run `python -m search run {data.name}.yaml`.\n")
    return header + yaml.safe_dump(study_for(data, time_budget), sort_keys=False, default_flow_style=None)
