"""Trials per minute with 1 worker and with 4, on one study storage.

    python bench/workers_throughput.py [--trials 40] [--storage journal|postgresql]

The same small study (digits, one 128-unit layer, 10 epochs, no figures) runs with
``--workers 1`` and ``--workers 4`` into fresh stores; the rate is finished
trials over the wall time of the whole command, start-up included. On a
2-core machine four workers cannot train faster than two cores allow: what
this shows is the cost of coordination (storage, MLflow, process start-up).
PostgreSQL is $TEST_POSTGRES_URL or postgresql://postgres@127.0.0.1:5432/test.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
STUDY = {
    "dataset": {"name": "digits", "validation_fraction": 0.2},
    "estimator": {"solver": "sgd", "learning_rate_init": 0.05, "batch_size": 32, "hidden_layer_sizes": [128]},
    "space": {"lambda": {"low": 1e-5, "high": 1e-2, "log": True}},
    "epochs": 10, "pruner": "none", "register": False, "artifacts": {"trial_plots": False},
}


def rate(trials, workers, storage_kind):
    with tempfile.TemporaryDirectory() as folder:
        name = f"throughput-{uuid.uuid4().hex[:8]}"
        path = Path(folder) / "study.yaml"
        path.write_text(yaml.safe_dump({**STUDY, "name": name, "n_trials": trials}))
        storage = (f"journal:{folder}/optuna.journal" if storage_kind == "journal"
                   else os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"))
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "search", "run", str(path), "--workers", str(workers),
                        "--storage", storage, "--tracking-uri", f"sqlite:///{folder}/mlflow.db"],
                       cwd=folder, env={**os.environ, "PYTHONPATH": str(REPO)}, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        seconds = time.perf_counter() - start
        if storage_kind != "journal":
            import optuna

            optuna.delete_study(study_name=name, storage=storage)
    return trials / seconds * 60, seconds


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=40)
    parser.add_argument("--storage", choices=["journal", "postgresql"], default="journal")
    args = parser.parse_args(argv)
    print(f"{time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} cores, {args.trials} trials, "
          f"{args.storage} storage, MLflow on SQLite")
    for workers in (1, 4):
        per_minute, seconds = rate(args.trials, workers, args.storage)
        print(f"  {workers} worker{'s' if workers > 1 else ''}: {seconds:.1f} s, {per_minute:.0f} trials/min",
              flush=True)


if __name__ == "__main__":
    main()
