"""Tests for search.trials.background: the figure process and the BLAS threads training shares with it."""

import warnings
from pathlib import Path

import matplotlib.image
import pytest
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import threadpool_info, threadpool_limits

from search import tracking
from search.data import load_dataset
from search.study.task import TASKS
from search.trials.background import CoreSharing, FigureWriter, draw_and_log


class FakeFigures:
    waiting = False

    def busy(self):
        return self.waiting


def blas_threads():
    return max(info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas")


def test_training_yields_a_blas_thread_only_while_figures_wait():
    figures = FakeFigures()
    sharing = CoreSharing(figures)
    with threadpool_limits(2, user_api="blas"):
        if blas_threads() != 2:
            pytest.skip("this BLAS cannot run 2 threads here")
        with sharing:
            assert blas_threads() == 2
            figures.waiting = True
            sharing(None, {})  # after an epoch
            assert blas_threads() == 1
            figures.waiting = False
            sharing(None, {})
            assert blas_threads() == 2
            figures.waiting = True
            sharing(None, {})
        assert blas_threads() == 2  # the end of fit gives the thread back


def test_core_sharing_is_shared_not_copied_by_clone():
    from sklearn.base import clone

    from estimators import MLPClassifier

    sharing = CoreSharing(FakeFigures())
    assert clone(MLPClassifier(callbacks=[sharing])).callbacks[0] is sharing


def test_the_figure_writer_is_busy_until_its_last_job_is_done():
    from concurrent.futures import Future

    writer = FigureWriter()
    assert not writer.busy()
    first, last = Future(), Future()
    first.set_result(None)
    writer._pending += [first, last]
    assert writer.busy()
    last.set_result(None)
    assert not writer.busy()


class LoggedFigures:
    """A stand-in for MlflowClient: what log_artifacts was given, read while the folder exists."""

    logged = {}

    def __init__(self, tracking_uri):
        self.tracking_uri = tracking_uri

    def log_artifacts(self, run_id, folder, artifact_path):
        for path in Path(folder).glob("*.png"):
            image = matplotlib.image.imread(path)
            assert image.shape[0] > 200 and image.shape[1] > 200 and image.std() > 0.01  # drawn, not blank
        LoggedFigures.logged[run_id] = (self.tracking_uri, artifact_path, sorted(p.name for p in Path(folder).iterdir()))


@pytest.mark.parametrize("task, dataset, figures", [
    ("classification", "digits", ["confusion_matrix.png", "curves.png", "gradient_norms.png", "top3_images.png"]),
    ("regression", "diabetes", ["curves.png", "gradient_norms.png", "predictions.png"]),
])
def test_each_tasks_trial_figures_are_drawn_and_logged_under_plots(monkeypatch, task, dataset, figures):
    data = load_dataset(dataset, task=task, subset=300, validation_fraction=0.25)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = TASKS[task].estimator(hidden_layer_sizes=(8,), max_iter=3, random_state=0).fit(
            data.X_train, data.y_train, validation_data=(data.X_val, data.y_val))
    monkeypatch.setattr(tracking, "MlflowClient", LoggedFigures)
    draw_and_log("sqlite:///mlflow.db", f"run-{task}", TASKS[task].trial_payload(model, data, "trial 0"))
    assert LoggedFigures.logged[f"run-{task}"] == ("sqlite:///mlflow.db", "plots", figures)


def test_a_spawned_process_does_not_run_a_script_again(monkeypatch):
    """A script's path is hidden while the figure process starts (spawn would run its top level again, and a
    study with it); a module run by name (python -m search) is imported by name and left as it is."""
    import sys
    import types
    from importlib.machinery import ModuleSpec

    from search.trials.background import _script_left_alone

    script = types.ModuleType("__main__")
    script.__file__, script.__spec__ = "/home/me/study.py", None
    monkeypatch.setitem(sys.modules, "__main__", script)
    with _script_left_alone():
        assert not hasattr(script, "__file__")
    assert script.__file__ == "/home/me/study.py"

    module = types.ModuleType("__main__")
    module.__file__, module.__spec__ = "/repo/search/__main__.py", ModuleSpec("search.__main__", None)
    monkeypatch.setitem(sys.modules, "__main__", module)
    with _script_left_alone():
        assert module.__file__ == "/repo/search/__main__.py"
