"""``python -m search report``: a study's tables and figures rebuilt from what MLflow holds.

- :mod:`.collect`: the study's parent and trial runs in MLflow (and its Optuna storage), read into
  a :class:`~.collect.ReportContext`;
- :mod:`.sections`: the Markdown tables and sections;
- :mod:`.figures`: the figures' data, built from the trials, and drawn by :mod:`search.plots.report`;
- :mod:`.report`: the command, which puts them together.
"""
