"""Tests for search.cli: the arguments ``python -m search`` takes, and its one-line usage errors.

Whole studies through ``main`` are in test_service.py, and bad study files, data and stores in
test_bad_input.py; these tests run no study.
"""

import argparse
import builtins
import runpy
import sys
import time

import pytest

from search import cli
from search.cli import limit, main, parser, port, positive_int

IMPORTED = time.time()  # after this process started, and after it had imported search


@pytest.mark.parametrize("text, value", [("1", 1), ("8", 8)])
def test_a_positive_int(text, value):
    assert positive_int(text) == value


@pytest.mark.parametrize("text", ["0", "-3"])
def test_a_positive_int_refuses_zero_and_below_saying_what_it_got(text):
    with pytest.raises(argparse.ArgumentTypeError, match=f"must be a positive integer, got {text}"):
        positive_int(text)


@pytest.mark.parametrize("kind, text, value", [(int, "0", None), (float, "0", None), (float, "0.0", None),
                                               (int, "25", 25), (float, "90.5", 90.5), (float, "3", 3.0)])
def test_a_limit_is_a_number_and_0_is_none(kind, text, value):
    parsed = limit(kind)(text)
    assert parsed == value and type(parsed) is type(value)


@pytest.mark.parametrize("kind, text, words", [
    (int, "-1", "must be a positive number (or 0 for no limit), got -1"),
    (float, "-0.5", "must be a positive number (or 0 for no limit), got -0.5"),
    (float, "nan", "must be a positive number"), (float, "inf", "must be a positive number"),
    (int, "2.5", "must be a number, got '2.5'"), (int, "many", "must be a number, got 'many'")])
def test_a_limit_refuses_what_is_no_limit(kind, text, words):
    with pytest.raises(argparse.ArgumentTypeError) as info:
        limit(kind)(text)
    assert words in str(info.value)


def test_run_defaults_to_the_study_file_s_budget_one_worker_and_no_timeout(monkeypatch):
    monkeypatch.delenv("OPTUNA_STORAGE", raising=False)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    args = parser().parse_args(["run", "s.yaml"])
    assert (args.command, args.study, args.n_trials, args.timeout, args.workers, args.quick) == (
        "run", "s.yaml", None, None, 1, False)
    assert (args.storage, args.tracking_uri) == (None, None)


def test_run_takes_its_limits_and_0_means_none():
    args = parser().parse_args(["run", "s.yaml", "--n-trials", "5", "--timeout", "90.5", "--workers", "3",
                                "--quick"])
    assert (args.n_trials, args.timeout, args.workers, args.quick) == (5, 90.5, 3, True)
    args = parser().parse_args(["run", "s.yaml", "--n-trials", "0", "--timeout", "0"])
    assert (args.n_trials, args.timeout) == (None, None)


def test_run_takes_a_time_budget_in_seconds_and_0_means_the_study_file_s():
    assert parser().parse_args(["run", "s.yaml", "--time-budget", "20.5"]).time_budget == 20.5
    assert parser().parse_args(["run", "s.yaml", "--time-budget", "0"]).time_budget is None
    assert parser().parse_args(["run", "s.yaml"]).time_budget is None


def test_a_worker_joins_a_study_by_name_with_its_own_limits():
    args = parser().parse_args(["worker", "--study", "digits", "--n-trials", "2", "--timeout", "0"])
    assert (args.command, args.study, args.n_trials, args.timeout, args.worker_index) == (
        "worker", "digits", 2, None, 0)


def test_the_stores_default_to_the_environment_and_an_option_wins(monkeypatch):
    monkeypatch.setenv("OPTUNA_STORAGE", "journal:env.journal")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "sqlite:///env.db")
    for argv in (["run", "s.yaml"], ["worker", "--study", "s"], ["report", "s"]):
        args = parser().parse_args(argv)
        assert (args.storage, args.tracking_uri) == ("journal:env.journal", "sqlite:///env.db")
    args = parser().parse_args(["report", "s", "--storage", "sqlite:///o.db", "--tracking-uri", "http://h:5000",
                                "--out", "here"])
    assert (args.storage, args.tracking_uri, args.out) == ("sqlite:///o.db", "http://h:5000", "here")


