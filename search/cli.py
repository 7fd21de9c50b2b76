"""``python -m search``: run a study, join one as a worker, report on one, or serve a storage to workers.

Bad input (a study file, an option, the data) prints one line and exits
with code 2 before anything is written to Optuna or MLflow.
"""

import argparse
import logging
import math
import os
import sys
import time

import optuna

from .trials import progress
from .reporting import report
from . import secrets
from .context import OptionError, Options, check_quick, check_time_budget
from .data import DataError
from .stores import proxy
from .stores.storage import StorageError
from .study.file import StudyFileError, load_study
from .tracking import TrackingError, TrackingUnreachable

USAGE_ERRORS = (StudyFileError, DataError, OptionError, StorageError, proxy.ProxyError, TrackingUnreachable,
                report.ReportError)


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line ``error: ...`` (exit code 2), like all bad input."""

    def error(self, message):
        print(f"error: {self.prog}: {' '.join(message.split())}", file=sys.stderr)
        raise SystemExit(2)


def positive_int(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def limit(kind):
    """A positive number, or 0 for no limit (what MLproject passes when none is given)."""
    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None
        if not math.isfinite(value) or value < 0:
            raise argparse.ArgumentTypeError(f"must be a positive number (or 0 for no limit), got {text}")
        return value or None
    return parse


def parser():
    main = Parser(prog="python -m search", description="Run a study, join one as a worker, or report on one.")
    commands = main.add_subparsers(dest="command", required=True)

    add_run(commands)

    worker = commands.add_parser("worker", help="join an existing study, from any machine")
    worker.add_argument("--study", required=True, help="the study's name")
    worker.add_argument("--n-trials", type=limit(int), help="run at most this many trials, queued by this worker "
                        "when none is queued, within the study's budget (default, or 0: until the budget is met)")
    worker.add_argument("--timeout", type=limit(float), help="stop starting trials after this many seconds "
                        "(default, or 0: no limit)")
    worker.add_argument("--worker-index", type=int, default=0, help=argparse.SUPPRESS)
    # A worker that 'run --workers' starts takes only the trials run queued: it queues none of its own.
    worker.add_argument("--queued-only", action="store_true", help=argparse.SUPPRESS)
    add_servers(worker)

    summary = commands.add_parser("report", help="write a Markdown report of a study from its MLflow runs")
    summary.add_argument("study", help="the study's name, or its study file")
    summary.add_argument("--out", help="folder for report.md and its figures (default reports/<study>)")
    add_servers(summary)  # the storage is optional here: MLflow holds what a report needs

    serve = commands.add_parser("storage-proxy", help="serve an RDB storage to many workers over gRPC "
                                "(Optuna's proxy, experimental): workers give --storage grpc://HOST:PORT")
    serve.add_argument("--storage", default=os.environ.get("OPTUNA_STORAGE"),
                       help="the storage to serve: postgresql://..., mysql://... or sqlite:///FILE, never a "
                       "journal (default $OPTUNA_STORAGE)")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1; "
                       "0.0.0.0 for other machines: the proxy has no authentication)")
    serve.add_argument("--port", type=port, default=13000, help="port to listen on (default 13000)")
    return main


def add_study_source(run):
    """``run``'s study: a file, or --dataset (and --target) for the study the service writes."""
    run.add_argument("study", nargs="?", help="the study file (YAML); or --dataset instead")
    run.add_argument("--dataset", help="no study file: the service writes its study for this data as <name>.yaml "
                     "beside the stores and runs it; a dataset's name (digits, mnist, cifar10, penguins...) or a "
                     ".npz, .csv, .tsv or .parquet file")
    run.add_argument("--target", help="with --dataset FILE of a table: the column to predict (default: the column "
                     "named label, target, y or class)")
    run.set_defaults(refuse=run.error)  # for what argparse cannot check alone: see study_or_dataset


def add_run(commands):
    run = commands.add_parser("run", help="create or resume a study and run it")
    add_study_source(run)
    run.add_argument("--n-trials", type=limit(int), help="run at most this many trials now "
                     "(default, or 0: the rest of the study file's budget)")
    run.add_argument("--timeout", type=limit(float), help="stop starting trials after this many seconds "
                     "(default, or 0: no limit)")
    run.add_argument("--time-budget", type=limit(float), help="seconds the whole command may take, refit and "
                     "registration included: the search is planned around it (default, or 0: the study file's "
                     "budget.time, if any)")
    run.add_argument("--workers", type=positive_int, default=1, help="worker processes on this machine")
    run.add_argument("--quick", action="store_true", help="run the study's quick form, <name>_quick: "
                     "a few hundred rows, 2 epochs, at most 2 trials (a check that the file works)")
    add_servers(run)


def port(text):
    value = positive_int(text)
    if value > 65535:
        raise argparse.ArgumentTypeError(f"must be a port number (1 to 65535), got {text}")
    return value


