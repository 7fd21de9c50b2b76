"""``python -m search report``: a Markdown report and figures from a real tiny study's MLflow runs."""

from collections import namedtuple

import numpy as np
import pytest
import yaml
from mlflow.tracking import MlflowClient

from search import cli
from search.reporting import report
from search.reporting.collect import Trial, history
from search.reporting.sections import fmt
from search.tracking.states import COMPLETE, FAIL

Reported = namedtuple("Reported", "path folder client parents trials text stores")

# PReLU (slopes per layer), two seeds per trial (seed table), three slopes of which
# one diverges at once (a FAIL row with its reason, a cross on the slope figure).
STUDY = {
    "name": "reported",
    "description": "a tiny digits study for the report",
    "dataset": {"name": "digits", "subset": 300, "validation_fraction": 0.2, "test_subset": 100},
    "estimator": {"solver": "sgd", "learning_rate_init": 0.05, "batch_size": 32,
                  "hidden_layer_sizes": [24, 16], "activation": "prelu"},
    "space": {"slope": {"choices": [-0.5, 0.25, 1000.0]}},
    "epochs": 3,
    "repeats": 2,
    "seeds": [3, 7],
    "sampler": {"name": "grid", "seed": 0},
    "pruner": "none",
    "n_trials": 3,
    "register": False,
}


@pytest.fixture(scope="module")
def reported(tmp_path_factory):
    """The study run in two invocations (2 trials, then 1), then reported on."""
    folder = tmp_path_factory.mktemp("report")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)  # MLflow's artifacts (./mlruns) land there, not in the repository
        for name in ("MLFLOW_TRACKING_URI", "MLFLOW_RUN_ID", "MLFLOW_EXPERIMENT_ID", "OPTUNA_STORAGE"):
            patch.delenv(name, raising=False)
        yield run_and_report(folder)


def run_and_report(folder):
    path = folder / "reported.yaml"
    path.write_text(yaml.safe_dump(STUDY))
    stores = ["--storage", f"journal:{folder}/optuna.journal", "--tracking-uri", f"sqlite:///{folder}/mlflow.db"]
    assert cli.main(["run", str(path), *stores, "--n-trials", "2"]) == 0
    assert cli.main(["run", str(path), *stores]) == 0
    out = report.report(path, storage=f"journal:{folder}/optuna.journal",
                        tracking_uri=f"sqlite:///{folder}/mlflow.db", out_dir=folder / "out")
    client = MlflowClient(f"sqlite:///{folder}/mlflow.db")
    experiment = client.get_experiment_by_name("reported").experiment_id
    parents = client.search_runs([experiment], "tags.study = 'reported'", order_by=["attributes.start_time ASC"])
    trials = client.search_runs([experiment], "tags.`mlflow.parentRunId` != ''")
    return Reported(out, folder / "out", client, parents, trials, out.read_text(), stores)


def completed(reported):
    """The trial runs that completed: the fixture's study has two (slope -0.5 and 0.25)."""
    runs = [run for run in reported.trials if run.data.tags["optuna.state"] == COMPLETE]
    assert len(runs) == 2, [run.data.tags["optuna.state"] for run in reported.trials]
    return runs


def table_rows(text):
    """The trial table's rows, as lists of cells, by trial number."""
    section = text.split("## Trials", 1)[1].split("\n\n")[1]
    rows = [line.strip("|").split(" | ") for line in section.splitlines()[2:]]
    return {int(cells[0].strip()): [c.strip() for c in cells] for cells in rows}


@pytest.mark.slow
def test_the_report_has_a_row_per_trial_of_every_invocation(reported):
    assert len(reported.parents) == 2 and len(reported.trials) == 3
    rows = table_rows(reported.text)
    assert sorted(rows) == [0, 1, 2]
    header = reported.text.split("## Trials", 1)[1].split("\n\n")[1].splitlines()[0]
    assert "slope" in header and "test accuracy" in header and "invocation" in header
    by_slope = {row[4]: row for row in rows.values()}  # trial | invocation | stage | state | slope
    assert set(by_slope) == {"-0.5", "0.25", "1000.0"}
    failed = by_slope["1000.0"]
    assert failed[3] == FAIL and "diverged" in failed[-1]
    for slope in ("-0.5", "0.25"):
        assert by_slope[slope][3] == COMPLETE and float(by_slope[slope][-3]) > 0.3  # test accuracy


