"""The Markdown of a report: number formats, tables, and the sections that are tables or lines."""

import math

import numpy as np

from ..outcome.baselines import BASELINES, PREFIX as BASELINE_PREFIX
from ..plots.style import rounded
from ..study.metrics import best
from ..study.task import TASKS
from ..tracking.names import CHAMPION_SOURCE
from ..tracking.states import COMPLETE, FAIL, PRUNED
from .collect import final_value, numbered, test_score


def fmt(value, digits=4):
    if value is None:
        return "-"
    if isinstance(value, str):
        return value
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if value != 0 and (abs(value) < 1e-3 or abs(value) >= 1e5):
        return f"{value:.{digits - 1}e}"
    return f"{value:.{digits - 1}f}" if abs(value) >= 1 else f"{value:.{digits}f}"


def cell(value):
    text = fmt(rounded(value))
    return text.replace("|", "\\|").replace("\n", " ")


def table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def trials_section(trials, names, metric, several_parents):
    score, score_words = test_score(t.metrics for t in trials)
    header = ["trial"] + (["invocation"] if several_parents else []) + ["stage", "state"] + names + [
        "epochs", metric, f"{metric} std", score_words, "test loss", "fail reason"]
    rows = []
    for t in trials:
        epochs = t.histories.get("train_loss")
        rows.append([str(t.number)] + ([str(t.parent + 1)] if several_parents else []) + [
            _stage(t.stage), t.state]
            + [t.params.get(n, "-") for n in names]
            + [str(len(epochs)) if epochs else "-",
               final_value(t, metric) if t.state == COMPLETE else None,
               t.metrics.get(f"{metric}_std") if t.state == COMPLETE else None,
               t.metrics.get(score), t.metrics.get("test_loss"),
               t.fail_reason if t.state in (FAIL, PRUNED) else ""])
    return table(header, rows)


def _stage(logged):
    """Stages are logged from 1, as ``python -m search run`` prints them."""
    return str(logged)


def gradient_section(rows, names):
    """``rows``: ``(trial, first, last)``, as :func:`search.reporting.figures.gradient_rows`."""
    header = ["trial", *names, "layers", "epoch 1: first layer", "epoch 1: last layer", "epoch 1: first/last",
              "last epoch: first layer", "last epoch: last layer"]
    body = []
    for trial, first, last in rows:
        if not first:
            continue
        lo, hi = min(first), max(first)
        ratio = first[lo][1] / first[hi][1] if first[hi][1] else None
        body.append([str(trial.number), *[trial.params.get(n, "-") for n in names], str(len(first)),
                     first[lo][1], first[hi][1], ratio, last[lo][1], last[hi][1]])
    return table(header, body)


def _prelu_cells(trial, layers):
    """The final slope of each layer: ``(cells, from_repeats)``, mean ± std where each repeat's is logged."""
    cells, from_repeats = [], False
    for layer in layers:
        repeats = numbered(trial.metrics, f"prelu_slope_layer{layer}_repeat{{}}")
        if repeats:
            from_repeats = True
            values = list(repeats.values())
            cells.append(f"{fmt(float(np.mean(values)))} ± {fmt(float(np.std(values)))}")
        else:
            cells.append(trial.metrics.get(f"prelu_slope_layer{layer}"))
    return cells, from_repeats


def prelu_section(trials, names):
    """Final PReLU slope per layer: the mean over repeats where each repeat's slope is logged."""
    rows, from_repeats = [], False
    layers = sorted({i for t in trials for i in numbered(t.metrics, "prelu_slope_layer{}")})
    for trial in trials:
        cells, repeated = _prelu_cells(trial, layers)
        from_repeats = from_repeats or repeated
        losses = numbered(trial.metrics, "train_loss_repeat{}")
        loss = float(np.mean(list(losses.values()))) if losses else trial.metrics.get("train_loss")
        if any(c is not None for c in cells):
            rows.append([str(trial.number), *[trial.params.get(n, "-") for n in names], *cells, loss])
    note = ("Mean ± std over the repeats." if from_repeats else
            "The first repeat's slopes only: the trial runs log per-epoch PReLU slopes of repeat 0 "
            "and no per-repeat final slopes (prelu_slope_layer<i>_repeat<r>), so no mean over "
            "repeats can be formed.")
    return table(["trial", *names, *[f"layer {i}" for i in layers], "final train loss"], rows) + "\n\n" + note


def seeds_section(trials, names, metric, seeds):
    rows, width = [], 0
    for trial in trials:
        repeats = numbered(trial.metrics, metric + "_repeat{}")
        if len(repeats) < 2:
            continue
        width = max(width, len(repeats))
        values = list(repeats.values())
        rows.append((trial, values))
    if not rows:
        return None
    labels = [f"seed {seeds[i]}" if seeds and i < len(seeds) else f"repeat {i}" for i in range(width)]
    body = [[str(t.number), *[t.params.get(n, "-") for n in names], *values, *[None] * (width - len(values)),
             float(np.mean(values)), float(np.std(values))] for t, values in rows]
    return table(["trial", *names, *labels, "mean", "std"], body)


