"""A time budget's plan: how long each part of a study may take so that the whole command ends in time.

The user gives a time budget (``budget: {time: 15m}`` in the study file, ``--time-budget 900``): the
whole command, from its start to its last registration, ends within it. Here is the arithmetic that
plans around it, free of clocks and stores (the service's side, measuring and recording, is
:mod:`search.trials.timekeeping`). In code "budget" alone is the trial budget of
:mod:`search.stores.budget`; this is the *time plan* (:class:`TimePlan`).

The command's time, in order:

1. *start*: imports, data, stores (measured, not planned: it is spent before any plan can be made);
2. *probe*: one short fit of the space's middle configuration measures the seconds an epoch takes;
3. *stage 1, coarse*: configurations judged cheaply, on a stratified part of the training rows and a
   third of the epochs, successive halving over those epochs stopping most of them early; it ends
   when its share of the time is spent;
4. *stage 2, fine*: the space narrowed around the best so far (:mod:`search.study.stages`), each trial
   on every training row for the planned epochs (a ``learning_rate: cosine`` anneals over them: it
   anneals over ``max_iter``); replanned when stage 1 ends, from the speed its trials measured;
5. *finish*: the summary, the refit (the refit on training and validation rows for the planned epochs, or
   fewer when less time is left, and the guard's retraining of the best trial's model unless this process
   trained it and kept it) and the registration; its time is reserved first. A plan short of time (the
   study's epochs do not fit) whose refit would add few rows (validation rows at most
   :data:`REFIT_MIN_GAIN` of the refit's) and whose trials run here plans no refit at all: its time goes to
   stage 2's epochs, and the champion is the best trial's own model: short of epochs, epochs buy more
   than a tenth more rows would (``studies/mnist_best.yaml``: 99.10% test at 20 epochs, 99.25% at 30).

A stage-2 trial starts only when it is expected to end before the search ends (the finish's reserve
before the deadline), and one that would run past it stops at an epoch's end, pruned: the refit keeps
its reserve, and a trial stopped short never competes with those trained for the planned epochs.
"""

import math
import re
from dataclasses import asdict, dataclass, field, replace

import optuna

from ..stores.budget import retried_number
from ..tracking.names import STAGE
from .stages import COARSE, FINE, Stage, StagePlan, default_narrowing


# How a plan shares the time (the arithmetic's choices, tested in tests/search/study/test_timeplan.py).
COARSE_SHARE = 0.4  # of the search's time (what is left after the finish's reserve), to stage 1
COARSE_FRACTION, COARSE_MIN_ROWS = 0.2, 2000  # stage 1 trains on this part of the training rows, at least
COARSE_EPOCHS = 1 / 3  # stage 1's epochs, as a part of stage 2's
HALVING_FACTOR = 3  # successive halving keeps a third of the trials at each rung
HALVING_USE = 0.5  # the part of its epochs a stage-1 trial trains on average, the others being stopped early
FINE_TRIALS = 3  # stage 2's trials that the epochs are chosen for; more when the study's epochs cap them
SAFETY = 1.5  # the refit's reserve, for a best configuration slower than the median one (wide nets win)
REFIT_MIN_GAIN = 0.1  # a refit adding at most this part of its rows is given up under a plan short of time
VALIDATION_WEIGHT = 1 / 3  # a validation row scored costs a forward pass: a third of a training row's epoch
# The parts of a command that do not scale with epochs, measured on the 2-core development machine with
# digits at loads of 1.5 to 4 (2026-12-03), rounded up.
TRIAL_SECONDS = 0.3  # a trial's MLflow run, sampler and storage writes (0.1 to 0.35), until trials measure it
SUMMARY_SECONDS = 0.5  # the trials table and stage table on the parent run (0.1)
AFTER_REFIT_SECONDS = 1.5  # test scores, logging the pipeline (0.9), registering, the spent time (1.1 in all)
FIGURE_SECONDS = 2.0  # a trial's figures, drawn beside the next trial: the last one is waited for
# Extras: each runs when it takes at most EXTRA_SHARE of the budget (an artifacts key of the study file,
# which may turn it off in any case). The study figures come before the refit, the others after it.
EXTRA_SECONDS = {"study_figures": 3.5, "champion_figures": 1.2, "evaluate": 4.0}  # 2.5 to 4.7, 0.7 to 1.6, 2.7
AFTER_REFIT_EXTRAS = ("champion_figures", "evaluate")
EXTRA_SHARE = 0.05
EXTRA_WORDS = {"study_figures": "study figures", "champion_figures": "the champion's figures",
               "evaluate": "MLflow's evaluation", "trial_plots": "trial figures"}

