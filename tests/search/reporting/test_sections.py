"""The report's Markdown: numbers as people read them, and the tables of trials, gradients, slopes and seeds."""

from pathlib import Path
from types import SimpleNamespace

from search.reporting.collect import ReportContext, Trial
from search.reporting.sections import (baselines_table, cell, fmt, gradient_section, header_section, prelu_section, seeds_section,
                                       trials_section)
from search.tracking.states import COMPLETE, FAIL


def test_numbers_are_formatted_by_size_and_cells_round_long_logged_numbers():
    assert [fmt(None), fmt("relu"), fmt(0.5), fmt(12.5), fmt(1e-5), fmt(float("nan"))] == [
        "-", "relu", "0.5000", "12.500", "1.000e-05", "nan"]
    assert cell("0.012520653814999465") == "0.01252"
    assert cell("1000.0") == "1000.0" and cell("relu") == "relu" and cell("a|b") == "a\\|b"


def test_prelu_table_averages_per_repeat_slopes_when_logged():
    metrics = {"prelu_slope_layer0": -0.1, "prelu_slope_layer0_repeat0": -0.1, "prelu_slope_layer0_repeat1": -0.3,
               "train_loss_repeat0": 0.1, "train_loss_repeat1": 0.2}
    text = prelu_section([Trial("r", 4, 0, COMPLETE, "0", {"slope": "0.1"}, metrics)], ["slope"])
    assert "| 4 | 0.1 | -0.2000 ± 0.1000 | 0.1500 |" in text and "Mean ± std over the repeats" in text


def test_prelu_table_says_when_only_the_first_repeat_is_logged():
    text = prelu_section([Trial("r", 4, 0, COMPLETE, "0", {}, {"prelu_slope_layer0": -0.1, "train_loss": 0.2})], [])
    assert "| 4 | -0.1000 | 0.2000 |" in text and "The first repeat's slopes only" in text


def test_the_trial_table_gives_the_objective_of_complete_trials_and_the_reason_of_failed_ones():
    done = Trial("a", 0, 0, COMPLETE, "1", {"slope": "0.5"}, {"val_accuracy_repeat0": 0.8, "val_accuracy_repeat1": 0.9,
                                                             "test_accuracy": 0.85, "test_loss": 0.4})
    done.histories["train_loss"] = [(1, 1.0), (2, 0.5)]
    failed = Trial("b", 1, 1, FAIL, "1", {"slope": "1000.0"}, {"val_accuracy_repeat0": 0.1}, "diverged at epoch 1")
    lines = trials_section([done, failed], ["slope"], "val_accuracy", True).splitlines()
    assert lines[0] == ("| trial | invocation | stage | state | slope | epochs | val_accuracy | val_accuracy std "
                        "| test accuracy | test loss | fail reason |")
    assert lines[2] == "| 0 | 1 | 1 | COMPLETE | 0.5 | 2 | 0.8500 | - | 0.8500 | 0.4000 |  |"
    assert lines[3] == "| 1 | 2 | 1 | FAIL | 1000.0 | - | - | - | - | - | diverged at epoch 1 |"


def test_the_gradient_table_has_the_first_and_last_layer_at_the_first_and_last_epoch():
    trial = Trial("a", 3, 0, COMPLETE, "1", {"depth": "2"}, {})
    text = gradient_section([(trial, {0: (1, 2.0), 1: (1, 0.5)}, {0: (9, 1.0), 1: (9, 0.25)}), (trial, {}, {})],
                            ["depth"])
    assert text.splitlines()[2:] == ["| 3 | 2 | 2 | 2.000 | 0.5000 | 4.000 | 1.000 | 0.2500 |"]


def test_the_seed_table_names_the_seeds_of_trials_with_two_repeats_or_more():
    two = Trial("a", 0, 0, COMPLETE, "1", {}, {"val_loss_repeat0": 1.0, "val_loss_repeat1": 3.0})
    one = Trial("b", 1, 0, COMPLETE, "1", {}, {"val_loss_repeat0": 1.0})
    assert seeds_section([two, one], [], "val_loss", [3, 7]).splitlines() == [
        "| trial | seed 3 | seed 7 | mean | std |", "|---|---|---|---|---|", "| 0 | 1.000 | 3.000 | 2.000 | 1.000 |"]
    assert seeds_section([one], [], "val_loss", None) is None


def test_the_header_describes_the_runs_the_settings_and_the_best_trial():
    params = {"metric": "val_accuracy", "epochs": "3", "dataset": "digits", "n_train": "240",
              "fixed.solver": "sgd", "space.slope": "{-0.5, 0.25}"}
    parent = SimpleNamespace(info=SimpleNamespace(run_id="p1", experiment_id="5", status="FINISHED"),
                             data=SimpleNamespace(params=params, metrics={}, tags={}))
    best = Trial("a", 0, 0, COMPLETE, "1", {"slope": "0.25"}, {"val_accuracy_mean": 0.9, "test_accuracy": 0.8})
    context = ReportContext(None, "tiny", [parent], [best], ["slope"], Path("out"),
                            SimpleNamespace(description="a tiny study"), "1 COMPLETE")
    assert header_section(context).splitlines() == [
        "# Study `tiny`", "", "a tiny study", "",
        "- MLflow experiment `5`, 1 invocation(s) (parent runs, oldest first: `p1` FINISHED)",
        "- trials: 1 (1 COMPLETE)", "- Optuna storage: 1 COMPLETE",
        "- data: digits, 240 training, ? validation, ? test rows",
        "- epochs 3; objective val_accuracy (maximize)", "- fixed: solver=sgd", "- searched: slope {-0.5, 0.25}",
        "- best trial: 0 (slope=0.25), val_accuracy 0.9000, test accuracy 0.8000, test loss -"]


def parent_run(run_id, metrics):
    return SimpleNamespace(info=SimpleNamespace(run_id=run_id, experiment_id="5", status="FINISHED"),
                           data=SimpleNamespace(params={}, metrics=metrics, tags={}))


def test_the_baselines_table_is_the_newest_invocations_beside_its_champion():
    older = parent_run("p1", {"baseline_linear_test_r2": 0.1})
    newer = parent_run("p2", {"baseline_hist_gradient_boosting_test_r2": 0.19, "baseline_linear_test_r2": 0.358,
                              "baseline_dummy_test_r2": -0.0001, "baseline_linear_test_mse": 3000.0,
                              "test_r2": 0.32, "test_mse": 3377.0, "best_val_r2": 0.61})
    text = baselines_table([older, newer, parent_run("p3", {"test_r2": 0.5})])
    assert text.splitlines()[0].startswith("Baselines on the test rows (run `p2`; ")
    assert text.splitlines()[2:] == [
        "| model | test R^2 | test MSE |", "|---|---|---|", "| dummy | -1.000e-04 | - |",
        "| linear | 0.3580 | 3000.000 |", "| hist_gradient_boosting | 0.1900 | - |",
        "| champion | 0.3200 | 3377.000 |"]
    assert baselines_table([parent_run("p4", {"test_accuracy": 0.9})]) is None  # run before baselines
