"""The report's figure data, built from tracked trials, and the figures drawn from it."""

import numpy as np
import pytest

from search.plots import style
from search.reporting import figures
from search.reporting.collect import Trial
from search.tracking.states import COMPLETE, FAIL, PRUNED

EPOCHS = range(1, 7)


def trial(number, slope, lr, state=COMPLETE, depth="1"):
    """A trial with every history the figures draw already loaded (no client needed)."""
    made = Trial(run_id=str(number), number=number, parent=0, state=state, stage="1",
                 params={"slope": str(slope), "learning_rate_init": str(lr), "depth": depth},
                 metrics={"test_loss": 0.2 + slope / 10, "test_accuracy": 0.9 - slope / 20, "val_accuracy_mean": slope,
                          "grad_norm_max_layer0": 1.0, "grad_norm_max_layer1": 0.5, "prelu_slope_layer0": 0.2})
    for key, scale in (("train_loss", 2.0), ("val_loss", 2.2)):
        made.histories[key] = [(e, scale / e) for e in EPOCHS]
        made.metrics[key] = made.histories[key][-1][1]
    for layer in range(2):
        made.histories[f"grad_norm_max_layer{layer}"] = [(e, (layer + 1) / e) for e in EPOCHS]
    made.histories["prelu_slope_layer0"] = [(e, 0.2 + e / 50) for e in EPOCHS]
    return made


def test_a_param_figure_holds_complete_scores_per_group_and_failed_positions():
    trials = [trial(0, 0.5, 0.01, depth="1"), trial(1, -0.5, 0.001, depth="2"), trial(2, 0.1, 0.1, depth="1"),
              trial(3, 0.2, 0.05, FAIL, depth="2"), trial(4, 0.3, 0.02, PRUNED, depth="1")]
    info = figures.param_info(trials, "learning_rate_init", ["depth"], "val_accuracy", log=True)
    assert info.numeric and info.log and info.position["0.001"] == 0.001
    assert [panel.title for panel in info.panels] == ["test loss", "test accuracy"]
    loss = info.panels[0]
    assert list(loss.series) == ["depth=1", "depth=2"]
    assert loss.series["depth=1"] == [(0.01, pytest.approx(0.25)), (0.1, pytest.approx(0.21))]  # x order
    assert loss.series["depth=2"] == [(0.001, pytest.approx(0.15))]  # the failed trial is no score
    assert loss.failed == [0.05]


def test_a_param_figure_of_choices_places_them_in_order_and_has_one_group_among_too_many():
    trials = [trial(n, 0.1 * n, 0.01, depth=str(n)) for n in range(10)]
    for made, choice in zip(trials, ["tanh", "relu"] * 5):
        made.params["activation"] = choice
    del trials[0].metrics["test_loss"]
    info = figures.param_info(trials, "activation", ["depth"], "val_accuracy")
    assert not info.numeric and info.position == {"relu": 0, "tanh": 1}
    assert list(info.panels[0].series) == [""]  # ten depths: more than MAX_GROUPS series


def test_without_test_scores_the_param_figure_shows_the_objective():
    made = trial(0, 0.5, 0.01)
    made.metrics = {"val_loss": 0.3}
    info = figures.param_info([made], "slope", [], "val_loss")
    assert [(p.title, p.series) for p in info.panels] == [("val loss", {"": [(0.5, 0.3)]})]


def test_the_chosen_trials_are_all_or_the_best_complete_ones_in_number_order():
    trials = [trial(n, n / 10, 0.01, FAIL if n == 9 else COMPLETE) for n in range(10)]
    assert figures.chosen(trials, "val_accuracy", "maximize") is trials
    assert [t.number for t in figures.chosen(trials, "val_accuracy", "maximize", limit=3)] == [6, 7, 8]
    assert [t.number for t in figures.chosen(trials, "val_accuracy", "minimize", limit=3)] == [0, 1, 2]


def test_curve_lines_are_one_per_trial_dashed_unless_complete():
    keys, lines = figures.curve_lines([trial(0, 0.5, 0.01), trial(1, 1.0, 0.1, PRUNED)], ["slope"])
    assert keys == ["train_loss", "val_loss"]  # no trial logged val_accuracy
    assert [(line.label, line.dashed) for line in lines] == [("0: slope=0.5", False), ("1: slope=1.0", True)]
    assert lines[0].points["val_loss"][0] == (1, 2.2)


def test_gradient_rows_and_prelu_lines_are_labelled_by_trial():
    trials = [trial(0, 0.5, 0.01), trial(1, 1.0, 0.1)]
    rows = figures.gradient_rows(None, trials)
    assert rows[0][1] == {0: (1, 1.0), 1: (1, 2.0)} and rows[0][2] == {0: (6, 1 / 6), 1: (6, 2 / 6)}
    assert [row.label for row in figures.gradient_lines(rows, ["slope"])] == ["0: slope=0.5", "1: slope=1.0"]
    labels = [label for label, _ in figures.prelu_lines(trials, ["slope"])]
    assert labels == ["0 layer 0: slope=0.5", "1 layer 0: slope=1.0"]


def test_each_report_figure_is_drawn_from_the_trials(tmp_path):
    rng = np.random.default_rng(2)
    trials = [trial(n, rng.uniform(-1, 1), 10 ** rng.uniform(-3, -1), depth=str(n % 3)) for n in range(12)]
    trials.append(trial(12, 0.123456789012345, 0.0123456789012345, state=FAIL))
    names = ["slope", "learning_rate_init"]
    with style.style():
        written = [figures.draw_curves(None, trials, names, tmp_path / "curves.png"),
                   figures.draw_prelu(None, trials[:3], names, tmp_path / "prelu.png")]
    for path in written:
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
