"""Sparse input: one epoch on a TF-IDF-like CSR matrix, ours against scikit-learn's.

    python bench/sparse_input.py [--rounds 3] [--rows 20000] [--features 50000]

The matrix is random with TF-IDF's shape: 0.2% of the entries non-zero,
rows L2-normalised, 20 classes, float64 as TfidfVectorizer gives it. Every
round times, in turn, one epoch of fit (SGD momentum, batch 200, 100 hidden
ReLU units) and a predict_proba over all rows for sklearn's MLPClassifier,
ours with dtype=None (float64, as sklearn) and ours by default (float32), so
that a noisy machine slows all of them alike; medians and ratios are printed.
"""

import argparse
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from scipy import sparse

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.neural_network import MLPClassifier as SklearnMLP  # noqa: E402
from sklearn.preprocessing import normalize  # noqa: E402

from estimators import MLPClassifier  # noqa: E402

SETTINGS = dict(hidden_layer_sizes=(100,), solver="sgd", momentum=0.9, learning_rate_init=0.1,
                batch_size=200, max_iter=1, random_state=0)
CONTENDERS = {
    "sklearn": lambda: SklearnMLP(**SETTINGS),
    "ours float64": lambda: MLPClassifier(dtype=None, **SETTINGS),
    "ours float32": lambda: MLPClassifier(**SETTINGS),
}


def tfidf_like(rows, features, density, classes, seed=0):
    rng = np.random.default_rng(seed)
    X = sparse.random(rows, features, density=density, format="csr", random_state=seed,
                      data_rvs=lambda n: rng.exponential(size=n))
    return normalize(X), rng.integers(0, classes, rows)


def time_once(make, X, y):
    model = make()
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)
    fitted = time.perf_counter()
    model.predict_proba(X)
    return fitted - started, time.perf_counter() - fitted


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--rows", type=int, default=20000)
    parser.add_argument("--features", type=int, default=50000)
    parser.add_argument("--density", type=float, default=0.002)
    args = parser.parse_args(argv)
    X, y = tfidf_like(args.rows, args.features, args.density, classes=20)
    print(f"CSR {X.shape[0]} x {X.shape[1]}, {X.nnz} non-zeros ({X.nnz / np.prod(X.shape):.2%}), "
          f"{args.rounds} rounds")
    times = {name: [] for name in CONTENDERS}
    for _ in range(args.rounds):
        for name, make in CONTENDERS.items():
            times[name].append(time_once(make, X, y))
    base = [statistics.median(t[i] for t in times["sklearn"]) for i in (0, 1)]
    for name, pairs in times.items():
        fit, predict = (statistics.median(t[i] for t in pairs) for i in (0, 1))
        print(f"{name:14s} epoch {fit:6.3f} s ({fit / base[0]:.2f} of sklearn)   "
              f"predict_proba {predict:6.3f} s ({predict / base[1]:.2f})")


if __name__ == "__main__":
    main()
