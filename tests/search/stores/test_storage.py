"""Tests for search.stores.storage: where a journal storage writes."""

import optuna

from search.stores.storage import open_storage


def test_a_journal_storage_keeps_writing_to_its_file_after_a_change_of_folder(tmp_path, monkeypatch):
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir(), second.mkdir()
    monkeypatch.chdir(first)
    study = optuna.create_study(study_name="s", storage=open_storage("journal:optuna.journal"))
    monkeypatch.chdir(second)
    study.optimize(lambda trial: trial.suggest_float("x", 0, 1), n_trials=2)
    assert not (second / "optuna.journal").exists()
    monkeypatch.chdir(first)
    assert len(optuna.load_study(study_name="s", storage=open_storage("journal:optuna.journal")).trials) == 2


def test_the_default_journal_sits_beside_a_local_sqlite_tracking_store(tmp_path):
    from search.stores.storage import DEFAULT_STORAGE, beside_tracking

    assert beside_tracking(f"sqlite:///{tmp_path}/store/mlflow.db") == f"journal:{tmp_path}/store/optuna.journal"
    for elsewhere in ("http://127.0.0.1:5000", "postgresql://u@h/db", "sqlite:///:memory:"):
        assert beside_tracking(elsewhere) == DEFAULT_STORAGE
