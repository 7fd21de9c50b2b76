"""Optuna search over the estimator, every trial tracked in MLflow."""

import os

# No network beyond the package index: MLflow's usage telemetry stays off (set before MLflow is imported).
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

from .data import table_preprocessing  # noqa: E402 (after the environment above): for scripts' own Pipelines

__all__ = ["table_preprocessing"]
