"""Tests for search.tracking.registry: when the alias moves (the end-to-end cases are in test_champion.py)."""

from types import SimpleNamespace

from search.tracking.registry import config_digest, is_better


def version(number, **tags):
    return SimpleNamespace(version=str(number), tags=tags)


def test_the_alias_moves_only_to_a_better_objective_value():
    tags = {"objective": "val_loss", "objective_value": "0.20"}
    assert is_better(tags, None, "minimize") == (True, "there was no champion")
    assert is_better(tags, version(3, objective="val_loss", objective_value="0.25"), "minimize")[0]
    moved, why = is_better(tags, version(3, objective="val_loss", objective_value="0.20"), "minimize")
    assert not moved and why == "val_loss 0.2000 is not better than version 3's 0.2000"
    assert not is_better({**tags, "objective": "val_accuracy"},
                         version(3, objective="val_accuracy", objective_value="0.25"), "maximize")[0]
    moved, why = is_better(tags, version(4), "minimize")  # a version from before these tags
    assert moved and why == "version 4 has no val_loss to compare"


def test_a_configuration_digest_changes_with_any_parameter_or_the_seed():
    params = {"alpha": 0.1, "hidden_layer_sizes": (24,)}
    assert config_digest(params, 0) == config_digest(dict(reversed(params.items())), 0)
    assert config_digest(params, 1) != config_digest(params, 0)
    assert config_digest({**params, "alpha": 0.2}, 0) != config_digest(params, 0)
