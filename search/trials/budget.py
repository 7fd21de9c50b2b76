"""The trial budget, met exactly by any number of workers: trials are slots queued in advance.

The command that runs a study queues one WAITING trial (with no
parameters: the sampler still chooses every one; not ``enqueue_trial``, whose
empty ``fixed_params`` the grid sampler refuses) for each trial
of the budget left to run; workers only take queued trials, with Optuna's own
atomic hand-out of WAITING trials, and never create one. A trial that is
interrupted or whose worker died is failed and queued again, so its retry is
a queued trial too, and always runs. Counting trials before creating one
could not be exact: two workers counting 19 of 20 at once made 21.
"""

import warnings

import optuna
from optuna.storages import fail_stale_trials
from optuna.storages._heartbeat import is_heartbeat_enabled
from optuna.trial import TrialState

from ..tracking.names import FAIL_REASON


class BudgetSpent(Exception):
    """A worker asked for a trial when no queued trial was left."""


class QueueOnly:
    """Storage mixin: a new trial comes only from the queue (a template), never from ``ask``.

    A queued slot and the retry of a failed trial pass a template; ``ask``
    with nothing queued does not, and gets :class:`BudgetSpent` instead of an
    extra trial.
    """

    def create_new_trial(self, study_id, template_trial=None):
        _queued(template_trial)
        return super().create_new_trial(study_id, template_trial)


class QueueOnlyRDB(QueueOnly):
    """:class:`QueueOnly` for an RDB storage.

    Optuna wraps an RDB storage in its ``_CachedStorage``, which creates trials
    through ``_create_new_trial``, not ``create_new_trial``: guarding only the
    latter let a worker that found the queue empty make a trial past the budget.
    """

    def _create_new_trial(self, study_id, template_trial=None):
        _queued(template_trial)
        return super()._create_new_trial(study_id, template_trial)


def _queued(template_trial):
    if template_trial is None:
        raise BudgetSpent("no queued trial is left")


def retried_number(trial):
    """The number of the failed trial that ``trial`` (a FrozenTrial) retries, or None.

    Read straight from the attribute ``RetryHeartbeatStaleTrialCallback`` writes,
    without its experimental-API warning.
    """
    return trial.system_attrs.get("failed_trial")


def retried_numbers(trials):
    """Numbers of the failed trials that were queued again."""
    return {retried_number(t) for t in trials} - {None}


def counted(trials):
    """Trials that take a place in the budget: all but failed ones queued again (their retry counts)."""
    retried = retried_numbers(trials)
    return [t for t in trials if t.number not in retried]


def used(trials):
    """Trials of the budget that ran or run now: what a count of 'trials so far' means."""
    return [t for t in counted(trials) if t.state != TrialState.WAITING]


def waiting(trials):
    return [t for t in trials if t.state == TrialState.WAITING]


def fill(study, total, n_trials=None):
    """Queue the trials this invocation may run: up to ``n_trials`` (with those queued), within ``total``.

    Returns the number of trials queued now.
    """
    trials = study.get_trials(deepcopy=False)
    room = total - len(counted(trials))
    if n_trials is not None:
        room = min(room, n_trials - len(waiting(trials)))
    for _ in range(max(0, room)):
        study.add_trial(optuna.trial.create_trial(state=TrialState.WAITING))
    return max(0, room)


def fail_stale(study, reason):
    """Fail (and, through the storage's callback, queue again) RUNNING trials whose heartbeat stopped.

    Optuna does this only at the start of a trial inside ``optimize``: a
    worker that finds nothing queued, or a command started after a crash,
    would otherwise leave a dead trial RUNNING for good. The trial gets its
    ``fail_reason`` first, while it is still RUNNING and can take attributes.
    """
    storage = study._storage
    if not is_heartbeat_enabled(storage):
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        for trial_id in storage._get_stale_trial_ids(study._study_id):
            try:
                storage.set_trial_user_attr(trial_id, FAIL_REASON, reason)
            except optuna.exceptions.UpdateFinishedTrialError:
                pass  # another process failed it first
        fail_stale_trials(study)
