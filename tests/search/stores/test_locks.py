"""Tests for search.stores.locks: one holder of a study's lock at a time, on every kind of store."""

import fcntl
import os
import uuid

import optuna
import pytest
import sqlalchemy

from search.stores.locks import ADVISORY_SPACE, study_lock
from search.stores.storage import open_storage
from tests.conftest import postgres_url


def folder_is_locked(folder):
    """Whether another open of ``folder`` would wait for its flock (asked without waiting)."""
    descriptor = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return False
    except BlockingIOError:
        return True
    finally:
        os.close(descriptor)


@pytest.mark.parametrize("kind", ["journal", "sqlite"])
def test_a_file_store_is_locked_by_its_folder_while_held(tmp_path, kind):
    url = f"journal:{tmp_path}/o.journal" if kind == "journal" else f"sqlite:///{tmp_path}/o.db"
    study = optuna.create_study(storage=open_storage(url))
    assert not folder_is_locked(tmp_path)
    with study_lock(study):
        assert folder_is_locked(tmp_path)
    assert not folder_is_locked(tmp_path)


def test_a_study_in_memory_has_a_lock_of_this_process():
    study = optuna.create_study()
    with study_lock(study) as held:
        assert held is True  # threading.Lock's __enter__
        assert not study_lock(study).acquire(blocking=False)
    assert study_lock(study).acquire(blocking=False)
    study_lock(study).release()


@pytest.mark.slow
def test_a_postgresql_study_is_locked_by_an_advisory_lock_while_held():
    url = postgres_url()
    study = optuna.create_study(study_name=f"lock-{uuid.uuid4().hex[:8]}", storage=open_storage(url))
    engine = sqlalchemy.create_engine(url)
    keys = {"space": ADVISORY_SPACE, "key": study._study_id}

    def free():  # asked from another connection, without waiting
        with engine.connect() as other:
            if other.execute(sqlalchemy.text("select pg_try_advisory_lock(:space, :key)"), keys).scalar():
                other.execute(sqlalchemy.text("select pg_advisory_unlock(:space, :key)"), keys)
                return True
            return False

    try:
        assert free()
        with study_lock(study):
            assert not free()
        assert free()
    finally:
        engine.dispose()
        optuna.delete_study(study_name=study.study_name, storage=url)
