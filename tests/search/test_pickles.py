"""Champions registered before search/ moved into sub-packages still load and predict the same.

The fixtures were pickled (as MLflow's cloudpickle format does) by the code of commit 442ba44,
``tests/search/fixtures/make_champions.py``; they name ``search.preprocessing.RawRows``,
``search.preprocessing.ZCA`` and ``estimators.mlp.MLPClassifier``.
"""

from pathlib import Path

import cloudpickle
import numpy as np
import pytest

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.mark.parametrize("kind", ["classifier", "regressor"])
def test_a_champion_pickled_before_the_move_loads_and_predicts_as_it_did(kind):
    with open(FIXTURES / f"champion_{kind}_442ba44.pkl", "rb") as file:
        model = cloudpickle.load(file)
    expected = np.load(FIXTURES / f"champion_{kind}_442ba44_expected.npz")
    predicted = model.predict(expected["rows"])
    if kind == "classifier":
        np.testing.assert_array_equal(predicted, expected["predicted"])
    else:
        # float32 products: another BLAS kernel (the machine kinds differ) sums in another order,
        # which moves the last bits (7e-8 seen on an EPYC), so the bound is absolute, at float32's scale.
        np.testing.assert_allclose(predicted, expected["predicted"], rtol=1e-5, atol=1e-6)


def test_the_old_pickle_names_are_the_classes_of_today():
    from search.data.preprocessing import ZCA, RawRows
    from search.preprocessing import ZCA as OldZCA, RawRows as OldRawRows

    assert (OldZCA, OldRawRows) == (ZCA, RawRows)
