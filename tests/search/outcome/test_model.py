"""Tests for search.outcome.model: the champion as an MLflow model that predicts from raw rows."""

import json
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow.exceptions import MlflowException
from mlflow.models import ModelSignature
from mlflow.pyfunc import scoring_server
from mlflow.tracking import MlflowClient
from mlflow.types import TensorSpec
from mlflow.types.schema import AnyType, Schema
from sklearn.datasets import load_digits
from sklearn.pipeline import Pipeline

from estimators import MLPClassifier
from search.data import load_dataset
from search.data.preprocessing import with_estimator
from search.outcome.model import image_shape_of, log_model, raw_example, signature_of


def logged(tmp_path, model, example):
    """``model`` logged by :func:`log_model` on a new run in a SQLite store under ``tmp_path``; its URI."""
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path}/mlflow.db")
    experiment = MlflowClient().create_experiment("models", artifact_location=(tmp_path / "artifacts").as_uri())
    return log_model(MlflowClient().create_run(experiment).info.run_id, model, example)


def digits_champion(rows=400):
    """A small digits pipeline as a study's champion is: raw 8x8 images in, labels out."""
    data = load_dataset("digits", subset=rows, validation_fraction=0)
    model = MLPClassifier((16,), max_iter=5, random_state=0).fit(data.X_train, data.y_train)
    return data, with_estimator(data.preprocessing, model)


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


def test_an_image_model_takes_any_numeric_dtype_as_images_or_rows_through_pyfunc_and_rest(tmp_path):
    data, pipeline = digits_champion()
    uri = logged(tmp_path, pipeline, raw_example(data.X_test_raw[:5]))

    model = mlflow.pyfunc.load_model(uri)
    raw = data.X_test_raw[:20]
    expected = pipeline.predict(raw)
    assert model.metadata.get_input_schema() is None and model.metadata.get_output_schema().inputs[0].type.kind == "i"
    assert model.metadata.metadata["input"] == ("8x8 images as stored (height, width[, channels]): arrays of shape "
                                                "(n, 8, 8) or flattened rows (n, 64), any numeric dtype")
    for dtype in (np.uint8, np.int64, np.float32, np.float64):
        for shape in ((-1, 8, 8), (-1, 64)):
            np.testing.assert_array_equal(model.predict(raw.astype(dtype).reshape(shape)), expected)
    rows = raw.astype(int).tolist()
    for body in ({"inputs": rows}, {"inputs": np.reshape(rows, (-1, 8, 8)).tolist()},
                 {"dataframe_split": {"data": rows}}, {"inputs": raw.tolist()}):
        answer = scoring_server.invocations(json.dumps(body), "application/json", model, None)
        assert answer.status == 200 and json.loads(answer.response)["predictions"] == expected.tolist()
    folder = Path(mlflow.artifacts.download_artifacts(uri, dst_path=str(tmp_path / "model")))
    example = json.loads((folder / "serving_input_example.json").read_text())
    assert np.array(example["inputs"]).shape == (5, 8, 8)  # raw test images, in their shape
    assert isinstance(mlflow.sklearn.load_model(uri), Pipeline)  # the pipeline itself, as pickled
    assert image_shape_of(pipeline) == (8, 8) and image_shape_of(pipeline[-1]) is None


def test_mlflows_tensor_schema_refuses_what_the_pipeline_takes(tmp_path):
    """Why images have no input schema: a tensor spec holds one dtype and one shape, refused before the pipeline."""
    data, pipeline = digits_champion(rows=200)
    signature = ModelSignature(inputs=Schema([TensorSpec(np.dtype(np.float64), (-1, 8, 8))]))
    mlflow.sklearn.save_model(pipeline, tmp_path / "tensor", signature=signature,
                              serialization_format=mlflow.sklearn.SERIALIZATION_FORMAT_CLOUDPICKLE)
    model = mlflow.pyfunc.load_model(str(tmp_path / "tensor"))
    images = data.X_test_raw[:3].reshape(-1, 8, 8)
    assert len(model.predict(images.astype(np.float64))) == 3
    for refused in (images.astype(np.uint8), images.astype(np.float32), images.reshape(3, 64).astype(np.float64)):
        with pytest.raises(MlflowException, match="does not match expected"):
            model.predict(refused)


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