DURATION = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*([smh]?)\s*$")
UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600}


def seconds_of(value):
    """Seconds of a time budget: a number of seconds, or a string such as ``90s``, ``15m``, ``1.5h``.

    Raises ValueError (a one-line message) for anything else, or for a budget that is not above 0.
    """
    if isinstance(value, str) and DURATION.match(value):
        number, unit = DURATION.match(value).groups()
        value = float(number) * UNIT_SECONDS[unit]
    elif isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"must be seconds (a number) or a duration such as 90s, 15m or 1h, got {value!r}")
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"must be a time above 0, got {value!r}")
    return float(value)


@dataclass(frozen=True)
class Work:
    """What a study trains, as the plan counts it.

    Attributes
    ----------
    rows : int
        Training rows of a trial's fit (a fold's, with folds).
    val_rows : int
        Rows each of its epochs scores.
    refit_rows : int
        Training and validation rows: the refit's.
    refit_val_rows : int
        Rows each epoch of the refit and the guard scores (the validation rows; none with folds).
    fits : int
        Fits per trial: repeats times folds.
    max_epochs : int
        The study's ``epochs``: the most a trial trains.
    keeps_models : bool
        Whether trials train in this process, which keeps the best one's model: the refit guard compares
        with it, and need not train it again.
    """

    rows: int
    val_rows: int
    refit_rows: int
    refit_val_rows: int
    fits: int
    max_epochs: int
    keeps_models: bool = False

    def units(self, rows, val_rows=None):
        """An epoch's cost in rows: training rows, and scored rows weighted by :data:`VALIDATION_WEIGHT`."""
        return rows + VALIDATION_WEIGHT * (self.val_rows if val_rows is None else val_rows)

    def refit_units(self, guard=None):
        """An epoch of the refit (training and validation rows), and of the guard's retraining (a trial's
        rows) when ``guard``, by default when the best trial's model is not kept."""
        guard = not self.keeps_models if guard is None else guard
        return self.units(self.refit_rows, self.refit_val_rows) + guard * self.units(self.rows, self.refit_val_rows)

    def refit_gains_little(self):
        """Whether the refit adds at most :data:`REFIT_MIN_GAIN` of its rows to a trial's."""
        return self.refit_rows - self.rows <= REFIT_MIN_GAIN * self.refit_rows


@dataclass(frozen=True)
class Speed:
    """What the plan measured: seconds of an epoch per row (:meth:`Work.units`), and of a trial beside its
    epochs (its MLflow run, the sampler, storage writes)."""

    row_seconds: float
    trial_seconds: float = TRIAL_SECONDS


