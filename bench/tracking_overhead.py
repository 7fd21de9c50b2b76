"""Tracking overhead of the search service, as a fraction of the study's time.

    python bench/tracking_overhead.py [--study studies/quickstart.yaml] [--n-trials 12]

Runs the study as its file says (pruning included) into fresh default stores
(a journal file for Optuna, SQLite for MLflow) in a temporary folder, and
times its trial phase: sampling, storage writes, pruning reports, MLflow
runs, params, per-epoch metrics, test scoring, and the per-trial figures up to
the last one logged. Then it trains the very same configurations (same
parameters, seeds, validation data, and the epochs each trial ran before it
finished or was pruned) with plain ``MLPClassifier.fit``, nothing tracked,
and times that. Overhead is ``1 - plain / tracked``. Target: <= 5%.
"""

import argparse
import contextlib
import io
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import optuna  # noqa: E402
from optuna.trial import TrialState  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402

from estimators import MLPClassifier  # noqa: E402
from search import service  # noqa: E402
from search.results import params_of_trial  # noqa: E402
from search.studyfile import load_study  # noqa: E402


def tracked(spec, n_trials, folder):
    """The study's trial phase, timed; returns (seconds, study)."""
    timed = {}
    original = service.work

    def work(*args, **kwargs):
        start = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            timed["seconds"] = time.perf_counter() - start

    service.work = work
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            result = service.run(spec, f"journal:{folder}/optuna.journal", f"sqlite:///{folder}/mlflow.db",
                                 n_trials=n_trials)
    finally:
        service.work = original
    return timed["seconds"], result["study"]


def plain(spec, study, data):
    """The same trials' training alone: all repeats of a complete trial, the epochs a pruned one ran."""
    start = time.perf_counter()
    for trial in study.get_trials(states=(TrialState.COMPLETE, TrialState.PRUNED)):
        params = params_of_trial(trial, spec, len(data.X_train))
        if trial.state == TrialState.PRUNED:
            runs = [(spec.seeds[0], max(trial.intermediate_values))]
        else:
            runs = [(seed, params["max_iter"]) for seed in spec.seeds]
        for seed, epochs in runs:
            MLPClassifier(**{**params, "max_iter": epochs}, random_state=seed).fit(
                data.X_train, data.y_train, validation_data=(data.X_val, data.y_val))
    return time.perf_counter() - start


def measure(study_path, n_trials, trial_plots):
    spec = load_study(study_path, overrides={"register": False, "artifacts": {"trial_plots": trial_plots}})
    with tempfile.TemporaryDirectory() as folder:
        seconds, study = tracked(spec, n_trials, folder)
        return seconds, plain(spec, study, service.load_data(spec))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--study", default="studies/quickstart.yaml")
    parser.add_argument("--n-trials", type=int, default=None, help="default: the study's budget")
    args = parser.parse_args(argv)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.simplefilter("ignore", ConvergenceWarning)
    print(f"{time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} cores, study {args.study}, "
          f"{args.n_trials or 'all'} trials")
    for plots in (True, False):
        seconds, baseline = measure(args.study, args.n_trials, plots)
        print(f"  {'with' if plots else 'without'} per-trial figures: tracked {seconds:.1f} s, "
              f"training alone {baseline:.1f} s: overhead {1 - baseline / seconds:.1%}", flush=True)


if __name__ == "__main__":
    main()
