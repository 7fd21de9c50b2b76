"""``search.run_study``: what ``python -m search run`` does, called from Python, with the rows in memory if wished.

The same path as the command line: the study file (or the same mapping
as a dict) is checked by :func:`search.study.file.load_study`, the options as
the flags are, and :func:`search.service.run` runs it. A bad value raises the
one-line error the command line prints (``StudyFileError``, ``DataError``,
``OptionError``, ...: ``ValueError`` all) instead of exiting.
"""

from dataclasses import dataclass, field
from pathlib import Path

import yaml
from optuna.trial import TrialState

from .cli import prepare
from .context import OPTION_KEYWORDS, OptionError, Options, check_quick
from .data.memory import InMemory
from .study.file import load_study, read_study

STUDY_DICT = Path("<study dict>")  # what messages call a study given as a dict


@dataclass(frozen=True)
class StudyResult:
    """What :func:`run_study` ran and registered.

    Attributes
    ----------
    study_name : str
    model_uri : str or None
        The champion (``models:/<name>/<version>`` when registered, else the logged model's
        ``models:/m-<id>``); None when no trial completed.
    best_value : float or None
        The best trial's objective (the study's ``objective.metric`` on the validation rows).
    best_params : dict
        The best trial's searched values, by the study file's names.
    best_trial : int or None
    test_scores : dict
        The champion's scores on the test rows (``test_accuracy``, ``test_loss``; for a regression
        ``test_r2``, ...); empty when nothing changed since the registered version (a finished study run again).
    baseline_scores : dict
        Each baseline's test scores by name (``dummy``, ``linear``, ``hist_gradient_boosting``), when fitted.
    parent_run_id : str
        This invocation's MLflow parent run.
    """

    study_name: str
    model_uri: str | None
    best_value: float | None
    best_params: dict = field(default_factory=dict)
    best_trial: int | None = None
    test_scores: dict = field(default_factory=dict)
    baseline_scores: dict = field(default_factory=dict)
    parent_run_id: str = None


def run_study(study, data=None, test_data=None, **options):
    """Create or resume a study and run it, as ``python -m search run`` does; return its champion.

    Parameters
    ----------
    study : str, os.PathLike or dict
        A study file, or its mapping as a dict (``yaml.safe_load`` of one).
    data : pandas.DataFrame or tuple (X, y), optional
        Rows in place of the study's dataset file. A DataFrame is read as the ``table`` dataset reads
        its file: the study's ``dataset.target`` names the column to predict. ``(X, y)`` with X a DataFrame
        is the same table with y as its target (named by the study, else by y, else ``target``); with X an
        array (images as ``(n, height, width[, channels])`` or flat rows), as the ``npz`` dataset reads X and y.
        The study's other dataset options (``scaling``, ``subset``, ``validation_fraction``...) apply.
    test_data : pandas.DataFrame or tuple (X, y), optional
        Test rows of the same form; without it, a fixed 20% of ``data`` (stratified for classes).
    **options :
        The command line's flags as keywords: ``n_trials``, ``timeout`` (0 or None: no limit), ``time_budget``
        (seconds from the call, for the file's ``budget``), ``workers`` (1 with ``data``: other processes
        cannot reach rows in memory), ``storage``, ``tracking_uri`` (defaults as the command's:
        ``$OPTUNA_STORAGE``, ``$MLFLOW_TRACKING_URI``, else files in the working folder) and ``quick``.

    Returns
    -------
    StudyResult

    Raises
    ------
    TypeError
        For a keyword it does not take.
    ValueError
        The command line's one-line errors (``StudyFileError``, ``DataError``, ``OptionError``,
        ``StorageError``), raised before anything is written.
    search.tracking.TrackingError
        A tracking server that does not answer at the start, or goes away during the study.
    """
    checked, quick, rows = _checked(options, data, test_data)
    prepare(checked.storage_url, checked.tracking_uri)
    from . import service

    return result_of(service.run(_spec(study, rows, quick, checked.time_budget), checked, rows))


def _checked(options, data, test_data):
    """``(Options, quick, rows)`` of :func:`run_study`'s arguments, each checked as the command line's."""
    for key in options:
        if key not in (*OPTION_KEYWORDS, "quick"):
            raise TypeError(f"run_study() got an unexpected keyword argument {key!r}")
    quick = options.get("quick", False)
    if not isinstance(quick, bool):
        raise OptionError(f"quick must be True or False, got {quick!r}")
    checked = Options.of(**{key: value for key, value in options.items() if key != "quick"})
    check_quick(quick, checked.time_budget)
    if data is None and test_data is not None:
        raise OptionError("test_data is given without data; give both, or put the rows in the study's dataset")
    rows = None if data is None else InMemory(data, test_data)
    if rows is not None and checked.workers > 1:
        raise OptionError(f"workers={checked.workers}: rows in memory reach no other process; use workers=1, "
                          "or save the rows as a table file and name it in the study's dataset.path")
    return checked, quick, rows


def _spec(study, rows, quick, time_budget=None):
    """The checked study: a file or a dict, its dataset replaced by ``rows`` when given, its time budget by
    ``time_budget``."""
    if isinstance(study, dict):
        path, text, raw = STUDY_DICT, yaml.safe_dump(study, sort_keys=False), study
    else:
        path = Path(study)
        text, raw = read_study(path)
    overrides = None if rows is None else {"dataset": rows.dataset(raw.get("dataset"))}
    return load_study(path, overrides=overrides, text=text, quick=quick, time_budget=time_budget)


def result_of(outcome):
    """The :class:`StudyResult` of :func:`search.service.run`'s dict."""
    study = outcome["study"]
    completed = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    best = outcome.get("best", study.best_trial) if completed else None
    champion = outcome.get("champion")
    compared = getattr(champion, "baselines", None)
    return StudyResult(
        study_name=study.study_name, model_uri=outcome.get("model_uri"),
        best_value=best.value if best else None, best_params=dict(best.params) if best else {},
        best_trial=best.number if best else None, test_scores=dict(outcome.get("scores") or {}),
        baseline_scores={scored.name: dict(scored.scores) for scored in compared.scored} if compared else {},
        parent_run_id=outcome["parent_run_id"])
