"""Tests for search.trials.workers: signals as interrupts, and a dead worker's trials recovered after the wait.

Worker ids, whether a worker is alive, and what an interrupt stopped: test_recovery.
"""

import signal
import subprocess
import sys

import pytest

from search.trials import recovery
from search.trials.workers import sigterm_as_interrupt, wait_for_workers


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


def test_a_worker_that_ended_badly_has_its_running_trial_queued_again_after_the_wait(tmp_path):
    import optuna
    from optuna.trial import TrialState, create_trial

    from search.stores.budget import retried_number
    from search.stores.storage import open_storage
    from search.tracking import names

    study = optuna.create_study(storage=open_storage(f"journal:{tmp_path}/o.journal", queue_only=True))
    study.add_trial(create_trial(state=TrialState.WAITING))
    processes = [subprocess.Popen([sys.executable, "-c", f"raise SystemExit({code})"]) for code in (0, 3)]
    study.ask().set_user_attr(names.WORKER, recovery.worker_id(processes[1].pid))  # no MLflow run yet
    assert wait_for_workers(processes, study, client=None) == [0, 3]
    failed, retry = study.get_trials()
    assert failed.state == TrialState.FAIL and failed.user_attrs[names.FAIL_REASON] == (
        f"worker {processes[1].pid} ended with code 3")
    assert retry.state == TrialState.WAITING and retried_number(retry) == failed.number


@pytest.fixture
def small_digits_for_interrupts():
    from sklearn.datasets import load_digits
    X, y = load_digits(return_X_y=True)
    return X[:200] / 16, y[:200]
