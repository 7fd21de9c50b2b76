"""``python -m search run --dataset NAME|FILE``: the service chooses the study, writes it beside the stores,
and the command runs the written file.

The study (:mod:`search.study.recipes`, for the kind of data :mod:`search.study.datakind` finds) is written
as ``<name>.yaml`` in the stores' folder: the MLflow tracking database's (a ``sqlite:///`` URI), else the
Optuna journal's or SQLite file's, else (both stores are servers) the working folder. The command then runs
it as ``python -m search run <name>.yaml`` would, so that the user can edit it and run it again.

A file of that name is never overwritten: the same study (the same command again) is run as it is, which
resumes the study; any other content (an edited study, another file) is refused in one line (exit 2).
"""

import os
from pathlib import Path

from . import tracking
from .context import Options
from .stores.storage import beside_tracking, is_journal, JOURNAL_PREFIX
from .study.checks import StudyFileError
from .study.datakind import KINDS, data_kind
from .study.file import load_study
from .study.recipes import RECIPES, study_text


def written_study(source, target=None, options=None, time_budget=None):
    """Write the study for ``--dataset source`` beside the stores (unless that very file is there) and say so.

    Returns the file's path. Bad data, a study the checks refuse, or another file of that name raise their
    one-line error before anything is written.
    """
    data = data_kind(source, target)
    text = study_text(data, time_budget)
    path = stores_folder(options or Options()) / f"{data.name}.yaml"
    load_study(path, text=text)  # checked as any study file is, before it is written
    done = keep_or_write(path, text)
    shown, dropped = shown_path(path), data.dataset.get("drop")
    print(f"study: {done} {shown}, the service's study for {KINDS[data.kind]} (from {RECIPES[data.kind].source}"
          f"{'; it drops ' + ', '.join(map(str, dropped)) + ': free text, ids or dates' if dropped else ''}); "
          f"edit it and rerun it with: python -m search run {shown}", flush=True)
    return path


def stores_folder(options):
    """The folder of the stores: the tracking database's, else the Optuna file's, else the working folder."""
    tracking_uri = tracking.resolve_uri(options.tracking_uri)
    file = tracking.sqlite_file(tracking_uri)
    if file is None:
        storage = options.storage_url or os.environ.get("OPTUNA_STORAGE") or beside_tracking(tracking_uri)
        file = storage.removeprefix(JOURNAL_PREFIX) if is_journal(storage) else tracking.sqlite_file(storage)
    return Path(file).absolute().parent if file else Path.cwd()


def keep_or_write(path, text):
    """Write ``text`` to ``path`` unless the file holds it already; what was done, as words."""
    if path.exists():
        try:
            same = path.read_text() == text
        except (OSError, UnicodeDecodeError):
            same = False
        if not same:
            raise StudyFileError(f"{path} exists and is not the study --dataset writes; run it with "
                                 f"python -m search run {shown_path(path)}, or move it away")
        return "kept (unchanged)"
    try:
        path.write_text(text)
    except OSError as error:
        raise StudyFileError(f"{path}: cannot write the study ({error.strerror})") from None
    return "wrote"


def shown_path(path):
    """``path`` as a command line in the working folder would name it."""
    relative = os.path.relpath(path)
    return path if relative.startswith("..") else Path(relative)
