"""Machines on one machine: Linux network namespaces on a bridge, for a study across hosts.

Each :class:`Host` is a network namespace (``ip netns``) with one veth link to a
bridge in the root namespace and an address of its own on a private /24; every
command on it gets its own UTS namespace, so its hostname is the host's name
(``w1:<pid>`` on its trials, as on a machine of its own). The bridge holds the
/24's first address: the root namespace reaches every host (a browser on
MLflow's UI, a test reading the stores), and no host reaches anything else.

:class:`Cluster` is the scale-out of the README on such hosts: PostgreSQL on one
(a private instance: ``initdb`` and ``pg_ctl``, so it can be restarted), ``mlflow
server`` with ``--artifacts-destination`` on another (workers send artifacts
through it, sharing no folder with it), worker hosts with a working folder each,
and a client. ``deploy/three_hosts.py`` runs a study on it for a person to watch;
``tests/search/test_netns.py`` breaks it.

Needs root. Every name starts with ``mls<pid>-`` (this process's pid): what a run
that crashed left behind, its pid gone, is removed by :func:`remove_stale`.
"""

import ipaddress
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

PREFIX = "mls"
REPO = Path(__file__).resolve().parents[1]
PG_PORT, MLFLOW_PORT = 5432, 5000
START_SECONDS = 300  # bound of every wait for a server: a loaded 2-core machine starts mlflow in ~25 s


class Unavailable(RuntimeError):
    """Network namespaces (or PostgreSQL's binaries) cannot be had on this machine."""


def ip(*args, check=True):
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=check).stdout


def wait_until(test, what, seconds=START_SECONDS, every=0.2):
    """Poll ``test()`` until true, at most ``seconds`` (and a bounded number of times)."""
    deadline = time.monotonic() + seconds
    for _ in range(int(seconds / every) + 1):
        if test():
            return
        if time.monotonic() > deadline:
            break
        time.sleep(every)
    raise TimeoutError(f"{what}: not within {seconds} s")


