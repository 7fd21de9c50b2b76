"""A study's figures: built from the study into plain info objects, drawn from those alone."""

import matplotlib.pyplot as plt
import numpy as np
import optuna
import pytest

from search.plots import study as study_plots
from search.plots.study import (HistoryInfo, ImportanceInfo, Panel, PairInfo, ParamAxis, Series, SliceInfo)
from search.study.space import Categorical, Range, SearchSpace

SPACE = SearchSpace({"learning_rate_init": Range(1e-3, 1e-1, log=True),
                     "activation": Categorical(["relu", "leaky_relu", "prelu", "tanh", "lecun_tanh"]),
                     "batch_norm": Categorical([None, "before", "after"]),
                     "slope": Range(-1.0, 1.0), "width": Range(16, 256, log=True, integer=True),
                     "lambda": Range(1e-6, 1e-1, log=True), "depth": Range(1, 3, integer=True)})


class Spec:
    """What :func:`stage_values` reads of a study spec."""

    space, stages = SPACE, [None, None]


@pytest.fixture(scope="module")
def small_study():
    """Twelve finished trials over two stages and two pruned ones, on a space of every kind."""
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.RandomSampler(seed=0))
    for number in range(14):
        trial = study.ask()
        values = SPACE.suggest(trial)
        trial.set_user_attr("stage", 1 if number < 8 else 2)
        value = 0.9 + 0.05 * np.sin(values["slope"] * 3) + 0.01 * np.log10(values["lambda"]) / 6
        if number in (5, 9):
            trial.report(value - 0.2, step=3)
            study.tell(trial, state=optuna.trial.TrialState.PRUNED)
        else:
            study.tell(trial, value)
    return study


def test_each_study_figure_is_drawn_with_its_text_inside(drawn, tmp_path, small_study):
    written = study_plots.study_figures(small_study, tmp_path, SPACE, "val_accuracy")
    study_plots.stage_values(small_study, Spec, tmp_path / "stages.png")
    assert sorted(p.name for p in written) == ["optimization_history.png", "pair_lambda_slope.png",
                                               "param_importances.png", "slice.png"]
    assert len(drawn) == 5


def test_a_study_without_finished_trials_draws_nothing(tmp_path):
    assert study_plots.study_figures(optuna.create_study(), tmp_path, SPACE) == []
    assert not list(tmp_path.iterdir())


def test_the_history_info_holds_the_stages_the_pruned_values_and_the_best_so_far(small_study):
    info = study_plots.history_info(small_study, "val_accuracy")
    assert [s.stage for s in info.stages] == [1, 2] and info.maximize and info.metric == "val_accuracy"
    assert info.stages[0].xs == [0, 1, 2, 3, 4, 6, 7] and info.stages[1].xs == [8, 10, 11, 12, 13]
    assert info.pruned.xs == [5, 9]
    assert info.pruned.ys == [small_study.trials[n].intermediate_values[3] for n in (5, 9)]
    values = [t.value for t in small_study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert info.best.ys == list(np.maximum.accumulate(values))


def test_the_slice_info_places_choices_at_their_index(small_study):
    info = study_plots.slice_info(small_study, SPACE)
    panels = {panel.axis.name: panel for panel in info.panels}
    assert list(panels) == [name for name, _ in SPACE] and info.stages == [1, 2]
    activation = panels["activation"]
    assert activation.axis.labels == ["relu", "leaky_relu", "prelu", "tanh", "lecun_tanh"]
    for series in activation.series:
        trials = [t for t in small_study.trials
                  if t.state == optuna.trial.TrialState.COMPLETE and t.user_attrs["stage"] == series.stage]
        assert series.xs == [activation.axis.labels.index(t.params["activation"]) for t in trials]
    assert panels["lambda"].axis.log and panels["lambda"].axis.title == "lambda (log)"
    assert panels["batch_norm"].axis.labels == ["None", "before", "after"]


def test_stage_values_are_the_searched_floats_and_nothing_without_them(tmp_path, small_study):
    panels = study_plots.stage_values_info(small_study, Spec)
    assert [panel.axis.name for panel in panels] == ["learning_rate_init", "slope", "lambda"]
    assert sum(len(s.xs) for s in panels[0].series) == 14  # pruned trials searched values too

    class Choices:
        space, stages = SearchSpace({"activation": Categorical(["relu", "tanh"])}), [None]

    assert study_plots.stage_values(small_study, Choices, tmp_path / "stages.png") is None
    assert not (tmp_path / "stages.png").exists()


def hand_made_axes():
    return (ParamAxis("lambda", log=True, low=1e-6, high=1e-1), ParamAxis("activation", labels=["relu", "tanh"]),
            ParamAxis("depth", integer=True, low=1, high=3))


def test_every_study_figure_draws_from_a_hand_made_info_without_a_study(drawn, tmp_path):
    log_axis, choice_axis, int_axis = hand_made_axes()
    stage1, stage2 = Series(1, [0, 1, 3], [0.8, 0.85, 0.9]), Series(2, [4, 5], [0.7, 0.95])
    study_plots.optimization_history(HistoryInfo([stage1, stage2], Series(0, [2], [0.5]),
                                                 Series(0, [0, 1, 3, 4, 5], [0.8, 0.85, 0.9, 0.9, 0.95]), True), tmp_path / "h.png")
    study_plots.param_importances(ImportanceInfo({"lambda": 0.7, "activation": 0.2, "depth": 0.1}), tmp_path / "i.png")
    panels = [Panel(log_axis, [Series(1, [1e-5, 1e-3], [0.8, 0.9]), Series(2, [1e-2], [0.95])]),
              Panel(choice_axis, [Series(1, [0, 1], [0.8, 0.9]), Series(2, [1], [0.95])]),
              Panel(int_axis, [Series(1, [1, 3], [0.8, 0.9]), Series(2, [2], [0.95])])]
    study_plots.slice_plot(SliceInfo(panels, [1, 2], "val_accuracy"), tmp_path / "s.png")
    study_plots.pair_plot(PairInfo((log_axis, choice_axis), [1e-5, 1e-3, 1e-2], [0, 1, 1], [0.8, 0.9, 0.95]),
                          tmp_path / "p.png")
    study_plots.draw_stage_values(panels[:1], tmp_path / "v.png")
    assert [p.name for p in drawn] == ["h.png", "i.png", "s.png", "p.png", "v.png"]


def test_the_slice_axes_follow_the_parameter_kind(monkeypatch, tmp_path):
    kept = []
    monkeypatch.setattr(study_plots.style, "save", lambda fig, path: kept.extend(fig.axes) or plt.close(fig))
    panels = [Panel(axis, [Series(1, [1, 2], [0.5, 0.6])]) for axis in hand_made_axes()]
    study_plots.slice_plot(SliceInfo(panels, [1]), tmp_path / "s.png")
    log_ax, choice_ax, int_ax = kept[:3]
    assert log_ax.get_xscale() == "log" and log_ax.get_title() == "lambda (log)"
    assert [t.get_text() for t in choice_ax.get_xticklabels()] == ["relu", "tanh"]
    assert int_ax.get_xscale() == "linear" and all(float(x).is_integer() for x in int_ax.get_xticks())
