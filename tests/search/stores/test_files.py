"""Tests for search.stores.files: stores created by commands started together, and files that are not stores."""

import os
import sqlite3
import subprocess
import sys
import time

import pytest
from mlflow.tracking import MlflowClient

from search.stores.storage import StorageError, check_url
from tests.conftest import REPO

CREATE = """
import sys, time
from pathlib import Path
from search import tracking
from search.stores import storage
folder = Path(sys.argv[1])
(folder / f"ready-{sys.argv[2]}").touch()
while not (folder / "go").exists():
    time.sleep(0.01)
tracking.connect(f"sqlite:///{folder}/mlflow.db").search_experiments()
storage.open_storage(f"sqlite:///{folder}/optuna.db")
"""


@pytest.mark.slow  # four processes
def test_commands_started_together_create_each_store_once(tmp_path):
    # MLflow measured here: 3 of 4 processes creating one new mlflow.db at once crashed (schema migration).
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    processes = [subprocess.Popen([sys.executable, "-c", CREATE, str(tmp_path), str(i)], env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for i in range(4)]
    deadline = time.monotonic() + 300
    while len(list(tmp_path.glob("ready-*"))) < 4:  # all imported, all waiting: then all go at once
        assert time.monotonic() < deadline and all(p.poll() is None for p in processes)
        time.sleep(0.05)
    (tmp_path / "go").touch()
    results = [p.communicate(timeout=300) for p in processes]
    assert [p.returncode for p in processes] == [0] * 4, [err[-2000:] for _, err in results]
    with sqlite3.connect(tmp_path / "mlflow.db") as db:
        tables = {row[0] for row in db.execute("select name from sqlite_master")}
    assert not [t for t in tables if t.startswith("_alembic_tmp_")]
    assert MlflowClient(f"sqlite:///{tmp_path}/mlflow.db").search_experiments()


def test_the_mlflow_database_is_refused_as_optuna_storage_and_left_as_it_was(tmp_path):
    MlflowClient(f"sqlite:///{tmp_path}/mlflow.db").search_experiments()
    before = (tmp_path / "mlflow.db").read_bytes()
    with pytest.raises(StorageError, match="is an MLflow tracking database"):
        check_url(f"sqlite:///{tmp_path}/mlflow.db")
    assert (tmp_path / "mlflow.db").read_bytes() == before
