"""One MNIST epoch, ours against scikit-learn's MLPClassifier and PyTorch, side by side.

    python bench/epoch_speed.py [--rounds 3] [--accuracy]

The layout is the seeds' default, 784-1000-100-10 with Leaky ReLU (sklearn has
no Leaky ReLU, so it runs ReLU, which costs the same), SGD with Nesterov
momentum 0.9, learning rate 0.01, batch 256, float32, alpha 1e-4. Each round
times every contender once, in turn, so that a noisy machine slows all of
them alike; the medians and their ratios are printed, with the GFLOP/s
achieved against a measured sgemm peak.

``--accuracy`` also trains seed 000's best layout (1024-512-64, PReLU, SGD
lr 0.01 momentum 0.9, batch 256) for 20 epochs and prints its MNIST test
accuracy against the 98.0% target.
"""

import argparse
import os
import platform
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.neural_network import MLPClassifier as SklearnMLP  # noqa: E402

from estimators import MLPClassifier, blas  # noqa: E402
from search.data import DataError, load_arrays  # noqa: E402

LAYOUT = (1000, 100)
SETTINGS = dict(solver="sgd", learning_rate_init=0.01, momentum=0.9, batch_size=256, alpha=1e-4,
                max_iter=1, random_state=0)


def machine():
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor()) if Path("/proc/cpuinfo").exists() else platform.processor()
    return f"{model}, {os.cpu_count()} cores, {platform.system()} {platform.release()}, numpy {np.__version__}"


def sgemm_peak(n=2048, repeats=5):
    a, b = (np.random.default_rng(0).random((n, n), dtype=np.float32) for _ in range(2))
    a @ b
    best = min(_timed(lambda: a @ b) for _ in range(repeats))
    return 2 * n**3 / best / 1e9


def _timed(function):
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def epoch_flops(n_samples, units):
    """Multiply-adds x 2 of forward, weight gradients and input gradients (none for the first layer)."""
    pairs = [a * b for a, b in zip(units[:-1], units[1:])]
    return 2 * n_samples * (3 * sum(pairs) - pairs[0])


def ours(X, y):
    MLPClassifier(LAYOUT, activation="leaky_relu", slope=0.01, **SETTINGS).fit(X, y)


def sklearn(X, y):
    SklearnMLP(LAYOUT, activation="relu", **SETTINGS).fit(X, y)


def make_torch(X, y):
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(os.cpu_count())
    X_t, y_t = torch.from_numpy(X), torch.from_numpy(y.astype(np.int64))

    def epoch(X_unused, y_unused):
        torch.manual_seed(0)
        model = torch.nn.Sequential(
            torch.nn.Linear(784, 1000), torch.nn.LeakyReLU(0.01),
            torch.nn.Linear(1000, 100), torch.nn.LeakyReLU(0.01), torch.nn.Linear(100, 10))
        # sklearn's alpha is divided by the batch size; torch's weight decay is not.
        optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, nesterov=True,
                                    weight_decay=1e-4 / 256)
        loss_fn = torch.nn.CrossEntropyLoss()
        for index in torch.randperm(len(X_t)).split(256):
            optimizer.zero_grad(set_to_none=True)
            loss_fn(model(X_t[index]), y_t[index]).backward()
            optimizer.step()
    epoch.version = torch.__version__
    return epoch


def mnist():
    try:
        x_train, y_train, x_test, y_test, _ = load_arrays("mnist")
    except DataError as error:
        sys.exit(f"bench needs MNIST: {error}")
    return x_train / np.float32(255), y_train, x_test / np.float32(255), y_test


def speed(X, y, rounds):
    contenders = {"ours": ours, "sklearn": sklearn}
    torch_epoch = make_torch(X, y)
    if torch_epoch is not None:
        contenders[f"pytorch {torch_epoch.version}"] = torch_epoch
    else:
        print("PyTorch is not installed: comparing with sklearn only (pip install torch to add it)")
    times = {name: [] for name in contenders}
    for round_ in range(rounds):
        for name, run in contenders.items():
            times[name].append(_timed(lambda: run(X, y)))
        print(f"round {round_ + 1}: " + ", ".join(f"{n} {t[-1]:.2f} s" for n, t in times.items()), flush=True)
    return {name: statistics.median(t) for name, t in times.items()}


def accuracy(X, y, X_test, y_test):
    start = time.perf_counter()
    model = MLPClassifier((1024, 512, 64), activation="prelu", slope=0.01, solver="sgd",
                          learning_rate_init=0.01, momentum=0.9, batch_size=256, max_iter=20,
                          random_state=0).fit(X, y)
    return model.score(X_test, y_test), time.perf_counter() - start


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--accuracy", action="store_true", help="also run the 20-epoch accuracy check")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore", ConvergenceWarning)
    X, y, X_test, y_test = mnist()
    print(f"{time.strftime('%Y-%m-%d %H:%M')} on {machine()}; updates by {blas.BACKEND}")
    peak = sgemm_peak()
    flops = epoch_flops(len(X), (784, *LAYOUT, 10))
    print(f"sgemm peak {peak:.0f} GFLOP/s; one epoch is {flops / 1e9:.0f} GFLOP "
          f"(FLOP limit {flops / peak / 1e9:.2f} s)")
    medians = speed(X, y, args.rounds)
    print(f"\nmedian of {args.rounds} rounds, one epoch of 60000 MNIST images, float32:")
    for name, seconds in medians.items():
        print(f"  {name:16s} {seconds:6.2f} s  {flops / seconds / 1e9:5.0f} GFLOP/s "
              f"({flops / seconds / 1e9 / peak:.0%} of peak)")
    print(f"  ours / sklearn = {medians['ours'] / medians['sklearn']:.2f} (target <= 0.75)")
    torch_name = next((n for n in medians if n.startswith("pytorch")), None)
    if torch_name:
        print(f"  ours / pytorch = {medians['ours'] / medians[torch_name]:.2f} (target <= 0.90)")
    if args.accuracy:
        score, seconds = accuracy(X, y, X_test, y_test)
        verdict = "meets" if score >= 0.98 else "misses"
        print(f"\n1024-512-64 PReLU, 20 epochs: test accuracy {score:.4f} in {seconds:.0f} s "
              f"({verdict} the 98.0% target)")


if __name__ == "__main__":
    main()
