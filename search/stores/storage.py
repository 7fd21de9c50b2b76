"""Optuna storage from a URL: SQLite or PostgreSQL (RDB), or a journal file.

RDB storages get Optuna's heartbeat, so a trial whose worker was killed is
marked failed, and handed to the stale-trial callback the caller gives
(:mod:`search.trials.recovery` retries it); a journal file has no heartbeat,
and the ``run`` command retries the trials of workers it saw die. A
``grpc://host:port`` storage is our gRPC proxy in front of an RDB storage
(:mod:`.proxy`), heartbeat included.
"""

import os
import warnings
from contextlib import nullcontext
from pathlib import Path

import optuna
import sqlalchemy
from optuna.storages import JournalStorage, RDBStorage, _CachedStorage
from optuna.storages.journal import JournalFileBackend, JournalFileSymlinkLock
from sqlalchemy.engine import make_url

from . import journal, proxy
from .budget import AtomicTake, QueueOnly, QueueOnlyRDB
from ..secrets import mask, reason as _reason
from .files import folder_lock, sqlite_path_problem

# A journal file: concurrent workers on one machine append to it without the
# lock contention of SQLite, and it is several times faster per write.
DEFAULT_STORAGE = "journal:optuna.journal"
RDB_SCHEMES = ("sqlite", "postgresql", "mysql")
JOURNAL_PREFIX = "journal:"
HEARTBEAT_INTERVAL, GRACE_PERIOD = 5, 20  # seconds; see README, "Many workers: the gRPC proxy"


class StorageError(ValueError):
    """A storage URL that cannot be used."""


def describe(url):
    """The URL as it may be shown: never with its password."""
    return mask(url or DEFAULT_STORAGE)


def is_journal(url):
    return url.startswith(JOURNAL_PREFIX) or url.endswith(".journal")


def check_url(url):
    """``url`` if it names a storage we can open; a StorageError, writing nothing, if not."""
    if is_journal(url):
        path = url.removeprefix(JOURNAL_PREFIX)
        if not path.strip():
            raise StorageError(f"storage {describe(url)}: no journal file given (journal:path/to/file.journal)")
        folder = Path(path).parent
        if not folder.exists():
            raise StorageError(f"storage {describe(url)}: folder {folder} does not exist")
        problem = journal.problem(Path(path))
        if problem:
            raise StorageError(f"storage {describe(url)}: {problem}")
        return url
    if proxy.is_proxy(url):
        return _check_proxy(url)
    scheme = url.split(":", 1)[0].split("+", 1)[0]
    if scheme not in RDB_SCHEMES:
        raise StorageError(f"storage {describe(url)}: unknown scheme {scheme!r} (use sqlite:///file.db, "
                           f"postgresql://..., journal:file.journal, or grpc://host:port)")
    try:
        database = make_url(url).database
    except Exception as error:
        raise StorageError(f"storage {describe(url)}: not a valid URL ({_reason(error)})") from None
    if scheme == "sqlite":
        problem = database not in (None, "", ":memory:") and sqlite_path_problem(database, "optuna")
        if problem:
            raise StorageError(f"storage {describe(url)}: {problem}")
        return url
    try:  # a server that does not answer is found now, before MLflow or Optuna write anything
        engine = sqlalchemy.create_engine(url)
        try:
            with engine.connect():
                pass
        finally:
            engine.dispose()
    except Exception as error:
        raise StorageError(f"storage {describe(url)} cannot be opened: {_reason(error)}") from None
    return url


def _check_proxy(url):
    try:
        proxy.describe_proxy(url)  # answers, and is ours
    except proxy.ProxyError as error:
        raise StorageError(f"storage {describe(str(error))}") from None
    return url


def beside_tracking(tracking_uri):
    """The default storage: a journal file beside a local SQLite tracking store, else ``DEFAULT_STORAGE``.

    Kept with the MLflow database, the study is found again by the same command
    from any folder, and under ``mlflow run``, which may run a copy of the project.
    """
    prefix = "sqlite:///"
    path = tracking_uri.removeprefix(prefix).partition("?")[0] if tracking_uri.startswith(prefix) else ""
    if not path or path == ":memory:":
        return DEFAULT_STORAGE
    return JOURNAL_PREFIX + str(Path(path).absolute().parent / DEFAULT_STORAGE.removeprefix(JOURNAL_PREFIX))


def exists(url):
    """Whether the storage already holds anything (a server-backed one always may)."""
    url = url or DEFAULT_STORAGE
    if is_journal(url):
        return Path(url.removeprefix(JOURNAL_PREFIX)).exists()
    if url.startswith("sqlite"):
        database = make_url(url).database
        return database in (None, "", ":memory:") or Path(database).exists()
    return True


class QueuedJournalStorage(QueueOnly, JournalStorage):
    """A journal storage whose workers only take queued trials (see :mod:`search.stores.budget`)."""


