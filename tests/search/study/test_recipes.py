"""Tests for search.study.recipes and search.study.datakind: the study ``run --dataset`` writes for each kind of
data loads as any study file and keeps the recipe of the study file it comes from."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from search.data import DataError
from search.study.datakind import data_kind, kind_of, task_of
from search.study.file import StudyFileError, load_study
from search.study.recipes import RECIPES, study_for, study_text, with_time_budget
from tests.conftest import MNIST

STUDIES = Path(__file__).resolve().parents[3] / "studies"


def written(tmp_path, source, target=None):
    """The DataKind of ``source`` and the study written for it, loaded as ``run <name>.yaml`` loads it."""
    data = data_kind(source, target)
    path = tmp_path / f"{data.name}.yaml"
    path.write_text(study_text(data))
    return data, load_study(path)


def images(tmp_path, shape, name="pictures"):
    """An npz of 60 random uint8 images of ``shape``, three classes, with its own test rows."""
    rng = np.random.default_rng(0)
    path = tmp_path / f"{name}.npz"
    np.savez(path, x_train=rng.integers(0, 256, (60, *shape), dtype=np.uint8), y_train=np.arange(60) % 3,
             x_test=rng.integers(0, 256, (12, *shape), dtype=np.uint8), y_test=np.arange(12) % 3)
    return path


def same_recipe(spec, base, but=("image_shape",)):
    """The written study searches the base file's space with its estimator, epochs, sampler and pruner."""
    assert {k: v for k, v in spec.estimator.items() if k not in but} == base.estimator
    assert spec.space.describe() == base.space.describe()
    assert (spec.metric, spec.epochs, spec.repeats, spec.sampler, spec.pruner, spec.n_trials) == (
        base.metric, base.epochs, base.repeats, base.sampler, base.pruner, base.n_trials)


def test_grey_images_get_mnist_best_s_recipe_elastic_distortions_and_a_cosine_rate(tmp_path):
    data, spec = written(tmp_path, images(tmp_path, (28, 28)))
    assert (data.kind, data.task, data.name, spec.name) == ("grey", "classification", "pictures", "pictures")
    assert spec.dataset == {"name": "npz", "path": str(tmp_path / "pictures.npz"), "validation_size": 6,
                            "scaling": "minmax"}
    assert spec.estimator["augment"] == {"elastic_sigma": 6.0} and "augment_elastic" in spec.space.dimensions
    assert spec.estimator["learning_rate"] == "cosine" and spec.estimator["image_shape"] == (28, 28)
    same_recipe(spec, load_study(STUDIES / "mnist_best.yaml"))
    assert spec.register == {"name": "pictures", "alias": "champion"}


def test_colour_images_get_cifar10_best_s_recipe_zca_crops_and_flips(tmp_path):
    data, spec = written(tmp_path, images(tmp_path, (32, 32, 3)))
    assert data.kind == "colour" and spec.dataset["scaling"] == "zca"
    assert spec.estimator["augment"] == {"crop_padding": 2, "flip": True}
    same_recipe(spec, load_study(STUDIES / "cifar10_best.yaml"))


def test_colour_images_too_large_to_whiten_are_scaled_instead(tmp_path):
    _, spec = written(tmp_path, images(tmp_path, (40, 40, 3)))
    assert spec.dataset["scaling"] == "standard" and spec.estimator["image_shape"] == (40, 40, 3)


def test_bundled_mnist_gets_mnist_best_s_dataset_keys(tmp_path):
    if not MNIST.exists():
        pytest.skip(f"no {MNIST}")
    data, spec = written(tmp_path, "MNIST")
    assert (data.kind, data.n_train) == ("grey", 60000)
    assert spec.dataset == load_study(STUDIES / "mnist_best.yaml").dataset  # validation_size 5000, minmax


def test_digits_gets_digits_best_s_study_jitter_and_a_cosine_rate(tmp_path):
    data, spec = written(tmp_path, "digits")
    base = load_study(STUDIES / "digits_best.yaml")
    assert (data.kind, data.image_shape) == ("small", (8, 8))
    assert spec.dataset == base.dataset and "augment" not in spec.estimator
    assert spec.estimator["learning_rate"] == "cosine" and spec.space.describe()["jitter"] == "float[0, 0.8]"
    same_recipe(spec, base)
    assert [stage.n_trials for stage in spec.stages] == [24, 12]


def test_penguins_gets_the_table_space_of_penguins_yaml_and_dropout(tmp_path):
    data, spec = written(tmp_path, "penguins")
    base = load_study(STUDIES / "penguins.yaml")
    assert (data.kind, spec.task, spec.dataset, spec.metric) == ("table", "classification", base.dataset, "val_loss")
    assert spec.estimator == base.estimator and spec.repeats == 3  # 275 rows: a small judge, as penguins.yaml
    assert spec.space.describe() == {**base.space.describe(), "dropout": "float[0, 0.3]"}


