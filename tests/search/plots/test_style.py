"""Figures are readable: their axes carry values, few enough to draw quickly; logged numbers are short."""

import matplotlib.pyplot as plt
import numpy as np
import pytest

from search.plots.style import as_number, few_ticks, log_ticks, rounded


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


@pytest.mark.parametrize("span, within, subs", [((1e-3, 1e-1), 2, (1.0, 2.0, 5.0)), ((1e-6, 1e-1), 2, (1.0,)),
                                                ((1e-6, 1e-1), 5, (1.0, 2.0, 5.0)), ((0.0, 1.0), 2, (1.0,))])
def test_log_ticks_are_1_2_5_within_the_decades_given_else_powers_of_ten(span, within, subs):
    fig, ax = plt.subplots()
    log_ticks(ax.xaxis, span, within=within)
    assert tuple(ax.xaxis.get_major_locator()._subs) == subs
    plt.close(fig)


def test_long_logged_numbers_are_rounded_and_the_rest_kept():
    assert rounded("0.012520653814999465") == "0.01252"
    assert rounded("-0.12482557747461498", 5, 3) == "-0.125"
    assert rounded("1000.0") == "1000.0" and rounded("leaky_relu") == "leaky_relu" and rounded(None) is None
    assert as_number("1e-3") == 0.001 and as_number("relu") is None and as_number(None) is None
