"""Tests for search.autostudy: ``python -m search run --dataset`` writes its study beside the stores, never over
another file, and runs it as ``run <name>.yaml`` would. The recipes themselves are tested in
tests/search/study/test_recipes.py; the command line's usage errors in test_cli.py."""

import pandas as pd
import pytest

from search.autostudy import written_study
from search.cli import main
from search.context import Options
from search.study.datakind import data_kind
from search.study.recipes import study_text


def test_the_study_is_written_beside_the_tracking_database_and_the_line_says_how_to_rerun_it(workdir, capsys):
    (workdir / "stores").mkdir()
    path = written_study("digits", options=Options(tracking_uri=f"sqlite:///{workdir}/stores/mlflow.db"))
    assert path == workdir / "stores" / "digits.yaml" and path.read_text() == study_text(data_kind("digits"))
    (line,) = capsys.readouterr().out.splitlines()
    assert line == ("study: wrote stores/digits.yaml, the service's study for small images (from "
                    "studies/digits_best.yaml); edit it and rerun it with: python -m search run stores/digits.yaml")
    assert sorted(p.name for p in workdir.rglob("*")) == ["digits.yaml", "stores"]  # no store made yet


def test_beside_the_journal_when_tracking_is_a_server_and_in_the_working_folder_when_both_are(workdir, tmp_path):
    (workdir / "journal").mkdir()
    options = Options(tracking_uri="http://127.0.0.1:1", storage_url=f"journal:{workdir}/journal/optuna.journal")
    assert written_study("digits", options=options) == workdir / "journal" / "digits.yaml"
    servers = Options(tracking_uri="http://127.0.0.1:1", storage_url="postgresql://u@127.0.0.1:1/optuna")
    assert written_study("penguins", options=servers) == workdir / "penguins.yaml"


def test_the_same_study_again_is_kept_as_it_is(workdir, capsys):
    first = written_study("digits")
    written = first.stat().st_mtime_ns
    assert written_study("digits") == first and first.stat().st_mtime_ns == written
    assert "study: kept (unchanged) digits.yaml" in capsys.readouterr().out.splitlines()[-1]


def refused(argv, capsys):
    """The one line ``main(argv)`` printed as it exited with code 2."""
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert out == "" and len(err.splitlines()) == 1 and err.startswith("error: "), err
    return err


def test_another_file_of_that_name_is_never_overwritten(workdir, capsys):
    (workdir / "digits.yaml").write_text("name: digits\n")  # the user's edit, say
    err = refused(["run", "--dataset", "digits"], capsys)
    assert f"{workdir}/digits.yaml exists and is not the study --dataset writes; run it with python -m search " \
           "run digits.yaml, or move it away" in err
    assert (workdir / "digits.yaml").read_text() == "name: digits\n"
    assert [p.name for p in workdir.iterdir()] == ["digits.yaml"]


@pytest.mark.parametrize("argv, words", [
    (["run", "--dataset", "imagenet"], "error: unknown dataset 'imagenet'"),
    (["run", "--dataset", "digits", "--target", "y"], "error: --target is for a table file"),
    (["run", "--dataset", "missing.parquet"], "error: --dataset missing.parquet: no such file"),
])
def test_data_it_cannot_use_is_one_line_exit_2_and_nothing_written(argv, words, workdir, capsys):
    assert words in refused(argv, capsys)
    assert list(workdir.iterdir()) == []


def test_a_table_without_a_target_asks_for_one_and_writes_nothing(workdir, capsys):
    pd.DataFrame({"a": [1, 2, 3, 4], "outcome": ["x", "y", "x", "y"]}).to_csv(workdir / "t.csv", index=False)
    assert "give --target COLUMN" in refused(["run", "--dataset", "t.csv"], capsys)
    assert "target: 'nope' is not a column of" in refused(["run", "--dataset", "t.csv", "--target", "nope"], capsys)
    assert [p.name for p in workdir.iterdir()] == ["t.csv"]


@pytest.mark.slow
def test_run_dataset_digits_writes_its_study_runs_it_and_registers_a_champion(workdir, capsys):
    from mlflow import MlflowClient

    assert main(["run", "--dataset", "digits", "--n-trials", "2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("study: wrote digits.yaml, the service's study for small images")
    assert lines[1].startswith("study digits: storage journal:") and "0 trials so far of 36" in lines[1]
    client = MlflowClient(f"sqlite:///{workdir}/mlflow.db")
    champion = client.get_model_version_by_alias("digits", "champion")
    run = client.get_run(champion.run_id)
    assert run.data.params["dataset"] == "digits" and float(champion.tags["test_accuracy"]) > 0.5
    # the stores and the study file side by side, as the line said
    assert {"digits.yaml", "mlflow.db", "optuna.journal"} <= {p.name for p in workdir.iterdir()}


def test_the_line_says_which_columns_the_written_study_drops(workdir, capsys):
    ids = [f"c{i:05d}" for i in range(120)]
    pd.DataFrame({"customer_id": ids, "age": range(120), "class": ["a", "b"] * 60}).to_csv("t.csv", index=False)
    written_study("t.csv")
    assert "(from studies/penguins.yaml; it drops customer_id: free text, ids or dates); edit it" in \
        capsys.readouterr().out
