"""A fair race on MNIST: our service against what a user would write instead.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE \\
        python bench/search_efficiency.py [--checkpoints 300 900] [--target 0.985] [--workers 2]

Three contenders search the same space with the same wall-clock budget (the
last checkpoint), one after the other on this machine, each in a process of
its own started by this one:

- ours: ``python -m search run`` on a study file of that space (TPE, median
  pruning, ``--workers``), every trial tracked in MLflow as usual;
- optuna+sklearn: a plain Optuna TPE study over scikit-learn's MLPClassifier,
  one fit per trial, both cores through BLAS;
- GridSearchCV: scikit-learn's MLPClassifier over a 3x3x3x3 grid of the same
  space, the validation split as its only fold.

The space: width 64-1024 (log) x depth 1-3 x alpha 1e-6..1e-2 (log) x
learning_rate_init 1e-3..0.3 (log); SGD with momentum 0.9, batch 256, 15
epochs; 54000 training and 6000 validation images (pixels / 255), the same
split for all three. Each contender reports every finished fit with its time
since its process started (imports and data loading included) and its
validation accuracy; only fits finished within the budget count. The bench
prints each contender's best validation accuracy at every checkpoint and the
time at which it first reached ``--target``.
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

EPOCHS = 15
FIXED = {"solver": "sgd", "momentum": 0.9, "batch_size": 256}
SPACE = {"width": (64, 1024), "depth": (1, 3), "alpha": (1e-6, 1e-2), "learning_rate_init": (1e-3, 0.3)}
GRID = {"width": [64, 256, 1024], "depth": [1, 2, 3], "alpha": [1e-6, 1e-4, 1e-2],
        "learning_rate_init": [1e-3, 1e-2, 1e-1]}


def load():
    from search.data import load_dataset
    return load_dataset("mnist", validation_size=6000, scaling="minmax")


def report(start, accuracy, params):
    """One finished fit, as a line the bench reads: seconds since start, accuracy and params."""
    print(json.dumps({"t": time.perf_counter() - start, "val_accuracy": float(accuracy),
                      "params": params}), flush=True)


def sklearn_mlp(width, depth, **params):
    from sklearn.neural_network import MLPClassifier
    return MLPClassifier(hidden_layer_sizes=(width,) * depth, max_iter=EPOCHS, random_state=0,
                         **FIXED, **params)


def run_optuna_sklearn(start, budget):
    import warnings

    import optuna
    from sklearn.exceptions import ConvergenceWarning
    data = load()

    def objective(trial):
        model = sklearn_mlp(trial.suggest_int("width", *SPACE["width"], log=True),
                            trial.suggest_int("depth", *SPACE["depth"]),
                            alpha=trial.suggest_float("alpha", *SPACE["alpha"], log=True),
                            learning_rate_init=trial.suggest_float(
                                "learning_rate_init", *SPACE["learning_rate_init"], log=True))
        model.fit(data.X_train, data.y_train)
        accuracy = model.score(data.X_val, data.y_val)
        report(start, accuracy, trial.params)
        return accuracy

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.simplefilter("ignore", ConvergenceWarning)
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=0))
    study.optimize(objective, timeout=budget)


def run_grid_search(start, budget):
    import warnings

    import numpy as np
    from sklearn.base import BaseEstimator, ClassifierMixin
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import GridSearchCV, PredefinedSplit
    data = load()

    class WidthDepthMLP(ClassifierMixin, BaseEstimator):
        """MLPClassifier with width and depth as parameters, as a grid over them needs."""

        def __init__(self, width=64, depth=1, alpha=1e-4, learning_rate_init=1e-3):
            self.width, self.depth = width, depth
            self.alpha, self.learning_rate_init = alpha, learning_rate_init

        def fit(self, X, y):
            self.model_ = sklearn_mlp(self.width, self.depth, alpha=self.alpha,
                                      learning_rate_init=self.learning_rate_init).fit(X, y)
            self.classes_ = self.model_.classes_
            return self

        def predict(self, X):
            return self.model_.predict(X)

    def scorer(estimator, X, y):
        accuracy = estimator.score(X, y)
        report(start, accuracy, estimator.get_params())
        return accuracy

    X = np.vstack([data.X_train, data.X_val])
    y = np.concatenate([data.y_train, data.y_val])
    fold = np.r_[np.full(len(data.X_train), -1), np.zeros(len(data.X_val))]
    warnings.simplefilter("ignore", ConvergenceWarning)
    GridSearchCV(WidthDepthMLP(), GRID, cv=PredefinedSplit(fold), scoring=scorer,
                 refit=False).fit(X, y)


def study_file(folder, budget):
    log_range = {name: {"low": low, "high": high, "log": True}
                 for name, (low, high) in SPACE.items() if name != "depth"}
    study = {
        "name": "efficiency", "epochs": EPOCHS, "estimator": dict(FIXED),
        "dataset": {"name": "mnist", "validation_size": 6000, "scaling": "minmax"},
        "space": {**log_range, "depth": {"low": 1, "high": 3}},
        "sampler": {"name": "tpe", "seed": 0}, "pruner": "median",
        "n_trials": 10_000, "timeout": budget, "register": False,
    }
    path = Path(folder) / "efficiency.yaml"
    path.write_text(yaml.safe_dump(study))
    return path


def run_for(command, seconds, **options):
    """Run ``command`` for at most ``seconds``, then stop it and its children; its stdout."""
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, start_new_session=True,
                               **options)
    try:
        return process.communicate(timeout=seconds)[0]
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGTERM)
        return process.communicate()[0]


def run_ours(start, budget, workers):
    """Our service in a child process; its finished trials are read from the journal after."""
    import optuna
    with tempfile.TemporaryDirectory() as folder:
        journal = f"{folder}/optuna.journal"
        command = [sys.executable, "-m", "search", "run", str(study_file(folder, budget)),
                   "--workers", str(workers), "--storage", f"journal:{journal}",
                   "--tracking-uri", f"sqlite:///{folder}/mlflow.db"]
        began = time.time() - (time.perf_counter() - start)
        # Past the budget it is stopped: what finished in time is in the journal.
        run_for(command, budget - (time.perf_counter() - start) + 5, cwd=folder,
                env={**os.environ, "PYTHONPATH": str(REPO)}, stderr=subprocess.DEVNULL)
        storage = optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(journal))
        study = optuna.load_study(study_name="efficiency", storage=storage)
        for trial in study.get_trials(states=(optuna.trial.TrialState.COMPLETE,)):
            print(json.dumps({"t": trial.datetime_complete.timestamp() - began,
                              "val_accuracy": trial.value, "params": trial.params}), flush=True)
        pruned = study.get_trials(states=(optuna.trial.TrialState.PRUNED,))
        print(json.dumps({"pruned": [(t.datetime_complete.timestamp() - began, t.last_step)
                                     for t in pruned]}), flush=True)


CONTENDERS = {"ours": run_ours, "optuna+sklearn": run_optuna_sklearn, "GridSearchCV": run_grid_search}


def race(name, budget, workers):
    """(seconds, val_accuracy, params) of each fit the contender finished within ``budget``,
    and the epochs at which its pruned trials stopped (ours only)."""
    command = [sys.executable, __file__, "--contender", name, "--checkpoints", str(budget),
               "--workers", str(workers)]
    finished, pruned = [], []
    for line in run_for(command, budget + 30).splitlines():
        if line.startswith("{"):
            fit = json.loads(line)
            if "pruned" in fit:
                pruned = [step for t, step in fit["pruned"] if t <= budget]
            elif fit["t"] <= budget:
                finished.append((fit["t"], fit["val_accuracy"], fit["params"]))
    return sorted(finished, key=lambda fit: fit[0]), pruned


def summary(name, race_result, checkpoints, target):
    finished, pruned = race_result
    best_at = []
    for checkpoint in checkpoints:
        scores = [accuracy for t, accuracy, _ in finished if t <= checkpoint]
        best_at.append(f"{max(scores):.4f}" if scores else "none")
    reached = next((t for t, accuracy, _ in finished if accuracy >= target), None)
    at = " / ".join(f"{c:.0f} s: {b}" for c, b in zip(checkpoints, best_at))
    print(f"  {name:15s} {len(finished):3d} fits; best validation accuracy at {at}; "
          f"{target:.3f} {'after %.0f s' % reached if reached else 'not reached'}", flush=True)
    if pruned:
        print(f"  {'':15s} and {len(pruned)} pruned trials, stopped after epochs {sorted(pruned)}")
    # the best few fits and where in the space they were: what the search found, not only how well
    for t, accuracy, params in sorted(finished, key=lambda fit: -fit[1])[:3]:
        shown = {k: (f"{v:.3g}" if isinstance(v, float) else v) for k, v in params.items()
                 if k in SPACE}
        print(f"  {'':15s} {accuracy:.4f} at {t:4.0f} s: {shown}", flush=True)
    return reached


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoints", type=float, nargs="+", default=[300.0, 900.0])
    parser.add_argument("--target", type=float, default=0.985)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--contenders", nargs="+", choices=list(CONTENDERS), default=list(CONTENDERS))
    parser.add_argument("--contender", choices=list(CONTENDERS), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    budget = max(args.checkpoints)
    if args.contender:  # a child process: run one contender and print its fits
        start = time.perf_counter()
        runner = CONTENDERS[args.contender]
        runner(start, budget, args.workers) if runner is run_ours else runner(start, budget)
        return
    import numpy  # noqa: F401  (loads the BLAS that threadpoolctl reports)
    from threadpoolctl import threadpool_info
    kernel = next((i.get("architecture") for i in threadpool_info() if i["user_api"] == "blas"), "?")
    print(f"{time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} cores, BLAS kernel {kernel}, "
          f"budget {budget:.0f} s each, {EPOCHS} epochs, target {args.target:.3f}", flush=True)
    reached = {name: summary(name, race(name, budget, args.workers), args.checkpoints, args.target)
               for name in args.contenders}
    if reached.get("ours") and reached.get("optuna+sklearn"):
        print(f"  ours reached {args.target:.3f} {reached['optuna+sklearn'] / reached['ours']:.1f}x "
              f"sooner than optuna+sklearn (goal >= 2x)")


if __name__ == "__main__":
    main()
