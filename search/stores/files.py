"""Store files on this machine: created once under a folder lock, and looked at before use.

Two commands started together in a new folder both create ``mlflow.db`` (and
an SQLite Optuna store): MLflow's and Optuna's schema creation race, and the
loser leaves a half-migrated database. Creation is serialised with ``flock``
on the folder itself, so no lock file is left behind. An existing SQLite file
is read (read-only) to say what it is before anything writes to it.
"""

import fcntl
import os
import sqlite3
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def folder_lock(folder):
    """Hold an exclusive lock on ``folder`` (released on exit, or by the kernel if the process dies)."""
    try:
        descriptor = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:  # no such folder: the store's own error says so, and there is nothing to race for
        yield
        return
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)


class NotSQLite(ValueError):
    """A file that is not an SQLite database."""


def sqlite_tables(path):
    """The table names of the SQLite file ``path`` (read-only: nothing is written); NotSQLite if it is none."""
    try:
        with sqlite3.connect(f"{Path(path).absolute().as_uri()}?mode=ro", uri=True) as db:
            return {row[0] for row in db.execute("select name from sqlite_master where type = 'table'")}
    except sqlite3.DatabaseError as error:
        raise NotSQLite(f"{path} is not an SQLite database ({error})") from None


def sqlite_path_problem(path, kind):
    """Why the SQLite file ``path`` cannot hold a ``kind`` store, or None; reads, never writes.

    ``kind`` is 'mlflow' or 'optuna'. A file of the other kind, a folder, a file
    that is not SQLite, a folder we cannot write to and a database left
    half-migrated each get their own words.
    """
    path = Path(path)
    if path.is_dir():
        return f"{path} is a folder, not a database file"
    if not path.exists():
        folder = path.parent
        if not folder.is_dir():
            return f"folder {folder} does not exist"
        return None if os.access(folder, os.W_OK) else f"folder {folder} is not writable"
    try:
        tables = sqlite_tables(path)
    except NotSQLite:
        return f"{path} is not an SQLite database"
    if kind == "optuna" and "experiments" in tables and "studies" not in tables:
        return f"{path} is an MLflow tracking database; give Optuna a file of its own (sqlite:///optuna.db)"
    if kind == "mlflow" and "studies" in tables and "experiments" not in tables:
        return f"{path} is an Optuna storage; give MLflow a file of its own (sqlite:///mlflow.db)"
    half = sorted(t for t in tables if t.startswith("_alembic_tmp_"))
    if half:
        return (f"{path} was left half-migrated by an interrupted schema upgrade (tables {', '.join(half)}; "
                f"two commands created it at once?): delete it if it was new, else restore it from a copy")
    return None
