"""What a study is, before anything runs.

- :mod:`.file`: ``StudySpec`` and ``load_study`` (a study file read, checked, or its quick form);
- :mod:`.checks`: the study file's checker, one line naming each mistake;
- :mod:`.space`: the search space (ranges, categories) and a trial's estimator arguments;
- :mod:`.stages`: coarse-to-fine stages, each narrowed around the best so far;
- :mod:`.samplers`: the sampler and pruner registries;
- :mod:`.timeplan`: a time budget's plan: how long each stage and the refit may take;
- :mod:`.task`: what differs between classification and regression (``TASKS``);
- :mod:`.datakind` and :mod:`.recipes`: the kind of a user's data, and the service's study for it
  (``python -m search run --dataset``; :mod:`search.autostudy` writes it beside the stores).
"""
