"""A fast NumPy multi-layer perceptron, a drop-in superset of sklearn's MLPClassifier."""

from .activations import Activation, register_activation
from .gradcheck import check_gradients
from .mlp import DivergenceError, MLPClassifier

__all__ = ["Activation", "DivergenceError", "MLPClassifier", "check_gradients", "register_activation"]
