"""The model registry: one version per new champion candidate, tagged so versions can be told apart.

A candidate is identified by its study, trial, data fingerprint and training
configuration; a candidate already registered is not registered again. The
alias (``champion``) moves to a new version only when its trial scored better
by the study's objective than the version the alias points to.
"""

import hashlib
import json

from mlflow.exceptions import MlflowException

from .names import STUDY

# Tags that identify a candidate: equal tags, same model.
IDENTITY_TAGS = (STUDY, "trial", "data_fingerprint", "config")


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
    better = new > old if direction == "maximize" else new < old
    relation = "better than" if better else "not better than"
    return better, f"{tags['objective']} {new:.4f} is {relation} version {current.version}'s {old:.4f}"


def register(client, model_uri, name, alias, tags, description, direction):
    """Register ``model_uri`` as a new version of ``name``; move ``alias`` if it is better.

    Returns
    -------
    version : str
    moved : bool
    why : str
        Why the alias moved or stayed.
    """
    import mlflow

    current = champion(client, name, alias)
    version = mlflow.register_model(model_uri, name, tags={k: str(v) for k, v in tags.items()}).version
    client.update_model_version(name, version, description=description)
    moved, why = is_better(tags, current, direction)
    if moved:
        client.set_registered_model_alias(name, alias, version)
    return str(version), moved, why
