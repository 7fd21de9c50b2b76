"""Shared test helpers: small study files and stores in a temporary folder."""

import os
import signal
import socket
from pathlib import Path

import pytest
import yaml

# Tests make no network call: MLflow's usage telemetry stays off (before any test module imports MLflow).
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

# Tests press Ctrl-C themselves (SIGINT, in this process and in the commands they start). A shell
# that starts pytest in the background (`make test &`, `nohup ... &`) ignores SIGINT in it, and an
# ignored signal stays ignored in every child: those tests would then hang. Python's own handler
# again, which children reset to the default at exec.
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

REPO = Path(__file__).resolve().parents[1]
MNIST = REPO.parent / "shared" / "data" / "mnist.npz"


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """A temporary working folder where the default stores (optuna.db, mlflow.db) land."""
    monkeypatch.chdir(tmp_path)
    for name in ("MLFLOW_TRACKING_URI", "MLFLOW_RUN_ID", "MLFLOW_EXPERIMENT_ID", "MLFLOW_EXPERIMENT_NAME"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def tiny_study_text(name="tiny", **keys):
    """A study on 500 digits rows: 3 trials of 3 epochs, activation and lambda searched."""
    study = {
        "name": name,
        "dataset": {"name": "digits", "subset": 500, "validation_fraction": 0.2, "test_subset": 200},
        "estimator": {"solver": "sgd", "learning_rate_init": 0.05, "batch_size": 32,
                      "hidden_layer_sizes": [24]},
        "space": {"activation": {"choices": ["relu", "leaky_relu"]},
                  "lambda": {"low": "1e-5", "high": "1e-2", "log": True}},
        "epochs": 3,
        "sampler": {"name": "tpe", "seed": 0},
        "pruner": "none",
        "n_trials": 3,
    }
    study.update(keys)
    return yaml.safe_dump(study)


@pytest.fixture
def write_study(workdir):
    """``write_study(name, **keys)`` writes a tiny digits study into the working folder."""
    def write(name="tiny", **keys):
        path = workdir / f"{name}.yaml"
        path.write_text(tiny_study_text(name, **keys))
        return path
    return write


def postgres_url():
    """The PostgreSQL URL for tests: $TEST_POSTGRES_URL, else the local server if it answers."""
    url = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
    try:
        import sqlalchemy

        engine = sqlalchemy.create_engine(url)
        with engine.connect():
            pass
        engine.dispose()
    except Exception as error:
        pytest.skip(f"no PostgreSQL server at {url} ({type(error).__name__}); set TEST_POSTGRES_URL")
    return url


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