class QueuedRDBStorage(QueueOnlyRDB, RDBStorage):
    """An RDB storage whose workers only take queued trials (see :mod:`search.stores.budget`)."""


class TakingRDBStorage(AtomicTake, RDBStorage):
    """The gRPC proxy's RDB storage: every worker's take of a queued trial is one conditional UPDATE."""


def open_storage(url=None, heartbeat_interval=None, grace_period=None, stale_trial_callback=None,
                 queue_only=False):
    """An Optuna storage for ``url``.

    Parameters
    ----------
    url : str, default 'journal:optuna.journal'
        ``sqlite:///file.db``, ``postgresql://user:pass@host/db`` (any
        SQLAlchemy URL of those schemes), ``journal:path/to/file.journal``
        (a path ending in ``.journal`` works too), or ``grpc://host:port``
        (``python -m search storage-proxy``).
    heartbeat_interval, grace_period : int
        Seconds between a running trial's heartbeats, and of silence after
        which it counts as dead (RDB storages; through the proxy, the
        proxy's grace period counts); default $SEARCH_HEARTBEAT_INTERVAL or
        5, and $SEARCH_GRACE_PERIOD or 20.
    stale_trial_callback : callable, default=None
        Called as ``stale_trial_callback(study, trial)`` for a trial found dead
        (RDB storages), as Optuna's ``heartbeat_stale_trial_callback``:
        :func:`search.trials.recovery.stale_trial_callback` closes its MLflow run
        and queues it again.
    queue_only : bool, default=False
        Trials come only from the queue: ``ask`` with nothing queued raises
        :class:`search.stores.budget.BudgetSpent` rather than create a trial.
    """
    url = check_url(url or DEFAULT_STORAGE)
    if is_journal(url):
        return _journal_storage(url, queue_only)
    interval = heartbeat_interval or _setting("SEARCH_HEARTBEAT_INTERVAL", HEARTBEAT_INTERVAL)
    heartbeat = {"heartbeat_interval": interval,
                 "grace_period": grace_period or _setting("SEARCH_GRACE_PERIOD", GRACE_PERIOD),
                 "heartbeat_stale_trial_callback": stale_trial_callback}
    if proxy.is_proxy(url):
        kind = proxy.QueuedProxyStorage if queue_only else proxy.ProxyStorage
        return kind(url, heartbeat["heartbeat_interval"], stale_trial_callback)
    return _rdb_storage(url, QueuedRDBStorage if queue_only else RDBStorage, heartbeat)


def _setting(name, default):
    return int(os.environ.get(name, default))


def proxied_storage(url):
    """The storage ``python -m search storage-proxy`` serves: an RDB storage, with Optuna's cache in front.

    A journal, or another proxy, is refused (a StorageError): Optuna's proxy does not serve a
    ``JournalStorage`` (optuna#6084).
    """
    if not url:
        raise StorageError("storage-proxy: no storage to serve: give --storage postgresql://... "
                           "(or set OPTUNA_STORAGE)")
    if is_journal(url) or proxy.is_proxy(url):
        kind = "a journal (Optuna's proxy does not serve JournalStorage, optuna#6084)" if is_journal(url) \
            else "another proxy"
        raise StorageError(f"storage {describe(url)}: the proxy cannot serve {kind}; "
                           "give an RDB storage: postgresql://..., mysql://... or sqlite:///file.db")
    heartbeat = {"heartbeat_interval": _setting("SEARCH_HEARTBEAT_INTERVAL", HEARTBEAT_INTERVAL),
                 "grace_period": _setting("SEARCH_GRACE_PERIOD", GRACE_PERIOD)}
    # Optuna's advice: its cache in front, else every worker's read is a full query.
    return _CachedStorage(_rdb_storage(check_url(url), TakingRDBStorage, heartbeat))


def _rdb_storage(url, rdb, heartbeat):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)  # stable since 2.8
            database = make_url(url).database if url.startswith("sqlite") else None
            # Optuna's schema creation races too: one creator at a time per folder.
            with folder_lock(Path(database).absolute().parent) if database not in (None, "", ":memory:") \
                    else nullcontext():
                return rdb(url, **heartbeat)
    except Exception as error:
        raise StorageError(f"storage {describe(url)} cannot be opened: {_reason(_first_cause(error))}") from None


def _first_cause(error):
    """The error under Optuna's: its 'An exception is raised during the commit' hides "too many clients"."""
    while error.__cause__ is not None:
        error = error.__cause__
    return error


def _journal_storage(url, queue_only):
    # Absolute: the backend reopens its file by this path at every write.
    path = Path(url.removeprefix(JOURNAL_PREFIX)).absolute()
    lock = JournalFileSymlinkLock(str(path))  # the lock Optuna's writers take
    journal.drop_torn_tail(path, lock)
    kind = QueuedJournalStorage if queue_only else JournalStorage
    return kind(JournalFileBackend(str(path), lock_obj=lock))
