"""The search service: create or resume a study, run its stages, refit and register.

``run`` is what ``python -m search run`` and ``mlflow run . -e search`` do;
``work`` is one worker's loop, the same in the processes that ``run
--workers K`` starts and in ``python -m search worker`` on another machine.
"""

import os
import sys
import time
from dataclasses import replace

import optuna
from optuna.trial import TrialState

from estimators import DivergenceError

from .tracking import names
from . import tracking
from .context import Options, StudyRun
from .data import DataError, load_dataset
from .stores import budget
from .trials import recovery, timekeeping
from .trials.background import FIGURES
from .trials.objective import Objective
from .trials.progress import Progress
from .trials.recovery import Interrupted, worker_id
from .stores.storage import StorageError, beside_tracking, check_url, describe, exists, open_storage
from .study.samplers import make_pruner, make_sampler
from .study.file import load_study
from .study.stages import best_trial
from .study.task import TASKS
from .trials.workers import sigterm_as_interrupt, start_workers, wait_for_workers
from .tracking.datasets import log_datasets
from .tracking.states import FINISHED, KILLED


def load_data(spec, rows=None):
    """The study's dataset; with ``rows`` (a :class:`search.data.memory.InMemory`), a script's rows in place of
    its file."""
    options = {k: v for k, v in spec.dataset.items() if k != "name"}
    return load_dataset(spec.dataset["name"], task=spec.task, data=rows, **options)


def check_same_data(study, data):
    """A study resumes on the rows it started with: trials scored on other rows would be compared as equals.

    The fingerprint of its rows as read (:attr:`search.data.Dataset.rows_fingerprint`) is kept on the study
    by its first ``run``; a study made before it was kept has none and is not checked.
    """
    known = study.user_attrs.get(names.DATA_FINGERPRINT)
    if known is not None and known != data.rows_fingerprint:
        raise DataError(f"study {study.study_name} was run on other data (fingerprint {known}, now "
                        f"{data.rows_fingerprint}): give it the rows it started with, or name a new study")


def open_study(spec, storage_url, tracking_uri, create=False):
    """The study named by ``spec`` on ``storage_url``; ``create`` makes it if missing."""
    storage = open_storage(storage_url, stale_trial_callback=recovery.stale_trial_callback(tracking_uri),
                           queue_only=True)
    if create:
        return optuna.create_study(study_name=spec.name, storage=storage, direction=spec.direction,
                                   sampler=make_sampler(spec), pruner=make_pruner(spec),
                                   load_if_exists=True)
    return optuna.load_study(study_name=spec.name, storage=storage, sampler=make_sampler(spec),
                             pruner=make_pruner(spec))


def work(run, study, n_trials=None, timeout=None, worker_index=0):
    """One worker's loop: the study's queued trials, until none is left, or ``n_trials`` or ``timeout`` is spent.

    Returns the number of trials this worker ran.
    """
    return serve(run, study, Options(n_trials=n_trials, timeout=timeout, worker_index=worker_index))[0]


def serve(run, study, options, share=None):
    """:func:`work`, for the limits in ``options``; with a :class:`search.stores.budget.Share`, the worker
    queues a trial of the budget whenever it has none queued.

    Returns ``(ran, idle)``: the trials this worker ran, and whether it stopped for want of a trial (not
    for its ``n_trials`` or ``timeout``).
    """
    loop = _Loop(run, study, options.worker_index)
    deadline = None if options.timeout is None else time.monotonic() + options.timeout
    ran, idle = 0, False
    with sigterm_as_interrupt():
        while (options.n_trials is None or ran < options.n_trials) and \
                not (deadline and time.monotonic() > deadline) and timekeeping.may_start(run, study):
            recovery.fail_stale(study)  # a dead trial is queued again, so found below
            if share is not None and not share.ready(study):
                idle = True
                break
            if loop.one_trial():
                ran += 1
                if share is not None:
                    share.took()
            elif share is None:
                idle = True
                break  # another worker took the last queued trial
    FIGURES.wait()
    return ran, idle


class _Loop:
    """One worker's objective, progress lines and samplers, kept from trial to trial."""

    def __init__(self, run, study, worker_index):
        self.run, self.study, self.worker_index = run, study, worker_index
        self.objective = Objective(run, worker=worker_id())
        self.progress = Progress(run.plan.total, run.spec.metric)
        self.samplers = {}

    def one_trial(self):
        """Take a queued trial and run it; False when none was queued."""
        study, spec = self.study, self.run.spec
        stage = self.run.plan.next_stage(study)
        if stage is None:
            return False
        # One sampler per stage, kept: a new seeded sampler per trial would repeat its first point.
        if stage not in self.samplers:
            self.samplers[stage] = make_sampler(spec, stage, self.worker_index,
                                                len(study.get_trials(deepcopy=False)))
        study.sampler = self.samplers[stage]
        try:
            study.optimize(self.objective, n_trials=1, catch=(DivergenceError,),
                           callbacks=[self.progress.trial_finished])
        except budget.BudgetSpent:
            return False  # another worker took it
        except KeyboardInterrupt as error:
            raise recovery.interrupted(study, self.objective.trial_number, error) from None
        except Exception:
            if not self.objective.lost:
                raise
            print(self.objective.lost, flush=True)  # Optuna refused to tell it: its retry's result counts
        return True


