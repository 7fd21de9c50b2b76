"""The champion as an MLflow model: the whole pipeline, with a signature and a raw input example,
its code and its pinned requirements, so that it predicts from a user's raw rows."""

from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
from mlflow.models import ModelSignature, infer_signature
from mlflow.types.schema import AnyType, ColSpec, Schema

from ..data.columns import schema_types

MODEL_NAME = "model"


def raw_example(rows):
    """Raw rows as a user has them: a table's as its DataFrame; else integers when every value is whole
    (pixels, digits), else float64."""
    if isinstance(rows, pd.DataFrame):
        return rows.reset_index(drop=True)
    rows = np.asarray(rows)
    return rows.astype(np.int64) if np.all(rows == np.round(rows)) else rows.astype(np.float64)


def signature_of(pipeline, example):
    """The columns ``example`` has in, labels (or values) out.

    A table's columns by name with their types (string, double, long,
    boolean: :func:`search.data.columns.schema_types`), each optional in
    value, so that a null reaches the pipeline's imputation. A numeric
    matrix's columns are typed 'any': MLflow's 'double' refuses int64 (a csv
    of pixel values read by pandas) and 'long' refuses float64
    (``load_digits``); the pipeline's first step checks and converts what comes.
    """
    if isinstance(example, pd.DataFrame):
        inputs = Schema([ColSpec(kind, str(name), required=True)
                         for name, kind in schema_types(example).items()])
    else:
        inputs = Schema([ColSpec(AnyType()) for _ in range(example.shape[1])])
    # the outputs' schema alone: inferring the inputs' would warn of integer columns we have typed already
    return ModelSignature(inputs=inputs, outputs=infer_signature(pipeline.predict(example)).inputs)


def log_model(run_id, model, example):
    """Log the pipeline on run ``run_id`` with a signature and a raw input example; returns its URI."""
    import cloudpickle
    import scipy
    import sklearn

    requirements = [f"scikit-learn=={sklearn.__version__}", f"numpy=={np.__version__}",
                    f"scipy=={scipy.__version__}", f"cloudpickle=={cloudpickle.__version__}",
                    f"pandas=={pd.__version__}"]
    # The pipeline's classes live in estimators/ and search/data/preprocessing.py: both travel with it.
    root = Path(__file__).resolve().parents[2]
    with mlflow.start_run(run_id=run_id):
        info = mlflow.sklearn.log_model(
            model, name=MODEL_NAME, signature=signature_of(model, example),
            input_example=example, pip_requirements=requirements,
            serialization_format=mlflow.sklearn.SERIALIZATION_FORMAT_CLOUDPICKLE,
            code_paths=[str(root / "estimators"), str(root / "search")],
        )
    return info.model_uri
