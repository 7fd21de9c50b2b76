"""One MNIST epoch, ours against scikit-learn's MLPClassifier, PyTorch and the FLOP limit.

    python bench/epoch_speed.py [--rounds 3] [--accuracy] [--only speed|ours|cost]

It runs with ``OPENBLAS_CORETYPE`` and ``OPENBLAS_L2_SIZE`` unset: some
machines set them for old OpenBLAS builds, and they make numpy's own OpenBLAS
run a slower kernel than the processor has (AVX2 instead of AVX-512), which
PyTorch ignores. When they are set, the script starts itself again without
them (the same as ``env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python
bench/epoch_speed.py``), and prints the kernel OpenBLAS chose.

The layout is the seeds' default, 784-1000-100-10 with Leaky ReLU (sklearn has
no Leaky ReLU, so it runs ReLU, which costs the same), SGD with Nesterov
momentum 0.9, learning rate 0.01, batch 256, float32, alpha 1e-4. Each round
times every contender once, in turn, so that a noisy machine slows all of
them alike; the medians and their ratios are printed, with the GFLOP/s
achieved against a measured sgemm peak.

The FLOP limit is the epoch's matrix products (forward, weight and input
gradients) at the sgemm peak measured in the same run. Goals (issue 27):
ours <= 1.25x the FLOP limit, <= 0.75x PyTorch, <= 0.55x scikit-learn.

Then the cost of input jitter and image augmentation, as the ratio of an
epoch with them to a plain epoch of the same network, on seed 001's
CIFAR-10 network (3072-50-50-10, Leaky ReLU 0.02, batch norm before, SGD,
batch 100, cyclic rate; random data of CIFAR-10's training shape) and on
the MNIST network above: ``jitter=0.1`` (goal <= 1.15 on seed 001's);
``augment`` ``{"crop_padding": 4, "flip": True}`` (CIFAR-10, goal <= 1.10),
and ``{"shift": 2}`` (goal <= 1.05) and the elastic distortions of
``studies/mnist_best.yaml`` (MNIST). Without MNIST on disk, random data of
its shape stands in.

Every row of ours says which kernels ran it, ``[numba]`` or ``[numpy]``
(estimators.kernels); with numba installed both run, in the same rounds.
The first lines give what compiling them costs a fresh process: one small
fit through every kernel the bench uses, in a process with an empty numba
cache and in one that loads it (``cache=True``), against the same fit
compiled.

``--accuracy`` also trains seed 000's best layout (1024-512-64, PReLU, SGD
lr 0.01 momentum 0.9, batch 256) for 20 epochs and prints its MNIST test
accuracy against the 98.0% target.
"""

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

OPENBLAS_OVERRIDES = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
if __name__ == "__main__" and any(name in os.environ for name in OPENBLAS_OVERRIDES):
    # OpenBLAS reads them when it loads, before any code of ours could undo them.
    print("unsetting " + ", ".join(f"{n}={os.environ[n]}" for n in OPENBLAS_OVERRIDES if n in os.environ)
          + " for this benchmark", flush=True)
    env = {k: v for k, v in os.environ.items() if k not in OPENBLAS_OVERRIDES}
    os.execve(sys.executable, [sys.executable, *sys.argv], env)

import numpy as np  # noqa: E402
from threadpoolctl import threadpool_info  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.neural_network import MLPClassifier as SklearnMLP  # noqa: E402

from estimators import MLPClassifier, blas, kernels  # noqa: E402
from estimators.augment import TrainingInputs  # noqa: E402
from search.data import DataError, load_arrays  # noqa: E402

LAYOUT = (1000, 100)
SETTINGS = dict(solver="sgd", learning_rate_init=0.01, momentum=0.9, batch_size=256, alpha=1e-4,
                max_iter=1, random_state=0)


def machine():
    model = platform.processor()
    if Path("/proc/cpuinfo").exists():
        model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                      if line.startswith("model name")), model)
    return f"{model}, {os.cpu_count()} cores, {platform.system()} {platform.release()}, numpy {np.__version__}"