def header_section(context):
    """The report's title and its lines on the runs, the trials, the data, the settings and the best."""
    parents, trials = context.parents, context.trials
    lines = [f"# Study `{context.name}`", ""]
    description = context.spec.description if context.spec is not None else ""
    if description:
        lines += [description, ""]
    counts = {}
    for t in trials:
        counts[t.state] = counts.get(t.state, 0) + 1
    lines += [
        f"- MLflow experiment `{parents[-1].info.experiment_id}`, {len(parents)} invocation(s) "
        f"(parent runs, oldest first: {', '.join(f'`{p.info.run_id}` {p.info.status}' for p in parents)})",
        f"- trials: {len(trials)} ({', '.join(f'{n} {s}' for s, n in sorted(counts.items()))})",
    ]
    if context.optuna_summary:
        lines.append(f"- Optuna storage: {context.optuna_summary}")
    lines = lines + setting_lines(context) + best_lines(context)
    baselines = baselines_table(context.parents)
    return "\n".join(lines + (["", baselines] if baselines else []))


def setting_lines(context):
    """The header's lines on the data, the study's settings and its fixed and searched parameters."""
    params, lines = context.params, []
    if "dataset" in params:
        lines.append(f"- data: {params['dataset']}, {params.get('n_train', '?')} training, "
                     f"{params.get('n_val', '?')} validation, {params.get('n_test', '?')} test rows")
    settings = [f"{k} {params[k]}" for k in ("epochs", "repeats", "trial_budget", "sampler", "pruner")
                if k in params]
    if settings:
        lines.append(f"- {', '.join(settings)}; objective {context.metric} ({context.direction})")
    fixed = {k[6:]: v for k, v in params.items() if k.startswith("fixed.")}
    if fixed:
        lines.append("- fixed: " + ", ".join(f"{k}={v}" for k, v in sorted(fixed.items())))
    if context.space:
        lines.append("- searched: " + ", ".join(f"{k} {v}" for k, v in context.space.items()))
    return lines


def best_lines(context):
    """The header's lines on the best trial and on the registered model, where there are some."""
    parents, trials, metric, lines = context.parents, context.trials, context.metric, []
    score, score_words = test_score([t.metrics for t in trials] + [p.data.metrics for p in parents])
    complete = [t for t in trials if t.state == COMPLETE and final_value(t, metric) is not None]
    top = best(complete, context.direction, lambda t: final_value(t, metric))
    if top is not None:
        lines.append(f"- best trial: {top.number} ({top.label(context.names)}), "
                     f"{metric} {fmt(final_value(top, metric))}, {score_words} "
                     f"{fmt(top.metrics.get(score))}, test loss {fmt(top.metrics.get('test_loss'))}")
    champion = next((p for p in reversed(parents) if score in p.data.metrics), None)
    if champion is not None:
        source = champion.data.tags.get(CHAMPION_SOURCE, "refit")
        which = ("best refit on train + validation" if source == "refit"
                 else f"registered model ({source})")
        lines.append(f"- {which} (run `{champion.info.run_id}`): {score_words} "
                     f"{fmt(champion.data.metrics[score])}, test loss "
                     f"{fmt(champion.data.metrics.get('test_loss'))}")
    return lines


def baseline_scores(metrics):
    """``{name: {test metric: value}}`` from a parent run's ``baseline_<name>_<test metric>`` metrics."""
    scores = {}
    for key, value in metrics.items():
        if key.startswith(BASELINE_PREFIX) and "_test_" in key:
            name, metric = key[len(BASELINE_PREFIX):].split("_test_", 1)
            scores.setdefault(name, {})[f"test_{metric}"] = value
    return scores


def baselines_table(parents):
    """The newest invocation's baselines beside its champion, a row each; None when none logged any
    (studies run before baselines, or with ``baselines: false``)."""
    parent = next((p for p in reversed(parents) if baseline_scores(p.data.metrics)), None)
    if parent is None:
        return None
    scores = baseline_scores(parent.data.metrics)
    known = [name for task in BASELINES.values() for name in task]
    names = sorted(scores, key=lambda n: (known.index(n) if n in known else len(known), n))
    words = {key: text for task in TASKS.values() for key, text in task.test_words.items()}
    keys = [key for key in words if any(key in s for s in scores.values())]
    rows = [[name, *[scores[name].get(key) for key in keys]] for name in names]
    rows.append(["champion", *[parent.data.metrics.get(key) for key in keys]])
    return ("Baselines on the test rows (run `" + parent.info.run_id + "`; the study's preprocessing, "
            "fitted on the training + validation rows as the champion):\n\n"
            + table(["model", *[words[key] for key in keys]], rows))
