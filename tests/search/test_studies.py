"""Every study file in studies/: it loads, and it runs end to end in a quick form.

The quick form keeps each file's estimator, space, sampler, pruner and stages
and replaces what makes it long: the data (a stratified MNIST subset when
../shared/data/mnist.npz is there, else scikit-learn's digits), the epochs (2),
the repeats (at most 2), the trial budget (at most 2, one per stage of a staged
search) and the time limit. CIFAR-10 studies run only where CIFAR-10 is found.
All the quick studies share one Optuna journal, one MLflow database and the
data they load (read once).
"""

import math
import os
import warnings
from pathlib import Path

import pytest
import yaml
from mlflow.tracking import MlflowClient
from optuna.trial import FixedTrial
from sklearn.exceptions import ConvergenceWarning

from estimators import MLPClassifier
from search import cli, service
from search.data import DataError, load_arrays, load_dataset
from search.report import report
from search.space import Categorical, estimator_params
from search.studyfile import load_study
from tests.conftest import MNIST, REPO

# A quick form's few hundred rows are fewer than some studies' batch size: clipped, as meant.
pytestmark = pytest.mark.filterwarnings("ignore:Got `batch_size` less than 1 or larger than sample size")

STUDIES = sorted((REPO / "studies").glob("*.yaml"))
IDS = [path.stem for path in STUDIES]
QUICK_EPOCHS = 2
QUICK_TRIALS = 2


def available(name):
    """None when the dataset can be read here, else why not (one line)."""
    try:
        load_arrays(name)
    except DataError as error:
        return str(error)
    return None


def quick_dataset(dataset):
    """The study's data made small: its own when present (MNIST ~600 rows), else digits."""
    name = dataset.get("name", "digits")
    small = {"subset": 600, "test_subset": 300, "validation_size": 150, "scaling": dataset.get("scaling", "standard")}
    if name == "digits":
        return {**dataset, "subset": 400, "test_subset": 200}
    if name == "mnist" and MNIST.exists() and not os.environ.get("MNIST_PATH"):
        return {"name": "mnist", "path": str(MNIST), **small}
    reason = available(name)
    if reason is None:
        return {**{k: v for k, v in dataset.items() if k not in ("validation_fraction",)}, **small}
    if name == "cifar10":
        pytest.skip(f"CIFAR-10 is not on this machine: {name} studies are only loaded and their settings "
                    f"trained on digits ({reason})")
    return {"name": "digits", "subset": 400, "test_subset": 200, "validation_fraction": 0.2, "scaling": "standard"}


def quick_overrides(raw):
    """Top-level keys that turn a study file into a run of seconds."""
    overrides = {
        "dataset": quick_dataset(raw.get("dataset") or {"name": "digits"}),
        "epochs": min(QUICK_EPOCHS, raw.get("epochs", 20)),
        "timeout": None,
        "artifacts": {**(raw.get("artifacts") or {}), "trial_plots": False},  # figures: tested elsewhere
    }
    repeats = raw.get("repeats", 1)
    if repeats > 2:
        overrides["repeats"] = 2
        if "seeds" in raw:
            overrides["seeds"] = raw["seeds"][:2]
    if "stages" in raw:
        overrides["stages"] = [{**stage, "n_trials": 1} for stage in raw["stages"]]
    else:
        overrides["n_trials"] = min(QUICK_TRIALS, raw.get("n_trials", 20))
    return overrides


def grid_size(spec):
    return math.prod(len(values) for values in spec.space.grid().values())


@pytest.mark.parametrize("path", STUDIES, ids=IDS)
def test_every_study_file_loads(path):
    spec = load_study(path)
    assert spec.name == path.stem, "a study's name is its file's name: one experiment per file"
    assert spec.description and path.read_text().startswith("#"), "say what the study reproduces"
    samplers = {spec.sampler["name"]} | {stage.sampler for stage in spec.stages if stage.sampler}
    if "grid" in samplers:
        assert spec.n_trials == grid_size(spec), "a grid study's budget is its grid, each point once"
    assert len(spec.seeds) == spec.repeats


@pytest.mark.parametrize("path", STUDIES, ids=IDS)
def test_every_configuration_trains_an_epoch_on_digits(path):
    """The fixed settings with each space's first choice or lower bound fit on digits.

    Catches settings the estimator refuses at fit time, for every study, even
    where its own data (CIFAR-10) is missing.
    """
    spec = load_study(path)
    values = {name: (dim.labels[0] if isinstance(dim, Categorical) else
                     (int(dim.low) if dim.integer else dim.low)) for name, dim in spec.space}
    data = load_dataset("digits", subset=200, validation_fraction=0.2)
    params = estimator_params(spec.space.suggest(FixedTrial(values)), spec.estimator, len(data.X_train))
    params["max_iter"] = 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = MLPClassifier(**params, random_state=0).fit(data.X_train, data.y_train,
                                                            validation_data=(data.X_val, data.y_val))
    assert len(model.history_) == 1


@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    """One Optuna journal and one MLflow database for every quick study, in a working folder."""
    folder = tmp_path_factory.mktemp("studies")
    loaded, load = {}, service.load_data

    def load_once(spec):  # the same MNIST subset for every quick study: read it once
        key = yaml.safe_dump(spec.dataset)
        if key not in loaded:
            loaded[key] = load(spec)
        return loaded[key]

    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)  # MLflow's artifacts (./mlruns) land here
        patch.setattr(service, "load_data", load_once)
        for name in ("MLFLOW_TRACKING_URI", "MLFLOW_RUN_ID", "MLFLOW_EXPERIMENT_ID", "OPTUNA_STORAGE"):
            patch.delenv(name, raising=False)
        yield folder, f"journal:{folder}/optuna.journal", f"sqlite:///{folder}/mlflow.db"


@pytest.mark.parametrize("path", STUDIES, ids=IDS)
def test_every_study_runs_in_a_quick_form_and_reports(path, stores):
    folder, storage, tracking_uri = stores
    raw = yaml.safe_load(path.read_text())
    overrides = quick_overrides(raw)
    spec = load_study(path, overrides=overrides)  # the quick form is a valid study
    quick = Path(folder) / path.name
    quick.write_text(yaml.safe_dump({**raw, **overrides}))
    assert cli.main(["run", str(quick), "--storage", storage, "--tracking-uri", tracking_uri]) == 0

    client = MlflowClient(tracking_uri)
    experiment = client.get_experiment_by_name(spec.name).experiment_id
    parent = client.search_runs([experiment], f"tags.study = '{spec.name}'")[0]
    assert parent.info.status == "FINISHED"
    trials = client.search_runs([experiment], f"tags.mlflow.parentRunId = '{parent.info.run_id}'")
    assert len(trials) == spec.n_trials
    states = {run.data.tags["optuna.state"] for run in trials}
    assert states <= {"COMPLETE", "FAIL", "PRUNED"} and "COMPLETE" in states
    assert {f"space.{name}" for name, _ in spec.space} <= set(parent.data.params)

    text = report(quick, tracking_uri=tracking_uri, out_dir=Path(folder) / "reports" / spec.name).read_text()
    assert "## Trials" in text and text.count("\n| ") >= spec.n_trials + 1
