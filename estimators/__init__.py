"""A fast NumPy multi-layer perceptron, a drop-in superset of sklearn's MLPClassifier and MLPRegressor."""

from .activations import Activation, register_activation
from .classifier import MLPClassifier
from .exceptions import DivergenceError
from .gradcheck import check_gradients
from .interrupts import propagate_interrupts
from .regressor import MLPRegressor

__all__ = ["Activation", "DivergenceError", "MLPClassifier", "MLPRegressor", "check_gradients", "propagate_interrupts",
           "register_activation"]