@pytest.mark.parametrize("argv, words", [
    ([], "the following arguments are required: command"),
    (["train", "s.yaml"], "argument command: invalid choice: 'train'"),
    (["run"], "give a study file or --dataset NAME|FILE"),
    (["run", "s.yaml", "--dataset", "digits"], "give a study file or --dataset, not both"),
    (["run", "s.yaml", "--target", "y"], "--target goes with --dataset"),
    (["worker"], "the following arguments are required: --study"),
    (["run", "s.yaml", "--workers", "1.5"], "argument --workers: invalid positive_int value: '1.5'"),
    (["run", "s.yaml", "--workers", "0"], "argument --workers: must be a positive integer, got 0"),
    (["run", "s.yaml", "--n-trials", "-2"], "argument --n-trials: must be a positive number"),
    (["worker", "--study", "s", "--timeout", "soon"], "argument --timeout: must be a number, got 'soon'"),
    (["run", "s.yaml", "--trials", "3"], "unrecognized arguments: --trials 3"),
])
def test_a_usage_error_is_one_line_exit_2_and_writes_nothing(argv, words, workdir, capsys):
    with pytest.raises(SystemExit) as info:
        main(argv)
    out, err = capsys.readouterr()
    lines = err.splitlines()
    assert info.value.code == 2 and out == ""
    assert len(lines) == 1 and lines[0].startswith("error: python -m search") and words in lines[0], lines
    assert list(workdir.iterdir()) == []


def test_a_report_on_a_study_file_that_is_not_there_is_one_line_and_writes_nothing(workdir, capsys):
    assert main(["report", "nowhere.yaml", "--tracking-uri", f"sqlite:///{workdir}/mlflow.db"]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "nowhere.yaml" in lines[0], lines
    assert list(workdir.iterdir()) == []


@pytest.mark.slow
def test_a_report_on_a_study_the_tracking_database_has_no_runs_of_is_one_line(workdir, capsys):
    from search import tracking

    tracking.connect(f"sqlite:///{workdir}/mlflow.db")  # an empty MLflow database (MLflow's migrations: slow)
    capsys.readouterr()  # MLflow's lines while it made the database
    before = (workdir / "mlflow.db").stat().st_mtime_ns
    assert main(["report", "nobody", "--tracking-uri", f"sqlite:///{workdir}/mlflow.db"]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and "no MLflow runs of study 'nobody'" in lines[0], lines
    assert sorted(p.name for p in workdir.iterdir()) == ["mlflow.db"]
    assert (workdir / "mlflow.db").stat().st_mtime_ns == before


def test_storage_proxy_serves_optuna_storage_on_127_0_0_1_13000_by_default(monkeypatch):
    monkeypatch.setenv("OPTUNA_STORAGE", "postgresql://u@db/optuna")
    args = parser().parse_args(["storage-proxy"])
    assert (args.command, args.storage, args.host, args.port) == (
        "storage-proxy", "postgresql://u@db/optuna", "127.0.0.1", 13000)
    assert parser().parse_args(["storage-proxy", "--host", "0.0.0.0", "--port", "13001"]).port == 13001


@pytest.mark.parametrize("text", ["0", "65536"])
def test_a_port_is_1_to_65535(text):
    assert port("65535") == 65535
    with pytest.raises(argparse.ArgumentTypeError):
        port(text)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the process's start is read from /proc")
def test_python_m_search_counts_a_time_budget_from_the_process_s_start(monkeypatch):
    given = {}
    monkeypatch.setattr(cli, "main", lambda argv=None, started=None: given.setdefault("started", started) and 0)
    with pytest.raises(SystemExit):
        runpy.run_module("search", run_name="__main__")
    assert 0 < given["started"] <= IMPORTED  # the clock started before this module's imports, not at the call


def test_without_proc_the_clock_starts_at_the_call(monkeypatch):
    def no_proc(path, *args, **kwargs):
        raise OSError(f"no {path}")

    monkeypatch.setattr(builtins, "open", no_proc)
    before = time.time()
    assert before <= cli.process_started() <= time.time()