def churn(tmp_path, target_name="churn", n=200, suffix=".csv"):
    """A table of ``n`` customers: an id, a city, an income with empty cells, and a yes/no target."""
    rng = np.random.default_rng(0)
    income = rng.normal(50, 15, n).round(1)
    income[::17] = np.nan
    frame = pd.DataFrame({"city": rng.choice(["paris", "lyon", "nice"], n), "income": income,
                          "age": rng.integers(18, 80, n), target_name: np.where(income > 50, "yes", "no")})
    path = tmp_path / f"churn{suffix}"
    frame.to_parquet(path) if suffix == ".parquet" else frame.to_csv(path, index=False)
    return path


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_a_table_file_is_the_table_dataset_with_the_named_target(tmp_path, suffix):
    data, spec = written(tmp_path, churn(tmp_path, "churn", suffix=suffix), target="churn")
    assert spec.dataset == {"name": "table", "path": str(tmp_path / f"churn{suffix}"), "target": "churn",
                            "validation_fraction": 0.2, "scaling": "standard"}
    assert (data.kind, spec.task, spec.name, spec.metric) == ("table", "classification", "churn", "val_loss")
    assert {"width", "depth", "lambda", "learning_rate_init", "dropout", "activation"} == set(spec.space.dimensions)


def test_a_table_s_target_is_its_column_named_as_the_csv_dataset_names_labels(tmp_path):
    data, _ = written(tmp_path, churn(tmp_path, "Class"))
    assert data.dataset["target"] == "Class"
    with pytest.raises(DataError, match=r"which column is the target\? give --target COLUMN"):
        data_kind(churn(tmp_path, "churn"))


def test_a_float_target_makes_a_regression_judged_by_r2(tmp_path):
    path = tmp_path / "houses.csv"
    pd.DataFrame({"rooms": np.arange(100) % 7, "price": np.arange(100) * 1.5 + 0.25}).to_csv(path, index=False)
    data, spec = written(tmp_path, path, target="price")
    assert (data.kind, spec.task, spec.metric, spec.direction) == ("table", "regression", "val_r2", "maximize")
    _, diabetes = written(tmp_path, "diabetes")
    assert (diabetes.task, diabetes.metric) == ("regression", "val_r2")


def test_a_large_table_trains_in_larger_batches_with_one_seed(tmp_path):
    data, spec = written(tmp_path, churn(tmp_path, "churn", n=13_000), target="churn")
    assert (spec.estimator["batch_size"], spec.repeats) == (128, 1)


@pytest.mark.parametrize("task, shape, kind", [
    ("classification", None, "table"), ("regression", (28, 28), "table"), ("classification", (3, 32, 32), "table"),
    ("classification", (8, 8), "small"), ("classification", (28, 28, 1), "grey"),
    ("classification", (32, 32, 3), "colour"), ("classification", (12, 40, 3), "small")])
def test_the_kind_of_data(task, shape, kind):
    assert kind_of(task, shape) == kind


@pytest.mark.parametrize("values, task", [
    (pd.Series([1.0, 2.0, None]), "classification"), (pd.Series([1.5, 2.0]), "regression"),
    (pd.Series(["a", "b"]), "classification"), (np.array([0, 1, 2]), "classification"), (None, "classification")])
def test_a_target_is_a_regression_s_when_its_numbers_are_not_whole(values, task):
    assert task_of(values) == task


@pytest.mark.parametrize("source, target, words", [
    ("imagenet", None, "unknown dataset 'imagenet': give one of digits"),
    ("digits", "label", "--target is for a table file; digits has its own target"),
    ("nowhere.csv", None, "--dataset nowhere.csv: no such file"),
])
def test_data_that_names_nothing_usable_is_one_line(source, target, words, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(DataError) as caught:
        data_kind(source, target)
    assert words in str(caught.value) and "\n" not in str(caught.value)


def test_an_npz_takes_no_target(tmp_path):
    with pytest.raises(DataError, match="--target is for a table file"):
        data_kind(images(tmp_path, (28, 28)), "y")


def test_the_time_budget_replaces_the_trial_start_timeout(tmp_path):
    data = data_kind(images(tmp_path, (28, 28)))
    study = study_for(data, 900)
    assert study["budget"] == {"time": 900} and "timeout" not in study and "timeout" in study_for(data)
    assert with_time_budget({"name": "x", "timeout": 5}, 60) == {"name": "x", "budget": {"time": 60}}
    path = tmp_path / "pictures.yaml"
    path.write_text(study_text(data, 900))
    assert load_study(path).time_budget == 900


def test_every_recipe_names_a_study_file_that_exists():
    assert all((STUDIES.parent / recipe.source).is_file() for recipe in RECIPES.values())


def test_a_table_s_ids_free_text_and_dates_are_dropped_by_the_written_study(tmp_path):
    path = churn(tmp_path, "churn", n=200)
    table = pd.read_csv(path)
    table.insert(0, "customer_id", [f"c{i:05d}" for i in range(len(table))])
    table["joined"] = pd.date_range("2020-01-01", periods=len(table)).astype(str)
    table.to_csv(path, index=False)
    data, spec = written(tmp_path, path, target="churn")
    assert spec.dataset["drop"] == ["customer_id", "joined"] and data.dataset["drop"] == ["customer_id", "joined"]