def blas_kernel():
    """'OpenBLAS 0.3.31 SkylakeX, 2 threads' for numpy's BLAS, from threadpoolctl."""
    info = [i for i in threadpool_info() if i["user_api"] == "blas"]
    return "; ".join(f"{i['internal_api']} {i['version']} {i.get('architecture', '?')}, "
                     f"{i['num_threads']} threads ({Path(i['filepath']).name})" for i in info) or "none found"


def sgemm_peak(n=2048, repeats=5):
    a, b = (np.random.default_rng(0).random((n, n), dtype=np.float32) for _ in range(2))
    a @ b
    best = min(_timed(lambda: a @ b) for _ in range(repeats))
    return 2 * n**3 / best / 1e9


def load():
    """The load average now: the bench's numbers on a busy machine are a busy machine's."""
    return "load average " + ", ".join(f"{x:.2f}" for x in os.getloadavg()) + " (1, 5, 15 min)"


def _timed(function):
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def epoch_flops(n_samples, units):
    """Multiply-adds x 2 of forward, weight gradients and input gradients (none for the first layer)."""
    pairs = [a * b for a, b in zip(units[:-1], units[1:])]
    return 2 * n_samples * (3 * sum(pairs) - pairs[0])


def ours(X, y, **params):
    MLPClassifier(LAYOUT, activation="leaky_relu", slope=0.01, **SETTINGS, **params).fit(X, y)


def sklearn(X, y):
    SklearnMLP(LAYOUT, activation="relu", **SETTINGS).fit(X, y)


def seed001(X, y, **params):
    """Seed 001's CIFAR-10 network, one epoch (study seed001_cifar_jitter, jitter 0)."""
    MLPClassifier((50, 50), activation="leaky_relu", slope=0.02, batch_norm="before", solver="sgd",
                  momentum=0.0, batch_size=100, alpha=2 * 100 * 0.005, learning_rate="cyclic",
                  cyclic_bounds=(1e-5, 1e-1), cyclic_step_size=2250, max_iter=1, random_state=0,
                  **params).fit(X, y)


def make_torch(X, y):
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count())
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
    """MNIST scaled to [0, 1], or random data of its shape (and a note) when it is not on disk."""
    try:
        x_train, y_train, x_test, y_test, _ = load_arrays("mnist")
        return x_train / np.float32(255), y_train, x_test / np.float32(255), y_test
    except DataError as error:
        print(f"MNIST not found ({error}): timing on random data of its shape", flush=True)
        rng = np.random.default_rng(0)
        return rng.random((60000, 784), dtype=np.float32), rng.integers(0, 10, 60000), None, None


def cifar_shaped():
    """Random standardised data of CIFAR-10's training split (45000 x 3072) and 10 labels."""
    rng = np.random.default_rng(1)
    return rng.standard_normal((45000, 3072), dtype=np.float32), rng.integers(0, 10, 45000)


def timed_rounds(contenders, rounds, title):
    """``{contender: {"median": s, "best": s, "cpu": s}}``, each round running every contender in turn.

    The best round is the one other processes slowed least: on a busy
    machine its ratios say more than the medians'. The CPU seconds (all the
    process's threads, median) are the work done, which other processes
    change less than the wall time (BLAS threads waiting for a core spin).
    """
    times = {name: [] for name in contenders}
    cpu_times = {name: [] for name in contenders}
    for round_ in range(rounds):
        for name, run in contenders.items():
            started = time.process_time()
            times[name].append(_timed(run))
            cpu_times[name].append(time.process_time() - started)
        print(f"{title} round {round_ + 1}: " + ", ".join(
            f"{n} {t[-1]:.2f} s (cpu {cpu_times[n][-1]:.2f} s)" for n, t in times.items()), flush=True)
    return {name: {"median": statistics.median(t), "best": min(t), "cpu": statistics.median(cpu_times[name])}
            for name, t in times.items()}


def verdict(value, goal):
    return f"goal <= {goal}: {'met' if value <= goal else f'missed by {value / goal - 1:.0%}'}"