def join(study_name, options=None, queue=True):
    """``python -m search worker``: join a study that ``run`` created, from any machine.

    With ``queue``, the worker queues its share of the budget (at most its ``n_trials``, never past
    the budget) whenever it finds no trial queued; without (the workers ``run --workers`` starts), it takes
    only the trials queued for it. Returns ``(ran, why)``: the trials it ran, and, when it stopped for want
    of a trial, the line that says why (None otherwise).
    """
    options = options or Options()
    tracking_uri = tracking.resolve_uri(options.tracking_uri)
    storage_url = options.storage_url or beside_tracking(tracking_uri)  # as run's default
    spec = load_study(text=study_file_of(study_name, storage_url), path=f"<study {study_name}>")
    study = open_study(spec, storage_url, tracking_uri)
    run = StudyRun(spec, load_data(spec), tracking.connect(tracking_uri), tracking_uri, storage_url,
                   study.user_attrs[names.EXPERIMENT_ID], study.user_attrs[names.PARENT_RUN_ID])
    timekeeping.follow(run, study)  # a time plan's stages and deadlines, if the study runs by one
    ran, idle = serve(run, study, options, budget.Share(run.plan.total) if queue else None)
    if not idle or (ran and not queue):  # a worker of 'run' that ran trials ends as the queue empties
        return ran, None
    done = f"ran {ran} trial{'s' * (ran != 1)}" if ran else "nothing to do"
    return ran, f"worker: study {study_name}: {done}: " \
                f"{budget.idle_reason(study.get_trials(deepcopy=False), run.plan.total)}"


def study_file_of(study_name, storage_url):
    """The study file's text that ``run`` kept in the study ``study_name``; a StorageError if there is none."""
    attributes = {}
    if exists(check_url(storage_url)):  # never create a storage only to find it empty
        try:
            attributes = optuna.load_study(study_name=study_name, storage=open_storage(storage_url)).user_attrs
        except KeyError:
            pass
    if names.STUDY_FILE in attributes:
        return attributes[names.STUDY_FILE]
    raise StorageError(f"storage {describe(storage_url)} has no study {study_name!r} created by "
                       "'python -m search run'; run that first")


def run(spec, options=None, rows=None):
    """Create or resume the study, run its trials, summarise, refit and register the best.

    Everything that can be checked is checked before anything is written: the
    tracking server answers, the data loads, the storage opens.

    Parameters
    ----------
    spec : search.study.file.StudySpec
    options : search.context.Options, default None
        The stores, workers, trial count and timeout asked for; None: the defaults.
    rows : search.data.memory.InMemory, default None
        A script's rows in place of the study's dataset file (``search.run_study``).

    Returns
    -------
    dict
        ``study``, ``parent_run_id``, ``stages``, ``scores`` and ``model_uri``
        (the last two absent when no trial completed).
    """
    options = options or Options()
    options = replace(options, started=options.started or time.time())  # a time budget's clock, at the latest
    run, study = start(spec, options, rows)
    try:  # from the parent run's start, Ctrl-C ends it (and its trials' runs) as KILLED
        record_start(run, study)
        with sigterm_as_interrupt():
            recovery.recover_dead_trials(study, run.client)
            run_trials(run, study, options)
    except KeyboardInterrupt:
        recovery.kill_parent(run.client, run.experiment, run.parent)
        raise
    try:
        result = finish(run, study)
    except KeyboardInterrupt:
        tracking.end_run(run.client, run.parent, KILLED)
        raise Interrupted("every trial was recorded; the summary or the refit was stopped and nothing was "
                          "registered") from None
    print(f"MLflow UI (mlflow ui): {tracking.ui_link(run.tracking_uri, run.experiment)}", flush=True)
    return result


def start(spec, options, rows=None):
    """Check the stores and the data, then open the study and this invocation's parent run; the StudyRun and
    the study."""
    import mlflow

    tracking_uri = tracking.resolve_uri(options.tracking_uri)
    storage_url = resolve_storage(options.storage_url, tracking_uri)
    data = load_data(spec, rows)
    check_stores(storage_url, tracking_uri)
    client = tracking.connect(tracking_uri)
    mlflow.set_tracking_uri(tracking_uri)
    experiment = tracking.experiment_id(client, spec.name)
    tracking.mark_experiment(client, experiment, spec, TASKS[spec.task])
    study = open_study(spec, storage_url, tracking_uri, create=True)
    check_same_data(study, data)
    recovery.close_dead_parents(client, experiment, spec.name)
    parent = tracking.start_parent_run(client, experiment, spec.name, {
        names.STUDY: spec.name, names.STUDY_FILE: str(spec.path), "storage": describe(storage_url),
        names.WORKER: worker_id()})
    return StudyRun(spec, data, client, tracking_uri, storage_url, experiment, parent,
                    trains_here=options.workers == 1), study


