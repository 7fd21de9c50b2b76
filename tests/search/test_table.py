"""A user's own table end to end: read by pandas with a named target, preprocessed by column kind inside the
champion, and the registered champion predicting from raw rows with nulls and unseen categories."""

import contextlib
import io
import json
from collections import namedtuple

import mlflow
import numpy as np
import pandas as pd
import pytest
import yaml
from mlflow.pyfunc import scoring_server
from mlflow.tracking import MlflowClient
from sklearn.compose import ColumnTransformer
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline, make_pipeline

import search
from estimators import MLPClassifier
from search import cli
from search.data import DataError, load_dataset

Finished = namedtuple("Finished", "client uri parent output")


def churn_frame(n=200, seed=0):
    """A customer table: a string ``city``, ``income`` with empty cells, an integer ``age``, a boolean ``member``
    and the string target ``churn``, which ``income`` and ``city`` decide."""
    rng = np.random.default_rng(seed)
    city = rng.choice(["paris", "lyon", "nice", "lille"], n)
    income = rng.normal(50, 15, n).round(1)
    churn = np.where((income < 45) | (city == "nice"), "yes", "no")
    income[rng.choice(n, 12, replace=False)] = np.nan
    return pd.DataFrame({"city": city, "income": income, "age": rng.integers(18, 80, n),
                         "member": rng.random(n) > 0.5, "churn": churn})


def new_rows():
    """Rows as a user sends them: a null income, a city never seen in training, a null city."""
    return pd.DataFrame({"city": ["tokyo", None, "paris"], "income": [np.nan, 30.0, 70.0], "age": [30, 41, 52],
                         "member": [True, False, True]})


# ----------------------------------------------------------------------------
# Reading a table
# ----------------------------------------------------------------------------

@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".parquet"])
def test_a_table_is_read_with_its_named_target_and_raw_rows_kept(tmp_path, suffix):
    frame, path = churn_frame(), tmp_path / f"churn{suffix}"
    if suffix == ".parquet":
        frame.to_parquet(path)
    else:
        frame.to_csv(path, index=False, sep="\t" if suffix == ".tsv" else ",")

    data = load_dataset("table", path, target="churn")

    assert isinstance(data.X_test_raw, pd.DataFrame) and list(data.X_test_raw) == ["city", "income", "age", "member"]
    assert data.X_train.dtype == np.float32 and np.isfinite(data.X_train).all()
    # income, age, income's missing indicator; 4 cities; member's two values
    assert data.X_train.shape[1] == 2 + 1 + 4 + 2 == data.X_test.shape[1] == data.X_val.shape[1]
    assert set(data.classes) == {"no", "yes"} and data.y_test.dtype.kind == "U"
    assert len(data.y_train) + len(data.y_val) + len(data.y_test) == len(frame)
    assert isinstance(data.preprocessing[0], ColumnTransformer)
    np.testing.assert_allclose(data.preprocessing.transform(data.X_test_raw), data.X_test, atol=1e-6)


def test_features_drop_and_integer_coded_categories(tmp_path):
    frame = churn_frame().assign(zip=lambda f: f["age"] % 3 * 1000 + 75000)
    frame.to_csv(tmp_path / "churn.csv", index=False)

    chosen = load_dataset("table", tmp_path / "churn.csv", target="churn", features=["income", "zip"],
                          categorical=["zip"])
    dropped = load_dataset("table", tmp_path / "churn.csv", target="churn", drop=["age", "member", "zip"])

    assert list(chosen.X_test_raw) == ["income", "zip"]
    assert chosen.X_train.shape[1] == 2 + 3  # income and its indicator, then one column per zip code
    assert list(dropped.X_test_raw) == ["city", "income"]


def test_a_boolean_target_stays_boolean_and_an_integer_one_is_classes(tmp_path):
    frame = churn_frame()
    frame.assign(churn=frame["churn"] == "yes").to_csv(tmp_path / "bool.csv", index=False)
    frame.assign(churn=(frame["churn"] == "yes").astype(int) + 1).to_csv(tmp_path / "int.csv", index=False)

    assert load_dataset("table", tmp_path / "bool.csv", target="churn").y_train.dtype == bool
    assert set(load_dataset("table", tmp_path / "int.csv", target="churn").classes) == {1, 2}


