"""Progress output: a bar on a terminal, one line per finished trial otherwise."""

import logging
import sys

import optuna
from tqdm import tqdm

from ..tracking.names import FAIL_REASON, STAGE
from ..tracking.states import FAIL
from ..study.space import label


class Progress:
    """Optuna callback printing each finished trial; ``total`` is the study's budget."""

    def __init__(self, total, metric, stream=None):
        self.metric = metric
        self.stream = stream or sys.stdout
        self.bar = tqdm(total=total, unit="trial", file=self.stream) if self.stream.isatty() else None

    def trial_finished(self, study, trial):
        value = "" if trial.value is None else f" {self.metric}={trial.value:.4f}"
        params = " ".join(f"{k}={_short(v)}" for k, v in trial.params.items())
        reason = trial.user_attrs.get(FAIL_REASON) or trial.system_attrs.get(FAIL_REASON, "")
        why = f" ({reason.splitlines()[0][:120]})" if trial.state.name == FAIL and reason else ""
        line = (f"trial {trial.number} [stage {trial.user_attrs.get(STAGE, 1)}] "
                f"{trial.state.name}{value}{why} {params}")
        if self.bar is not None:
            self.bar.update(1)
            self.bar.write(line, file=self.stream)
        else:
            print(line, file=self.stream, flush=True)


def _short(value):
    value = label(value)
    return f"{value:.4g}" if isinstance(value, float) else str(value)


class _NoFailedTrialWarnings(logging.Filter):
    """Drops Optuna's 'Trial N failed ...' warnings and their tracebacks: :class:`Progress` says it in one line."""

    def filter(self, record):
        return not (record.name.startswith("optuna") and record.getMessage().startswith("Trial ")
                    and " failed" in record.getMessage())


def one_line_per_failed_trial():
    """Keep Optuna from printing a failed trial's traceback (a diverging trial, Ctrl-C); idempotent."""
    for handler in optuna.logging.get_logger("optuna").handlers:
        if not any(isinstance(f, _NoFailedTrialWarnings) for f in handler.filters):
            handler.addFilter(_NoFailedTrialWarnings())
