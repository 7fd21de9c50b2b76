"""The trial budget, met exactly by any number of workers: trials are slots queued in advance.

The command that runs a study queues one WAITING trial (with no
parameters: the sampler still chooses every one; not ``enqueue_trial``, whose
empty ``fixed_params`` the grid sampler refuses) for each trial
of the budget left to run; workers only take queued trials, with Optuna's own
atomic hand-out of WAITING trials, and never create one: the storage refuses
(:class:`QueueOnly`). A trial that is interrupted or whose worker died is
failed and queued again (:mod:`search.trials.recovery`), so its retry is a
queued trial too, and always runs. Counting trials before creating one could
not be exact: two workers counting 19 of 20 at once made 21.

The counts here read only the storage's trials, so the stages (``search.study``)
and the summary use them as well as the workers.
"""

import optuna
from optuna.trial import TrialState

# The system attribute that Optuna's ``RetryHeartbeatStaleTrialCallback`` writes on a retry.
FAILED_TRIAL = "failed_trial"


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
    return trial.system_attrs.get(FAILED_TRIAL)


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
