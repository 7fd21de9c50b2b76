"""A time plan at work (its arithmetic is :mod:`search.study.timeplan`).

The probe that measures a study's speed before its first trial; the stages run one after the other,
stage 2 planned again from the speed stage 1's trials measured; the stop of a trial that would run past
the search's end; the refit's epochs; and what was planned and spent, printed and logged on the parent
run (names in :mod:`search.tracking.names`). The plan is kept on the study (``time_plan``), so workers
follow the same stages and deadlines.
"""

import os
import time
import warnings
from dataclasses import replace

import numpy as np
import optuna
from optuna.trial import TrialState
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from threadpoolctl import threadpool_limits

from estimators import DivergenceError

from .. import tracking
from ..stores import budget
from ..study import timeplan
from ..study.space import trial_params
from ..tracking import names

PROBE_ROWS, PROBE_EPOCHS = 2000, 2  # the second epoch is timed: the first warms up
PHASES = ("start", "probe", "stage 1", "stage 2", "finish")  # TimePlan.marks' keys, in order


def work_of(run):
    """The :class:`search.study.timeplan.Work` of a StudyRun: what its trials and refit train on."""
    data, spec = run.data, run.spec
    rows, val_rows = (len(data.folds[0][0]), len(data.folds[0][1])) if data.folds else (
        len(data.X_train), len(data.X_val))
    return timeplan.Work(rows=rows, val_rows=val_rows, refit_rows=len(data.X_train) + len(data.X_val),
                         refit_val_rows=len(data.X_val), fits=len(spec.seeds) * (len(data.folds) or 1),
                         max_epochs=spec.epochs, keeps_models=run.trains_here)


def part(data, rows, task):
    """``data`` with ``rows`` of its training rows, the same ones for every trial (seeded), stratified by
    class for a classification when every class has rows enough."""
    if rows >= len(data.X_train):
        return data
    index = np.arange(len(data.X_train))
    try:
        index, _ = train_test_split(index, train_size=rows, random_state=0,
                                    stratify=data.y_train if task.name == "classification" else None)
    except ValueError:  # a class of one row cannot be stratified
        index, _ = train_test_split(index, train_size=rows, random_state=0)
    index = np.sort(index)
    return replace(data, X_train=data.X_train[index], y_train=data.y_train[index])


def probe(run):
    """The study's speed: the space's middle configuration trained :data:`PROBE_EPOCHS` epochs on at most
    :data:`PROBE_ROWS` training rows (untracked); its last epoch's seconds, per row."""
    data = part(run.data.fold(0) if run.data.folds else run.data, PROBE_ROWS, run.task)
    params = trial_params(run.spec.space.middle(), run.spec, len(data.X_train), PROBE_EPOCHS)
    model = run.task.estimator(**params, random_state=run.spec.seeds[0])
    started = time.perf_counter()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            history = model.fit(data.X_train, data.y_train,
                                validation_data=(data.X_val, data.y_val) if len(data.X_val) else None).history_
    except DivergenceError as error:  # the middle of the space may diverge: its epochs were timed all the same
        history = list(error.history)
    seconds = history[-1]["seconds"] if history else time.perf_counter() - started
    return timeplan.Speed(seconds / work_of(run).units(len(data.X_train), len(data.X_val)))


def share_cores():
    """Train on the cores other processes leave free (their load, this one's aside), at least one.

    BLAS threads beyond them wait on each other: on 2 cores at a load of 2.9, a digits epoch of a 243x3
    network took 0.04 s on one thread and 0.11 to 2.2 s on two (2026-12-03), speeds no plan can follow.
    """
    cores = os.cpu_count() or 1
    threads = max(1, round(cores - max(0.0, os.getloadavg()[0] - 1)))
    LIMITS.append(threadpool_limits(threads, user_api="blas"))  # until spent(): the plan's speeds are measured so
    return threads


LIMITS = []  # the BLAS thread limit share_cores set, lifted when the command ends (a script goes on after it)


def begin(run, study, started):
    """Probe, plan and follow the plan (printed, kept on the study, logged on the parent run)."""
    marks = {"start": time.time()}
    threads = share_cores()
    speed = probe(run)
    marks["probe"] = now = time.time()
    wanted = {name: run.spec.artifacts.get(name, True) for name in timeplan.EXTRA_WORDS}
    planned = timeplan.plan(timeplan.Clock(started, run.spec.time_budget), now, work_of(run), speed, wanted)
    planned.marks, planned.trials_before = marks, len(budget.used(study.get_trials(deepcopy=False)))
    print(f"time budget {planned.time_budget:g} s from the command's start: {marks['start'] - started:.1f} s spent "
          f"starting (Python, imports, data, stores), {now - marks['start']:.1f} s probing the speed "
          f"(on {threads} BLAS thread{'s' * (threads > 1)})", flush=True)
    publish(run, study, planned, step=0)


def run_stages(run, study, run_queued):
    """Stage 1, then stage 2 planned again from stage 1's speed. Each stage's trials are queued and run by
    ``run_queued(count)`` (here, at most ``count``, or in workers) until the plan starts no more; while the
    stage has time left when they are done, as many more as the speed measured so far lets fit are queued."""
    for stage in (timeplan.COARSE, timeplan.FINE):
        if stage == timeplan.FINE:
            publish(run, study, timeplan.replan(run.timing, time.time(), work_of(run), measured(run, study)), 1)
        count = run.timing.trials(stage)
        while count:
            budget.fill(study, len(budget.used(study.get_trials(deepcopy=False))) + count)
            run_queued(count)
            count = run.timing.more(time.time(), work_of(run), measured(run, study))
            run.follow(run.timing.with_more(count))
        run.timing.marks[f"stage {stage}"] = time.time()


