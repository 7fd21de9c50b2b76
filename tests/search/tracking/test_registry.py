"""Tests for search.tracking.registry: when the alias moves (the end-to-end cases are in test_champion.py)."""

from types import SimpleNamespace

import mlflow
import pytest
from mlflow.exceptions import MlflowException

from search.tracking import registry
from search.tracking.registry import IDENTITY_TAGS, config_digest, is_better, version_tags

SPEC = SimpleNamespace(name="champ", seeds=[7, 8], metric="val_accuracy", direction="maximize",
                       register={"name": "digits-mlp", "alias": "champion"})


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


def test_version_tags_identify_the_candidate_and_rank_it():
    params = {"alpha": 0.1, "max_iter": 3}
    tags = version_tags(SPEC, SimpleNamespace(number=4, value=0.8125), "parent-id",
                        SimpleNamespace(fingerprint="f" * 16), params)
    assert tags == {"study": "champ", "trial": 4, "parent_run_id": "parent-id", "data_fingerprint": "f" * 16,
                    "config": config_digest(params, 7), "objective": "val_accuracy", "objective_value": "0.812500"}
    assert set(IDENTITY_TAGS) <= set(tags)


class FakeRegistry:
    """The client calls register and unchanged make, against one registered model."""

    def __init__(self, champion=None):
        self.champion, self.calls = champion, []

    def get_model_version_by_alias(self, name, alias):
        if self.champion is None:
            raise MlflowException("no alias")
        return self.champion

    def update_model_version(self, name, version, description):
        self.calls.append(("description", name, version, description))

    def set_registered_model_alias(self, name, alias, version):
        self.calls.append(("alias", name, alias, version))


@pytest.fixture
def registered(monkeypatch):
    """mlflow.register_model makes version 5 of the model, with the tags it is given."""
    made = []
    monkeypatch.setattr(mlflow, "register_model", lambda uri, name, tags: made.append((uri, name, tags))
                        or SimpleNamespace(version="5"))
    return made


def test_a_better_candidate_is_registered_and_takes_the_alias(registered):
    client = FakeRegistry(version(3, objective="val_accuracy", objective_value="0.50"))
    tags = {"objective": "val_accuracy", "objective_value": "0.812500", "trial": 4}
    uri, line = registry.register(client, SPEC, "runs:/r/model", tags, "a description")
    assert registered == [("runs:/r/model", "digits-mlp", {"objective": "val_accuracy",
                                                          "objective_value": "0.812500", "trial": "4"})]
    assert uri == "models:/digits-mlp/5"
    assert client.calls == [("description", "digits-mlp", "5", "a description"),
                            ("alias", "digits-mlp", "champion", "5")]
    assert line == ("registered digits-mlp version 5; champion moved to it (val_accuracy 0.8125 is better than "
                    "version 3's 0.5000): models:/digits-mlp@champion")


def test_a_worse_candidate_is_registered_and_the_alias_stays(registered):
    client = FakeRegistry(version(3, objective="val_accuracy", objective_value="0.90"))
    uri, line = registry.register(client, SPEC, "runs:/r/model",
                                  {"objective": "val_accuracy", "objective_value": "0.812500"}, "")
    assert uri == "models:/digits-mlp/5" and not [call for call in client.calls if call[0] == "alias"]
    assert line.endswith("champion stays (val_accuracy 0.8125 is not better than version 3's 0.9000): "
                         "models:/digits-mlp@champion, this one models:/digits-mlp/5")


def test_an_unchanged_candidate_says_which_version_holds_it_and_where_the_alias_is():
    known = version(2, study="champ", trial="4")
    assert registry.unchanged(FakeRegistry(version(3)), SPEC.register, known) == (
        "nothing changed since digits-mlp version 2 (study champ, trial 4, same data): no refit, "
        "no new version; champion is version 3")
    assert registry.unchanged(FakeRegistry(), SPEC.register, known).endswith("no new version; no champion")
