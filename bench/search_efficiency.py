"""The race as a user meets it: for a time budget T, the test accuracy of the model each contender hands over.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE \\
        python bench/search_efficiency.py [--dataset mnist|cifar10] [--budgets T ...] [--seeds 0 1] \\
            [--contenders ours plain] [--sampler tpe] [--subset N]

Budgets default to 300 and 900 s on MNIST, 900 and 3600 s on CIFAR-10; seeds to 0 and 1. For each budget
and seed, the contenders run one after the other on this machine, each in processes of its own, with
OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset (platform notes: the override picks a slower kernel):

- ours: ``python -m search run --dataset mnist --time-budget T`` in an empty temporary folder, as a user
  types it: the service writes its study for the data (``search/study/recipes.py``) and runs it. Its
  answer is its registered champion's test accuracy (the version's tag ``test_accuracy``: the dataset's
  test rows, MNIST's 10000). For seed 1, or another ``--sampler``, the bench writes the study that command
  writes, with ``sampler.seed`` and ``seeds`` (or the sampler) changed, and runs ``python -m search run
  <name>.yaml`` in the folder: what a user who edits the written file does. The whole command counts, from
  its start to its end (imports, data, trials, refit, baselines, registration); its time is in the table
  (the service promises T + 5%); it is stopped only at 2 T + 60 s, as a guard.
- plain: an Optuna TPE study (seeded) over scikit-learn's ``MLPClassifier`` with its full space (depth 1-3
  of one width 32-1024, activation, solver adam/sgd/lbfgs, alpha, learning_rate_init, the sgd schedule
  ``learning_rate``, momentum and Nesterov, batch size, early stopping, max_iter 5-60), one fit at a time
  on both cores, Optuna's ``timeout`` at T. Its answer is the best trial's model (validation accuracy),
  scored on the same test rows.

Same data: plain trains on the rows ours' trials train on and is judged on the rows they are judged on (the
written study's split, MNIST 55000 + 5000), scaled by per-pixel min-max as the MNIST recipe does (on
CIFAR-10 too: ZCA whitening is the recipe's, not what a plain user writes); the test rows are the
dataset's own for both.

Time for plain: T counts from its process's start (imports and data loading included), as ours'. A trial
that beats the best so far pickles its model (written to a temporary name, then renamed) before it
reports, so the best model is on disk at any moment. At T the process is stopped: a fit still running then
is lost with it and never counted, and no final model is trained after T; the bench scores the pickled model
afterwards (a fraction of a second, outside T).

``--sampler`` changes ours' sampler to another the service's study files name (tpe, random, qmc, gp:
Optuna's GPSampler, which needs PyTorch, ``pip install torch``).
``--subset N`` trains plain on N rows, for a quick check that the bench works (``--contenders plain
--budgets 30 --subset 3000 --seeds 0``): a check, not a race.
"""

import argparse
import json
import os
import pickle
import platform
import re
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

BUDGETS = {"mnist": [300.0, 900.0], "cifar10": [900.0, 3600.0]}
OPENBLAS_OVERRIDE = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
KERNEL = ("import numpy; from threadpoolctl import threadpool_info; print(', '.join(f\"{i['internal_api']} "
          "{i.get('architecture')}, {i['num_threads']} threads\" for i in threadpool_info() "
          "if i['user_api'] == 'blas'))")


@dataclass(frozen=True)
class Race:
    """One contender's race: the data, the budget in seconds, the seed, ours' sampler, plain's row subset."""

    dataset: str
    budget: float
    seed: int
    sampler: str = "tpe"
    subset: int | None = None


@dataclass(frozen=True)
class Result:
    contender: str
    test_accuracy: float | None
    seconds: float
    note: str


def child_env():
    """The environment of the contenders: the OpenBLAS override unset, this checkout first on the path."""
    env = {key: value for key, value in os.environ.items() if key not in OPENBLAS_OVERRIDE}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return env


def run_for(command, seconds, cwd=None):
    """Run ``command`` for at most ``seconds``, then stop it and its children; its exit code, stdout, stderr."""
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=cwd,
                               env=child_env(), start_new_session=True)
    try:
        out, err = process.communicate(timeout=seconds)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            out, err = process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            out, err = process.communicate()
    return process.returncode, out, err


# ---------------------------------------------------------------- ours

@cache
def data_kind(dataset):
    from search.study.datakind import data_kind as kind

    return kind(dataset)


