"""Every study file in studies/: it loads, and it runs end to end in its quick form.

The quick form (``run --quick``, :func:`search.study.file.quick_overrides`)
keeps each file's estimator, space, sampler, pruner and stages on a few hundred
rows of its data for 2 epochs. Where the data is missing here, digits stands
in for MNIST, and random images in CIFAR-10's own format for CIFAR-10.
All the quick studies share one Optuna journal, one MLflow database and the
data they load (read once).
"""

import math
import socket
import warnings
from pathlib import Path

import pytest
import yaml
from mlflow.tracking import MlflowClient
from optuna.trial import FixedTrial
from sklearn import datasets as sk_datasets
from sklearn.exceptions import ConvergenceWarning

from search import cli, service
from search.data import DataError, load_arrays, load_dataset
from search.reporting.report import report
from search.study.space import Categorical, estimator_params
from search.study.file import QUICK_EPOCHS, QUICK_ROWS, QUICK_TRIALS, load_study
from search.study.task import TASKS
from tests.conftest import REPO
from tests.search.data.test_data import write_cifar_folder

# A quick form's few hundred rows are fewer than some studies' batch size: clipped, as meant.
# Whole studies end to end: `pytest -m "not slow"` leaves them out.
pytestmark = [pytest.mark.filterwarnings("ignore:Got `batch_size` less than 1 or larger than sample size"),
              pytest.mark.slow]

LOCAL = ("127.0.0.1", "::1", "localhost", None)


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Any reach for another machine (a name lookup or a connection) fails the test, even if caught."""
    reached, lookup, connect = [], socket.getaddrinfo, socket.socket.connect

    def local_lookup(host, *args, **kwargs):
        if host not in LOCAL and not str(host).startswith("/"):
            reached.append(host)
            raise OSError(f"no network in tests: {host}")
        return lookup(host, *args, **kwargs)

    def local_connect(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6) and address[0] not in LOCAL:
            reached.append(address)
            raise OSError(f"no network in tests: {address}")
        return connect(self, address)

    def offline_fetch_openml(name, **kwargs):  # MNIST missing here: a stand-in is used, OpenML never asked
        raise OSError(f"no network in tests: fetch_openml({name!r})")

    monkeypatch.setattr(socket, "getaddrinfo", local_lookup)
    monkeypatch.setattr(socket.socket, "connect", local_connect)
    monkeypatch.setattr(sk_datasets, "fetch_openml", offline_fetch_openml)
    yield
    assert not reached, f"the test reached for the network: {reached}"


STUDIES = sorted((REPO / "studies").glob("*.yaml"))
IDS = [path.stem for path in STUDIES]


def available(name):
    """None when the dataset can be read here, else why not (one line)."""
    try:
        load_arrays(name)
    except DataError as error:
        return str(error)
    return None


def stand_in(raw, folder):
    """Top-level keys that put stand-in data in place of data this machine lacks (None: it has it).

    CIFAR-10 gets random images written in its own format (so its loader, the
    image shapes and the top-3 figures run as on the real data); MNIST-like
    data gets digits.
    """
    dataset = raw.get("dataset") or {"name": "digits"}
    if available(dataset["name"]) is None:
        return None
    if dataset["name"] == "cifar10":
        batches = Path(folder) / "cifar-10-batches-py"
        if not batches.exists():
            write_cifar_folder(batches, rows_per_batch=150)
        return {"dataset": {**dataset, "path": str(batches)}}
    return {"dataset": {"name": "digits", "validation_fraction": 0.2, "scaling": "standard"}}


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
    """The fixed settings with each space's first choice or lower bound fit on digits (diabetes for a regression).

    Catches settings the estimator refuses at fit time, for every study, even
    where its own data (CIFAR-10) is missing.
    """
    spec = load_study(path)
    values = {name: (dim.labels[0] if isinstance(dim, Categorical) else
                     (int(dim.low) if dim.integer else dim.low)) for name, dim in spec.space}
    small = "diabetes" if spec.task == "regression" else "digits"
    data = load_dataset(small, subset=200, validation_fraction=0.2, task=spec.task)
    params = estimator_params(spec.space.suggest(FixedTrial(values)), spec.estimator, len(data.X_train))
    params["max_iter"] = 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = TASKS[spec.task].estimator(**params, random_state=0).fit(
            data.X_train, data.y_train, validation_data=(data.X_val, data.y_val))
    assert len(model.history_) == 1


@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    """One Optuna journal and one MLflow database for every quick study, in a working folder."""
    folder = tmp_path_factory.mktemp("studies")
    loaded, load = {}, service.load_data

    def load_once(spec, rows=None):  # the same MNIST subset for every quick study: read it once
        key = yaml.safe_dump(spec.dataset)
        if key not in loaded:
            loaded[key] = load(spec, rows)
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
    overrides = stand_in(raw, folder)
    if overrides is not None:  # the same file with stand-in data
        path = Path(folder) / path.name
        path.write_text(yaml.safe_dump({**raw, **overrides}))
    spec = load_study(path, quick=True)
    assert spec.name == f"{raw['name']}_quick" and spec.epochs <= QUICK_EPOCHS and spec.register is None
    assert cli.main(["run", str(path), "--quick", "--storage", storage, "--tracking-uri", tracking_uri]) == 0

    client = MlflowClient(tracking_uri)
    experiment = client.get_experiment_by_name(spec.name).experiment_id
    parent = client.search_runs([experiment], f"tags.study = '{spec.name}'")[0]
    assert parent.info.status == "FINISHED"
    assert int(parent.data.params["n_train"]) + int(parent.data.params["n_val"]) <= QUICK_ROWS["subset"]
    trials = client.search_runs([experiment], f"tags.mlflow.parentRunId = '{parent.info.run_id}'")
    assert len(trials) == spec.n_trials <= QUICK_TRIALS * len(spec.stages)
    states = {run.data.tags["optuna.state"] for run in trials}
    assert states <= {"COMPLETE", "FAIL", "PRUNED"} and "COMPLETE" in states
    assert {f"space.{name}" for name, _ in spec.space} <= set(parent.data.params)

    text = report(spec.name, tracking_uri=tracking_uri, out_dir=Path(folder) / "reports" / spec.name).read_text()
    assert "## Trials" in text and text.count("\n| ") >= spec.n_trials + 1


def test_the_readme_example_is_the_quickstart_study_file():
    """README's "Study files" block is studies/quickstart.yaml, byte for byte: they cannot drift."""
    readme = (REPO / "README.md").read_text()
    section = readme.split("### Study files", 1)[1]
    block = section.split("```yaml\n", 1)[1].split("```", 1)[0]
    assert block == (REPO / "studies" / "quickstart.yaml").read_text()