def pg_bin():
    """The folder of PostgreSQL's server binaries (``initdb``, ``pg_ctl``), newest version first."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda p: int(p.parts[-3]))
    if found:
        return found[-1].parent
    if shutil.which("pg_ctl"):
        return Path(shutil.which("pg_ctl")).parent
    raise Unavailable("no PostgreSQL server binaries (initdb, pg_ctl)")


def unavailable():
    """Why hosts cannot be made here (a line), or None when they can."""
    if os.geteuid() != 0:
        return "network namespaces need root"
    for tool in ("ip", "unshare", "runuser"):
        if not shutil.which(tool):
            return f"no {tool} command"
    try:
        pg_bin()
    except Unavailable as error:
        return str(error)
    probe = f"{PREFIX}{os.getpid()}-probe"
    made = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if made.returncode:
        return f"ip netns add failed: {made.stderr.strip()}"
    ip("netns", "del", probe, check=False)
    return None


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True


def remove_stale():
    """Remove the namespaces, links and folders of earlier runs of ours whose process is gone."""
    ours = re.compile(rf"^{PREFIX}(\d+)-")
    for line in ip("netns", "list").splitlines():
        name = line.split()[0] if line.split() else ""
        match = ours.match(name)
        if match and not _alive(int(match.group(1))):
            _kill_namespace(name)
            ip("netns", "del", name, check=False)
    for line in ip("-o", "link", "show").splitlines():
        name = line.split(":")[1].strip().split("@")[0] if ":" in line else ""
        match = ours.match(name)
        if match and not _alive(int(match.group(1))):
            ip("link", "del", name, check=False)
    for folder in Path(tempfile.gettempdir()).glob(f"{PREFIX}*-*"):
        match = ours.match(folder.name)
        if match and not _alive(int(match.group(1))):
            shutil.rmtree(folder, ignore_errors=True)


def _kill_namespace(namespace):
    """SIGKILL every process in ``namespace`` until none is left (bounded)."""
    for _ in range(50):
        pids = [int(p) for p in ip("netns", "pids", namespace, check=False).split()]
        if not pids:
            return
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.1)


def free_subnet():
    """A private /24 that no address or route of this machine overlaps (from 10.231.0.0/16)."""
    taken = []
    for line in ip("-o", "addr", "show").splitlines() + ip("route", "show").splitlines():
        for word in line.split():
            try:
                taken.append(ipaddress.ip_network(word, strict=False))
            except ValueError:
                continue
    taken = [n for n in taken if n.version == 4 and n.prefixlen > 0]
    start = os.getpid() % 256  # concurrent runs start their search at different places
    for k in range(256):
        subnet = ipaddress.ip_network(f"10.231.{(start + k) % 256}.0/24")
        if not any(subnet.overlaps(n) for n in taken):
            return subnet
    raise Unavailable("no free /24 in 10.231.0.0/16")


class Network:
    """A bridge in the root namespace and the hosts linked to it; :meth:`close` removes everything."""

    def __init__(self, prefix=None):
        self.prefix = prefix or f"{PREFIX}{os.getpid()}"
        self.subnet = free_subnet()
        self.bridge = f"{self.prefix}-br"
        self.hosts = {}
        self.gateway = str(self.subnet[1])
        ip("link", "add", self.bridge, "type", "bridge")
        ip("addr", "add", f"{self.gateway}/24", "dev", self.bridge)
        ip("link", "set", self.bridge, "up")

    def add(self, name):
        """A new host ``name`` (a few letters: interface names hold 15 characters)."""
        host = Host(self, name, str(self.subnet[len(self.hosts) + 2]))
        self.hosts[name] = host
        return host

    def close(self):
        for host in self.hosts.values():
            host.remove()
        ip("link", "del", self.bridge, check=False)


class Host:
    """A network namespace with a veth link to the bridge: ``start`` and ``run`` commands on it."""

    def __init__(self, network, name, address):
        self.name, self.address = name, address
        self.namespace = self.link = f"{network.prefix}-{name}"
        ip("netns", "add", self.namespace)
        ip("link", "add", self.link, "type", "veth", "peer", "name", "eth0", "netns", self.namespace)
        ip("link", "set", self.link, "master", network.bridge, "up")
        ip("-n", self.namespace, "addr", "add", f"{address}/24", "dev", "eth0")
        ip("-n", self.namespace, "link", "set", "eth0", "up")
        ip("-n", self.namespace, "link", "set", "lo", "up")

    def command(self, argv, user=None):
        """``argv`` as run on this host (its network, its hostname; as ``user`` if given)."""
        as_user = ["runuser", "-u", user, "--"] if user else []
        return ["ip", "netns", "exec", self.namespace, "unshare", "--uts", "--", "sh", "-c",
                'hostname "$0" && exec "$@"', self.name, *as_user, *map(str, argv)]

    def start(self, argv, cwd, env=None, log=None):
        """``argv`` started on this host in its own process group; output to the file ``log`` (else kept)."""
        out = open(log, "ab") if log else subprocess.PIPE
        try:
            return subprocess.Popen(self.command(argv), cwd=cwd, env=env, stdout=out,
                                    stderr=subprocess.STDOUT if log else subprocess.PIPE,
                                    text=not log, start_new_session=True)
        finally:
            if log:
                out.close()

    def run(self, argv, user=None, **kwargs):
        return subprocess.run(self.command(argv, user), capture_output=True, text=True, **kwargs)

    def pids(self):
        return [int(p) for p in ip("netns", "pids", self.namespace, check=False).split()]

    def kill(self):
        """``kill -9`` every process of this host (as a power cut)."""
        _kill_namespace(self.namespace)

    def set_link(self, up):
        """Plug (``up``) or pull this host's cable: its link on the bridge."""
        ip("link", "set", self.link, "up" if up else "down")

    def remove(self):
        self.kill()
        ip("link", "del", self.link, check=False)
        ip("netns", "del", self.namespace, check=False)


class Postgres:
    """A private PostgreSQL server on ``host`` (``initdb`` into ``folder``, run as the user postgres).

    It listens on the host's address only, with its socket in its data folder, so
    it meets no other server of the machine; every host of the bridge may connect
    as ``postgres`` without a password (``trust``: a private network of tests).
    """

    def __init__(self, host, folder, subnet):
        self.host, self.folder = host, Path(folder)
        self.data = self.folder / "data"
        self.bin = pg_bin()
        shutil.chown(self.folder, "postgres", "postgres")
        self._as_postgres([self.bin / "initdb", "-D", self.data, "-U", "postgres", "--auth=trust",
                           "--encoding=UTF8", "--locale=C"])
        with open(self.data / "postgresql.conf", "a") as conf:
            conf.write(f"listen_addresses = '{host.address}'\nport = {PG_PORT}\n"
                       f"unix_socket_directories = '{self.data}'\nfsync = off\n")
        with open(self.data / "pg_hba.conf", "a") as hba:
            hba.write(f"host all all {subnet} trust\n")

    def _as_postgres(self, argv):
        done = self.host.run(argv, user="postgres", cwd=self.folder, timeout=START_SECONDS)
        if done.returncode:
            raise RuntimeError(f"{Path(argv[0]).name} failed: {(done.stdout + done.stderr)[-2000:]}")
        return done

    def start(self):
        self._as_postgres([self.bin / "pg_ctl", "-D", self.data, "-l", self.folder / "postgres.log", "-w",
                           "-t", START_SECONDS, "start"])

    def stop(self, mode="fast"):
        """Stop the server (``mode`` of ``pg_ctl stop``: smart, fast or immediate)."""
        self._as_postgres([self.bin / "pg_ctl", "-D", self.data, "-m", mode, "-w", "-t", START_SECONDS, "stop"])

    def create(self, *databases):
        for database in databases:
            self._as_postgres([self.bin / "createdb", "-h", self.data, "-p", PG_PORT, "-U", "postgres", database])

    def url(self, database):
        return f"postgresql://postgres@{self.host.address}:{PG_PORT}/{database}"


