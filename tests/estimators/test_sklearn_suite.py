"""scikit-learn's own MLP test module, run against our MLPClassifier and MLPRegressor.

The module is read from the installed scikit-learn wheel at collection time
(``sklearn/neural_network/tests/test_mlp.py``, not copied here), its one
import of sklearn's estimators is replaced by ours, and its test functions
are collected as this module's. Ours run with ``dtype=None``, the setting
that follows the input's dtype as sklearn does (float32 is our default).
"""

import functools
import importlib.util
from pathlib import Path

import pytest

import estimators

SKLEARN_IMPORT = "from sklearn.neural_network import MLPClassifier, MLPRegressor"

# Each skipped test, and why: it calls a private method of sklearn's implementation.
SKIPPED = {
    "test_gradient": "calls sklearn's private MLPClassifier._loss_grad_lbfgs "
                     "(our gradients are checked by estimators.check_gradients)",
}


def load_sklearn_tests():
    """The namespace of sklearn's test_mlp.py, executed with our estimators."""
    origin = importlib.util.find_spec("sklearn.neural_network.tests.test_mlp").origin
    source = Path(origin).read_text()
    assert source.count(SKLEARN_IMPORT) == 1, "sklearn's test module imports its MLPs differently"
    # One line for one line: tracebacks keep sklearn's line numbers.
    source = source.replace(SKLEARN_IMPORT, "MLPClassifier, MLPRegressor = OURS")
    namespace = {"__name__": "sklearn_test_mlp", "__file__": origin, "OURS": (
        functools.partial(estimators.MLPClassifier, dtype=None),
        functools.partial(estimators.MLPRegressor, dtype=None),
    )}
    exec(compile(source, origin, "exec"), namespace)
    return namespace


_SKLEARN = load_sklearn_tests()
SKLEARN_TESTS = {name: test for name, test in _SKLEARN.items()
                 if name.startswith("test_") and callable(test)}
for _name, _test in SKLEARN_TESTS.items():
    globals()[_name] = pytest.mark.skip(reason=SKIPPED[_name])(_test) if _name in SKIPPED else _test


@pytest.fixture
def global_random_seed():
    """sklearn's fixture, at its default seed."""
    return 42


def test_the_skip_list_names_sklearn_tests():
    assert set(SKIPPED) <= set(SKLEARN_TESTS)
    assert len(SKLEARN_TESTS) > 30, "sklearn's module was found and read"
