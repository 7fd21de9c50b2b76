"""Trial figures are readable: their axes carry values, few enough to draw quickly."""

import matplotlib.pyplot as plt
import numpy as np
import pytest

from search.plots import few_ticks


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
    from search import plots

    texts = {}

    def keep_texts(fig, path):
        texts["drawn"] = sorted(t.get_text() for t in fig.axes[0].texts)
        plt.close(fig)

    monkeypatch.setattr(plots, "save", keep_texts)
    y_true = [0] * 6 + [1] * 3 + [2] * 1000
    y_pred = [0] * 5 + [1] + [1] * 3 + [2] * 1000
    plots.confusion(y_true, y_pred, tmp_path / "confusion.png")
    # columns sum to 1: predicted 1 is right 3 times of 4; a true 0 is 1.00 of predicted 0
    assert texts["drawn"] == ["0.25", "0.75", "1.00", "1.00"]