def ours_command(race, folder):
    """The command ours runs in ``folder``: as a user types it, or on the written study, edited."""
    if race.seed == 0 and race.sampler == "tpe":  # the recipe's own seed and sampler
        return [sys.executable, "-m", "search", "run", "--dataset", race.dataset, "--time-budget", f"{race.budget:g}"]
    from search.study.recipes import study_for

    data = data_kind(race.dataset)
    study = study_for(data, race.budget)  # what --dataset --time-budget writes
    sampler = study["sampler"] if race.sampler == "tpe" else {"name": race.sampler}
    study.update(sampler={**sampler, "seed": race.seed},
                 seeds=[race.seed + repeat for repeat in range(study.get("repeats", 1))])
    (folder / f"{data.name}.yaml").write_text(yaml.safe_dump(study, sort_keys=False))
    return [sys.executable, "-m", "search", "run", f"{data.name}.yaml"]


def champion_accuracy(folder, name):
    """The registered champion's ``test_accuracy`` in ``folder``'s MLflow database, or None."""
    if not (folder / "mlflow.db").exists():
        return None
    from mlflow import MlflowClient

    try:
        version = MlflowClient(f"sqlite:///{folder}/mlflow.db").get_model_version_by_alias(name, "champion")
    except Exception:  # no such model or alias: nothing was registered
        return None
    return float(version.tags["test_accuracy"])


def ours(race):
    with tempfile.TemporaryDirectory(prefix="race-ours-") as folder:
        folder = Path(folder)
        command = ours_command(race, folder)
        started = time.monotonic()
        code, out, err = run_for(command, 2 * race.budget + 60, cwd=folder)
        seconds = time.monotonic() - started
        trials = len(re.findall(r"^trial \d+ .*COMPLETE", out, re.MULTILINE))
        pruned = len(re.findall(r"^trial \d+ .*PRUNED", out, re.MULTILINE))
        epochs = re.findall(r"stage 2: \d+ trials of (\d+) epochs", out)  # the last plan's
        champion = "its best trial's own model" if "no refit: the time plan" in out else "refit"
        note = f"{trials} trials complete, {pruned} pruned, stage 2 of {epochs[-1] if epochs else '?'} epochs, {champion}" \
            if code == 0 else \
            f"exit {code}: {(err.strip().splitlines() or ['?'])[-1]}"
        label = "ours" if race.sampler == "tpe" else f"ours ({race.sampler} sampler)"
        return Result(label, champion_accuracy(folder, data_kind(race.dataset).name), seconds, note)


# ---------------------------------------------------------------- plain

def split_options(race):
    """``load_dataset``'s options for plain: ours' split of the rows (the written study's), min-max scaled."""
    from search.study.recipes import study_for

    options = {**study_for(data_kind(race.dataset))["dataset"], "scaling": "minmax"}
    if race.subset:  # N training rows, beside the validation rows
        options["subset"] = race.subset + options.get("validation_size", 0)
    return options


def load(options):
    from search.data import load_dataset

    options = dict(options)
    return load_dataset(options.pop("name"), **options)


@cache
def test_rows(options_json):
    data = load(json.loads(options_json))
    return data.X_test, data.y_test


def plain_params(trial, seed):
    """scikit-learn MLPClassifier's space, as Optuna asks for it (solver-specific options under their solver)."""
    width, depth = trial.suggest_int("width", 32, 1024, log=True), trial.suggest_int("depth", 1, 3)
    solver = trial.suggest_categorical("solver", ["adam", "sgd", "lbfgs"])
    params = {"hidden_layer_sizes": (width,) * depth, "solver": solver, "random_state": seed,
              "activation": trial.suggest_categorical("activation", ["relu", "tanh", "logistic"]),
              "alpha": trial.suggest_float("alpha", 1e-6, 1e-1, log=True),
              "max_iter": trial.suggest_int("max_iter", 5, 60, log=True)}
    if solver != "lbfgs":
        params.update(learning_rate_init=trial.suggest_float("learning_rate_init", 1e-4, 0.3, log=True),
                      batch_size=trial.suggest_categorical("batch_size", [32, 64, 128, 256, 512]),
                      early_stopping=trial.suggest_categorical("early_stopping", [False, True]))
    if solver == "sgd":
        params.update(learning_rate=trial.suggest_categorical("learning_rate", ["constant", "invscaling", "adaptive"]),
                      momentum=trial.suggest_float("momentum", 0.5, 0.99),
                      nesterovs_momentum=trial.suggest_categorical("nesterovs_momentum", [True, False]))
    return params


def save(model, path):
    """Pickle ``model`` to ``path`` through a temporary name: a process stopped mid-write leaves the last one."""
    partial = Path(f"{path}.partial")
    partial.write_bytes(pickle.dumps(model))
    os.replace(partial, path)


