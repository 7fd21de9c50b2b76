"""The old home of ``MLPClassifier`` and ``BaseMLP``, kept for the models pickled there.

Until issue 23 this module held the base class and the classifier; they are now
estimators.base and estimators.classifier. A pickle stores a class by the module
it was defined in, so every model pickled before the split (MLflow's registered
champions, ``tests/search/fixtures/champion_*_442ba44.pkl``) names
``estimators.mlp.MLPClassifier``: these names must keep resolving. New code
imports from ``estimators``.
"""

from .base import BaseMLP
from .classifier import MLPClassifier
from .exceptions import DivergenceError

__all__ = ["BaseMLP", "DivergenceError", "MLPClassifier"]
