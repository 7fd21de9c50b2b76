"""Bad input of every kind: one line on stderr, exit code 2, and nothing written to Optuna or MLflow."""

import sqlite3

import numpy as np
import pytest
import yaml

from search.cli import main
from tests.conftest import free_port

STUDY = {
    "name": "bad",
    "dataset": {"name": "digits", "subset": 300},
    "estimator": {"solver": "sgd", "hidden_layer_sizes": [8]},
    "space": {"activation": {"choices": ["relu", "tanh"]}},
    "epochs": 1,
    "n_trials": 1,
    "pruner": "none",
}
STORE_NAMES = ("optuna.db", "mlflow.db", "mlruns", "optuna.journal", "mlartifacts")


def study(**changes):
    """A study file's text: the valid STUDY with top-level keys replaced (None drops one)."""
    return yaml.safe_dump({k: v for k, v in {**STUDY, **changes}.items() if v is not None})


def with_space(**space):
    return study(space={**STUDY["space"], **space})


def csv_rows(n=60, n_classes=3, seed=0):
    rng = np.random.default_rng(seed)
    return [[f"{v:.4f}" for v in rng.random(4)] + [str(i % n_classes)] for i in range(n)]


def csv_text(rows):
    return "".join(",".join(row) + "\n" for row in rows)


def csv_with(row, column, value):
    rows = csv_rows()
    rows[row][column] = value
    return csv_text(rows)


def ragged_csv():
    rows = csv_rows()
    rows[9] = rows[9][:3]
    return csv_text(rows)


def npz(path, n_train_features=5, n_test_features=5, test_labels=None):
    rng = np.random.default_rng(0)
    y_test = np.arange(10) % 2 if test_labels is None else np.asarray(test_labels)
    np.savez(path, x_train=rng.random((40, n_train_features)), y_train=np.arange(40) % 2,
             x_test=rng.random((len(y_test), n_test_features)), y_test=y_test)


CSV_STUDY = study(dataset={"name": "csv", "path": "data.csv", "validation_fraction": 0.2})


def table_study(path="data.csv", **columns):
    return study(dataset={"name": "table", "path": path, "target": "churn", **columns})


def table_text(**changes):
    """A table with a string column, a numeric one and a string target; ``changes``: column -> values (None
    drops it)."""
    rows = {"city": ["paris", "lyon", "nice"] * 20, "income": [f"{20 + i % 7}.5" for i in range(60)],
            "churn": ["yes", "no"] * 30, **changes}
    rows = {name: values for name, values in rows.items() if values is not None}
    return "".join(",".join(map(str, row)) + "\n" for row in zip(*[[name, *rows[name]] for name in rows]))
NPZ_STUDY = study(dataset={"name": "npz", "path": "data.npz"})


def case(id, expect, text=None, args=(), files=None, command=None, marks=()):
    """One bad input: the study file ``text`` (str or bytes), extra ``args``, ``files`` (name -> text or writer)."""
    return pytest.param(text if text is not None else study(), list(args), files or {}, command, expect,
                        id=id, marks=marks)


