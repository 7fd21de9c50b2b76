"""Tests for search.stores.journal: a torn last record is dropped, and said so; the study goes on."""

import optuna

from search.stores.storage import open_storage


def test_a_torn_last_record_is_dropped_and_the_study_goes_on(tmp_path, capsys):
    url = f"journal:{tmp_path}/optuna.journal"
    study = optuna.create_study(study_name="torn", storage=open_storage(url))
    study.optimize(lambda trial: trial.suggest_float("x", 0, 1), n_trials=2)
    path = tmp_path / "optuna.journal"
    whole = path.read_bytes()
    path.write_bytes(whole + b'{"op_code": 4, "worker_id": "crashed-mid-wri')  # a write cut by a crash

    study = optuna.load_study(study_name="torn", storage=open_storage(url))
    assert "dropped a partial last record" in capsys.readouterr().err
    assert path.read_bytes() == whole
    study.optimize(lambda trial: trial.suggest_float("x", 0, 1), n_trials=1)
    again = optuna.load_study(study_name="torn", storage=open_storage(url))
    assert [t.state.name for t in again.trials] == ["COMPLETE"] * 3
    assert "dropped" not in capsys.readouterr().err  # a sound journal is left alone, silently
