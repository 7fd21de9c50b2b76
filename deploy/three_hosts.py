"""A study on three worker hosts, PostgreSQL and an MLflow server, on this one machine: watch it, then tear it down.

    sudo .venv/bin/python deploy/three_hosts.py [STUDY_FILE] [--keep SECONDS]

Makes the hosts of ``deploy/netns.py`` (network namespaces on a bridge: ``pg``, ``mlflow``, ``w1``..``w3``,
``client``), then runs the README's scale-out on them, each step printed as the command it is:

1. on w1, ``python -m search run STUDY --n-trials 1``: creates the study (and runs its first trial);
2. on w1, w2 and w3 at once, ``python -m search worker --study NAME``: they share the rest of the budget;
3. on w1, ``python -m search run STUDY`` again: the summary and the champion;
4. on the client, ``mlflow.pyfunc.load_model("models:/NAME@champion")`` over HTTP, and a prediction.

MLflow's UI is at the printed address from this machine (the bridge is in its root namespace) for as long as
the hosts stand: until Enter is pressed (or ``--keep`` seconds), then everything is removed. A dataset given
by path must be where each worker host's folder can read it (they share this machine's files).
"""

import argparse
import os
import shutil
import sys
import tempfile
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from deploy import netns  # noqa: E402  (the repository's root first, as a script)
from search.study.file import load_study  # noqa: E402

PREDICT = """
import mlflow
from sklearn.datasets import load_digits
X, y = load_digits(return_X_y=True)
model = mlflow.pyfunc.load_model("models:/{name}@{alias}")
print("client: models:/{name}@{alias} predicts", model.predict(X[:10]).tolist(), "for", y[:10].tolist())
"""


def relay(process, name):
    """Print ``process``'s output lines as they come, each led by its host's name; a thread."""
    def copy():
        for line in process.stdout:
            print(f"[{name}] {line}", end="", flush=True)
    thread = threading.Thread(target=copy, daemon=True)
    thread.start()
    return thread


def step(cluster, hosts, *args):
    """``python -m search ARGS`` on each of ``hosts`` at once, output relayed; their exit codes."""
    print(f"$ on {', '.join(h.name for h in hosts)}: python -m search {' '.join(args)} "
          f"--storage {cluster.storage} --tracking-uri {cluster.mlflow.url}", flush=True)
    processes = [cluster.search(host, *args) for host in hosts]
    threads = [relay(p, h.name) for p, h in zip(processes, hosts)]
    codes = [p.wait() for p in processes]
    for thread in threads:
        thread.join(timeout=10)
    return codes


def show(cluster):
    for host in cluster.network.hosts.values():
        print(f"host {host.name:7s} {host.address:15s} (ip netns exec {host.namespace} ...; "
              f"folder {cluster.folder_of(host)})")
    print(f"PostgreSQL: {cluster.storage} (and .../mlflow, the tracking server's backend store)")
    print(f"MLflow UI, from this machine: {cluster.mlflow.url}", flush=True)


def study(cluster, spec_path):
    """Steps 1 to 4 on the hosts; True when every step succeeded."""
    spec = load_study(spec_path)
    local = shutil.copy(spec_path, cluster.folder_of(cluster.workers[0]))
    if step(cluster, cluster.workers[:1], "run", Path(local).name, "--n-trials", "1") != [0]:
        return False
    if any(step(cluster, cluster.workers, "worker", "--study", spec.name)):
        return False
    if step(cluster, cluster.workers[:1], "run", Path(local).name) != [0]:
        return False
    if spec.register:
        done = cluster.on_client(PREDICT.format(**spec.register))
        print(done.stdout + done.stderr[-2000:], end="", flush=True)
        return done.returncode == 0
    return True


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("study", nargs="?", default=str(netns.REPO / "studies" / "quickstart.yaml"))
    parser.add_argument("--keep", type=float, help="seconds to keep the hosts up after the study "
                        "(default: until Enter is pressed)")
    args = parser.parse_args(argv)
    reason = netns.unavailable()
    if reason:
        print(f"error: network namespaces cannot be made here: {reason}", file=sys.stderr)
        return 2
    netns.remove_stale()
    folder = tempfile.mkdtemp(prefix=f"{netns.PREFIX}{os.getpid()}-hosts-")
    cluster = netns.Cluster(folder)
    try:
        show(cluster)
        ok = study(cluster, Path(args.study).resolve())
        print(f"study {'done' if ok else 'FAILED'}; MLflow UI, from this machine: {cluster.mlflow.url}", flush=True)
        if args.keep is None:
            input("press Enter to tear the hosts down ")
        else:
            threading.Event().wait(args.keep)
        return 0 if ok else 1
    finally:
        cluster.close()
        shutil.rmtree(folder, ignore_errors=True)
        print("hosts removed", flush=True)


if __name__ == "__main__":
    sys.exit(main())