CASES = [
    # ---- study files
    case("unknown_top_key", "flavour: unknown key", text=study(flavour="vanilla")),
    case("unknown_dataset_key", "dataset.colour", text=study(dataset={"name": "digits", "colour": 1})),
    case("wrong_type_epochs", "epochs: must be an integer", text=study(epochs="ten")),
    case("wrong_type_range", "space.learning_rate_init: must be a mapping",
         text=with_space(learning_rate_init=0.1)),
    case("low_above_high", "space.learning_rate_init: low 0.1 is above high 0.01",
         text=with_space(learning_rate_init={"low": 0.1, "high": 0.01})),
    case("empty_choices", "space.activation.choices: must be a non-empty list",
         text=with_space(activation={"choices": []})),
    case("unknown_activation", "'swishy'", text=with_space(activation={"choices": ["relu", "swishy"]})),
    case("unknown_sampler", "unknown sampler 'cmaes'", text=study(sampler="cmaes")),
    case("unknown_pruner", "unknown pruner 'asha'", text=study(pruner="asha")),
    case("table_metric_for_a_regression", "objective.metric: a regression study's objective is one of val_r2, "
         "val_loss, got 'val_f1_macro' (val_f1_macro is for classification; set task: classification)",
         text=study(dataset="diabetes", objective="val_f1_macro")),
    case("unknown_dataset", "unknown dataset 'imagenet'", text=study(dataset="imagenet")),
    case("invalid_yaml", "study.yaml: not valid YAML at line 3", text="name: bad\nspace: [1, 2\nepochs: 1\n"),
    case("missing_study_file", "nowhere.yaml: cannot read", args=["--n-trials", "1"], command="nowhere.yaml"),
    # ---- data
    case("missing_mnist_file", "mnist path 'missing/mnist.npz' does not exist",
         text=study(dataset={"name": "mnist", "path": "missing/mnist.npz"})),
    case("missing_csv_file", "csv path 'data.csv' is not a file", text=CSV_STUDY),
    case("csv_nan", "has rows with NaN or inf features", text=CSV_STUDY, files={"data.csv": csv_with(5, 1, "nan")}),
    case("csv_inf", "has rows with NaN or inf features", text=CSV_STUDY, files={"data.csv": csv_with(7, 2, "inf")}),
    case("csv_empty_cell", "has rows with NaN or inf features", text=CSV_STUDY,
         files={"data.csv": csv_with(3, 0, "")}),
    case("csv_single_class", "1 class(es)", text=CSV_STUDY,
         files={"data.csv": csv_text([row[:-1] + ["1"] for row in csv_rows()])}),
    case("csv_ragged_rows", "line 10 has 3 fields, expected 5", text=CSV_STUDY, files={"data.csv": ragged_csv()}),
    case("csv_text_feature", "'abc' is not a number", text=CSV_STUDY, files={"data.csv": csv_with(3, 0, "abc")}),
    case("table_missing_target", "target: 'churn' is not a column of data.csv", text=table_study(),
         files={"data.csv": table_text(churn=None)}),
    case("table_target_one_class", "target column 'churn' of data.csv has one class ('no')", text=table_study(),
         files={"data.csv": table_text(churn=["no"] * 60)}),
    case("table_empty_column", "column 'income' of data.csv is empty in every row", text=table_study(),
         files={"data.csv": table_text(income=[""] * 60)}),
    case("table_parquet_not_parquet", "cannot read data.parquet as Parquet", text=table_study("data.parquet"),
         files={"data.parquet": table_text()}),
    case("table_categorical_not_a_column", "categorical: 'zip' is not a column of data.csv",
         text=table_study(categorical=["zip"]), files={"data.csv": table_text()}),
    case("table_validation_file_lacks_a_column", "val.csv lacks column 'income', which data.csv has",
         text=table_study(validation={"path": "val.csv"}),
         files={"data.csv": table_text(), "val.csv": table_text(income=None)}),
    case("table_test_file_has_another_column", "test.csv has column 'zip', which data.csv lacks",
         text=table_study(test={"path": "test.csv"}),
         files={"data.csv": table_text(), "test.csv": table_text(zip=list(range(60)))}),
    case("table_marking_column_unknown_word", "validation.column 'split' of data.csv holds 'later'",
         text=table_study(validation={"column": "split"}),
         files={"data.csv": table_text(split=["train", "validation", "later"] * 20)}),
    case("validation_folds_and_fraction", "dataset.validation: give validation or validation_fraction, not both",
         text=study(dataset={"name": "digits", "validation": {"folds": 3}, "validation_fraction": 0.2})),
    case("npz_test_labels_not_in_train", "test labels 2 never occur in the training rows", text=NPZ_STUDY,
         files={"data.npz": lambda path: npz(path, test_labels=[0, 1, 2] * 3 + [0])}),
    case("npz_wrong_shape", "5 features but test rows have 6", text=NPZ_STUDY,
         files={"data.npz": lambda path: npz(path, n_test_features=6)}),
    # ---- command-line options
    case("negative_n_trials", "argument --n-trials: must be a positive number", args=["--n-trials", "-1"]),
    case("n_trials_not_a_number", "argument --n-trials: must be a number", args=["--n-trials", "many"]),
    case("zero_workers", "argument --workers: must be a positive integer", args=["--workers", "0"]),
    case("negative_timeout", "argument --timeout: must be a positive number", args=["--timeout", "-1"]),
    case("negative_time_budget", "argument --time-budget: must be a positive number", args=["--time-budget", "-5"]),
    case("time_budget_not_a_number", "argument --time-budget: must be a number, got '15m'",
         args=["--time-budget", "15m"]),
    case("time_budget_and_n_trials", "a time budget plans the trials and when they stop",
         args=["--time-budget", "20", "--n-trials", "3"]),
    case("time_budget_and_quick", "the quick form runs without a time budget", args=["--time-budget", "20",
                                                                                      "--quick"]),
    case("budget_in_the_file_not_a_time", "budget.time: must be seconds (a number) or a duration",
         text=study(budget={"time": "soon"})),
    case("storage_redis", "unknown scheme 'redis'", args=["--storage", "redis://x"]),
    case("storage_ftp", "unknown scheme 'ftp'", args=["--storage", "ftp://x"]),
    case("storage_sqlite_missing_folder", "does not exist", args=["--storage", "sqlite:///no/such/dir/o.db"]),
    case("storage_journal_missing_folder", "does not exist", args=["--storage", "journal:no/such/o.journal"]),
    case("storage_unreachable_server", "cannot be opened",
         args=["--storage", f"postgresql://nobody:secret@127.0.0.1:{free_port()}/db"]),
    case("tracking_unknown_scheme", "ftp://x", args=["--tracking-uri", "ftp://x"]),
    case("worker_unknown_study", "no study 'nobody'", command="worker"),
    # ---- what got past the checks before (issue 14): each is found before anything is written
    case("sampler_unknown_option", "study.yaml: sampler: ", text=study(sampler={"name": "tpe", "flavour": 1})),
    case("sampler_option_wrong_type", "sampler.n_startup_trials: must be int",
         text=study(sampler={"name": "tpe", "n_startup_trials": "ten"})),
    case("sampler_seed_wrong_type", "sampler.seed: must be an integer", text=study(sampler={"name": "random",
                                                                                            "seed": "x"})),
    case("pruner_unknown_option", "study.yaml: pruner: ", text=study(pruner={"name": "median", "patience": 3})),
    case("pruner_option_wrong_type", "pruner.n_warmup_steps: must be int",
         text=study(pruner={"name": "median", "n_warmup_steps": 1.5})),
    case("pruner_option_out_of_range", "study.yaml: pruner: ",
         text=study(pruner={"name": "median", "n_startup_trials": -1})),
    case("grid_over_continuous_range", "the grid sampler needs choices or an int range",
         text=study(sampler="grid", space={"learning_rate_init": {"low": 0.01, "high": 0.1}})),
    case("stage_grid_over_continuous_range", "stages[1].sampler: ",
         text=study(n_trials=None, space={"learning_rate_init": {"low": 0.01, "high": 0.1}},
                    stages=[{"n_trials": 1}, {"n_trials": 1, "sampler": "grid"}])),
    case("negative_lambda_range", "space.lambda: lambda must be a number >= 0",
         text=with_space(**{"lambda": {"low": -1.0, "high": 1.0}})),
    case("negative_lambda_fixed", "estimator.lambda: must be >= 0",
         text=study(estimator={"solver": "sgd", "hidden_layer_sizes": [8], "lambda": -0.1})),
    case("lambda_choice_wrong_type", "space.lambda.choices: lambda must be a number >= 0",
         text=with_space(**{"lambda": {"choices": [0.1, "much"]}})),
    case("width_choice_zero", "space.width.choices: width must be an integer >= 1",
         text=study(estimator={"solver": "sgd"}, space={"width": {"choices": [0, 8]}, "depth": {"low": 1, "high": 2}})),
    case("depth_choice_wrong_type", "space.depth.choices: depth must be an integer >= 1",
         text=study(estimator={"solver": "sgd"}, space={"width": {"low": 4, "high": 8},
                                                        "depth": {"choices": ["two"]}})),
    case("hidden_layer_sizes_zero", "estimator.hidden_layer_sizes: hidden_layer_sizes must be integers >= 1",
         text=study(estimator={"solver": "sgd", "hidden_layer_sizes": [8, 0]})),
    case("hidden_layer_sizes_choice_zero", "space.hidden_layer_sizes.choices: hidden_layer_sizes must be",
         text=study(estimator={"solver": "sgd"}, space={"hidden_layer_sizes": {"choices": [[8], [0, 4]]}})),
    case("registered_model_name_refused", "register.name: MLflow refuses 'a/b'",
         text=study(register={"name": "a/b"})),
    case("registered_model_alias_refused", "register.alias: MLflow refuses 'latest'",
         text=study(register={"alias": "latest"})),
    case("binary_study_file", "study.yaml: not a UTF-8 text file", text=b"\x89PNG\r\n\x1a\n\xff\x00\x00"),
    case("journal_without_path", "no journal file given", args=["--storage", "journal:"]),
    case("journal_is_garbage", "garbage.journal line 1 is not an Optuna journal record",
         args=["--storage", "journal:garbage.journal"], files={"garbage.journal": "hello, world\n"}),
    case("journal_is_binary", "binary.journal line 1 is not an Optuna journal record",
         args=["--storage", "journal:binary.journal"],
         files={"binary.journal": lambda path: path.write_bytes(b"\xff\xfe\x00\n")}),
    case("journal_is_a_folder", "is a folder, not a journal file", args=["--storage", "journal:dir.journal"],
         files={"dir.journal": lambda path: path.mkdir()}),
    case("timeout_nan", "argument --timeout: must be a positive number", args=["--timeout", "nan"]),
    case("timeout_inf", "argument --timeout: must be a positive number", args=["--timeout", "inf"]),
    case("storage_is_the_mlflow_database", "is the MLflow tracking database",
         args=["--storage", "sqlite:///mlflow.db"]),
    case("tracking_file_not_sqlite", "t.db is not an SQLite database", args=["--tracking-uri", "sqlite:///t.db"],
         files={"t.db": "not a database at all, but long enough to have a header" * 4}),
    case("tracking_half_migrated", "was left half-migrated", args=["--tracking-uri", "sqlite:///half.db"],
         files={"half.db": lambda path: sqlite_with(path, "_alembic_tmp_runs", "experiments")}),
    case("report_unknown_study", "no MLflow database at", command="report"),
]