@dataclass
class TimePlan:
    """How one invocation spends its time budget; times are ``time.time()`` (workers read them too).

    Attributes
    ----------
    time_budget, started : float
        The time budget's seconds and the command's start: everything ends by ``started + time_budget``.
    finish_seconds : float
        The finish's fixed part, reserved beside the refit's epochs.
    extras : dict
        Artifacts key -> whether it runs: ``study_figures``, ``champion_figures``, ``evaluate`` and
        ``trial_plots`` (stage 2's trials only).
    row_seconds, trial_seconds : float
        The :class:`Speed` planned with.
    epochs, coarse_epochs, coarse_rows : int
        Stage 2's and the refit's epochs; stage 1's epochs and training rows.
    coarse_trials, fine_trials : int
        Trials queued for each stage.
    coarse_end, search_end : float
        No stage-1 trial starts after ``coarse_end``; no trial runs past ``search_end``.
    refit : bool
        Whether the finish refits; if not, the champion is the best trial's own model (see the module's
        docstring).
    enough : bool
        Whether the time left holds a trial and a refit of one epoch each; if not, the command overruns
        (one trial always runs: a champion needs one).
    stage : int
        The stage in progress: a trial taken now is of this stage.
    trials_before : int
        The study's trials before this invocation.
    marks : dict
        Phase -> when it ended (``start``, ``probe``, ``stage 1``, ``stage 2``, ``finish``).
    """

    time_budget: float
    started: float
    finish_seconds: float
    extras: dict
    row_seconds: float
    trial_seconds: float
    epochs: int
    coarse_epochs: int
    coarse_rows: int
    coarse_trials: int
    fine_trials: int
    coarse_end: float
    search_end: float
    refit: bool = True
    enough: bool = True
    stage: int = COARSE
    trials_before: int = 0
    marks: dict = field(default_factory=dict)

    @property
    def deadline(self):
        return self.started + self.time_budget

    def trials(self, stage):
        return self.coarse_trials if stage == COARSE else self.fine_trials

    def fidelity(self, stage):
        """``(rows, epochs)`` a trial of ``stage`` trains with; rows None: every training row."""
        return (self.coarse_rows, self.coarse_epochs) if stage == COARSE else (None, self.epochs)

    def trial_seconds_of(self, stage, work):
        """A trial's expected seconds in ``stage``."""
        rows, epochs = self.fidelity(stage)
        share = HALVING_USE if stage == COARSE else 1.0
        return self.trial_seconds + share * epochs * work.fits * self.row_seconds * work.units(rows or work.rows)

    def may_start(self, now, work):
        """Whether a trial of the stage in progress may start at ``now``."""
        if self.stage == COARSE:
            return now < self.coarse_end
        return now + self.trial_seconds_of(FINE, work) <= self.search_end

    def more(self, now, work, speed):
        """Trials of the stage in progress that fit in its time left at ``now``, at ``speed``: 0 when no
        trial may start."""
        if not self.may_start(now, work):
            return 0
        end = self.coarse_end if self.stage == COARSE else self.search_end
        measured = replace(self, row_seconds=speed.row_seconds, trial_seconds=speed.trial_seconds)
        return max(1, int((end - now) / measured.trial_seconds_of(self.stage, work)))

    def with_more(self, count):
        """The plan with ``count`` more trials in the stage in progress."""
        key = "coarse_trials" if self.stage == COARSE else "fine_trials"
        return replace(self, **{key: getattr(self, key) + count})

    def refit_epochs(self, now, row_seconds, work, guard):
        """The refit's epochs at ``now`` for a configuration of ``row_seconds``, the guard's retraining with it
        when ``guard``: the planned ones, or as many as the time left holds before the finish's last steps
        (at least 1)."""
        left = self.deadline - now - AFTER_REFIT_SECONDS - sum(
            EXTRA_SECONDS[name] for name in AFTER_REFIT_EXTRAS if self.extras[name])
        return max(1, min(self.epochs, int(left / (row_seconds * work.refit_units(guard)))))

    def to_attr(self):
        return asdict(self)

    @classmethod
    def from_attr(cls, attr):
        return cls(**attr)


@dataclass(frozen=True)
class Clock:
    """The command's clock: when it started (``time.time()``) and the seconds it may run."""

    started: float
    time_budget: float

    @property
    def deadline(self):
        return self.started + self.time_budget


def plan(clock, now, work, speed, wanted):
    """The plan at ``now`` for the command of ``clock``.

    ``wanted`` (artifacts key -> bool) says which extras the study asks for. An extra of
    :data:`EXTRA_SECONDS` runs when it takes at most :data:`EXTRA_SHARE` of the budget; trial figures
    are drawn for stage 2's trials when such a trial lasts long enough for the drawing to keep pace
    (twice :data:`FIGURE_SECONDS`).
    """
    extras = {name: wanted.get(name, True) and seconds <= EXTRA_SHARE * clock.time_budget
              for name, seconds in EXTRA_SECONDS.items()}
    timeplan = arrange(clock, now, work, speed, {**extras, "trial_plots": False})
    if wanted.get("trial_plots", True) and timeplan.trial_seconds_of(FINE, work) >= 2 * FIGURE_SECONDS:
        timeplan = arrange(clock, now, work, speed, {**extras, "trial_plots": True})
    return timeplan


