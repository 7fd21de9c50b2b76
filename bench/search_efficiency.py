"""Wall time to a model with >= 98.0% MNIST validation accuracy: GridSearchCV vs our service.

    python bench/search_efficiency.py [--epochs 20] [--target 0.98]

Both search the same 8 configurations of sklearn-style parameters:
hidden_layer_sizes {(512,), (1000, 100)} x alpha {1e-4, 1e-2} x
learning_rate_init {0.01, 0.1}, SGD with momentum 0.9, batch 256, on 54000
training and 6000 validation images (pixels / 255).

- scikit-learn: GridSearchCV(MLPClassifier, cv=the validation split); its
  fits use both cores through BLAS. It returns a model once the whole grid is
  done, so its time to a model is its total time; the time at which its first
  fit reached the target is also printed (a scorer records when each fit was
  scored).
- ours: ``python -m search run`` with TPE, the median pruner and ``--workers 2``
  over the same choices; it stops as soon as a trial reaches the target.

Both run one after the other in this process's machine; the ratio is printed.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.metrics import accuracy_score  # noqa: E402
from sklearn.model_selection import GridSearchCV, PredefinedSplit  # noqa: E402
from sklearn.neural_network import MLPClassifier  # noqa: E402

from search.data import load_dataset  # noqa: E402

GRID = {"hidden_layer_sizes": [(512,), (1000, 100)], "alpha": [1e-4, 1e-2],
        "learning_rate_init": [0.01, 0.1]}
FIXED = {"solver": "sgd", "momentum": 0.9, "batch_size": 256}


def sklearn_grid(data, epochs, target):
    X = np.vstack([data.X_train, data.X_val])
    y = np.concatenate([data.y_train, data.y_val])
    fold = np.r_[np.full(len(data.X_train), -1), np.zeros(len(data.X_val))]
    scored = []
    start = time.perf_counter()

    def scorer(estimator, X_val, y_val):
        score = accuracy_score(y_val, estimator.predict(X_val))
        scored.append((time.perf_counter() - start, score))
        return score

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search = GridSearchCV(MLPClassifier(max_iter=epochs, random_state=0, **FIXED), GRID,
                              cv=PredefinedSplit(fold), scoring=scorer, refit=False)
        search.fit(X, y)
    total = time.perf_counter() - start
    first = next((t for t, s in scored if s >= target), None)
    return total, float(np.max(search.cv_results_["mean_test_score"])), first


def ours(epochs, target, folder):
    study = {
        "name": "efficiency", "dataset": {"name": "mnist", "validation_size": 6000, "scaling": "minmax"},
        "estimator": {**FIXED}, "epochs": epochs, "pruner": "median", "register": False,
        "sampler": {"name": "tpe", "seed": 0}, "n_trials": 8, "artifacts": {"trial_plots": False},
        "space": {"hidden_layer_sizes": {"choices": [list(h) for h in GRID["hidden_layer_sizes"]]},
                  "alpha": {"choices": GRID["alpha"]},
                  "learning_rate_init": {"choices": GRID["learning_rate_init"]}},
    }
    path = Path(folder) / "efficiency.yaml"
    path.write_text(yaml.safe_dump(study))
    storage = f"journal:{folder}/optuna.journal"
    start = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-m", "search", "run", str(path), "--workers", "2",
                                "--storage", storage, "--tracking-uri", f"sqlite:///{folder}/mlflow.db"],
                               cwd=folder, env={**os.environ, "PYTHONPATH": str(REPO)},
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    reached = None
    for line in process.stdout:
        if " COMPLETE val_accuracy=" in line:
            value = float(line.split("val_accuracy=")[1].split()[0])
            if value >= target and reached is None:
                reached = time.perf_counter() - start
                process.terminate()  # a model is there: the search has done its job
    process.wait()
    return reached, time.perf_counter() - start


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--target", type=float, default=0.98)
    args = parser.parse_args(argv)
    print(f"{time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} cores, {args.epochs} epochs, "
          f"target {args.target:.3f} validation accuracy")
    data = load_dataset("mnist", validation_size=6000, scaling="minmax")
    with tempfile.TemporaryDirectory() as folder:
        reached, ran = ours(args.epochs, args.target, folder)
    print(f"  ours: {'target reached after %.0f s' % reached if reached else 'target not reached'} "
          f"({ran:.0f} s in all)", flush=True)
    total, best, first = sklearn_grid(data, args.epochs, args.target)
    print(f"  GridSearchCV: model after {total:.0f} s (best validation accuracy {best:.4f}"
          f"{'; first fit at target after %.0f s' % first if first else ''})")
    if reached:
        print(f"  ours reached the target {total / reached:.1f}x sooner (target >= 5x)")


if __name__ == "__main__":
    main()