def sqlite_with(path, *tables):
    with sqlite3.connect(path) as db:
        for table in tables:
            db.execute(f"create table {table} (id integer)")
    db.close()


@pytest.mark.parametrize("text, args, files, command, expect", CASES)
def test_bad_input_is_one_line_exit_2_and_writes_nothing(workdir, capsys, text, args, files, command, expect):
    (workdir / "study.yaml").write_bytes(text if isinstance(text, bytes) else text.encode())
    for name, content in files.items():
        (workdir / name).parent.mkdir(parents=True, exist_ok=True)
        content(workdir / name) if callable(content) else (workdir / name).write_text(content)
    before = sorted(p.name for p in workdir.iterdir())
    stores = ["--storage", f"sqlite:///{workdir}/optuna.db", "--tracking-uri", f"sqlite:///{workdir}/mlflow.db"]
    if command == "worker":
        argv = ["worker", "--study", "nobody", *stores, *args]
    elif command == "report":
        argv = ["report", "nobody", *stores, *args]
    else:
        argv = ["run", command or "study.yaml", *stores, *args]

    try:
        code = main(argv)
    except SystemExit as exit:  # argparse's usage errors
        code = exit.code

    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert code == 2
    assert len(lines) == 1, lines
    assert lines[0].startswith("error: ") and expect in lines[0], lines[0]
    assert "secret" not in lines[0]
    assert sorted(p.name for p in workdir.iterdir()) == before
    assert not any((workdir / name).exists() for name in STORE_NAMES)
