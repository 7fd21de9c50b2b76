"""Many workers on one study: PostgreSQL directly against the gRPC storage proxy in front of it.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python bench/storage_scaling.py \
        [--seconds 40] [--workers 8 32 64] [--kinds direct proxy] [--note "what else runs here"]

For each storage (``direct``: ``postgresql://...``; ``proxy``: ``python -m search
storage-proxy`` in front of it, workers on ``grpc://``) and each number of worker
processes, a fresh database gets one study, and the workers run near-empty
trials (one ``suggest_float``, no training, no MLflow) for ``--seconds``, as
the service's workers do: they take only queued trials (the store's atomic
take), with Optuna's heartbeat at the service's defaults (interval 5 s,
grace 20 s, or $SEARCH_HEARTBEAT_INTERVAL / $SEARCH_GRACE_PERIOD), while this
process keeps ``2 x workers`` trials queued under the study's lock, as ``run``
queues them. What it measures is thus the storage:

- trials/min: trials finished in the window, by all workers;
- p50 and p95 of one trial's storage time: ``study.optimize(n_trials=1)`` of
  the empty objective (stale check, take, parameter, heartbeat, result);
- longest heartbeat gap: the most time between two heartbeats of a live trial
  (or its last one and its end), the margin against the grace period;
- stale: trials failed because their heartbeat looked stopped. No worker dies
  here, so any is a live trial wrongly failed: it must be 0;
- errors: trials or workers that failed on a storage error (a worker that
  cannot connect: PostgreSQL's ``max_connections``, 100 by default);
- RSS: the workers' peak resident memory, summed, and the proxy's.

The workers import ``search.stores`` alone (not the package's scikit-learn), so
each holds what Optuna, SQLAlchemy, psycopg and gRPC need. PostgreSQL is
$TEST_POSTGRES_URL or postgresql://postgres@127.0.0.1:5432/test; each
configuration gets a database of its own, dropped afterwards.
"""

import argparse
import json
import os
import platform
import resource
import signal
import socket
import statistics
import subprocess
import sys
import time
import types
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SERVER = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
QUEUE_PER_WORKER = 2
TOP_UP_SECONDS = 0.05


def light_search():
    """``search.stores`` importable without running ``search/__init__`` (scikit-learn: 150 MB a worker)."""
    package = types.ModuleType("search")
    package.__path__ = [str(REPO / "search")]
    sys.modules["search"] = package


# ---------------------------------------------------------------- a worker process


def worker(url, index):
    """Open the study, say 'ready', wait for 'go <end>', run trials until then, print what it measured."""
    light_search()
    import optuna
    from search.stores.budget import BudgetSpent
    from search.stores.storage import open_storage

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    result = {"latencies": [], "empty": 0, "errors": [], "opened": True, "gap": 0.0}
    try:
        study = optuna.load_study(study_name="bench", storage=open_storage(url, queue_only=True),
                                  sampler=optuna.samplers.RandomSampler(seed=index))
    except Exception as error:
        result["errors"].append(f"open: {type(error).__name__}: {str(error)[:300]}")
        result["opened"], study = False, None
    beats = heartbeats(study) if study is not None else []
    print("ready", flush=True)
    line = sys.stdin.readline()
    if not line:
        return  # the bench was stopped
    end = float(line.split()[1])
    while study is not None and time.time() < end:
        start = time.perf_counter()
        beats.clear()
        try:
            study.optimize(lambda trial: trial.suggest_float("x", 0, 1), n_trials=1)
            result["latencies"].append(time.perf_counter() - start)
            ends = beats + [time.perf_counter()]  # the trial's heartbeats, then its end
            result["gap"] = max([result["gap"]] + [b - a for a, b in zip(ends, ends[1:])])
        except BudgetSpent:
            result["empty"] += 1  # the queue ran dry for a moment
            time.sleep(TOP_UP_SECONDS)
        except Exception as error:
            result["errors"].append(f"trial: {type(error).__name__}: {str(error)[:200]}")
    result["rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result), flush=True)


def heartbeats(study):
    """A list that gets the time each heartbeat of this worker is written (what the stale check reads)."""
    storage, beats = study._storage, []
    record = storage.record_heartbeat

    def recorded(trial_id):
        record(trial_id)
        beats.append(time.perf_counter())

    storage.record_heartbeat = recorded  # Optuna's heartbeat thread calls the storage's
    return beats


# ---------------------------------------------------------------- one configuration


def fresh_database():
    import psycopg
    from sqlalchemy.engine import make_url

    server = make_url(SERVER)
    name = f"bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(server.set(drivername="postgresql").render_as_string(hide_password=False),
                         autocommit=True) as connection:
        connection.execute(f'create database "{name}"')
    return server.set(database=name).render_as_string(hide_password=False), name


def drop_database(name):
    import psycopg
    from sqlalchemy.engine import make_url

    admin = make_url(SERVER).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'drop database "{name}" with (force)')


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_proxy(database):
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "search", "storage-proxy", "--storage", database,
                                "--port", str(port)], env={**os.environ, "PYTHONPATH": str(REPO)},
                               stdout=subprocess.PIPE, text=True)
    line = process.stdout.readline()
    if not line.startswith("storage-proxy: serving"):
        raise SystemExit(f"the proxy did not start: {line!r}")
    return process, f"grpc://127.0.0.1:{port}"