def plain_study(spec):
    """The plain contender's process: Optuna + scikit-learn, the best model so far always on disk."""
    import warnings

    import optuna
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    data = load(spec["options"])
    best = [-1.0]

    def objective(trial):
        model = MLPClassifier(**plain_params(trial, spec["seed"])).fit(data.X_train, data.y_train)
        accuracy = model.score(data.X_val, data.y_val)
        if accuracy > best[0]:
            best[0] = accuracy
            save(model, spec["model"])
        print(json.dumps({"t": time.time() - spec["started"], "val_accuracy": accuracy, "params": trial.params}),
              flush=True)
        return accuracy

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.simplefilter("ignore", ConvergenceWarning)
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=spec["seed"]))
    # Optuna starts no trial past T; the bench stops the process at T, ending a fit still running.
    study.optimize(objective, timeout=max(spec["budget"] - (time.time() - spec["started"]), 0.0),
                   catch=(Exception,))


def plain(race):
    with tempfile.TemporaryDirectory(prefix="race-plain-") as folder:
        model_file = Path(folder) / "best.pkl"
        options = split_options(race)
        spec = {"options": options, "seed": race.seed, "budget": race.budget, "model": str(model_file),
                "started": time.time()}
        started = time.monotonic()
        code, out, err = run_for([sys.executable, __file__, "--plain-study", json.dumps(spec)], race.budget)
        seconds = time.monotonic() - started
        fits = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
        if not model_file.exists():
            return Result("plain", None, seconds, f"no fit finished; {(err.strip().splitlines() or [f'stopped at {race.budget} s'])[-1]}")
        model = pickle.loads(model_file.read_bytes())
        accuracy = model.score(*test_rows(json.dumps(options)))
        best = max(fits, key=lambda fit: fit["val_accuracy"], default={"params": {}})
        shown = ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in best["params"].items())
        return Result("plain", accuracy, seconds, f"{len(fits)} fits; best {shown}")


# ---------------------------------------------------------------- the race

def machine():
    """The line that says where and when: date, CPU, cores, the contenders' BLAS kernel, library versions."""
    import optuna
    import sklearn

    cpuinfo = Path("/proc/cpuinfo")
    names = [line.split(":", 1)[1].strip() for line in (cpuinfo.read_text().splitlines() if cpuinfo.exists() else [])
             if line.startswith("model name")]
    kernel = subprocess.run([sys.executable, "-c", KERNEL], env=child_env(), capture_output=True, text=True)
    return (f"{time.strftime('%Y-%m-%d %H:%M')}, {names[0] if names else platform.processor() or '?'}, "
            f"{os.cpu_count()} cores, BLAS {kernel.stdout.strip() or '?'} (OPENBLAS_CORETYPE and "
            f"OPENBLAS_L2_SIZE unset), scikit-learn {sklearn.__version__}, optuna {optuna.__version__}")


CONTENDERS = {"ours": ours, "plain": plain}


def row(race, result):
    accuracy = "-" if result.test_accuracy is None else f"{100 * result.test_accuracy:.2f}%"
    return (f"| {race.budget:g} | {race.seed} | {result.contender} | {accuracy} | {result.seconds:.0f} | "
            f"{result.note} |")


def arguments(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=sorted(BUDGETS), default="mnist")
    parser.add_argument("--budgets", type=float, nargs="+", help="seconds (default: 300 900 on mnist, "
                        "900 3600 on cifar10)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--contenders", nargs="+", choices=list(CONTENDERS), default=list(CONTENDERS))
    parser.add_argument("--sampler", default="tpe", help="ours' sampler (a name search/study/samplers.py knows)")
    parser.add_argument("--subset", type=int, help="plain trains on this many rows: a check of the bench")
    parser.add_argument("--plain-study", help=argparse.SUPPRESS)  # the plain contender's own process
    args = parser.parse_args(argv)
    if args.subset and "ours" in args.contenders:
        parser.error("--subset is for checking the plain contender alone: ours runs the service on every row")
    return args


def main(argv=None):
    args = arguments(argv)
    if args.plain_study:
        return plain_study(json.loads(args.plain_study))
    print(machine(), flush=True)
    print(f"\n{args.dataset}: test accuracy of the model each contender hands over\n", flush=True)
    print("| budget (s) | seed | contender | test accuracy | time (s) | what it did |\n|---|---|---|---|---|---|",
          flush=True)
    for budget in args.budgets or BUDGETS[args.dataset]:
        for seed in args.seeds:
            race = Race(args.dataset, budget, seed, args.sampler, args.subset)
            for name in args.contenders:
                print(row(race, CONTENDERS[name](race)), flush=True)


if __name__ == "__main__":
    main()
