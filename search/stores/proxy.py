"""Optuna's gRPC storage proxy: one process holds the database connections, many workers talk to it.

``python -m search storage-proxy --storage postgresql://... --port P`` serves the
storage; workers give ``--storage grpc://host:P``. Optuna's proxy
(``run_grpc_proxy_server``, ``GrpcStorageProxy``) is experimental since Optuna
4.2 and does not serve a journal (``JournalStorage``, optuna#6084); its client
has no heartbeat and no lock. Our proxy serves Optuna's service and, beside it
on the same port, :data:`SERVICE`, which gives the workers what the budget and
the recovery of dead trials need:

- ``HoldStudyLock``: the study's lock (:mod:`search.stores.locks`), taken on the
  proxy's side with the database's own lock, so workers through the proxy and
  workers on the database directly exclude each other. The lock is held for as
  long as the worker's call lasts: a killed worker's call ends with its
  connection, and the lock with it, as a PostgreSQL advisory lock does;
- ``RecordHeartbeat`` and ``StaleTrialIds``: Optuna's heartbeat, kept by the
  proxy's storage (its database's clock, its ``$SEARCH_GRACE_PERIOD``);
- ``Describe``: what the proxy serves; a worker refuses a proxy that does not
  answer it (Optuna's own, without lock: the budget would not be exact).

A queued trial is taken (WAITING to RUNNING) by the proxy's storage in one
conditional UPDATE (:class:`search.stores.budget.AtomicTake`). The proxy has
no authentication and no TLS: it listens on 127.0.0.1 unless told otherwise.
"""

import json
import random
import signal
import socket
import threading
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from urllib.parse import urlsplit

import optuna
from optuna.storages import GrpcStorageProxy, _CachedStorage
from optuna.storages._heartbeat import BaseHeartbeat

from .budget import QueueOnly
from .locks import database_lock

PREFIX = "grpc://"
SERVICE = "search.StudyService"  # ours, beside Optuna's optuna.StorageService
HELD, BUSY = b"held", b"busy"
SERVER_THREADS = 32  # a held lock keeps one thread (one per study at most); Optuna's default is 10
ANSWER_SECONDS = 10  # how long a worker waits for the proxy to answer at start
LOCK_RETRY = (0.005, 0.2)  # first and longest wait between tries of a busy lock, seconds


class ProxyError(ValueError):
    """A proxy URL, or a storage behind a proxy, that cannot be used."""


def is_proxy(url):
    return str(url).startswith(PREFIX)


def address(url):
    """``(host, port)`` of a ``grpc://host:port`` URL; a ProxyError for anything else in it."""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = None
    if parts.username or parts.password:
        raise ProxyError(f"{parts.scheme}://...: Optuna's gRPC proxy has no authentication; a user or "
                         "password would not be checked (give grpc://host:port)")
    if not parts.hostname or port is None or parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ProxyError(f"{url}: not a proxy address (give grpc://host:port)")
    return parts.hostname, port


def _call(channel, method, stream=False):
    kind = channel.unary_stream if stream else channel.unary_unary
    return kind(f"/{SERVICE}/{method}")  # no serializers: bytes in, bytes out


def describe_proxy(url):
    """What the proxy at ``url`` serves (a dict: ``storage``, ``grace_period``); a ProxyError if none answers."""
    import grpc

    host, port = address(url)
    with grpc.insecure_channel(f"{host}:{port}") as channel:
        try:
            return json.loads(_call(channel, "Describe")(b"", timeout=ANSWER_SECONDS))
        except grpc.RpcError as error:
            if error.code() == grpc.StatusCode.UNIMPLEMENTED:
                raise ProxyError(f"{url}: not a proxy of 'python -m search storage-proxy' (Optuna's own proxy "
                                 "has no study lock, and the budget would not be exact)") from None
            raise ProxyError(f"{url}: no proxy answers there ({error.code().name.lower()})") from None


