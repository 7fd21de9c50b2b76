"""The model registry: one version per new champion candidate, tagged so versions can be told apart.

A candidate is identified by its study, trial, data fingerprint and training
configuration; a candidate already registered is not registered again. The
alias (``champion``) moves to a new version only when its trial scored better
by the study's objective than the version the alias points to.
"""

import hashlib
import json

from mlflow.exceptions import MlflowException

from ..study.metrics import better
from .names import DATA_FINGERPRINT, PARENT_RUN_ID, STUDY

# Tags that identify a candidate: equal tags, same model.
IDENTITY_TAGS = (STUDY, "trial", DATA_FINGERPRINT, "config")


def config_digest(params, seed):
    """12 hex digits naming an estimator configuration and its seed."""
    text = json.dumps({"params": params, "seed": seed}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def find_version(client, name, tags):
    """The newest version of ``name`` whose identity tags equal ``tags``', or None."""
    try:
        versions = client.search_model_versions(f"name = '{name}'")
    except MlflowException:
        return None  # no such registered model yet
    same = [v for v in versions if all(v.tags.get(key) == str(tags[key]) for key in IDENTITY_TAGS)]
    return max(same, key=lambda v: int(v.version), default=None)


def champion(client, name, alias):
    """The version ``alias`` points to, or None."""
    try:
        return client.get_model_version_by_alias(name, alias)
    except MlflowException:
        return None


def is_better(tags, current, direction):
    """Whether a candidate with ``tags`` should take the alias from version ``current``.

    Returns
    -------
    better : bool
    why : str
    """
    if current is None:
        return True, "there was no champion"
    if current.tags.get("objective") != tags["objective"] or "objective_value" not in current.tags:
        return True, f"version {current.version} has no {tags['objective']} to compare"
    new, old = float(tags["objective_value"]), float(current.tags["objective_value"])
    moves = better(new, old, direction)
    relation = "better than" if moves else "not better than"
    return moves, f"{tags['objective']} {new:.4f} is {relation} version {current.version}'s {old:.4f}"


def version_tags(spec, best, run_id, data, params):
    """What tells the champion candidate of trial ``best`` apart from other versions
    (:data:`IDENTITY_TAGS`) and ranks it (``objective``, ``objective_value``)."""
    return {STUDY: spec.name, "trial": best.number, PARENT_RUN_ID: run_id,
            DATA_FINGERPRINT: data.fingerprint, "config": config_digest(params, spec.seeds[0]),
            "objective": spec.metric, "objective_value": f"{best.value:.6f}"}


def register(client, spec, model_uri, tags, description):
    """Register ``model_uri`` as a new version of the study's registered model; move its alias if
    the candidate is better.

    Parameters
    ----------
    spec : search.study.file.StudySpec
        Its ``register`` (``name``, ``alias``) and ``direction``.

    Returns
    -------
    uri : str
        The new version's ``models:/<name>/<version>``.
    line : str
        What was registered, and whether the alias moved and why.
    """
    import mlflow

    name, alias = spec.register["name"], spec.register["alias"]
    current = champion(client, name, alias)
    version = mlflow.register_model(model_uri, name, tags={k: str(v) for k, v in tags.items()}).version
    client.update_model_version(name, version, description=description)
    moved, why = is_better(tags, current, spec.direction)
    if moved:
        client.set_registered_model_alias(name, alias, version)
    line = (f"registered {name} version {version}; {alias} {'moved to it' if moved else 'stays'} ({why}): "
            f"models:/{name}@{alias}" + ("" if moved else f", this one models:/{name}/{version}"))
    return f"models:/{name}/{version}", line


def unchanged(client, register, version):
    """What to say when ``version`` already holds this candidate: nothing registered, the alias left."""
    name, alias = register["name"], register["alias"]
    current = champion(client, name, alias)
    where = (f"{alias} is version {current.version}" if current is not None else f"no {alias}")
    return (f"nothing changed since {name} version {version.version} (study {version.tags[STUDY]}, "
            f"trial {version.tags['trial']}, same data): no refit, no new version; {where}")
