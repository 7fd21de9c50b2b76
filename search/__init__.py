"""Optuna search over the estimator, every trial tracked in MLflow."""

import os

# No network beyond the package index: MLflow's usage telemetry stays off (set before MLflow is imported).
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

from .data import DataError, table_preprocessing  # noqa: E402 (after the environment above): for scripts' Pipelines

# Imported when first used: ``import search`` stays light for a script that only wants table_preprocessing.
_LAZY = {"run_study": "api", "StudyResult": "api", "OptionError": "context", "StudyFileError": "study.file"}

__all__ = ["DataError", "OptionError", "StudyFileError", "StudyResult", "run_study", "table_preprocessing"]


def __getattr__(name):
    """``search.run_study`` and its result and error classes, imported on first use."""
    if name not in _LAZY:
        raise AttributeError(f"module 'search' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