def arrange(clock, now, work, speed, extras):
    """The plan with ``extras``: the finish's fixed part reserved first, then :data:`COARSE_SHARE` of what
    is left to stage 1, the rest to stage 2 and the refit's epochs."""
    finish = SUMMARY_SECONDS + AFTER_REFIT_SECONDS + FIGURE_SECONDS * extras["trial_plots"] + sum(
        seconds for name, seconds in EXTRA_SECONDS.items() if extras[name])
    available = max(0.0, clock.deadline - now - finish)
    coarse = COARSE_SHARE * available
    epochs, fine_trials, refit = fine_stage(available - coarse, work, speed)
    coarse_rows, coarse_epochs, coarse_trials = coarse_stage(coarse, work, speed, epochs)
    return TimePlan(time_budget=clock.time_budget, started=clock.started, finish_seconds=finish, extras=extras,
                    row_seconds=speed.row_seconds, trial_seconds=speed.trial_seconds,
                    epochs=epochs, coarse_epochs=coarse_epochs, coarse_rows=coarse_rows,
                    coarse_trials=coarse_trials, fine_trials=fine_trials, coarse_end=now + coarse,
                    search_end=clock.deadline - finish - refit * refit_seconds(epochs, work, speed), refit=refit,
                    enough=available - coarse >= refit_seconds(1, work, speed) + fine_seconds(1, work, speed))


def replan(timeplan, now, work, speed):
    """Stage 2 planned again at ``now``, when stage 1 ends, from the ``speed`` its trials measured."""
    available = max(0.0, timeplan.deadline - now - timeplan.finish_seconds)
    epochs, fine_trials, refit = fine_stage(available, work, speed)
    return replace(timeplan, row_seconds=speed.row_seconds, trial_seconds=speed.trial_seconds, epochs=epochs,
                   fine_trials=fine_trials, stage=FINE, refit=refit, search_end=timeplan.deadline
                   - timeplan.finish_seconds - refit * refit_seconds(epochs, work, speed))


def refit_seconds(epochs, work, speed):
    """The time reserved for the refit's ``epochs`` (and the guard's unless its model is kept), with
    :data:`SAFETY`."""
    return SAFETY * epochs * speed.row_seconds * work.refit_units()


def fine_seconds(epochs, work, speed):
    """A stage-2 trial's seconds for ``epochs``."""
    return speed.trial_seconds + epochs * work.fits * speed.row_seconds * work.units(work.rows)


def fine_stage(seconds, work, speed):
    """``(epochs, trials, refit)`` of stage 2 and the refit in ``seconds``: the most epochs (at most the
    study's) that :data:`FINE_TRIALS` trials and the refit hold, then as many trials as those epochs let fit
    (at least 1 trial of 1 epoch: a budget too small for that overruns). When those are fewer than the
    study's epochs, a refit that gains little and need not retrain the guard is given up for epochs."""
    epochs, trials = fine_epochs(seconds, work, speed, refit=True)
    if epochs < work.max_epochs and work.keeps_models and work.refit_gains_little():
        return *fine_epochs(seconds, work, speed, refit=False), False
    return epochs, trials, True


def fine_epochs(seconds, work, speed, refit):
    """``(epochs, trials)`` of stage 2 in ``seconds``, with the refit's reserve when ``refit``."""
    trial_epoch = speed.row_seconds * work.units(work.rows) * work.fits
    refit_epoch = refit * SAFETY * speed.row_seconds * work.refit_units()
    epochs = (seconds - FINE_TRIALS * speed.trial_seconds) / (FINE_TRIALS * trial_epoch + refit_epoch)
    epochs = int(max(1, min(work.max_epochs, epochs)))
    return epochs, max(1, int((seconds - epochs * refit_epoch) / fine_seconds(epochs, work, speed)))