def speed(X, y, rounds, peak, ours_only=False):
    flops = epoch_flops(len(X), (784, *LAYOUT, 10))
    limit = flops / peak / 1e9
    print(f"one MNIST epoch is {flops / 1e9:.0f} GFLOP: FLOP limit {limit:.2f} s at the sgemm peak")
    contenders = on_each_path("ours", lambda: ours(X, y))
    if not ours_only:
        contenders["sklearn"] = lambda: sklearn(X, y)
    torch_epoch = None if ours_only else make_torch(X, y)
    if torch_epoch is not None:
        contenders[f"pytorch {torch_epoch.version}"] = lambda: torch_epoch(X, y)
    elif not ours_only:
        print("PyTorch is not installed: no PyTorch column (pip install torch to add it)")
    timings = timed_rounds(contenders, rounds, "epoch")
    print(f"\n{rounds} rounds, one epoch of {len(X)} MNIST-shaped images, float32: median (best)")
    for name, timing in timings.items():
        print(f"  {name:16s} {timing['median']:6.2f} s ({timing['best']:.2f} s)  "
              f"{flops / timing['best'] / 1e9:5.0f} GFLOP/s at best ({flops / timing['best'] / 1e9 / peak:.0%} of peak)")
    torch_name = next((n for n in timings if n.startswith("pytorch")), None)
    for name in [n for n in timings if n.startswith("ours")]:
        others = [("FLOP limit", {"median": limit, "best": limit}, 1.25), ("sklearn", timings.get("sklearn"), 0.55),
                  ("pytorch", timings.get(torch_name), 0.75)]
        print(f"  {name}: " + "; ".join(f"/ {what} = {ratio_text(timings[name], other, goal)}"
                                       for what, other, goal in others if other))


def ratio_text(timing, other, goal=None):
    """'1.12 (best 1.05, goal <= 1.10: met)': the ratio of medians, of bests, and the best's verdict."""
    ratio, best = timing["median"] / other["median"], timing["best"] / other["best"]
    return f"{ratio:.2f} (best {best:.2f}{', ' + verdict(best, goal) if goal else ''})"


def on_each_path(name, run):
    """``{"name [numba]": run, "name [numpy]": run on the NumPy path}``, or the NumPy row alone."""
    path = kernels.kernel_path()
    contenders = {f"{name} [{path}]": run}
    if path == "numba":
        contenders[f"{name} [numpy]"] = lambda: _numpy_path(run)
    return contenders


# studies/mnist_best.yaml's distortions (Simard et al. 2003): costly by nature, reported beside the others.
ELASTIC = {"elastic": 36.0, "elastic_sigma": 6.0}


def costs(X_mnist, y_mnist, rounds):
    """Epoch time with jitter and with augmentation over a plain epoch, on both networks and kernel paths."""
    X_cifar, y_cifar = cifar_shaped()
    crop_flip = {"crop_padding": 4, "flip": True}
    # (fit, X, y, {what: (params, goal of issue 27 or None)}) per network
    cases = {
        "seed 001 3072-50-50-10": (seed001, X_cifar, y_cifar, {
            "jitter 0.1": ({"jitter": 0.1}, 1.15), f"augment {crop_flip}": ({"augment": crop_flip}, 1.10)}),
        "MNIST 784-1000-100-10": (ours, X_mnist, y_mnist, {
            "jitter 0.1": ({"jitter": 0.1}, None), "augment {'shift': 2}": ({"augment": {"shift": 2}}, 1.05),
            f"augment {ELASTIC}": ({"augment": ELASTIC}, None)}),
    }
    for title, (fit, X, y, variants) in cases.items():
        runs = {"plain": lambda: fit(X, y), **{name: lambda p=p: fit(X, y, **p) for name, (p, _) in variants.items()}}
        contenders = {row: run for name, run in runs.items() for row, run in on_each_path(name, run).items()}
        timings = timed_rounds(contenders, rounds, title)
        batches = batches_alone(X, 100 if fit is seed001 else 256, {name: p for name, (p, _) in variants.items()})
        print(f"\n{title}, {rounds} rounds: epoch median (best); ratio to the plain epoch of medians (of bests); "
              "the batches alone (best of 3), and what they add to the plain epoch's best")
        for row, timing in timings.items():
            name, path = row.rsplit(" ", 1)
            plain = timings[f"plain {path}"]
            extra = batches[row] - batches[f"plain {path}"]
            print(f"  {row:50s} {timing['median']:6.2f} s ({timing['best']:.2f} s)  ratio "
                  f"{ratio_text(timing, plain, variants.get(name, (None, None))[1])}; cpu ratio "
                  f"{timing['cpu'] / plain['cpu']:.2f}; batches {batches[row]:.3f} s (+{extra / plain['best']:.0%})")


