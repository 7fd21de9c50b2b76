"""Optuna search over the estimator, every trial tracked in MLflow."""
