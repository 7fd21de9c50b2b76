"""Optuna's stores and what they hold.

- :mod:`.storage`: a storage opened by URL (journal, SQLite, PostgreSQL, the gRPC proxy), checked and described
  without its password;
- :mod:`.budget`: the queue of trials and the study's budget, met exactly by any number of workers;
- :mod:`.locks`: one writer of a study's budget at a time, on every kind of store;
- :mod:`.proxy`: Optuna's gRPC storage proxy (``storage-proxy``, ``grpc://`` workers), with our lock and
  heartbeat beside it;
- :mod:`.journal`: a journal file's torn last record dropped;
- :mod:`.files`: the files stores live in (one creator at a time per folder, SQLite checks).
"""