def peak_rss_mb(pid):
    status = Path(f"/proc/{pid}/status").read_text()
    return next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM")) / 1024


def measure(kind, workers, seconds):
    """One row of the table, as a dict."""
    import optuna
    from search.stores.budget import fill
    from search.stores.storage import open_storage

    database, name = fresh_database()
    proxy, url = start_proxy(database) if kind == "proxy" else (None, database)
    try:
        study = optuna.create_study(study_name="bench", storage=open_storage(url))
        fill(study, total=10**9, n_trials=QUEUE_PER_WORKER * workers)
        started = time.perf_counter()
        processes = [subprocess.Popen([sys.executable, __file__, "--worker", url, "--index", str(i)],
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                      env={**os.environ, "PYTHONPATH": str(REPO)}) for i in range(workers)]
        for process in processes:
            assert process.stdout.readline().strip() == "ready"
        startup = time.perf_counter() - started
        end = time.time() + seconds
        for process in processes:
            process.stdin.write(f"go {end}\n")
            process.stdin.flush()
        while time.time() < end:  # as 'run' queues them: under the study's lock, within the budget
            fill(study, total=10**9, n_trials=QUEUE_PER_WORKER * workers)
            time.sleep(TOP_UP_SECONDS)
        results = [json.loads(process.communicate()[0].splitlines()[-1]) for process in processes]
        proxy_rss = peak_rss_mb(proxy.pid) if proxy else 0.0
        states = [t.state.name for t in study.get_trials(deepcopy=False)]
    finally:
        if proxy:
            proxy.send_signal(signal.SIGTERM)
            proxy.wait()
        drop_database(name)
    return row(kind, workers, seconds, results, states, startup, proxy_rss)


def row(kind, workers, seconds, results, states, startup, proxy_rss):
    latencies = sorted(t for r in results for t in r["latencies"])
    errors = [e for r in results for e in r["errors"]]
    quantiles = statistics.quantiles(latencies, n=20) if len(latencies) > 1 else [float("nan")] * 19
    return {"storage": kind, "workers": workers, "trials_per_min": len(latencies) / seconds * 60,
            "p50_ms": 1000 * quantiles[9], "p95_ms": 1000 * quantiles[18], "stale": states.count("FAIL"),
            "errors": len(errors), "first_error": errors[0] if errors else "",
            "opened": sum(r["opened"] for r in results), "gap_s": max(r["gap"] for r in results),
            "empty": sum(r["empty"] for r in results), "startup_s": startup,
            "workers_rss_mb": sum(r["rss_mb"] for r in results), "proxy_rss_mb": proxy_rss}


# ---------------------------------------------------------------- the table


def header(args):
    model = platform.processor()
    if Path("/proc/cpuinfo").exists():
        model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                      if line.startswith("model name")), model)
    import grpc
    import optuna

    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    print(f"{time.strftime('%Y-%m-%d %H:%M')}, {model}, {os.cpu_count()} cores, {memory:.0f} GiB, "
          f"{platform.system()} {platform.release()}; optuna {optuna.__version__}, grpcio {grpc.__version__}")
    print(f"load average at start {os.getloadavg()[0]:.1f}; {args.seconds:.0f} s per configuration; "
          f"heartbeat {os.environ.get('SEARCH_HEARTBEAT_INTERVAL', 5)} s, grace "
          f"{os.environ.get('SEARCH_GRACE_PERIOD', 20)} s" + (f"; {args.note}" if args.note else ""))


def print_row(r):
    ran = f" ({r['opened']} opened the storage)" if r["opened"] < r["workers"] else ""
    print(f"| {r['storage']} | {r['workers']}{ran} | {r['trials_per_min']:.0f} | {r['p50_ms']:.0f} | {r['p95_ms']:.0f} "
          f"| {r['gap_s']:.1f} | {r['stale']} | {r['errors']} | {r['startup_s']:.0f} | {r['workers_rss_mb'] / 1024:.1f} GiB "
          f"| {r['proxy_rss_mb']:.0f} MB |", flush=True)
    if r["first_error"]:
        print(f"|   | first error: {r['first_error'][-160:]} |", flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=40)
    parser.add_argument("--workers", type=int, nargs="+", default=[8, 32, 64])
    parser.add_argument("--kinds", nargs="+", choices=["direct", "proxy"], default=["direct", "proxy"])
    parser.add_argument("--note", default="", help="printed with the header: what else runs on the machine")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--index", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return worker(args.worker, args.index)
    sys.path.insert(0, str(REPO))
    light_search()
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    header(args)
    print("| storage | workers | trials/min | p50 ms | p95 ms | longest heartbeat gap s | stale | errors "
          "| start-up s | workers' RSS | proxy RSS |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: "
          "| ---: | ---: |", flush=True)
    for workers in args.workers:
        for kind in args.kinds:
            print_row(measure(kind, workers, args.seconds))


if __name__ == "__main__":
    main()
