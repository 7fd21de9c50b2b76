"""search.tracking.datasets: the study's splits as MLflow dataset inputs, and a lost write fails."""

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from search import tracking
from search.data import load_dataset
from search.tracking import datasets


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits", subset=300, validation_fraction=0.2, test_subset=100)


def study_run(client, data, **dataset):
    return SimpleNamespace(client=client, data=data, spec=SimpleNamespace(dataset={"name": data.name, **dataset}))


def test_each_split_is_an_input_with_its_context_shape_and_digest(digits, tmp_path):
    client = tracking.connect(f"sqlite:///{tmp_path}/mlflow.db")
    run_id = client.create_run(client.create_experiment("d")).info.run_id
    datasets.log_datasets(study_run(client, digits), run_id)
    inputs = client.get_run(run_id).inputs.dataset_inputs
    by_context = {i.tags[0].value: i.dataset for i in inputs if i.tags[0].key == "mlflow.data.context"}
    assert set(by_context) == {"training", "validation", "test"}
    assert {d.name for d in by_context.values()} == {"digits-training", "digits-validation", "digits-test"}
    assert '"features_shape": [240, 64]' in by_context["training"].profile  # as the estimator sees them
    assert '"features_shape": [100, 64]' in by_context["test"].profile
    assert len({d.digest for d in by_context.values()}) == 3


def test_a_tables_test_rows_are_its_raw_columns_and_target_and_its_file_is_the_source(tmp_path):
    rows = pd.DataFrame({"city": ["paris", "lyon", None, "nice"] * 10, "income": [1.5, np.nan, 3.0, 4.0] * 10})
    data = SimpleNamespace(name="table", X_train=np.zeros((30, 3), np.float32), y_train=np.array(["a", "b"] * 15),
                           X_val=np.zeros((0, 3), np.float32), y_val=np.array([]), X_test=None,
                           X_test_raw=rows, y_test=np.array(["a", "b"] * 20))
    made = datasets.mlflow_datasets(data, str(tmp_path / "churn.csv"), "churn")
    assert set(made) == {"training", "test"}, "a split without rows is left out"
    test = made["test"]
    assert test.name == "churn-test" and test.targets == "churn"
    assert list(test.df.columns) == ["city", "income", "churn"]
    assert test.source.to_dict()["uri"] == str(tmp_path / "churn.csv")


def test_a_refused_dataset_write_is_a_tracking_error(digits, monkeypatch):
    monkeypatch.setattr(tracking.time, "sleep", lambda seconds: None)
    calls = []

    def refused(run_id, datasets=None):
        calls.append(run_id)
        raise ConnectionError("Connection refused")

    run = study_run(SimpleNamespace(log_inputs=refused), digits)
    with pytest.raises(tracking.TrackingError, match="could not log the datasets of MLflow run abc: Connection refused"):
        datasets.log_datasets(run, "abc")
    assert calls == ["abc"] * tracking.RETRIES
