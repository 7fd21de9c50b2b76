"""Tracking overhead of the search service, as a fraction of the study's time.

    python bench/tracking_overhead.py [--study studies/quickstart.yaml] [--n-trials 12] [--rounds 1]

Runs the study as its file says (sampler, pruning, repeats) into fresh default
stores (a journal file for Optuna, SQLite for MLflow) in a temporary folder,
and times its trial phase three ways:

- tracked: as ``python -m search run`` does it: a nested MLflow run per trial
  with its params, per-epoch metrics, test scores and tags, and (first line)
  its four figures, drawn in the background, up to the last one logged;
- untracked: the same service with an MLflow client that writes nothing, no
  test scores and no figures: Optuna's sampling, storage and pruning remain;
- training alone: the very same configurations (parameters, seeds,
  validation data, the epochs each trial ran) with plain ``MLPClassifier.fit``.

Tracking overhead is ``1 - untracked / tracked`` (goals: <= 3% on trials of
at least 2 s of training, e.g. ``--study bench/tracking_mnist.yaml``, and
<= 30 ms a trial on the quickstart), also printed as milliseconds a trial;
the whole service's, Optuna's included, is ``1 - training alone / tracked``. The seeded
sampler gives the tracked and untracked runs the same trials when training
gives the same values; the bench says when it did not.
"""

import argparse
import contextlib
import dataclasses
import io
import os
import statistics
import sys
import tempfile
import time
import uuid
import warnings
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import optuna  # noqa: E402
from optuna.trial import TrialState  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402

from estimators import MLPClassifier  # noqa: E402
from search import service  # noqa: E402
from search.context import Options  # noqa: E402
from search.trials.objective import Objective  # noqa: E402
from search.outcome.champion import params_of_trial  # noqa: E402
from search.study.file import load_study  # noqa: E402


class NullClient:
    """An MlflowClient for the trial phase that writes nothing."""

    tracking_uri = None

    def create_run(self, experiment_id, tags=None, **kwargs):
        return SimpleNamespace(info=SimpleNamespace(run_id=uuid.uuid4().hex))

    def log_batch(self, *args, **kwargs):
        pass

    def set_terminated(self, *args, **kwargs):
        pass


def trial_phase(spec, folder, n_trials, tracked=True):
    """The study's trial phase, timed; returns (seconds, study)."""
    timed = {}
    work, test_scores = service.work, Objective.test_scores

    def timed_work(run, study, *args, **kwargs):
        start = time.perf_counter()
        try:
            return work(run if tracked else dataclasses.replace(run, client=NullClient()), study, *args, **kwargs)
        finally:
            timed["seconds"] = time.perf_counter() - start

    service.work = timed_work
    if not tracked:
        Objective.test_scores = lambda self, models: {}
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            result = service.run(spec, Options(storage_url=f"journal:{folder}/optuna.journal",
                                               tracking_uri=f"sqlite:///{folder}/mlflow.db", n_trials=n_trials))
    finally:
        service.work, Objective.test_scores = work, test_scores
    return timed["seconds"], result["study"]


def training_alone(spec, study, data):
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


def one_round(path, n_trials):
    """Seconds of each variant, and whether tracked and untracked ran the same trials."""
    seconds, trials = {}, {}
    for name, plots, tracked in (("tracked", True, True), ("tracked, no figures", False, True),
                                 ("untracked", False, False)):
        spec = load_study(path, overrides={"register": False, "artifacts": {"trial_plots": plots}})
        with tempfile.TemporaryDirectory() as folder:
            seconds[name], study = trial_phase(spec, folder, n_trials, tracked)
            trials[name] = [(t.state, t.params) for t in study.trials]
            if name == "untracked":
                seconds["training alone"] = training_alone(spec, study, service.load_data(spec))
    return seconds, trials["tracked"] == trials["untracked"]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--study", default="studies/quickstart.yaml")
    parser.add_argument("--n-trials", type=int, default=None, help="default: the study's budget")
    parser.add_argument("--rounds", type=int, default=1, help="each runs every variant once; medians are kept")
    args = parser.parse_args(argv)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.simplefilter("ignore", ConvergenceWarning)
    print(f"{time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} cores, study {args.study}, "
          f"{args.n_trials or 'all'} trials, {args.rounds} round(s)")
    rounds = []
    for index in range(args.rounds):
        seconds, same = one_round(args.study, args.n_trials)
        rounds.append(seconds)
        print(f"round {index + 1}: " + ", ".join(f"{k} {v:.2f} s" for k, v in seconds.items())
              + ("" if same else " (tracked and untracked ran different trials)"), flush=True)
    median = {name: statistics.median(r[name] for r in rounds) for name in rounds[0]}
    n_trials = args.n_trials or load_study(args.study).n_trials
    for name in ("tracked", "tracked, no figures"):
        tracking = median[name] - median["untracked"]
        print(f"{name}: tracking overhead {tracking / median[name]:.1%} (goal <= 3% for trials of >= 2 s "
              f"of training), {1000 * tracking / n_trials:.0f} ms a trial (goal <= 30 ms on the "
              f"quickstart); all but training, Optuna's share included, "
              f"{1 - median['training alone'] / median[name]:.1%}, "
              f"{1000 * (median[name] - median['training alone']) / n_trials:.0f} ms a trial")


if __name__ == "__main__":
    main()
