"""Optuna storage from a URL: SQLite or PostgreSQL (RDB), or a journal file.

RDB storages get Optuna's heartbeat, so a trial whose worker was killed is
marked failed and retried by ``RetryHeartbeatStaleTrialCallback``; a journal file has
no heartbeat, and the ``run`` command retries the trials of workers it saw die.
"""

import os
import warnings
from pathlib import Path

import optuna
import sqlalchemy
from optuna.storages import JournalStorage, RDBStorage, RetryHeartbeatStaleTrialCallback
from optuna.storages.journal import JournalFileBackend
from sqlalchemy.engine import make_url

from .tracking import mask_password

# A journal file: concurrent workers on one machine append to it without the
# lock contention of SQLite, and it is several times faster per write.
DEFAULT_STORAGE = "journal:optuna.journal"
RDB_SCHEMES = ("sqlite", "postgresql", "mysql")
JOURNAL_PREFIX = "journal:"
MAX_RETRY = 2


class StorageError(ValueError):
    """A storage URL that cannot be used."""


def describe(url):
    """The URL as it may be shown: never with its password."""
    try:
        return mask_password(url or DEFAULT_STORAGE)
    except ValueError:  # unparseable (e.g. an unclosed '['): show no part that may hold a password
        return url.split("://", 1)[0] + "://..."


def is_journal(url):
    return url.startswith(JOURNAL_PREFIX) or url.endswith(".journal")


def check_url(url):
    """``url`` if it names a storage we can open; a StorageError, writing nothing, if not."""
    if is_journal(url):
        folder = Path(url.removeprefix(JOURNAL_PREFIX)).parent
        if not folder.exists():
            raise StorageError(f"storage {describe(url)}: folder {folder} does not exist")
        return url
    scheme = url.split(":", 1)[0].split("+", 1)[0]
    if scheme not in RDB_SCHEMES:
        raise StorageError(f"storage {describe(url)}: unknown scheme {scheme!r} "
                           f"(use sqlite:///file.db, postgresql://..., or journal:file.journal)")
    try:
        database = make_url(url).database
    except Exception as error:
        raise StorageError(f"storage {describe(url)}: not a valid URL ({_reason(error)})") from None
    if scheme == "sqlite":
        folder = Path(database or ":memory:").parent
        if database not in (None, "", ":memory:") and not folder.is_dir():
            raise StorageError(f"storage {describe(url)}: folder {folder} does not exist")
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


def _reason(error):
    """An exception as one line without a password."""
    return mask_password(str(error).splitlines()[0][:200] if str(error) else type(error).__name__)


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


def open_storage(url=None, heartbeat_interval=None, grace_period=None, on_failed_trial=None):
    """An Optuna storage for ``url``.

    Parameters
    ----------
    url : str, default 'journal:optuna.journal'
        ``sqlite:///file.db``, ``postgresql://user:pass@host/db`` (any
        SQLAlchemy URL of those schemes), or ``journal:path/to/file.journal``
        (a path ending in ``.journal`` works too).
    heartbeat_interval, grace_period : int
        Seconds between a running trial's heartbeats, and of silence after
        which it counts as dead (RDB storages); default
        $SEARCH_HEARTBEAT_INTERVAL or 5, and $SEARCH_GRACE_PERIOD or 20.
    on_failed_trial : callable, default=None
        Called as ``on_failed_trial(study, trial)`` for a trial found dead,
        before it is retried.
    """
    url = check_url(url or DEFAULT_STORAGE)
    heartbeat_interval = heartbeat_interval or int(os.environ.get("SEARCH_HEARTBEAT_INTERVAL", 5))
    grace_period = grace_period or int(os.environ.get("SEARCH_GRACE_PERIOD", 20))
    if is_journal(url):
        # Absolute: the backend reopens its file by this path at every write.
        return JournalStorage(JournalFileBackend(str(Path(url.removeprefix(JOURNAL_PREFIX)).absolute())))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)  # stable since 2.8
        retry = RetryHeartbeatStaleTrialCallback(max_retry=MAX_RETRY)

    def failed(study, trial):
        if on_failed_trial is not None:
            on_failed_trial(study, trial)
        retry(study, trial)

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return RDBStorage(url, heartbeat_interval=heartbeat_interval, grace_period=grace_period,
                              heartbeat_stale_trial_callback=failed)
    except Exception as error:
        reason = str(error).splitlines()[0][:200] if str(error) else type(error).__name__
        raise StorageError(f"storage {describe(url)} cannot be opened: {mask_password(reason)}") from None


def retry_trial(study, trial):
    """Queue a failed trial again, as the heartbeat's retry does."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        RetryHeartbeatStaleTrialCallback(max_retry=MAX_RETRY)(study, trial)


def retried_number(trial):
    """The number of the failed trial that ``trial`` (a FrozenTrial) retries, or None.

    Read straight from the attribute ``RetryHeartbeatStaleTrialCallback`` writes,
    without its experimental-API warning.
    """
    return trial.system_attrs.get("failed_trial")


def retried_numbers(trials):
    """Numbers of the failed trials that were queued again."""
    return {retried_number(t) for t in trials} - {None}
