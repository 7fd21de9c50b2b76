"""The trial budget, met exactly by any number of workers: trials are slots queued in advance.

The command that runs a study queues one WAITING trial (with no
parameters: the sampler still chooses every one; not ``enqueue_trial``, whose
empty ``fixed_params`` the grid sampler refuses) for each trial
of the budget left to run; workers only take queued trials, with Optuna's hand-out of WAITING trials
(made atomic on SQLite too: :class:`AtomicTake`), and never create one: the
storage refuses (:class:`QueueOnly`). A trial that is interrupted or whose
worker died is failed and queued again (:mod:`search.trials.recovery`), so its
retry is a queued trial too, and always runs.

A worker that joins a study (``python -m search worker``) queues its own
trials, one at a time as it needs them (:class:`Share`). Counting then queueing
is exact only when no other worker counts meanwhile: two workers counting 19
of 20 at once made 21. Both :func:`fill` and :class:`Share` count and queue
under the study's lock (:mod:`search.stores.locks`).

The counts here read only the storage's trials, so the stages (``search.study``)
and the summary use them as well as the workers.
"""

from datetime import datetime

import optuna
from optuna.storages._rdb import models
from optuna.storages._rdb.storage import _create_scoped_session
from optuna.trial import TrialState

from .locks import study_lock

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


class AtomicTake:
    """RDB storage mixin: a queued trial is taken (WAITING to RUNNING) in one conditional UPDATE.

    Also what the gRPC proxy's own storage is (:mod:`search.stores.proxy`): through the proxy, every
    worker's take is this one UPDATE on the proxy's side.
    """

    def set_trial_state_values(self, trial_id, state, values=None):
        """As Optuna's; but WAITING to RUNNING is one conditional UPDATE.

        Optuna reads the state, then writes RUNNING, relying on ``SELECT ... FOR
        UPDATE``, which SQLite ignores: two workers read WAITING at once and both
        ran the trial (44 of 200 trials handed out twice to four processes).
        One ``UPDATE ... WHERE state = 'WAITING'`` is atomic in SQLite and
        PostgreSQL alike: the second worker's matches no row.
        """
        if state != TrialState.RUNNING or values is not None:
            return super().set_trial_state_values(trial_id, state, values)
        trial = models.TrialModel
        with _create_scoped_session(self.scoped_session) as session:
            taken = session.query(trial).filter(trial.trial_id == trial_id, trial.state == TrialState.WAITING) \
                .update({trial.state: TrialState.RUNNING}, synchronize_session=False)
            if taken:  # in the same transaction, through Optuna's model, which stores it as Optuna does
                session.get(trial, trial_id).datetime_start = datetime.now()
        return taken == 1  # False: another worker took it, or it ended; Optuna's hand-out tries the next


class QueueOnlyRDB(QueueOnly, AtomicTake):
    """:class:`QueueOnly` and :class:`AtomicTake` for an RDB storage.

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


def room(trials, total):
    """How many trials the budget ``total`` still has room for."""
    return max(0, total - len(counted(trials)))


def fill(study, total, n_trials=None):
    """Queue the trials this invocation may run: up to ``n_trials`` (with those queued), within ``total``.

    Returns the number of trials queued now.
    """
    with study_lock(study):
        trials = study.get_trials(deepcopy=False)
        count = room(trials, total)
        if n_trials is not None:
            count = max(0, min(count, n_trials - len(waiting(trials))))
        for _ in range(count):
            study.add_trial(optuna.trial.create_trial(state=TrialState.WAITING))
    return count


class Share:
    """A joining worker's part of the budget ``total``: one trial queued for each trial it takes.

    Each worker that joins queues one trial (within the budget, under the
    study's lock) and then takes one. Workers that each queue before they take
    leave at least one trial queued for each worker about to take one, so
    ``run --n-trials N`` and joining workers run exactly N and theirs, however
    their steps interleave; none ever queues past the budget. A trial already
    queued (another worker's, or the retry of a failed one) is taken as well.
    """

    def __init__(self, total):
        self.total = total
        self.owed = False  # queued by this worker and not yet made up for by a trial it took

    def ready(self, study):
        """Whether a trial is queued for this worker to take; queues one if it has none queued.

        False when nothing is queued and the budget has no room left.
        """
        trials = study.get_trials(deepcopy=False)
        if self.owed and not waiting(trials):
            self.owed = False  # a worker that queues none (``run``'s) took it
        if not self.owed:
            with study_lock(study):
                if room(study.get_trials(deepcopy=False), self.total):
                    study.add_trial(optuna.trial.create_trial(state=TrialState.WAITING))
                    self.owed = True
        return self.owed or bool(waiting(trials))

    def took(self):
        """This worker took a queued trial."""
        self.owed = False


def idle_reason(trials, total):
    """Why a worker finds no trial to take: the budget's state, in words."""
    running = [t for t in counted(trials) if t.state == TrialState.RUNNING]
    if room(trials, total):
        return f"no trial is queued, and {room(trials, total)} of the budget of {total} are left to queue " \
               "(a worker started by 'run' takes only the trials that run queued)"
    if running:
        return f"the budget of {total} trials is met: every trial is taken, {len(running)} still running " \
               "on other workers"
    return f"the study is finished: all {total} trials of its budget ran"