def add_servers(command):
    command.add_argument("--storage", default=os.environ.get("OPTUNA_STORAGE"),
                         help="Optuna storage URL: journal:FILE, sqlite:///FILE or postgresql://... "
                         "(default $OPTUNA_STORAGE, else journal:optuna.journal)")
    command.add_argument("--tracking-uri", default=os.environ.get("MLFLOW_TRACKING_URI"),
                         help="MLflow tracking URI (default $MLFLOW_TRACKING_URI, else sqlite:///mlflow.db)")


def study_or_dataset(args):
    """Refuse a ``run`` given both a study file and --dataset, or neither, or --target without --dataset."""
    if args.study is None and args.dataset is None:
        args.refuse("give a study file or --dataset NAME|FILE")
    if args.study is not None and args.dataset is not None:
        args.refuse(f"give a study file or --dataset, not both (got {args.study} and --dataset {args.dataset})")
    if args.target is not None and args.dataset is None:
        args.refuse("--target goes with --dataset (a study file names its target in dataset.target)")


def study_file(args):
    """The study file ``run`` runs: the one given, or the one --dataset writes beside the stores."""
    if args.dataset is None:
        return args.study
    from .autostudy import written_study

    return written_study(args.dataset, args.target, options(args), args.time_budget)


def options(args, started=None):
    """The :class:`search.context.Options` of a ``run`` or ``worker`` command line; a time budget counts from
    ``started`` (``time.time()``, :func:`process_started` under ``python -m search``)."""
    time_budget = getattr(args, "time_budget", None)
    check_time_budget(time_budget, args.n_trials, args.timeout)
    check_quick(getattr(args, "quick", False), time_budget)
    return Options(storage_url=args.storage, tracking_uri=args.tracking_uri, workers=getattr(args, "workers", 1),
                   n_trials=args.n_trials, timeout=args.timeout, worker_index=getattr(args, "worker_index", 0),
                   time_budget=time_budget, started=started)


def prepare(*urls):
    """What the service prints, set up once per process (the command line's and ``search.run_study``'s):
    every URL's password masked, one line per trial and per failed trial, MLflow's own lines kept to warnings."""
    secrets.install()  # before anything can print a URL: ours, MLflow's, Optuna's, tracebacks
    for url in urls:
        secrets.remember(url)
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # our own line per trial instead
    progress.one_line_per_failed_trial()
    logging.getLogger("mlflow").setLevel(logging.WARNING)
    # We log with cloudpickle on purpose (skops refuses custom classes); its caution is not news.
    logging.getLogger("mlflow.sklearn").setLevel(logging.ERROR)


def process_started():
    """``time.time()`` when this process started: a time budget's clock counts Python's start and the imports
    (2 to 3 s, more on a loaded machine) as the user's watch does.

    Linux gives the start in clock ticks since boot; elsewhere the clock starts here, imports done.
    """
    try:
        with open("/proc/self/stat") as stat:
            ticks = int(stat.read().rsplit(")", 1)[1].split()[19])  # field 22, starttime; the name ends at ")"
        age = time.clock_gettime(time.CLOCK_BOOTTIME) - ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, AttributeError):  # no /proc, no CLOCK_BOOTTIME
        return time.time()
    return time.time() - max(0.0, age)


def main(argv=None, started=None):
    """The command line; a time budget counts from ``started`` (``time.time()``: ``python -m search`` gives
    :func:`process_started`), else from this call."""
    started = started or time.time()
    secrets.install()  # before the arguments are parsed: a usage error may quote a URL
    args = parser().parse_args(argv)
    if args.command == "run":
        study_or_dataset(args)
    prepare(args.storage, getattr(args, "tracking_uri", None))
    try:
        if args.command == "storage-proxy":
            return storage_proxy(args)
        from . import service

        if args.command == "report":
            path = report.report(args.study, args.storage, args.tracking_uri, args.out)
            print(f"report: {path} (also logged under {report.ARTIFACT_FOLDER}/ on the study's latest parent run)")
        elif args.command == "run":
            given = options(args, started)
            service.run(load_study(study_file(args), quick=args.quick, time_budget=given.time_budget), given)
        else:
            _, why = service.join(args.study, options(args), queue=not args.queued_only)
            if why:
                print(why, flush=True)
    except USAGE_ERRORS as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except TrackingError as error:
        print(f"error: {error}; the running trial was recorded as failed; run the same command to resume",
              file=sys.stderr)
        return 1
    except KeyboardInterrupt as error:
        what = getattr(error, "what", "no trial was running")
        print(f"interrupted: {what}; run the same command to resume", file=sys.stderr)
        return 130
    return 0


def storage_proxy(args):
    """``python -m search storage-proxy``: serve ``args.storage`` on ``args.host:args.port`` until stopped."""
    from .stores.storage import describe, proxied_storage

    proxy.check_free(args.host, args.port)  # before the storage is opened: nothing written on a bad port
    storage = proxied_storage(args.storage)
    server = proxy.make_server(storage, {"storage": describe(args.storage)}, args.host, args.port)
    url = proxy.worker_url(args.host, args.port)
    proxy.serve_until_stopped(server, f"storage-proxy: serving {describe(args.storage)} on {url} (Optuna's "
                                      f"gRPC proxy, experimental): workers give --storage {url}; Ctrl-C or "
                                      "SIGTERM stops it")
    return 0
