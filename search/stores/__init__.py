"""Optuna's stores: opening a storage by URL (journal, SQLite, PostgreSQL), and the files they live in."""