def batches_alone(X, batch_size, variants, repeats=3):
    """``{row: best seconds}`` to make one epoch's batches of each variant (and plain), on each path."""
    order = np.random.default_rng(0).permutation(len(X))
    out = np.empty((batch_size, X.shape[1]), dtype=X.dtype)

    def epoch(params):
        make_batch = TrainingInputs(params.get("augment"), None, params.get("jitter", 0.0),
                                    np.random.default_rng(0)).epoch(X)
        for start in range(0, len(X), batch_size):
            make_batch(order[start:start + batch_size], out)

    runs = {"plain": {}, **variants}
    contenders = {row: run for name, params in runs.items()
                  for row, run in on_each_path(name, lambda p=params: epoch(p)).items()}
    return {row: min(_timed(run) for _ in range(repeats)) for row, run in contenders.items()}


def breakdown(X, y, peak, repeats=60):
    """Where one batch step of ours goes: its matrix products alone, and each pass outside them (ms)."""
    model = MLPClassifier(LAYOUT, activation="leaky_relu", slope=0.01, **SETTINGS).fit(X[:2560], y[:2560])
    network, optimizer = model._network, model._optimizer
    xb = np.ascontiguousarray(X[:256], dtype=np.float32)
    Y = np.eye(10, dtype=np.float32)[np.searchsorted(model.classes_, y[:256])]
    update = lambda: optimizer.update(network.grads, *network.penalty_scales(1e-4, 256))  # noqa: E731
    step = {
        **on_each_path("whole step", lambda: (network.data_loss_and_gradients(xb, Y), update())),
        "matrix products alone": _products(network, xb),
        **on_each_path("activations with the bias, forward and backward", _activation_passes(network, xb)),
        # The update also sums the squares of the weights (the loss's L2 term) and of the gradients (norms).
        **on_each_path("weight decay + SGD update + squared norms", update),
    }
    ms = {name: 1000 * statistics.median(_timed(f) for _ in range(repeats)) for name, f in step.items()}
    limit = 1000 * epoch_flops(256, (X.shape[1], *LAYOUT, 10)) / peak / 1e9
    print(f"\none batch of 256, ours, medians of {repeats} (FLOP limit {limit:.2f} ms at the sgemm peak):")
    for name, value in ms.items():
        print(f"  {name:52s} {value:6.2f} ms")
    for name in [n for n in ms if n.startswith("whole step")]:
        outside = ms[name] - ms["matrix products alone"]
        print(f"  outside the matrix products, {name}: {outside:.2f} ms ({outside / ms[name]:.0%} of the step)")


def _numpy_path(function):
    kernels.USE_NUMBA = False
    try:
        function()
    finally:
        kernels.USE_NUMBA = True


def probe_fits():
    """One small float32 fit through each kernel the bench uses: sgd, Leaky ReLU, the gathers."""
    warnings.simplefilter("ignore", ConvergenceWarning)
    rng = np.random.default_rng(0)
    X, y = rng.random((256, 3072), dtype=np.float32), np.arange(256) % 10
    for params in ({"jitter": 0.1}, {"augment": {"crop_padding": 4, "flip": True}}, {"augment": {"shift": 2}}):
        seed001(X, y, **params)


COMPILE_PROBE = """
import sys, time
sys.path.insert(0, {bench!r})
import epoch_speed
started = time.perf_counter()
epoch_speed.probe_fits()
first = time.perf_counter() - started
started = time.perf_counter()
epoch_speed.probe_fits()
print(first, time.perf_counter() - started)
"""


