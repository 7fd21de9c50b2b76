"""Tests for search.trials.background: the figure process and the BLAS threads training shares with it."""

import pytest
from threadpoolctl import threadpool_info, threadpool_limits

from search.trials.background import CoreSharing, FigureWriter


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
