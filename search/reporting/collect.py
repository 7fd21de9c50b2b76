"""What a report reads: a study's parent runs and trial runs in MLflow, and its Optuna storage.

The report reads the study's MLflow experiment: every parent run tagged
``study=<name>`` (one per invocation of ``python -m search run``) and their
child runs ``trial-<n>``, as :class:`Trial`. An Optuna storage is optional:
given, its trial states and fail reasons take precedence over the MLflow tags
(they are the same unless a write was lost). :func:`collect` gathers it all
into a :class:`ReportContext`.
"""

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import tracking
from ..plots.style import rounded
from ..study.file import load_study
from ..tracking import states
from ..tracking.names import FAIL_REASON, MLFLOW_RUN_ID, OPTUNA_STATE, PARENT_RUN, PRUNE_REASON, STAGE, STUDY, TRIAL_NUMBER


class ReportError(ValueError):
    """Nothing to report on; the message is one line."""


@dataclass
class Trial:
    """One trial as MLflow holds it: a child run ``trial-<n>``."""

    run_id: str
    number: int
    parent: int  # index of its invocation (parent run), oldest first
    state: str
    stage: str
    params: dict  # the searched params, as logged (strings)
    metrics: dict  # latest value of every metric
    fail_reason: str = ""
    histories: dict = field(default_factory=dict)  # metric -> [(step, value)], loaded on demand

    def label(self, names):
        return ", ".join(f"{name}={rounded(self.params.get(name, '?'), 5, 3)}" for name in names) or f"trial {self.number}"


@dataclass
class ReportContext:
    """What every part of a report reads: the client, the study's runs, its objective and the output folder."""

    client: object
    name: str
    parents: list  # MLflow parent runs, oldest first
    trials: list  # of Trial, in trial-number order
    names: list  # the searched parameters
    folder: Path
    spec: object = None  # the study file's, when the report was asked for one
    optuna_summary: str = None

    @property
    def params(self):
        """The latest parent run's params: the study's settings as last run."""
        return self.parents[-1].data.params

    @property
    def metric(self):
        return self.params.get("metric", "val_accuracy")

    @property
    def direction(self):
        return self.params.get("direction", "maximize" if self.metric.endswith("accuracy") else "minimize")

    @property
    def space(self):
        """The searched parameters as the latest parent logged them: name -> description."""
        return {k[6:]: v for k, v in self.params.items() if k.startswith("space.")}


def test_score(metrics_of):
    """The test score a study reports, as (metric key, words): R^2 for a regression's, else accuracy.

    ``metrics_of``: the metrics dicts of its runs.
    """
    if any("test_r2" in metrics for metrics in metrics_of):
        return "test_r2", "test R^2"
    return "test_accuracy", "test accuracy"


def collect(study_name_or_file, storage=None, tracking_uri=None, out_dir=None):
    """A :class:`ReportContext` of a study, every trial's train loss history loaded (its epochs)."""
    name, spec = resolve_study(study_name_or_file)
    client = tracking.connect(tracking_uri, create=False)  # a report never creates a database
    parents = find_parents(client, name)
    names = searched_names(parents, spec)
    trials = find_trials(client, parents, names)
    folder = Path(out_dir) if out_dir is not None else Path("reports") / name
    context = ReportContext(client, name, parents, trials, names, folder, spec, merge_optuna(trials, storage, name))
    for trial in trials:
        history(client, trial, "train_loss")
    return context


def resolve_study(study_name_or_file):
    """``(name, spec or None)``: a path to a study file gives its name and spec."""
    text = str(study_name_or_file)
    path = Path(text)
    if path.suffix in (".yaml", ".yml") or path.is_file():
        spec = load_study(path)
        return spec.name, spec
    return text, None


def _search_all(client, experiment_ids, filter_string, order_by=None):
    runs, token = [], None
    while True:
        page = client.search_runs(experiment_ids, filter_string=filter_string, max_results=1000,
                                  order_by=order_by, page_token=token)
        runs.extend(page)
        token = page.token
        if not token:
            return runs


def _quoted(value):
    return "'" + str(value).replace("\\", "\\\\").replace("'", "\\'") + "'"


def find_parents(client, name):
    """The study's parent runs, oldest first, from its experiment (or any, under ``mlflow run``)."""
    experiment = client.get_experiment_by_name(name)
    if experiment is not None:
        experiment_ids = [experiment.experiment_id]
    else:
        experiment_ids = [e.experiment_id for e in client.search_experiments()]
    parents = _search_all(client, experiment_ids, f"tags.{STUDY} = {_quoted(name)}",
                          order_by=["attributes.start_time ASC"]) if experiment_ids else []
    if not parents:
        raise ReportError(f"no MLflow runs of study {name!r} at {tracking.mask_password(client.tracking_uri)} "
                          "(run 'python -m search run' with the same --tracking-uri first)")
    return parents


