"""Trial figures are readable: their axes carry values, few enough to draw quickly."""

import matplotlib.pyplot as plt
import numpy as np
import pytest

from search.plots.style import few_ticks


def y_labels(values, yscale):
    fig, ax = plt.subplots()
    ax.plot(np.arange(1, len(values) + 1), values)
    ax.set_yscale(yscale)
    few_ticks(ax)
    fig.canvas.draw()
    low, high = ax.get_ylim()
    labels = [t.get_text() for t, y in zip(ax.get_yticklabels(), ax.get_yticks())
              if t.get_text() and low <= y <= high]
    plt.close(fig)
    return labels


@pytest.mark.parametrize("values", [
    np.linspace(0.26, 0.6, 30),    # gradient norms within one decade
    np.linspace(0.41, 0.49, 30),   # within a tenth of one
])
def test_a_log_axis_within_a_decade_is_labelled(values):
    labels = y_labels(values, "log")
    assert len(labels) >= 2, labels


def test_a_log_axis_over_many_decades_labels_powers_of_ten_only():
    labels = y_labels(np.geomspace(1e-6, 1.0, 30), "log")
    assert 3 <= len(labels) <= 8 and {"1e-05", "0.001", "0.1"} <= set(labels), labels


def test_a_linear_axis_has_at_most_five_labels():
    labels = y_labels(np.linspace(0.1, 2.3, 30), "linear")
    assert 2 <= len(labels) <= 5, labels


def test_the_confusion_matrix_shows_every_value_but_those_that_round_to_zero(tmp_path, monkeypatch):
    from search.plots import style, trial as trial_plots

    texts = {}

    def keep_texts(fig, path):
        texts["drawn"] = sorted(t.get_text() for t in fig.axes[0].texts)
        plt.close(fig)

    monkeypatch.setattr(style, "save", keep_texts)
    y_true = [0] * 6 + [1] * 3 + [2] * 1000
    y_pred = [0] * 5 + [1] + [1] * 3 + [2] * 1000
    trial_plots.confusion(y_true, y_pred, tmp_path / "confusion.png")
    # columns sum to 1: predicted 1 is right 3 times of 4; a true 0 is 1.00 of predicted 0
    assert texts["drawn"] == ["0.25", "0.75", "1.00", "1.00"]


# ---------------------------------------------------------------- every figure kind, drawn and checked

import matplotlib  # noqa: E402
import optuna  # noqa: E402
from matplotlib.image import imread  # noqa: E402

from search.plots import report as figures, study as study_plots, style, trial as trial_plots  # noqa: E402
from search.reporting import report  # noqa: E402
from search.study.space import Categorical, Range, SearchSpace  # noqa: E402

PIXEL = 1.0 / style.DPI  # inches