def coarse_stage(seconds, work, speed, epochs):
    """``(rows, epochs, trials)`` of stage 1 in ``seconds``: :data:`COARSE_FRACTION` of the training rows
    (at least :data:`COARSE_MIN_ROWS`), a third of stage 2's ``epochs``, and as many trials as fit when
    each trains :data:`HALVING_USE` of its epochs (at least 1)."""
    rows = min(work.rows, max(COARSE_MIN_ROWS, round(COARSE_FRACTION * work.rows)))
    coarse_epochs = max(1, round(epochs * COARSE_EPOCHS))
    trial = speed.trial_seconds + HALVING_USE * coarse_epochs * work.fits * speed.row_seconds * work.units(rows)
    return rows, coarse_epochs, max(1, int(seconds / trial))


class PhasedStages(StagePlan):
    """:class:`search.study.stages.StagePlan` under a time plan: a trial's stage is the stage in progress
    when it starts (the plan's), not its position; a retried trial keeps its original's, as ever."""

    def __init__(self, spec, timeplan):
        super().__init__(spec)
        self.timeplan = timeplan

    @property
    def total(self):
        return self.timeplan.trials_before + self.timeplan.coarse_trials + self.timeplan.fine_trials

    def stage_of(self, trials, number):
        if retried_number(trials[number]) is not None:
            return super().stage_of(trials, number)
        return self.timeplan.stage - 1


class PhasePruner(optuna.pruners.BasePruner):
    """Successive halving over the epochs of stage 1's trials (rungs at a ninth, a third and all of its
    epochs); stage 2's trials are never pruned (only the search's end stops them)."""

    def __init__(self, coarse_epochs):
        self.halving = optuna.pruners.SuccessiveHalvingPruner(
            min_resource=max(1, coarse_epochs // HALVING_FACTOR ** 2), reduction_factor=HALVING_FACTOR)

    def prune(self, study, trial):
        return trial.user_attrs.get(STAGE) == COARSE and self.halving.prune(study, trial)


def planned_spec(spec, timeplan):
    """The study as the plan runs it: its two stages with the plan's trial counts (the file's narrowing
    and samplers kept), the extras as planned, and no baselines (boosted trees on large data take minutes
    that no plan can foresee)."""
    given = list(spec.stages) + [Stage(1, *default_narrowing(1))] * (2 - len(spec.stages))
    stages = [replace(given[0], n_trials=timeplan.coarse_trials), replace(given[1], n_trials=timeplan.fine_trials)]
    return replace(spec, stages=stages, baselines=False, artifacts={**spec.artifacts, **timeplan.extras})


def describe(timeplan, work):
    """The plan in one line, times from the command's start."""
    def at(moment):
        return f"{moment - timeplan.started:.1f} s"

    epoch = timeplan.row_seconds * work.units(work.rows)
    refit = "refit" if timeplan.refit else "no refit (its time went to stage 2's epochs)"
    off = [EXTRA_WORDS[name] for name, on in timeplan.extras.items() if not on] + ["baselines"]
    return (f"time plan for {timeplan.time_budget:g} s: an epoch of all {work.rows} training rows takes "
            f"{epoch:.3g} s, a trial {timeplan.trial_seconds:.2g} s beside its epochs; "
            f"stage 1: {timeplan.coarse_trials} trials of up to {timeplan.coarse_epochs} epochs on "
            f"{timeplan.coarse_rows} rows, successive halving, until {at(timeplan.coarse_end)}; "
            f"stage 2: {timeplan.fine_trials} trials of {timeplan.epochs} epochs on every row, until "
            f"{at(timeplan.search_end)}; then the summary, {refit} and registration "
            f"({timeplan.deadline - timeplan.search_end:.1f} s kept); off: {', '.join(off)}"
            + ("" if timeplan.enough else "; the time left holds no trial and refit: one trial runs, and the "
                                          "budget is overrun"))
