"""``python -m search report``: a study's tables and figures rebuilt from what MLflow holds."""