def check_text_fits(fig):
    """Every drawn text within the canvas, and no two tick labels of one axis overlapping."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    width, height = fig.get_size_inches()
    box = fig.get_tightbbox(renderer)  # inches
    assert box.x0 >= -PIXEL and box.y0 >= -PIXEL, box
    assert box.x1 <= width + PIXEL and box.y1 <= height + PIXEL, (box, width, height)
    # The figure's title, its legends and the panels' titles do not cover each other.
    headings = [fig._suptitle] if fig._suptitle is not None else []
    headings += list(fig.legends) + [ax.title for ax in fig.axes if ax.get_visible() and ax.get_title()]
    boxes = [h.get_window_extent(renderer) for h in headings]
    for i, first in enumerate(boxes):
        for second in boxes[i + 1:]:
            assert not first.overlaps(second), (first, second)
    for ax in fig.axes:
        if not ax.get_visible():
            continue
        for axis, low, high in ((ax.xaxis, "x0", "x1"), (ax.yaxis, "y0", "y1")):
            labels = [t for t in axis.get_ticklabels() if t.get_visible() and t.get_text()]
            if labels and labels[0].get_rotation() % 180:  # slanted: the gap across the text's baseline
                positions = sorted(getattr(t.get_window_extent(renderer), high) for t in labels)
                line = labels[0].get_fontsize() * fig.dpi / 72
                sine = abs(np.sin(np.radians(labels[0].get_rotation())))
                assert all((b - a) * sine >= line for a, b in zip(positions, positions[1:])), (
                    f"overlapping slanted tick labels on {ax.get_title()!r}")
                continue
            extents = sorted((t.get_window_extent(renderer) for t in labels), key=lambda b: getattr(b, low))
            for first, second in zip(extents, extents[1:]):
                assert getattr(first, high) <= getattr(second, low) + 1, (
                    f"overlapping tick labels on {ax.get_title()!r}")


@pytest.fixture
def drawn(monkeypatch):
    """Each figure saved through style.save is checked before it is written; the files written."""
    written, save = [], style.save

    def checked_save(fig, path):
        check_text_fits(fig)
        written.append(save(fig, path))
        return written[-1]

    monkeypatch.setattr(style, "save", checked_save)
    plt.style.use("ggplot")  # what Optuna's figures do to the global style: none of ours may show it
    yield written
    plt.style.use("default")
    for path in written:
        image = imread(path)
        assert image.shape[0] > 100 and image.shape[1] > 100 and image[..., :3].std() > 0.05, path


def history(epochs=12, layers=3):
    rng = np.random.default_rng(0)
    return [{"epoch": e, "train_loss": 2.0 / e, "val_loss": 2.2 / e + 0.01 * rng.random(),
             "val_accuracy": 1 - 0.5 / e, "train_accuracy": 1 - 0.45 / e, "learning_rate": 0.01,
             "grad_norm_mean": list(rng.random(layers) + 0.1 / e), "grad_norm_max": list(rng.random(layers) + 1),
             } for e in range(1, epochs + 1)]


def test_each_trial_figure_is_drawn_in_our_style_with_its_text_inside(drawn, tmp_path):
    rng = np.random.default_rng(1)
    classes = np.arange(10)
    y = np.repeat(classes, 8)
    proba = rng.dirichlet(np.ones(10), size=len(y))
    raw = rng.integers(0, 17, size=(len(y), 64)).astype(np.float32)  # digits' 0..16 pixels
    top = trial_plots.top_scored_set(proba, raw, y, classes)
    trial_plots.trial_figures(tmp_path, "trial 12", history(), y_true=y, y_pred=proba.argmax(axis=1), top=top,
                        image_shape=(8, 8))
    assert sorted(p.name for p in drawn) == ["confusion_matrix.png", "curves.png", "gradient_norms.png",
                                             "top3_images.png"]
    assert matplotlib.rcParams["axes.facecolor"] == "#E5E5E5"  # ggplot's, untouched outside our figures


def test_no_style_leaks_into_a_figure(monkeypatch, tmp_path):
    faces = []
    monkeypatch.setattr(style, "save", lambda fig, path: faces.extend(
        (ax.get_facecolor(), ax.xaxis._major_tick_kw.get("gridOn", False)) for ax in fig.axes))
    with plt.style.context("ggplot"):
        trial_plots.confusion([0, 1, 1], [0, 1, 0], tmp_path / "c.png")
    assert faces == [((1.0, 1.0, 1.0, 1.0), False)]  # white, no grid lines across the cells


def test_the_top_images_are_the_raw_rows_with_their_labels_and_the_row_class_score():
    proba = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7]])
    raw = np.array([[0.0, 16.0], [1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    top = trial_plots.top_scored_set(proba, raw, np.array(["a", "b", "b", "a"]), np.array(["a", "b"]), k=2)
    assert top["images"].tolist() == [[[0.0, 16.0], [3.0, 4.0]], [[1.0, 2.0], [5.0, 6.0]]]
    assert top["true"].tolist() == [["a", "b"], ["b", "a"]]
    assert top["predicted"].tolist() == [["a", "a"], ["b", "b"]]
    assert top["scores"].tolist() == [[0.9, 0.6], [0.8, 0.7]]


def small_study():
    """Twelve finished trials over two stages and two pruned ones, on a space of every kind."""
    space = SearchSpace({"learning_rate_init": Range(1e-3, 1e-1, log=True),
                         "activation": Categorical(["relu", "leaky_relu", "prelu", "tanh", "lecun_tanh"]),
                         "batch_norm": Categorical([None, "before", "after"]),
                         "slope": Range(-1.0, 1.0), "width": Range(16, 256, log=True, integer=True),
                         "lambda": Range(1e-6, 1e-1, log=True), "depth": Range(1, 3, integer=True)})
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.RandomSampler(seed=0))
    for number in range(14):
        trial = study.ask()
        values = space.suggest(trial)
        trial.set_user_attr("stage", 1 if number < 8 else 2)
        value = 0.9 + 0.05 * np.sin(values["slope"] * 3) + 0.01 * np.log10(values["lambda"]) / 6
        if number in (5, 9):
            trial.report(value - 0.2, step=3)
            study.tell(trial, state=optuna.trial.TrialState.PRUNED)
        else:
            study.tell(trial, value)
    return study, space


def test_each_study_figure_is_drawn_with_its_text_inside(drawn, tmp_path):
    study, space = small_study()

    class Spec:
        stages = [None, None]

    Spec.space = space
    written = study_plots.study_figures(study, tmp_path, space, "val_accuracy")
    study_plots.stage_values(study, Spec, tmp_path / "stages.png")
    assert sorted(p.name for p in written) == ["optimization_history.png", "pair_lambda_slope.png",
                                               "param_importances.png", "slice.png"]
    assert len(drawn) == 5


def report_trial(number, slope, lr, state="COMPLETE"):
    records = history(epochs=6, layers=2)
    trial = report.Trial(run_id=str(number), number=number, parent=0, state=state, stage="1",
                         params={"slope": str(slope), "learning_rate_init": str(lr)},
                         metrics={"test_loss": 0.2 + slope / 10, "test_accuracy": 0.9 - slope / 20,
                                  "val_accuracy_mean": 0.9, "grad_norm_max_layer0": 1.0,
                                  "grad_norm_max_layer1": 0.5, "prelu_slope_layer0": 0.2})
    for key in ("train_loss", "val_loss", "val_accuracy"):
        trial.histories[key] = [(r["epoch"], r[key]) for r in records]
    for layer in range(2):
        trial.histories[f"grad_norm_max_layer{layer}"] = [(r["epoch"], r["grad_norm_max"][layer]) for r in records]
    trial.histories["prelu_slope_layer0"] = [(r["epoch"], 0.2 + r["epoch"] / 50) for r in records]
    for key in ("train_loss", "val_loss", "val_accuracy"):
        trial.metrics[key] = trial.histories[key][-1][1]
    return trial


def test_each_report_figure_is_drawn_with_its_text_inside(drawn, tmp_path):
    rng = np.random.default_rng(2)
    trials = [report_trial(n, rng.uniform(-1, 1), 10 ** rng.uniform(-3, -1)) for n in range(12)]
    trials.append(report_trial(12, 0.123456789012345, 0.0123456789012345, state="FAIL"))
    names = ["slope", "learning_rate_init"]
    with style.style():
        report.param_figure(trials, "learning_rate_init", ["slope"], "val_accuracy", tmp_path / "lr.png", log=True)
        report.param_figure(trials, "slope", [], "val_accuracy", tmp_path / "slope.png")
        figures.learning_curves(trials, names, tmp_path / "curves.png")
        figures.gradients_figure(report.gradient_rows(None, trials), names, tmp_path / "grad.png")
        figures.prelu_figure(trials[:3], names, tmp_path / "prelu.png")
    assert len(drawn) == 5


def test_a_log_sampled_parameter_is_drawn_on_a_log_axis_without_joining_lines(monkeypatch, tmp_path):
    kept = []
    monkeypatch.setattr(style, "save", lambda fig, path: kept.append(fig.axes[0]))
    trials = [report_trial(n, 0.1 * n, 0.002 * (n + 1)) for n in range(5)]  # 0.002 .. 0.01: under 100x
    report.param_figure(trials, "learning_rate_init", [], "val_accuracy", tmp_path / "lr.png", log=True)
    ax = kept[0]
    assert ax.get_xscale() == "log"
    assert all(line.get_linestyle() in ("None", "") for line in ax.lines)


def test_report_tables_and_legends_round_long_numbers():
    assert report.cell("0.012520653814999465") == "0.01252"
    assert report.cell("1000.0") == "1000.0" and report.cell("relu") == "relu"
    trial = report_trial(0, -0.12482557747461498, 0.012520653814999465)
    assert trial.label(["slope", "learning_rate_init"]) == "slope=-0.125, learning_rate_init=0.0125"


def test_a_categorical_parameter_figure_keeps_its_slanted_labels_inside(drawn, tmp_path):
    choices = ["leaky_relu", "lecun_tanh", "prelu", "relu", "tanh"]
    trials = [report_trial(n, 0.1, 0.01) for n in range(10)]
    for trial, choice in zip(trials, choices * 2):
        trial.params["activation"] = choice
    report.param_figure(trials, "activation", [], "val_accuracy", tmp_path / "activation.png")
    assert len(drawn) == 1