def compile_times():
    """'compiling 2.1 s (empty cache), loading 0.1 s (cache=True)': the first fits' extra seconds in
    fresh processes, or why there are none. Warms this process's kernels up too."""
    probe_fits()  # the timed epochs run compiled
    if kernels.kernel_path() != "numba":
        return "NumPy (numba not installed)" if not kernels.HAVE_NUMBA else "NumPy (ESTIMATORS_KERNELS=numpy)"
    import numba
    extra = []
    with tempfile.TemporaryDirectory() as cache:
        for _ in range(2):  # the first process fills the empty cache, the second loads it
            code = COMPILE_PROBE.format(bench=str(Path(__file__).resolve().parent))
            result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                                    env={**os.environ, "NUMBA_CACHE_DIR": cache})
            first, again = map(float, result.stdout.split()[-2:])
            extra.append(first - again)
    return (f"numba {numba.__version__}: a fresh process's first fits take {extra[0]:.2f} s more compiling "
            f"(empty cache), {extra[1]:.2f} s more loading the cache (cache=True)")


def _products(network, xb):
    """The step's matrix products alone, into preallocated arrays."""
    dense = network.dense
    outs = [np.empty((len(xb), d.coef.shape[1]), np.float32) for d in dense]

    def run():
        h = xb
        for d, out in zip(dense, outs):
            h = np.matmul(h, d.coef, out=out)
        grad = outs[-1]
        for i in reversed(range(len(dense))):
            np.matmul((xb if i == 0 else outs[i - 1]).T, grad, out=dense[i].coef_grad)
            if i:
                grad = grad @ dense[i].coef.T
    return run


def _activation_passes(network, xb):
    activations = [layer for layer in network.layers if type(layer).__name__ == "LeakyReLU"]
    inputs = [np.random.default_rng(0).standard_normal((len(xb), d.coef.shape[1]), dtype=np.float32)
              for d in network.dense[:-1]]

    def run():
        for layer, x in zip(activations, inputs):
            layer.backward(layer.forward(x, True))
    return run


def accuracy(X, y, X_test, y_test):
    start = time.perf_counter()
    model = MLPClassifier((1024, 512, 64), activation="prelu", slope=0.01, solver="sgd",
                          learning_rate_init=0.01, momentum=0.9, batch_size=256, max_iter=20,
                          random_state=0).fit(X, y)
    return model.score(X_test, y_test), time.perf_counter() - start


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", choices=("speed", "ours", "cost"), help="only the epoch speed, only "
                        "ours against the FLOP limit, or only the jitter and augmentation costs")
    parser.add_argument("--accuracy", action="store_true", help="also run the 20-epoch accuracy check")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore", ConvergenceWarning)
    print(f"{time.strftime('%Y-%m-%d %H:%M')} on {machine()}; {load()}")
    print(f"kernels: {kernels.kernel_path()} (the NumPy path's BLAS passes by {blas.BACKEND}); "
          f"{compile_times()}")
    print(f"BLAS: {blas_kernel()}; "
          + ", ".join(f"{n}={os.environ.get(n, 'unset')}" for n in OPENBLAS_OVERRIDES))
    X, y, X_test, y_test = mnist()
    peak = sgemm_peak()
    print(f"sgemm peak {peak:.0f} GFLOP/s (2048 x 2048, best of 5)", flush=True)
    if args.only != "cost":
        speed(X, y, args.rounds, peak, ours_only=args.only == "ours")
        breakdown(X, y, peak)
        print(load())
    if args.only in (None, "cost"):
        costs(X, y, args.rounds)
        print(load())
    if args.accuracy and X_test is not None:
        score, seconds = accuracy(X, y, X_test, y_test)
        verdict_ = "meets" if score >= 0.98 else "misses"
        print(f"\n1024-512-64 PReLU, 20 epochs: test accuracy {score:.4f} in {seconds:.0f} s "
              f"({verdict_} the 98.0% target)")


if __name__ == "__main__":
    main()