def publish(run, study, planned, step):
    """Follow ``planned`` here and in workers (the study keeps it), print it and log it at ``step``."""
    run.follow(planned)
    study.set_user_attr(names.TIME_PLAN, planned.to_attr())
    study.pruner = timeplan.PhasePruner(planned.coarse_epochs)
    line = timeplan.describe(planned, work_of(run))
    print(line, flush=True)
    tracking.log_batch(run.client, run.parent, metrics=plan_metrics(planned, work_of(run), step),
                       tags=tracking.tags_of({names.TIME_PLAN: line}))


def plan_metrics(planned, work, step):
    values = {"epochs": planned.epochs, "coarse_epochs": planned.coarse_epochs, "coarse_rows": planned.coarse_rows,
              "coarse_trials": planned.coarse_trials, "fine_trials": planned.fine_trials,
              "epoch_seconds": planned.row_seconds * work.units(work.rows), "trial_seconds": planned.trial_seconds,
              "search_seconds": planned.search_end - planned.started,
              "reserve_seconds": planned.deadline - planned.search_end}
    now = int(time.time() * 1000)
    return [tracking.Metric(names.PLAN_PREFIX + key, float(value), now, step) for key, value in values.items()]


def follow(run, study):
    """A worker follows the time plan its study keeps, if any."""
    kept = study.user_attrs.get(names.TIME_PLAN)
    if kept:
        run.follow(timeplan.TimePlan.from_attr(kept))
        study.pruner = timeplan.PhasePruner(run.timing.coarse_epochs)


def measured(run, study):
    """The speed this invocation's trials measured (their ``timing``): the median trial's, as one trial
    stalled by a busy machine would pull a mean far off; the plan's own when no trial measured one."""
    planned = run.timing
    timed = [t for t in study.get_trials(deepcopy=False) if t.user_attrs.get(names.TIMING, {}).get("epochs")
             and t.datetime_complete and t.datetime_start.timestamp() >= planned.started]
    if not timed:
        return timeplan.Speed(planned.row_seconds, planned.trial_seconds)
    beside = [(t.datetime_complete - t.datetime_start).total_seconds() - t.user_attrs[names.TIMING]["seconds"]
              for t in timed]
    return timeplan.Speed(float(np.median([row_seconds_of(run, t) for t in timed])),
                          max(0.0, float(np.median(beside))))


def may_start(run, study):
    """Whether a trial may start now: always without a time plan; under one, when the plan says so, or while
    the study has no complete trial in stage 1 (a champion needs one, late or not)."""
    return run.timing is None or run.timing.may_start(time.time(), work_of(run)) or (
        run.timing.stage == timeplan.COARSE and not study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)))


def row_seconds_of(run, trial):
    """Seconds of an epoch per row of ``trial``'s configuration, as it measured; the plan's without."""
    timing = trial.user_attrs.get(names.TIMING)
    if not timing or not timing["epochs"]:
        return run.timing.row_seconds
    return timing["seconds"] / (timing["epochs"] * work_of(run).units(timing["rows"]))


def draws_figures(run, trial):
    """Whether a trial's figures are drawn: always without a time plan; under one, stage 2's when planned."""
    return run.timing is None or (run.timing.extras["trial_plots"]
                                  and trial.user_attrs.get(names.STAGE) == timeplan.FINE)


class DeadlineStop:
    """Estimator callback: a trial whose next epoch would run past the search's end stops now, pruned."""

    def __init__(self, search_end):
        self.search_end = search_end

    def __call__(self, estimator, record):
        if time.time() + record.get("seconds", 0.0) > self.search_end:
            raise optuna.TrialPruned(f"stopped at epoch {record['epoch']}: the time plan's search ends before "
                                     "another epoch would")
        return False

    def __deepcopy__(self, memo):
        return self


def refit_epochs(run, best):
    """``(epochs, line)``: the refit's epochs for the ``best`` trial's configuration at its measured speed,
    and a line when they are fewer than planned; ``(None, None)`` without a time plan."""
    planned = run.timing
    if planned is None:
        return None, None
    epochs = planned.refit_epochs(time.time(), row_seconds_of(run, best), work_of(run),
                                  guard=run.kept_model(best.number) is None)
    tracking.log_batch(run.client, run.parent, metrics=tracking.summary_metrics({names.REFIT_EPOCHS: epochs}))
    if epochs == planned.epochs:
        return epochs, None
    return epochs, f"refit for {epochs} epochs, not the planned {planned.epochs}: what the time left holds"


def spent(run):
    """Print and log what each phase spent, and the whole command so far; training gets its threads back."""
    planned, now = run.timing, time.time()
    planned.marks["finish"] = now
    while LIMITS:
        LIMITS.pop().restore_original_limits()
    moments = [planned.started] + [planned.marks.get(phase, now) for phase in PHASES]
    seconds = {phase: max(0.0, end - begin) for phase, begin, end in zip(PHASES, moments, moments[1:])}
    line = (f"time spent: {now - planned.started:.1f} s of the budget's {planned.time_budget:g} s (from the command's "
            "start, Python's start and imports included): "
            + ", ".join(f"{phase} {value:.1f} s" for phase, value in seconds.items()))
    print(line, flush=True)
    metrics = {f"{names.SPENT_PREFIX}{phase.replace(' ', '')}_seconds": value for phase, value in seconds.items()}
    metrics[f"{names.SPENT_PREFIX}seconds"] = now - planned.started
    tracking.log_batch(run.client, run.parent, metrics=tracking.summary_metrics(metrics),
                       tags=tracking.tags_of({names.TIME_SPENT: line}))