class ProxyStorage(BaseHeartbeat, GrpcStorageProxy):
    """Optuna's gRPC client, with the heartbeat and the study lock of our proxy.

    Parameters
    ----------
    url : str
        ``grpc://host:port``.
    heartbeat_interval : int
        Seconds between a running trial's heartbeats; the proxy's grace period decides when it is stale.
    stale_trial_callback : callable or None
        As Optuna's ``heartbeat_stale_trial_callback``.
    """

    def __init__(self, url, heartbeat_interval, stale_trial_callback=None):
        host, port = address(url)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)  # said in the README
            super().__init__(host=host, port=port)
        self.heartbeat_interval = heartbeat_interval
        self.stale_trial_callback = stale_trial_callback

    def _setup(self):
        super()._setup()
        self._heartbeat = _call(self._channel, "RecordHeartbeat")
        self._stale = _call(self._channel, "StaleTrialIds")
        self._hold = _call(self._channel, "HoldStudyLock", stream=True)

    def __getstate__(self):
        state = super().__getstate__()
        for name in ("_heartbeat", "_stale", "_hold"):  # bound to the channel, made again by _setup
            del state[name]
        return state

    def record_heartbeat(self, trial_id):
        self._heartbeat(str(trial_id).encode())

    def _get_stale_trial_ids(self, study_id):
        return json.loads(self._stale(str(study_id).encode()))

    def get_heartbeat_interval(self):
        return self.heartbeat_interval

    def get_heartbeat_stale_trial_callback(self):
        return self.stale_trial_callback

    @contextmanager
    def study_lock(self, study_id):
        """Hold the study's lock on the proxy's side (see the module's docstring)."""
        wait = LOCK_RETRY[0]
        while True:
            call = self._hold(str(study_id).encode())
            if next(call) == HELD:
                break
            call.cancel()
            time.sleep(random.uniform(0, wait))  # spread: many workers ask at once
            wait = min(2 * wait, LOCK_RETRY[1])
        try:
            yield
        finally:
            call.cancel()  # the proxy lets the lock go as the call ends


class QueuedProxyStorage(QueueOnly, ProxyStorage):
    """A proxy storage whose workers only take queued trials (see :mod:`search.stores.budget`)."""


# ---------------------------------------------------------------- the proxy's side


class StudyService:
    """:data:`SERVICE` over ``storage`` (the proxy's own storage, an RDB one)."""

    def __init__(self, storage, description):
        self.storage, self.description = storage, description
        self.rdb = storage._backend if isinstance(storage, _CachedStorage) else storage
        self.guard = threading.Lock()
        self.held = {}  # study id -> lock of this process: one thread per study asks the database

    def handler(self):
        import grpc

        unary = grpc.unary_unary_rpc_method_handler
        return grpc.method_handlers_generic_handler(SERVICE, {
            "Describe": unary(lambda request, context: json.dumps(self.description).encode()),
            "RecordHeartbeat": unary(self.record_heartbeat),
            "StaleTrialIds": unary(self.stale_trial_ids),
            "HoldStudyLock": grpc.unary_stream_rpc_method_handler(self.hold),
        })

    def record_heartbeat(self, request, context):
        self.storage.record_heartbeat(int(request))
        return b""

    def stale_trial_ids(self, request, context):
        return json.dumps(self.storage._get_stale_trial_ids(int(request))).encode()

    def hold(self, request, context):
        """Answer HELD, then hold the study's lock until the call ends; or answer BUSY at once."""
        study_id = int(request)
        with self.guard:
            mine = self.held.setdefault(study_id, threading.Lock())
        if not mine.acquire(blocking=False):  # never a thread waiting here: the caller tries again
            yield BUSY
            return
        try:
            ended = threading.Event()
            if not context.add_callback(ended.set):
                return  # the caller went away already
            with database_lock(self.rdb.engine, study_id):  # workers on the database directly wait too
                yield HELD
                ended.wait()
        finally:
            mine.release()


def make_server(storage, description, host, port):
    """A gRPC server (not started) of Optuna's storage service and ours; a ProxyError if it cannot listen."""
    import grpc
    from optuna.storages._grpc import servicer
    from optuna.storages._grpc.auto_generated import api_pb2_grpc

    # Not gRPC's default SO_REUSEPORT: a second proxy on a port in use must fail, not share it.
    server = grpc.server(ThreadPoolExecutor(max_workers=SERVER_THREADS), options=[("grpc.so_reuseport", 0)])
    api_pb2_grpc.add_StorageServiceServicer_to_server(servicer.OptunaStorageProxyService(storage), server)
    server.add_generic_rpc_handlers((StudyService(storage, description).handler(),))
    try:
        server.add_insecure_port(f"{host}:{port}")
    except RuntimeError as error:
        raise ProxyError(f"cannot listen on {host}:{port}: {error}") from None
    return server


def worker_url(host, port):
    """The URL workers give: this machine's name for an address that listens on every interface."""
    return f"{PREFIX}{socket.gethostname() if host in ('0.0.0.0', '::', '') else host}:{port}"


def serve_until_stopped(server, line):
    """Start ``server``, print ``line``, and serve until Ctrl-C or SIGTERM; then stop cleanly."""
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        server.start()
        print(line, flush=True)
        while not stop.wait(1.0):  # a signal handler runs between waits
            pass
    finally:
        server.stop(grace=2).wait()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def check_free(host, port):
    """A ProxyError if ``host:port`` cannot be listened on (in use, or not an address of this machine)."""
    try:
        with socket.create_server((host, port)):
            pass
    except OSError as error:
        raise ProxyError(f"storage-proxy: cannot listen on {host}:{port}: {error.strerror or error}") from None
