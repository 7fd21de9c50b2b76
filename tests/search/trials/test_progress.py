"""Tests for search.trials.progress: one line per finished trial, and Optuna's tracebacks kept quiet."""

import io
import logging

import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution
from optuna.trial import TrialState, create_trial

from search.tracking.names import FAIL_REASON, STAGE
from search.trials.progress import Progress, one_line_per_failed_trial

DISTRIBUTIONS = {"activation": CategoricalDistribution(["relu", "leaky_relu"]),
                 "alpha": FloatDistribution(1e-5, 1e-1, log=True)}
PARAMS = {"activation": "relu", "alpha": 0.00123456}


def finished(*trials):
    """The trials, numbered from 0, as a study holds them."""
    study = optuna.create_study(direction="maximize")
    for trial in trials:
        study.add_trial(trial)
    return study, study.trials


def printed(trials, metric="val_accuracy"):
    study, frozen = finished(*trials)
    out = io.StringIO()
    progress = Progress(len(frozen), metric, out)
    for trial in frozen:
        progress.trial_finished(study, trial)
    return out.getvalue().splitlines()


def test_a_complete_trial_is_one_line_with_its_stage_value_and_params():
    trial = create_trial(value=0.912345, params=PARAMS, distributions=DISTRIBUTIONS, user_attrs={STAGE: 2})
    assert printed([trial]) == ["trial 0 [stage 2] COMPLETE val_accuracy=0.9123 activation=relu alpha=0.001235"]


def test_a_pruned_trial_has_no_value_and_stage_1_unless_it_says_another():
    trial = create_trial(state=TrialState.PRUNED, params=PARAMS, distributions=DISTRIBUTIONS,
                         user_attrs={FAIL_REASON: "not a failure: never printed"})
    assert printed([trial]) == ["trial 0 [stage 1] PRUNED activation=relu alpha=0.001235"]


def test_a_failed_trial_says_the_first_line_of_its_reason_cut_to_120_characters():
    long = "x" * 200
    trials = [create_trial(state=TrialState.FAIL, params=PARAMS, distributions=DISTRIBUTIONS,
                           user_attrs={FAIL_REASON: "Training diverged at epoch 3: the loss is nan\nTraceback"}),
              create_trial(state=TrialState.FAIL, user_attrs={STAGE: 3, FAIL_REASON: long + "\nmore"}),
              # Optuna's own reason (an exception it caught) is a system attribute
              create_trial(state=TrialState.FAIL, system_attrs={FAIL_REASON: "ValueError: no\ndetail"}),
              create_trial(state=TrialState.FAIL)]
    assert printed(trials, metric="val_r2") == [
        "trial 0 [stage 1] FAIL (Training diverged at epoch 3: the loss is nan) activation=relu alpha=0.001235",
        f"trial 1 [stage 3] FAIL ({'x' * 120}) ",
        "trial 2 [stage 1] FAIL (ValueError: no) ",
        "trial 3 [stage 1] FAIL ",
    ]


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_on_a_terminal_a_bar_counts_the_finished_trials_of_the_budget_with_the_lines_above_it(capsys):
    study, frozen = finished(create_trial(value=0.5), create_trial(state=TrialState.PRUNED))
    terminal = Terminal()
    progress = Progress(5, "val_accuracy", terminal)
    assert progress.bar is not None and progress.bar.total == 5
    for trial in frozen:
        progress.trial_finished(study, trial)
    assert progress.bar.n == 2
    progress.bar.refresh()
    assert "2/5" in terminal.getvalue()
    written = terminal.getvalue()  # the lines go above the bar, on the stream given
    assert "trial 0 [stage 1] COMPLETE val_accuracy=0.5000" in written and "trial 1 [stage 1] PRUNED" in written
    assert "trial 0" not in capsys.readouterr().out
    progress.bar.close()


def test_elsewhere_there_is_no_bar():
    assert Progress(5, "val_accuracy", io.StringIO()).bar is None


class Kept(logging.Handler):
    def __init__(self):
        super().__init__()
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


@pytest.fixture
def optuna_handlers():
    """A handler on Optuna's logger that records what it lets through; Optuna's logging restored after."""
    logger = optuna.logging.get_logger("optuna")
    kept, verbosity = Kept(), optuna.logging.get_verbosity()
    saved = {handler: list(handler.filters) for handler in logger.handlers}
    logger.addHandler(kept)
    optuna.logging.set_verbosity(optuna.logging.INFO)
    yield kept
    logger.removeHandler(kept)
    for handler, filters in saved.items():
        handler.filters[:] = filters
    optuna.logging.set_verbosity(verbosity)


def objective(trial):
    x = trial.suggest_float("x", 0, 1)
    if trial.number == 1:
        raise ValueError("diverged")
    return x


def test_optuna_says_nothing_of_a_failed_trial_and_the_rest_as_before(optuna_handlers):
    one_line_per_failed_trial()
    one_line_per_failed_trial()  # idempotent: one filter per handler
    for handler in optuna.logging.get_logger("optuna").handlers:
        assert sum(type(f).__name__ == "_NoFailedTrialWarnings" for f in handler.filters) == 1
    optuna.create_study().optimize(objective, n_trials=3, catch=(ValueError,))
    messages = optuna_handlers.messages
    assert not [m for m in messages if m.startswith("Trial 1")]
    assert [m for m in messages if m.startswith("Trial 0 finished")] and [m for m in messages if m.startswith("Trial 2 finished")]


def test_the_filter_keeps_a_failed_trial_message_that_is_not_optuna_s(optuna_handlers):
    one_line_per_failed_trial()
    record = logging.LogRecord("search", logging.WARNING, __file__, 1, "Trial 1 failed with value None.", None, None)
    optuna_record = logging.LogRecord("optuna.study._optimize", logging.WARNING, __file__, 1,
                                      "Trial 1 failed with value None.", None, None)
    assert optuna_handlers.filter(record) and not optuna_handlers.filter(optuna_record)
