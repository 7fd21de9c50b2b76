"""A trial's figures: drawn from its payload through the registry, in our style, with their text inside."""

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest

from search.plots import style, trial as trial_plots
from tests.search.plots.conftest import history


def classification_payload():
    rng = np.random.default_rng(1)
    classes = np.arange(10)
    y = np.repeat(classes, 8)
    proba = rng.dirichlet(np.ones(10), size=len(y))
    raw = rng.integers(0, 17, size=(len(y), 64)).astype(np.float32)  # digits' 0..16 pixels
    return {"title": "trial 12", "history": history(), "y_true": y, "y_pred": proba.argmax(axis=1),
            "top": trial_plots.top_scored_set(proba, raw, y, classes), "image_shape": (8, 8)}


def test_each_classification_figure_is_drawn_in_our_style_with_its_text_inside(drawn, tmp_path):
    written = trial_plots.trial_figures(tmp_path, classification_payload())
    assert sorted(p.name for p in drawn) == sorted(p.name for p in written) == [
        "confusion_matrix.png", "curves.png", "gradient_norms.png", "top3_images.png"]
    assert matplotlib.rcParams["axes.facecolor"] == "#E5E5E5"  # ggplot's, untouched outside our figures


def test_each_regression_figure_is_drawn_with_its_text_inside(drawn, tmp_path):
    y = np.linspace(0.0, 300.0, 40)
    payload = {"task": "regression", "title": "trial 3", "history": history(), "y_true": y, "y_pred": y * 0.9 + 5}
    trial_plots.trial_figures(tmp_path, payload)
    assert sorted(p.name for p in drawn) == ["curves.png", "gradient_norms.png", "predictions.png"]


@pytest.mark.parametrize("task, names", [(None, ["curves.png", "gradient_norms.png"]),
                                         ("regression", ["curves.png", "gradient_norms.png"])])
def test_without_validation_rows_only_the_history_figures_are_drawn(monkeypatch, tmp_path, task, names):
    monkeypatch.setattr(style, "save", lambda fig, path: plt.close(fig) or path)
    written = trial_plots.trial_figures(tmp_path, {"task": task, "title": "t", "history": history(epochs=3)})
    assert sorted(p.name for p in written) == names


def test_a_figure_added_to_the_registry_is_drawn_from_the_payload_keys_it_needs(monkeypatch, tmp_path):
    seen = []
    extra = trial_plots.TrialFigure(lambda payload, path: seen.append((payload["title"], path.name)) or path,
                                    needs=("history", "lr"))
    monkeypatch.setitem(trial_plots.TRIAL_FIGURES, "classification", {"lr.png": extra})
    assert trial_plots.trial_figures(tmp_path, {"title": "t", "history": []}) == []
    assert trial_plots.trial_figures(tmp_path, {"title": "t", "history": [], "lr": [0.1]}) == [tmp_path / "lr.png"]
    assert seen == [("t", "lr.png")]


def test_the_confusion_matrix_shows_every_value_but_those_that_round_to_zero(tmp_path, monkeypatch):
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