def trial_of(run, index, searched):
    """The :class:`Trial` of a child run of the ``index``-th parent."""
    params, tags = run.data.params, run.data.tags
    number = params.get(TRIAL_NUMBER) or run.info.run_name.rpartition("-")[2]
    return Trial(run_id=run.info.run_id, number=int(number) if str(number).isdigit() else -1,
                 parent=index, state=states.state_of(run.info.status, tags.get(OPTUNA_STATE)),
                 stage=params.get(STAGE, "-"), params={k: params[k] for k in searched if k in params},
                 metrics=dict(run.data.metrics), fail_reason=tags.get(FAIL_REASON, "") or tags.get(PRUNE_REASON, ""))


def find_trials(client, parents, searched):
    """Every child run of every parent, as Trials, in trial-number order."""
    trials = []
    for index, parent in enumerate(parents):
        children = _search_all(client, [parent.info.experiment_id],
                               f"tags.{PARENT_RUN} = {_quoted(parent.info.run_id)}")
        trials += [trial_of(run, index, searched) for run in children]
    return sorted(trials, key=lambda t: (t.number, t.parent))


def searched_names(parents, spec=None):
    """The searched parameters: the parents' ``space.*`` params, in the study file's order if given."""
    names = [name for name, _ in spec.space] if spec is not None else []
    for parent in parents:
        for key in parent.data.params:
            if key.startswith("space.") and key[6:] not in names:
                names.append(key[6:])
    return names


def merge_optuna(trials, storage, name):
    """Trial states and fail reasons from the Optuna storage, where it has the trial.

    Returns a one-line summary of the storage's trials, or None without storage.
    """
    if not storage:
        return None
    import optuna

    from ..stores.storage import open_storage

    try:
        study = optuna.load_study(study_name=name, storage=open_storage(storage))
    except KeyError:
        return f"the Optuna storage has no study {name!r}"
    by_run = {t.user_attrs.get(MLFLOW_RUN_ID): t for t in study.get_trials(deepcopy=False)}
    for trial in trials:
        frozen = by_run.get(trial.run_id)
        if frozen is not None:
            trial.state = frozen.state.name
            trial.fail_reason = frozen.user_attrs.get(FAIL_REASON) or trial.fail_reason
    counts = {}
    for frozen in study.get_trials(deepcopy=False):
        counts[frozen.state.name] = counts.get(frozen.state.name, 0) + 1
    return ", ".join(f"{n} {state}" for state, n in sorted(counts.items()))


def history(client, trial, key):
    """``[(step, value)]`` of one metric of one trial, step order (cached on the trial).

    Runs logged before the objective got its own name (``<metric>_mean``)
    hold it under the metric's name at the last epoch's step, beside that
    epoch's value of the first repeat: at a step with two values, the
    per-epoch one is the first repeat's final value (``<key>_repeat0``) when
    logged, else the earlier.
    """
    if key not in trial.histories:
        points = client.get_metric_history(trial.run_id, key) if key in trial.metrics else []
        by_step = {}
        for point in sorted(points, key=lambda m: (m.step, m.timestamp)):
            by_step.setdefault(point.step, []).append(point.value)
        first_repeat = trial.metrics.get(f"{key}_repeat0")
        curve = []
        for step, values in sorted(by_step.items()):
            if len(values) > 1 and first_repeat is not None:
                values = sorted(values, key=lambda v: abs(v - first_repeat))
            curve.append((step, values[0]))
        trial.histories[key] = curve
    return trial.histories[key]


def numbered(metrics, pattern):
    """``{i: value}`` of the metrics named ``pattern.format(i)`` (e.g. grad_norm_max_layer{})."""
    regex = re.compile("^" + re.escape(pattern).replace(r"\{\}", r"(\d+)") + "$")
    found = {}
    for key, value in metrics.items():
        match = regex.match(key)
        if match:
            found[int(match.group(1))] = value
    return dict(sorted(found.items()))


def final_value(trial, metric):
    """The trial's objective: the mean over repeats (``<metric>_repeat<i>``) when logged."""
    repeats = numbered(trial.metrics, metric + "_repeat{}")
    if repeats:
        return float(np.mean(list(repeats.values())))
    return trial.metrics.get(f"{metric}_mean", trial.metrics.get(metric))


def trial_artifacts(client, trials, folder):
    """The logged confusion matrix and top-3 images of each trial of a small study: ``[(trial, file)]``."""
    shown = []
    for trial in trials:
        for name in ("confusion_matrix.png", "top3_images.png"):
            try:
                local = client.download_artifacts(trial.run_id, f"plots/{name}", str(folder))
            except Exception:
                continue  # not drawn (failed trial, trial_plots off, a figure that failed)
            target = folder / f"trial{trial.number}_{name}"
            Path(local).replace(target)
            shown.append((trial, target))
    plots_dir = folder / "plots"
    if plots_dir.is_dir() and not any(plots_dir.iterdir()):
        plots_dir.rmdir()
    return shown