def test_a_float_target_needs_task_regression(tmp_path):
    churn_frame().to_csv(tmp_path / "churn.csv", index=False)

    with pytest.raises(DataError, match="non-integer float labels.*set task: regression"):
        load_dataset("table", tmp_path / "churn.csv", target="income", drop=["churn"])
    data = load_dataset("table", tmp_path / "churn.csv", target="income", task="regression")
    assert data.y_train.dtype == np.float64 and "churn" in data.X_test_raw  # a string column as a feature
    assert len(data.y_train) + len(data.y_val) + len(data.y_test) == 200 - 12  # rows without a target left out


@pytest.mark.parametrize("column, values, expect", [
    ("note", lambda n: [f"free text number {i}" for i in range(n)], "column 'note' looks like free text"),
    ("when", lambda n: pd.date_range("2024-01-01", periods=n), "column 'when' is a date or time"),
])
def test_a_free_text_or_date_column_is_refused_by_name_pointing_at_drop(tmp_path, column, values, expect):
    frame = churn_frame()
    frame[column] = values(len(frame))
    frame.to_parquet(tmp_path / "churn.parquet")

    with pytest.raises(DataError, match=f"{expect}.*dataset.drop: \\[{column}\\]"):
        load_dataset("table", tmp_path / "churn.parquet", target="churn")
    assert load_dataset("table", tmp_path / "churn.parquet", target="churn", drop=[column]).X_train.shape[1] == 9


def test_the_fingerprint_follows_the_cells_of_the_raw_rows(tmp_path):
    frame = churn_frame()
    frame.to_csv(tmp_path / "a.csv", index=False)
    frame.assign(city=frame["city"].where(frame.index != 199, "nice")).to_csv(tmp_path / "b.csv", index=False)

    first, again = (load_dataset("table", tmp_path / "a.csv", target="churn") for _ in range(2))
    other = load_dataset("table", tmp_path / "b.csv", target="churn")
    assert first.fingerprint == again.fingerprint != other.fingerprint


# ----------------------------------------------------------------------------
# The preprocessing, public: a scripting user's own Pipeline and grid search
# ----------------------------------------------------------------------------

def test_table_preprocessing_in_front_of_the_mlp_in_a_grid_search():
    frame = churn_frame(n=120)
    X, y = frame.drop(columns="churn"), frame["churn"]
    pipeline = make_pipeline(search.table_preprocessing(X),
                             MLPClassifier((16,), learning_rate_init=0.01, max_iter=100, random_state=0))

    grid = GridSearchCV(pipeline, {"mlpclassifier__alpha": [1e-4, 1e-2]}, cv=3).fit(X, y)

    assert grid.best_score_ > 0.75  # learnt, from a string column and NaNs
    assert set(grid.predict(new_rows())) <= {"no", "yes"}  # a null, an unseen city, a null city


def test_table_preprocessing_encodes_missing_rare_and_unseen_categories():
    X = pd.DataFrame({"city": ["paris"] * 6 + ["lyon"] * 6 + ["nice", None], "n": np.arange(14.0)})
    transformer = search.table_preprocessing(X).fit(X)

    names = list(transformer.get_feature_names_out())
    assert names == ["n", "city_lyon", "city_paris", "city_infrequent_sklearn"]  # nice and the null are rare
    unseen = transformer.transform(pd.DataFrame({"city": ["tokyo"], "n": [np.nan]}))
    assert unseen[0, names.index("city_infrequent_sklearn")] == 1 and np.isfinite(unseen).all()


def test_table_preprocessing_takes_a_dataframe_and_its_own_categorical_columns():
    with pytest.raises(DataError, match="takes a pandas DataFrame"):
        search.table_preprocessing(np.zeros((3, 2)))
    with pytest.raises(DataError, match="categorical: 'zip' is not a column"):
        search.table_preprocessing(pd.DataFrame({"a": [1, 2]}), categorical=["zip"])


# ----------------------------------------------------------------------------
# A table study through the command line; its champion takes raw rows
# ----------------------------------------------------------------------------