class MlflowServer:
    """``mlflow server`` on ``host``: a PostgreSQL backend store, artifacts proxied (``mlflow-artifacts:``)
    into a folder of its own."""

    def __init__(self, host, folder, backend_uri):
        self.host, self.folder, self.backend_uri = host, Path(folder), backend_uri
        self.url = f"http://{host.address}:{MLFLOW_PORT}"
        self.process = None

    def start(self):
        argv = [sys.executable, "-m", "mlflow", "server", "--backend-store-uri", self.backend_uri,
                "--artifacts-destination", self.folder / "artifacts", "--host", self.host.address,
                "--port", MLFLOW_PORT, "--workers", "1"]
        env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"}
        self.process = self.host.start(argv, cwd=self.folder, env=env, log=self.folder / "mlflow.log")
        wait_until(self.answers, f"mlflow server at {self.url} (log {self.folder / 'mlflow.log'})")

    def answers(self):
        if self.process is not None and self.process.poll() is not None:
            raise RuntimeError(f"mlflow server ended with code {self.process.returncode}: "
                               f"{(self.folder / 'mlflow.log').read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"{self.url}/health", timeout=5) as response:
                return response.status == 200
        except OSError:
            return False

    def stop(self):
        """Kill the server and every process it started (uvicorn, its job runners)."""
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait()
        self.process = None


class Cluster:
    """The README's scale-out on hosts of one :class:`Network`: ``pg`` (PostgreSQL, databases ``optuna``
    and ``mlflow``), ``mlflow`` (the tracking server), workers ``w1``..``wN`` and a ``client``.

    Each host has a folder of its own under ``folder``; :meth:`close` stops and removes everything.
    """

    def __init__(self, folder, workers=3):
        self.folder = Path(folder)
        self.network = Network()
        self.postgres = self.mlflow = None
        try:
            names = ["pg", "mlflow", *(f"w{i}" for i in range(1, workers + 1)), "client"]
            hosts = [self.network.add(name) for name in names]
            self.workers, self.client = hosts[2:-1], hosts[-1]
            scratch = tempfile.mkdtemp(prefix=f"{self.network.prefix}-pg-")  # postgres may not enter folder
            self.postgres = Postgres(hosts[0], scratch, self.network.subnet)
            self.postgres.start()
            self.postgres.create("optuna", "mlflow")
            self.mlflow = MlflowServer(hosts[1], self.folder_of(hosts[1]), self.postgres.url("mlflow"))
            self.mlflow.start()
        except BaseException:
            self.close()
            raise

    @property
    def storage(self):
        return self.postgres.url("optuna")

    def folder_of(self, host):
        folder = self.folder / host.name
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def search(self, host, *args, env=None):
        """``python -m search ARGS --storage ... --tracking-uri ...`` started on ``host``, in its folder."""
        environment = {**os.environ, "PYTHONPATH": str(REPO), "MLFLOW_DISABLE_TELEMETRY": "true",
                       "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", **(env or {})}
        for name in ("MLFLOW_TRACKING_URI", "OPTUNA_STORAGE", "MLFLOW_RUN_ID", "MLFLOW_EXPERIMENT_ID"):
            environment.pop(name, None)
        argv = [sys.executable, "-m", "search", *args, "--storage", self.storage,
                "--tracking-uri", self.mlflow.url]
        return host.start(argv, cwd=self.folder_of(host), env=environment)

    def on_client(self, code, timeout=START_SECONDS):
        """Python ``code`` run on the client host, in its empty folder, knowing only the tracking server's
        address (``MLFLOW_TRACKING_URI``): a model comes through the server or not at all."""
        folder = self.folder_of(self.client)
        env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(REPO), "HOME": str(folder),
               "MLFLOW_TRACKING_URI": self.mlflow.url, "MLFLOW_DISABLE_TELEMETRY": "true"}
        return self.client.run([sys.executable, "-c", code], cwd=folder, env=env, timeout=timeout)

    def close(self):
        if self.mlflow is not None:
            self.mlflow.stop()
        self.network.close()  # kills every process of every host, PostgreSQL's too
        if self.postgres is not None:
            shutil.rmtree(self.postgres.folder, ignore_errors=True)
