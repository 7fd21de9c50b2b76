"""What the figure tests share: a check that a figure's text fits, and trial history records."""

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.image import imread

from search.plots import style

PIXEL = 1.0 / style.DPI  # inches


def _check_headings(fig, renderer):
    """The figure's title, its legends and the panels' titles do not cover each other."""
    headings = [fig._suptitle] if fig._suptitle is not None else []
    headings += list(fig.legends) + [ax.title for ax in fig.axes if ax.get_visible() and ax.get_title()]
    boxes = [h.get_window_extent(renderer) for h in headings]
    for i, first in enumerate(boxes):
        for second in boxes[i + 1:]:
            assert not first.overlaps(second), (first, second)


def _check_tick_labels(ax, renderer, dpi):
    """No two tick labels of one axis overlap (slanted ones: the gap across the text's baseline)."""
    for axis, low, high in ((ax.xaxis, "x0", "x1"), (ax.yaxis, "y0", "y1")):
        labels = [t for t in axis.get_ticklabels() if t.get_visible() and t.get_text()]
        if labels and labels[0].get_rotation() % 180:
            positions = sorted(getattr(t.get_window_extent(renderer), high) for t in labels)
            line = labels[0].get_fontsize() * dpi / 72
            sine = abs(np.sin(np.radians(labels[0].get_rotation())))
            assert all((b - a) * sine >= line for a, b in zip(positions, positions[1:])), (
                f"overlapping slanted tick labels on {ax.get_title()!r}")
            continue
        extents = sorted((t.get_window_extent(renderer) for t in labels), key=lambda b: getattr(b, low))
        for first, second in zip(extents, extents[1:]):
            assert getattr(first, high) <= getattr(second, low) + 1, f"overlapping tick labels on {ax.get_title()!r}"


def check_text_fits(fig):
    """Every drawn text within the canvas, headings apart, and no two tick labels of one axis overlapping."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    width, height = fig.get_size_inches()
    box = fig.get_tightbbox(renderer)  # inches
    assert box.x0 >= -PIXEL and box.y0 >= -PIXEL, box
    assert box.x1 <= width + PIXEL and box.y1 <= height + PIXEL, (box, width, height)
    _check_headings(fig, renderer)
    for ax in fig.axes:
        if ax.get_visible():
            _check_tick_labels(ax, renderer, fig.dpi)


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
    """An estimator's ``history_``: one record per epoch, as a trial's figure payload carries it."""
    rng = np.random.default_rng(0)
    return [{"epoch": e, "train_loss": 2.0 / e, "val_loss": 2.2 / e + 0.01 * rng.random(),
             "val_accuracy": 1 - 0.5 / e, "train_accuracy": 1 - 0.45 / e, "learning_rate": 0.01, "val_r2": 1 - 3 / e,
             "grad_norm_mean": list(rng.random(layers) + 0.1 / e), "grad_norm_max": list(rng.random(layers) + 1),
             } for e in range(1, epochs + 1)]
