"""``python -m search report <study>``: a Markdown report of a study, from what MLflow holds.

The report reads the study's MLflow runs (:mod:`.collect`). It writes
``report.md`` with a table of the trials (:mod:`.sections`) and PNG figures
redrawn from the tracked per-epoch metrics (:mod:`.figures`), and logs them
under ``report/`` on the latest parent run:

- test loss and accuracy against each searched parameter, failed (diverged)
  trials marked (seed 000's test loss per slope; seed 004's table by depth);
- learning curves of the trials overlaid (seed 003);
- the largest weight-gradient norm per layer at the first and last epoch
  (seed 004);
- the learned PReLU slope of each layer (seed 000, problem 2);
- the objective under each seed of the repeats, with mean and std (seed 003);
- for studies of at most four trials, each trial's confusion matrix and top-3
  scored images as logged by the trial (seed 002).

An Optuna storage is optional: given, its trial states and fail reasons take
precedence over the MLflow tags (they are the same unless a write was lost).
"""

import os

from ..plots import report as plots, style
from . import figures
from .collect import ReportError, collect, numbered, trial_artifacts
from .sections import gradient_section, header_section, prelu_section, seeds_section, trials_section

__all__ = ["ARTIFACT_FOLDER", "REPORT_FILE", "ReportError", "report"]

REPORT_FILE = "report.md"
ARTIFACT_FOLDER = "report"
SMALL_STUDY = 4  # at most this many trials: their own logged figures are shown too


class Sections:
    """The report's Markdown sections, and the figure files they show."""

    def __init__(self):
        self.texts, self.files = [], []

    def add(self, text):
        self.texts.append(text)

    def figure(self, title, path, caption=""):
        self.files.append(path)
        self.add(f"### {title}\n\n![{title}]({path.name})" + (f"\n\n{caption}" if caption else ""))

    def markdown(self):
        return "\n\n".join(self.texts) + "\n"


def report(study_name_or_file, storage=None, tracking_uri=None, out_dir=None):
    """Write ``report.md`` and its figures for a study, and log them on its latest parent run.

    Parameters
    ----------
    study_name_or_file : str or Path
        The study's name, or its study file (for its name and seeds).
    storage : str, default=None
        An Optuna storage URL; optional, its trial states take precedence.
    tracking_uri : str, default=None
        MLflow tracking URI; default ``$MLFLOW_TRACKING_URI``, else ``sqlite:///mlflow.db``.
    out_dir : str or Path, default=None
        Where to write; default ``reports/<study>`` in the working folder.

    Returns
    -------
    Path
        The written ``report.md``.

    Raises
    ------
    StudyFileError, TrackingUnreachable, ReportError
        One line each: a bad study file, no tracking server, no runs of the study.
    """
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    context = collect(study_name_or_file, storage, tracking_uri, out_dir)
    context.folder.mkdir(parents=True, exist_ok=True)
    sections = Sections()
    sections.add(header_section(context))
    with style.style():  # the figures' one style, whatever was drawn before in this process
        _body(context, sections)
    path = context.folder / REPORT_FILE
    path.write_text(sections.markdown())
    latest = context.parents[-1].info.run_id
    for file in [path, *sections.files]:
        context.client.log_artifact(latest, str(file), ARTIFACT_FOLDER)
    return path


def _body(context, sections):
    """Append the trial table and the figure sections."""
    trials, names, metric = context.trials, context.names, context.metric
    sections.add("## Trials\n\n" + (trials_section(trials, names, metric, len(context.parents) > 1)
                                    if trials else "No trial runs yet."))
    if not trials:
        return
    sections.add(f"`{metric}` is the mean over the repeats of the final epoch's value; test "
                 "scores are the mean over the repeats on the test set (reported, never used "
                 "to choose). A FAIL trial's reason is its divergence or error.")
    sections.add("## Figures")
    moving = figures.varying(trials, names)
    _param_sections(context, moving, sections)
    _training_sections(context, moving or names, sections)
    variance = seeds_section(trials, moving or names, metric, context.spec.seeds if context.spec is not None else None)
    if variance:
        sections.add(f"## {metric} under each seed\n\n{variance}")
    if len(trials) <= SMALL_STUDY:
        _trial_artifacts_section(context, sections)


def _param_sections(context, moving, sections):
    """The test scores against each of the (first eight) varying parameters."""
    for param in moving[:8]:
        others = [o for o in moving if o != param]
        info = figures.param_info(context.trials, param, others, context.metric,
                                  log=context.space.get(param, "").endswith(" log"))
        sections.figure(f"Test scores per {param}", plots.param_figure(info, context.folder / f"test_vs_{param}.png"),
                        "Complete trials; a red cross marks a value whose training failed (diverged).")


def _training_sections(context, names, sections):
    """Learning curves, gradient norms and PReLU slopes of the trials drawn."""
    client, trials, folder = context.client, context.trials, context.folder
    drawn = figures.chosen(trials, context.metric, context.direction)
    sections.figure("Learning curves", figures.draw_curves(client, drawn, names, folder / "learning_curves.png"),
                    "" if len(drawn) == len(trials) else f"The {len(drawn)} best trials of {len(trials)}.")
    rows = figures.gradient_rows(client, drawn)
    if rows:
        sections.figure("Largest weight-gradient norm per layer",
                        plots.gradients_figure(figures.gradient_lines(rows, names), folder / "gradient_norms.png"),
                        "grad_norm_max_layer<i>: the largest norm of layer i's weight gradient over the "
                        "epoch's batches (layer 0 is next to the input).\n\n" + gradient_section(rows, names))
    prelu = [t for t in trials if numbered(t.metrics, "prelu_slope_layer{}")]
    if prelu:
        sections.add("## PReLU slopes after training\n\n" + prelu_section(prelu, names))
        sections.figure("PReLU slopes per epoch", figures.draw_prelu(
            client, figures.chosen(prelu, context.metric, context.direction), names, folder / "prelu_slopes.png"))


def _trial_artifacts_section(context, sections):
    """A small study's own logged confusion matrices and top-3 images."""
    shown = trial_artifacts(context.client, context.trials, context.folder)
    if shown:
        sections.add("## Confusion matrices and top-3 scored images (validation set)\n\n"
                     "As each trial logged them; the confusion matrix is normalised over the "
                     "predicted label.\n\n" + "\n\n".join(
                         f"trial {t.number} ({t.label(context.names)}): ![{p.name}]({p.name})" for t, p in shown))
        sections.files += [p for _, p in shown]

