"""The report's figures, drawn from hand-made plain data (no MLflow run, no report Trial)."""

import matplotlib.pyplot as plt
import numpy as np

from search.plots import report as plots
from search.plots.report import GradientRow, Line, ParamFigure, ParamPanel

KEYS = ("train_loss", "val_loss", "val_accuracy")


def score_figure(values, log=False, groups=("depth=1", "depth=2"), failed=()):
    """A parameter figure of two panels over ``values`` (strings as logged), a series per group."""
    position = {v: float(v) for v in values} if all(v[0].isdigit() for v in values) else {
        v: i for i, v in enumerate(sorted(values))}
    numeric = isinstance(next(iter(position.values())), float)
    series = {g: sorted((position[v], 0.9 - i / 50 - j / 10) for i, v in enumerate(values) if i % len(groups) == j)
              for j, g in enumerate(groups)}
    panels = [ParamPanel("test loss", series, [position[v] for v in failed]),
              ParamPanel("test accuracy", series, [position[v] for v in failed])]
    return ParamFigure("learning_rate_init" if numeric else "activation", position, numeric, panels, log)


def lines(count, rng):
    return [Line(f"{n}: slope={rng.uniform(-1, 1):.3g}", {k: [(e, (1 + n / 10) / e) for e in range(1, 7)]
                                                          for k in KEYS}, dashed=n == count - 1) for n in range(count)]


def test_each_report_figure_draws_from_plain_data_with_its_text_inside(drawn, tmp_path):
    rng = np.random.default_rng(2)
    rates = [str(10 ** rng.uniform(-3, -1)) for _ in range(12)]
    plots.param_figure(score_figure(rates, log=True, failed=rates[:1]), tmp_path / "lr.png")
    plots.learning_curves(list(KEYS), lines(13, rng), tmp_path / "curves.png")
    rows = [GradientRow(f"{n}: trial", {0: (1, 1.0 + n), 1: (1, 0.5)}, {0: (6, 2.0), 1: (6, 0.1 * (n + 1))})
            for n in range(3)]
    plots.gradients_figure(rows, tmp_path / "grad.png")
    plots.prelu_figure([(f"{n} layer 0: slope=0.1", [(e, 0.2 + e * n / 50) for e in range(1, 7)]) for n in range(3)],
                       tmp_path / "prelu.png")
    assert [p.name for p in drawn] == ["lr.png", "curves.png", "grad.png", "prelu.png"]


def kept_axes(monkeypatch):
    kept = []
    monkeypatch.setattr(plots.style, "save", lambda fig, path: kept.extend(fig.axes) or plt.close(fig))
    return kept


def test_a_log_sampled_parameter_is_drawn_on_a_log_axis_without_joining_lines(monkeypatch, tmp_path):
    kept = kept_axes(monkeypatch)
    rates = [str(0.002 * (n + 1)) for n in range(5)]  # 0.002 .. 0.01: under 100x
    plots.param_figure(score_figure(rates, log=True), tmp_path / "lr.png")
    ax = kept[0]
    assert ax.get_xscale() == "log" and ax.get_xlabel() == "learning_rate_init (log)"
    assert all(line.get_linestyle() in ("None", "") for line in ax.lines)
    assert [line.get_label() for line in ax.lines] == ["depth=1", "depth=2"]


def test_failed_trials_are_crosses_at_the_top_and_a_single_group_has_no_legend_entry(monkeypatch, tmp_path):
    kept = kept_axes(monkeypatch)
    rates = [str(0.01 * (n + 1)) for n in range(4)]
    plots.param_figure(score_figure(rates, groups=("",), failed=rates[1:2]), tmp_path / "lr.png")
    ax = kept[0]
    assert ax.get_xscale() == "linear" and len(ax.lines) == 1 and ax.lines[0].get_label().startswith("_")
    (crosses,) = ax.collections
    assert crosses.get_offsets().tolist() == [[0.02, ax.get_ylim()[1]]]


def test_a_failed_or_pruned_trial_is_dashed_and_non_finite_points_are_left_out(monkeypatch, tmp_path):
    kept = kept_axes(monkeypatch)
    curves = [Line("0: ok", {"val_loss": [(1, 1.0), (2, np.nan), (3, 0.5)]}),
              Line("1: failed", {"val_loss": [(1, 2.0), (2, np.inf)]}, dashed=True)]
    plots.learning_curves(["val_loss"], curves, tmp_path / "curves.png")
    solid, dashed = kept[0].lines
    assert solid.get_linestyle() == "-" and list(solid.get_xdata()) == [1, 3]
    assert dashed.get_linestyle() == "--" and list(dashed.get_xdata()) == [1]


def test_a_categorical_parameter_figure_keeps_its_slanted_labels_inside(drawn, tmp_path):
    choices = ["leaky_relu", "lecun_tanh", "prelu", "relu", "tanh"]
    plots.param_figure(score_figure(choices), tmp_path / "activation.png")
    assert len(drawn) == 1
