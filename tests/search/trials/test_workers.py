"""Tests for search.trials.workers: worker ids, whether a worker is alive, and signals as interrupts."""

import os
import signal
import socket

import pytest

from search.trials import workers
from search.trials.workers import Interrupted, alive_here, sigterm_as_interrupt, worker_id


def test_a_worker_is_named_by_its_host_and_process():
    assert worker_id() == f"{socket.gethostname()}:{os.getpid()}"
    assert worker_id(12) == f"{socket.gethostname()}:12"


def test_only_a_gone_process_of_this_host_counts_as_dead(monkeypatch):
    monkeypatch.setattr(workers, "_alive", lambda pid: pid == 7)
    assert alive_here(worker_id(7))
    assert not alive_here(worker_id(8))
    assert alive_here("another-host:8")  # another machine's worker: its own command recovers it
    assert alive_here("") and alive_here("host:not-a-pid")


def test_a_process_that_ended_is_not_alive():
    import subprocess
    import sys

    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    assert not workers._alive(process.pid)


def test_interrupted_is_a_keyboard_interrupt_saying_what_it_stopped():
    error = Interrupted("trial 3 was recorded as failed and queued again")
    assert isinstance(error, KeyboardInterrupt) and error.what.startswith("trial 3")


def test_no_trial_running_means_nothing_to_retry():
    assert workers.retry_interrupted(study=None, number=None) is None


def test_sigterm_handling_is_restored_on_exit():
    before = signal.getsignal(signal.SIGTERM)
    with sigterm_as_interrupt():
        assert signal.getsignal(signal.SIGTERM) is not before
    assert signal.getsignal(signal.SIGTERM) is before


def test_ctrl_c_and_sigterm_stop_training_in_the_service(small_digits_for_interrupts):
    """The estimators warn and return on Ctrl-C, as sklearn's; the service's trials must stop."""
    import signal

    from estimators import MLPClassifier

    X, y = small_digits_for_interrupts
    for send in (lambda: signal.raise_signal(signal.SIGTERM), lambda: signal.raise_signal(signal.SIGINT)):
        def press(estimator, record, send=send):
            if record["epoch"] == 2:
                send()
        clf = MLPClassifier((8,), max_iter=20, callbacks=[press])
        with sigterm_as_interrupt(), pytest.raises(KeyboardInterrupt):
            clf.fit(X, y)
        assert len(clf.history_) == 2


@pytest.fixture
def small_digits_for_interrupts():
    from sklearn.datasets import load_digits
    X, y = load_digits(return_X_y=True)
    return X[:200] / 16, y[:200]
