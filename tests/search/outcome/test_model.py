"""Tests for search.outcome.model: the champion as an MLflow model that predicts from raw rows."""

import mlflow
import numpy as np
import pandas as pd
from mlflow.tracking import MlflowClient
from mlflow.types.schema import AnyType
from sklearn.datasets import load_digits

from estimators import MLPClassifier
from search.data import load_dataset
from search.data.preprocessing import with_estimator
from search.outcome.model import log_model, raw_example, signature_of


def test_a_raw_example_is_integers_when_every_value_is_whole_else_float64():
    assert raw_example(np.array([[0.0, 16.0], [3.0, 4.0]], dtype=np.float32)).dtype == np.int64
    example = raw_example(np.array([[0.5, 16.0]], dtype=np.float32))
    assert example.dtype == np.float64 and example[0, 0] == 0.5


def test_the_signature_takes_any_dtype_in_each_column_and_gives_labels():
    X, y = load_digits(return_X_y=True)
    model = MLPClassifier((8,), max_iter=2, random_state=0).fit(X[:200], y[:200])
    signature = signature_of(model, raw_example(X[:5]))
    assert len(signature.inputs.inputs) == 64
    assert all(isinstance(column.type, AnyType) for column in signature.inputs.inputs)
    assert signature.outputs.numpy_types()[0].kind == "i"  # labels, as in the data


def test_string_labels_stay_strings_through_pyfunc(tmp_path):
    """A csv study's labels are class names: the logged pipeline predicts them as they are."""
    X, y = load_digits(return_X_y=True)
    names = np.array(["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"])
    rows = pd.DataFrame(X[:600].astype(int))
    rows["label"] = names[y[:600]]
    rows.to_csv(tmp_path / "digits.csv", index=False)
    data = load_dataset("csv", tmp_path / "digits.csv", validation_fraction=0)
    model = with_estimator(data.preprocessing, MLPClassifier((16,), max_iter=5, random_state=0).fit(
        data.X_train, data.y_train))
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path}/mlflow.db")
    experiment = MlflowClient().create_experiment("strings", artifact_location=(tmp_path / "artifacts").as_uri())
    run = MlflowClient().create_run(experiment)
    uri = log_model(run.info.run_id, model, raw_example(data.X_test_raw[:5]))
    predicted = mlflow.pyfunc.load_model(uri).predict(data.X_test_raw.astype(np.int64))
    assert set(predicted) <= set(names) and list(predicted) == list(model.predict(data.X_test_raw))


def test_a_tables_signature_names_and_types_its_columns(tmp_path):
    from tests.search.test_table import churn_frame, new_rows

    frame = churn_frame(n=120)
    frame.drop(columns="churn").assign(member=frame["member"].astype(object).where(frame.index != 3, None),
                                       churn=frame["churn"]).to_csv(tmp_path / "churn.csv", index=False)
    data = load_dataset("table", tmp_path / "churn.csv", target="churn")
    model = with_estimator(data.preprocessing, MLPClassifier((8,), max_iter=5, random_state=0).fit(
        data.X_train, data.y_train))

    example = raw_example(data.X_test_raw[:5])
    signature = signature_of(model, example)

    assert isinstance(example, pd.DataFrame) and list(example.index) == [0, 1, 2, 3, 4]
    assert [(column.name, column.type.name) for column in signature.inputs.inputs] == [
        ("city", "string"), ("income", "double"), ("age", "long"), ("member", "boolean")]  # a null in member
    assert signature.outputs.inputs[0].type.kind == "U"  # string labels out
    assert set(model.predict(new_rows())) <= {"no", "yes"}
