"""One writer at a time per study, for a write that counts before it adds: queueing trials of the budget.

Optuna hands out a queued trial atomically (see :mod:`search.stores.budget`),
but counting the budget and queueing a trial are two steps: two workers that
count 35 trials of 36 at once would queue 37. :func:`study_lock` makes the two
steps one, with the lock each store offers, released whenever its holder ends,
killed or not:

- PostgreSQL: a session advisory lock (the server drops it with the connection);
- MySQL: a named lock (``GET_LOCK``), likewise;
- SQLite and journal files: ``flock`` on the folder holding the file (the kernel drops it
  with the process); no lock file is left behind;
- the gRPC proxy (:mod:`search.stores.proxy`): the lock of its database, taken by the proxy for as long
  as the worker's call to it lasts;
- a store in memory: a lock of this process.
"""

import threading
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy
from optuna.storages import JournalStorage, RDBStorage, _CachedStorage
from optuna.storages.journal import JournalFileBackend

from .files import folder_lock

ADVISORY_SPACE = 1935762021  # first key of our PostgreSQL advisory locks ('sear'): not another program's
_IN_PROCESS = threading.Lock()


def study_lock(study):
    """A context manager that holds the study's lock, across processes and machines sharing its store."""
    storage = study._storage
    if isinstance(storage, _CachedStorage):  # what Optuna wraps an RDB storage in
        storage = storage._backend
    if hasattr(storage, "study_lock"):  # the proxy's client: the proxy holds it
        return storage.study_lock(study._study_id)
    if isinstance(storage, RDBStorage):
        return database_lock(storage.engine, study._study_id)
    if isinstance(storage, JournalStorage) and isinstance(storage._backend, JournalFileBackend):
        return folder_lock(Path(storage._backend._file_path).absolute().parent)
    return _IN_PROCESS


@contextmanager
def database_lock(engine, study_id):
    """Hold the lock of study ``study_id`` in the database of ``engine``."""
    dialect = engine.dialect.name
    if dialect == "sqlite":
        database = engine.url.database
        with folder_lock(Path(database).absolute().parent) if database not in (None, "", ":memory:") \
                else _IN_PROCESS:
            yield
        return
    take, give = {
        "postgresql": ("select pg_advisory_lock(:space, :key)", "select pg_advisory_unlock(:space, :key)"),
        "mysql": ("select get_lock(concat('search-study-', :key), -1)", "select release_lock("
                  "concat('search-study-', :key))"),
    }[dialect]
    keys = {"space": ADVISORY_SPACE, "key": study_id}
    with engine.connect() as connection:  # a connection of its own: Optuna's writes go on beside it
        connection.execute(sqlalchemy.text(take), keys)
        try:
            yield
        finally:  # the connection goes back to the pool, not away: the lock must be let go now
            connection.execute(sqlalchemy.text(give), keys)
