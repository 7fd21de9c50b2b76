"""Study files: YAML read with ``yaml.safe_load`` and checked before anything runs.

Every problem is a :class:`StudyFileError` whose message is one line naming
the file and the key, so the command line can print it and exit with code 2
before touching Optuna or MLflow. Here are the spec, reading the file and its
quick form; the key-by-key checker is :mod:`search.study.checks`.
"""

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .checks import Checker, StudyFileError
from .space import SearchSpace


@dataclass
class StudySpec:
    """A checked study file."""

    name: str
    path: Path
    dataset: dict
    estimator: dict
    space: SearchSpace
    metric: str = "val_accuracy"
    direction: str = "maximize"
    task: str = "classification"  # a key of search.study.task.TASKS
    epochs: int = 20
    repeats: int = 1
    seeds: list = field(default_factory=lambda: [0])
    stages: list = field(default_factory=list)
    timeout: float | None = None
    time_budget: float | None = None  # seconds the whole command may take (budget: {time: ...}); None: no limit
    sampler: dict = field(default_factory=lambda: {"name": "tpe"})
    pruner: dict = field(default_factory=lambda: {"name": "median"})
    register: dict | None = None
    artifacts: dict = field(default_factory=dict)
    baselines: bool = True  # fit and score search.outcome.baselines beside the champion
    description: str = ""
    text: str = ""  # the file as written, kept with the study for workers

    @property
    def n_trials(self):
        return sum(stage.n_trials for stage in self.stages)


QUICK_EPOCHS, QUICK_TRIALS, QUICK_REPEATS = 2, 2, 2
QUICK_ROWS = {"subset": 600, "test_subset": 300}
QUICK_VALIDATION_FRACTION = 0.25


def quick_overrides(raw):
    """The keys that turn a study into its quick form (``run --quick``).

    The same estimator, space, sampler, pruner and stages on a few hundred rows,
    for 2 epochs, at most 2 repeats and 2 trials (1 per stage), no time limit or budget,
    nothing registered and no MLflow evaluation of the champion (seconds of
    figures): a check that a study file works, in seconds, before its full run. It is a study of its own, ``<name>_quick``, so that its trials
    never count against the full study's budget.

    Values of the wrong type are left as they are, for the checker to name.
    """
    dataset = raw.get("dataset") or "digits"
    dataset = {"name": dataset} if isinstance(dataset, str) else dataset
    epochs = raw.get("epochs", QUICK_EPOCHS)
    overrides = {
        "name": f"{raw['name']}_quick",
        "dataset": quick_dataset(dataset) if isinstance(dataset, dict) else dataset,  # else: checked later
        "epochs": min(QUICK_EPOCHS, epochs) if isinstance(epochs, int) else epochs,
        "timeout": None,
        "budget": None,
        "register": False,
    }
    artifacts = raw.get("artifacts") or {}
    if isinstance(artifacts, dict):  # MLflow's evaluation of the champion takes seconds (else: checked later)
        overrides["artifacts"] = {**artifacts, "evaluate": False}
    repeats, seeds, stages = raw.get("repeats", 1), raw.get("seeds"), raw.get("stages")
    if isinstance(repeats, int) and repeats > QUICK_REPEATS:
        overrides["repeats"] = QUICK_REPEATS
        if isinstance(seeds, list):
            overrides["seeds"] = seeds[:QUICK_REPEATS]
    if isinstance(stages, list) and all(isinstance(stage, dict) for stage in stages):
        overrides["stages"] = [{**stage, "n_trials": 1} for stage in stages]
    elif stages is None and isinstance(raw.get("n_trials", 0), int):
        overrides["n_trials"] = min(QUICK_TRIALS, raw.get("n_trials", QUICK_TRIALS))
    return overrides


def quick_dataset(dataset):
    """A few hundred rows of the study's data; a fixed validation size becomes a fraction of them."""
    quick = {**dataset, **QUICK_ROWS}
    if quick.pop("validation_size", None) is not None:
        quick["validation_fraction"] = QUICK_VALIDATION_FRACTION
    return quick


def load_study(path=None, overrides=None, text=None, quick=False, time_budget=None):
    """Read and check a study file.

    Parameters
    ----------
    path : str or Path
        The file; with ``text``, only the name used in messages.
    overrides : dict, default=None
        Top-level keys that replace the file's.
    text : str, default=None
        The file's content, when it does not come from ``path`` (a worker
        reads it from the study's storage).
    quick : bool, default=False
        Load the study's quick form (:func:`quick_overrides`), after ``overrides``.
    time_budget : float, default=None
        Seconds in place of the file's ``budget`` (``--time-budget``); None: the file's.

    Returns
    -------
    StudySpec

    Raises
    ------
    StudyFileError
        One line naming the file and the key.
    """
    path = Path(path)
    text, raw = read_study(path, text)
    merged = {**raw, **(overrides or {}), **({"budget": {"time": time_budget}} if time_budget else {})}
    if quick:
        merged.update(quick_overrides({"name": path.stem, **merged}))
    checker = Checker(path)
    spec = StudySpec(**checker.fields(merged))
    checker.builds(spec)
    # Workers rebuild the study from this text: it must hold the overrides too.
    spec.text = yaml.safe_dump(merged, sort_keys=False) if merged != raw else text
    return spec


def read_study(path, text=None):
    """The file's text (``text`` when given) and its YAML mapping, unchecked; a StudyFileError when it has none."""
    try:
        text = path.read_text() if text is None else text
        raw = yaml.safe_load(text)
    except OSError as error:
        raise StudyFileError(f"{path}: cannot read the study file ({error.strerror})") from None
    except UnicodeDecodeError as error:
        raise StudyFileError(f"{path}: not a UTF-8 text file (byte {error.start}: "
                             f"{error.object[error.start:error.start + 1]!r})") from None
    except yaml.YAMLError as error:
        where = getattr(error, "problem_mark", None)
        line = f" at line {where.line + 1}" if where else ""
        problem = " ".join(str(getattr(error, "problem", None) or "").split())
        raise StudyFileError(f"{path}: not valid YAML{line}{': ' + problem if problem else ''}") from None
    if not isinstance(raw, dict):
        raise StudyFileError(f"{path}: a study file is a mapping of keys, got {type(raw).__name__}")
    return text, raw