def record_start(run, study):
    """What workers and later commands read back: the study file and the runs, on the study; the study's
    settings on the parent run; and a line saying where things are."""
    for key, value in {names.STUDY_FILE: run.spec.text, names.EXPERIMENT_ID: run.experiment,
                       names.PARENT_RUN_ID: run.parent, names.DATA_FINGERPRINT: run.data.rows_fingerprint,
                       names.TIME_PLAN: None}.items():  # a time plan, if any, is kept once it is made
        study.set_user_attr(key, value)
    tracking.log_batch(run.client, run.parent, params=tracking.params_of(study_params(run)))
    log_datasets(run, run.parent)
    planned = "the time budget's plan" if run.spec.time_budget else run.plan.total
    print(f"study {run.spec.name}: storage {describe(run.storage_url)}, "
          f"tracking {tracking.mask_password(run.tracking_uri)}, "
          f"{len(budget.used(study.get_trials(deepcopy=False)))} trials so far of {planned}", flush=True)


def resolve_storage(storage_url, tracking_uri):
    """The storage URL in use: the argument, else ``$OPTUNA_STORAGE``, else beside the tracking store."""
    # '' is what MLproject passes when no storage is given
    storage_url = storage_url or os.environ.get("OPTUNA_STORAGE") or beside_tracking(tracking_uri)
    if os.environ.get("MLFLOW_RUN_ID") and describe(storage_url) != storage_url:
        print("warning: mlflow run logs its -P parameters, so this storage URL's password is now a "
              "param of the run; give it in PGPASSWORD instead", file=sys.stderr)
    return storage_url


def check_stores(storage_url, tracking_uri):
    """The storage URL can be used, and is not the MLflow tracking database."""
    check_url(storage_url)
    tracking_file = tracking.sqlite_file(tracking_uri)
    if tracking_file and tracking.sqlite_file(storage_url) and \
            os.path.abspath(tracking.sqlite_file(storage_url)) == os.path.abspath(tracking_file):
        raise StorageError(f"storage {describe(storage_url)}: is the MLflow tracking database; "
                           "give Optuna a file of its own (sqlite:///optuna.db)")


def finish(run, study):
    """After the trials: the summary on the parent run, then the refit and registration of the best."""
    from .outcome.champion import refit_and_register
    from .outcome.summary import log_summary, summary_text

    FIGURES.wait()
    recovery.close_orphan_runs(run.client, run.experiment, run.parent, recovery.running_run_ids(study))
    recovery.close_failed_runs(run.client, run.experiment, study)
    stages = log_summary(run, study)
    print(summary_text(study, run.spec, stages), flush=True)
    result = {"study": study, "parent_run_id": run.parent, "stages": stages}
    if study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        champion = refit_and_register(run, study)
        print("\n".join(champion.lines), flush=True)
        result.update(model=champion.model, scores=champion.scores, model_uri=champion.model_uri,
                      champion=champion, best=best_trial(study, run.spec))
    if run.timing is not None:
        timekeeping.spent(run)
    tracking.end_run(run.client, run.parent, FINISHED)
    return result


def run_trials(run, study, options):
    """Queue this invocation's trials and run them; under a time budget, planned and run stage by stage."""
    if run.spec.time_budget is not None:
        timekeeping.begin(run, study, options.started)  # probe, plan, and follow the plan
        timekeeping.run_stages(run, study, lambda count: run_queued(run, study, replace(options, n_trials=count)))
        return
    budget.fill(study, run.plan.total, options.n_trials)
    run_queued(run, study, options)


def run_queued(run, study, options):
    """Run the queued trials here or in ``options.workers`` processes; then what a dead worker left."""
    if options.workers == 1:
        work(run, study, options.n_trials, options.timeout)
        return
    deadline = None if options.timeout is None else time.monotonic() + options.timeout
    wait_for_workers(start_workers(run, options.workers, options.timeout), study, run.client)
    # A worker that died had its trial queued again (wait_for_workers): it runs here, in the time left.
    left = None if deadline is None else deadline - time.monotonic()
    if left is None or left > 0:
        work(run, study, None, left)


def study_params(run):
    """The study's settings as parent-run params (never the storage URL: it may hold a password)."""
    spec, data = run.spec, run.data
    fixed = {k: v for k, v in spec.estimator.items()}
    return {
        **{f"fixed.{k}": v for k, v in fixed.items()},
        "dataset": spec.dataset["name"], "n_train": len(data.X_train), "n_val": len(data.X_val),
        "n_test": len(data.X_test), "epochs": spec.epochs, "repeats": spec.repeats,
        "trial_budget": run.plan.total, "stages": len(spec.stages), "metric": spec.metric,
        "direction": spec.direction, "sampler": spec.sampler["name"], "pruner": spec.pruner["name"],
        **{f"space.{k}": v for k, v in spec.space.describe().items()},
        **({names.TIME_BUDGET: spec.time_budget} if spec.time_budget else {}),
    }