@pytest.mark.slow
def test_the_objective_column_is_the_mean_over_the_repeats(reported):
    rows = table_rows(reported.text)
    for run in completed(reported):
        metrics = run.data.metrics
        mean = (metrics["val_accuracy_repeat0"] + metrics["val_accuracy_repeat1"]) / 2
        row = rows[int(run.data.params["trial_number"])]
        assert float(row[6]) == pytest.approx(mean, abs=1e-4)  # trial|inv|stage|state|slope|epochs|val_accuracy
        assert row[5] == "3"
        assert metrics["val_accuracy_mean"] == pytest.approx(mean)  # Optuna's value, under its own name


@pytest.mark.slow
def test_the_figures_exist_are_pngs_and_are_referenced(reported):
    for name in ("test_vs_slope.png", "learning_curves.png", "gradient_norms.png", "prelu_slopes.png"):
        png = reported.folder / name
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
        assert f"]({name})" in reported.text


@pytest.mark.slow
def test_prelu_gradient_and_seed_sections(reported):
    text = reported.text
    assert "## PReLU slopes after training" in text and "| layer 0 | layer 1 |" in text
    assert "Mean ± std over the repeats." in text
    for run in completed(reported):  # each repeat's final slopes, averaged
        slopes = [run.data.metrics[f"prelu_slope_layer0_repeat{r}"] for r in (0, 1)]
        assert f"| {fmt(float(np.mean(slopes)))} ± {fmt(float(np.std(slopes)))} |" in text
    assert "| seed 3 | seed 7 | mean | std |" in text
    assert "epoch 1: first layer" in text


@pytest.mark.slow
def test_the_report_is_logged_on_the_latest_parent_run(reported):
    latest = reported.parents[-1].info.run_id
    logged = {a.path for a in reported.client.list_artifacts(latest, "report")}
    assert {"report/report.md", "report/test_vs_slope.png", "report/learning_curves.png",
            "report/gradient_norms.png", "report/prelu_slopes.png"} <= logged
    assert not reported.client.list_artifacts(reported.parents[0].info.run_id, "report")


@pytest.mark.slow
def test_the_learning_curve_is_the_first_repeat_not_the_summary(reported):
    for run in completed(reported):
        trial = Trial(run.info.run_id, 0, 0, COMPLETE, "0", {}, dict(run.data.metrics))
        curve = history(reported.client, trial, "val_accuracy")
        assert [step for step, _ in curve] == [1, 2, 3]
        assert curve[-1][1] == pytest.approx(run.data.metrics["val_accuracy_repeat0"])


@pytest.mark.slow
def test_the_command_writes_where_asked_and_rejects_an_unknown_study(reported, tmp_path, capsys):
    tracking = reported.stores[3]
    assert cli.main(["report", "reported", "--tracking-uri", tracking, "--out", str(tmp_path)]) == 0
    assert (tmp_path / "report.md").is_file()
    assert "report.md" in capsys.readouterr().out
    assert cli.main(["report", "no-such-study", "--tracking-uri", tracking, "--out", str(tmp_path / "x")]) == 2
    assert "no MLflow runs of study 'no-such-study'" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()
    assert cli.main(["report", str(tmp_path / "missing.yaml"), "--tracking-uri", tracking]) == 2
    assert capsys.readouterr().err.startswith("error: ")


@pytest.mark.slow
def test_the_header_shows_the_newest_invocations_baselines_beside_its_champion(reported):
    header = reported.text.split("## Trials", 1)[0]
    newest = reported.parents[-1]
    assert f"Baselines on the test rows (run `{newest.info.run_id}`; " in header
    rows = {line.split(" | ")[0].strip("| "): line for line in header.splitlines() if line.startswith("| ")}
    assert list(rows) == ["model", "dummy", "linear", "hist_gradient_boosting", "champion"]
    linear = newest.data.metrics["baseline_linear_test_accuracy"]
    assert rows["linear"].startswith(f"| linear | {fmt(linear)} | ")
    assert rows["champion"].startswith(f"| champion | {fmt(newest.data.metrics['test_accuracy'])} | ")