STUDY = {
    "name": "churn",
    "dataset": {"name": "table", "path": "churn.csv", "target": "churn", "validation_fraction": 0.2},
    "estimator": {"solver": "adam", "hidden_layer_sizes": [16], "batch_size": 16},
    "space": {"learning_rate_init": {"low": 3e-3, "high": 3e-2, "log": True}},
    "objective": "val_f1_macro",  # a table metric, recorded by the estimator every epoch
    "epochs": 30,
    "sampler": {"name": "tpe", "seed": 0},
    "pruner": "none",
    "n_trials": 2,
    "register": {"name": "churn-mlp", "alias": "champion"},
}


@pytest.fixture(scope="module")
def champion(tmp_path_factory):
    """The churn study run by ``search run``; its champion registered as 'churn-mlp'."""
    folder = tmp_path_factory.mktemp("table")
    churn_frame().to_csv(folder / "churn.csv", index=False)
    (folder / "churn.yaml").write_text(yaml.safe_dump(STUDY))
    uri = f"sqlite:///{folder}/mlflow.db"
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)
        assert cli.main(["run", "churn.yaml", "--storage", f"sqlite:///{folder}/optuna.db", "--tracking-uri", uri]) == 0
    client = MlflowClient(uri)
    experiment = client.get_experiment_by_name("churn").experiment_id
    parent = client.search_runs([experiment], filter_string="tags.study = 'churn'")[0]
    return Finished(client, uri, parent, out.getvalue())


@pytest.mark.slow
def test_the_table_champion_predicts_raw_rows_with_nulls_and_unseen_categories(champion):
    mlflow.set_tracking_uri(champion.uri)
    model = mlflow.pyfunc.load_model("models:/churn-mlp@champion")

    assert set(model.predict(new_rows())) <= {"no", "yes"}
    held_out = churn_frame(n=100, seed=1)
    predicted = model.predict(held_out.drop(columns="churn"))  # as pandas reads it: int64 ages, NaN incomes
    assert np.mean(predicted == held_out["churn"]) > 0.7
    assert "registered churn-mlp version 1" in champion.output


@pytest.mark.slow
def test_the_table_champion_has_named_typed_columns_and_answers_rest(champion):
    mlflow.set_tracking_uri(champion.uri)
    model = mlflow.pyfunc.load_model("models:/churn-mlp@champion")
    inputs = model.metadata.get_input_schema().inputs
    assert [(column.name, column.type.name) for column in inputs] == [
        ("city", "string"), ("income", "double"), ("age", "long"), ("member", "boolean")]
    pipeline = mlflow.sklearn.load_model("models:/churn-mlp@champion")
    assert isinstance(pipeline, Pipeline) and isinstance(pipeline[0], ColumnTransformer)

    body = {"dataframe_split": {"columns": ["member", "city", "income", "age"],  # by name, in any order
                                "data": [[True, "tokyo", None, 30], [None, None, 20, 41]]}}
    answer = scoring_server.invocations(json.dumps(body), "application/json", model,
                                        model.metadata.get_input_schema())
    assert answer.status == 200, answer.response
    assert set(json.loads(answer.response)["predictions"]) <= {"no", "yes"}


@pytest.mark.slow
def test_a_table_study_tracks_its_objective_each_epoch_its_data_and_mlflows_evaluation(champion):
    client, parent = champion.client, champion.parent
    trials = client.search_runs([parent.info.experiment_id], f"tags.`mlflow.parentRunId` = '{parent.info.run_id}'")
    history = client.get_metric_history(trials[0].info.run_id, "val_f1_macro")
    assert [m.step for m in history] == list(range(1, 31))
    assert trials[0].data.metrics["val_f1_macro_mean"] == history[-1].value
    inputs = {i.tags[0].value: i.dataset for i in client.get_run(parent.info.run_id).inputs.dataset_inputs}
    assert [inputs[c].name for c in ("training", "validation", "test")] == [
        "churn-training", "churn-validation", "churn-test"]
    assert json.loads(inputs["test"].source)["uri"].endswith("churn.csv")
    assert [c["name"] for c in json.loads(inputs["test"].schema)["mlflow_colspec"]] == [
        "city", "income", "age", "member", "churn"]  # the raw test rows and their target
    metrics = client.get_run(parent.info.run_id).data.metrics
    assert metrics["test_accuracy_score"] == pytest.approx(metrics["test_accuracy"], abs=1e-12)
    assert {"test_f1_score", "test_roc_auc"} <= set(metrics)  # 'yes' the positive label
