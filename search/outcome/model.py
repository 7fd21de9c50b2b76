"""The champion as an MLflow model: the whole pipeline, with a signature and a raw input example,
its code and its pinned requirements, so that it predicts from a user's raw rows.

Images get no input schema: MLflow's tensor types hold one dtype and one
shape, and pyfunc refuses any other before the pipeline sees it (measured,
MLflow 3.17: a ``Tensor('float64', (-1, 8, 8))`` refuses uint8, float32,
int64 and flat rows; ``(-1, 64)`` refuses the images), while the pipeline
takes any numeric dtype, flat or in the image's shape. Their signature is the
outputs; what goes in is said by the model's metadata (``input``) and shown
by its input example: raw test images in their shape.
"""

import math
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
from mlflow.models import ModelSignature, infer_signature
from mlflow.types.schema import AnyType, ColSpec, Schema

from ..data.columns import schema_types
from ..data.preprocessing import RawRows

MODEL_NAME = "model"


def raw_example(rows):
    """Raw rows as a user has them: a table's as its DataFrame; else integers when every value is whole
    (pixels, digits), else float64."""
    if isinstance(rows, pd.DataFrame):
        return rows.reset_index(drop=True)
    rows = np.asarray(rows)
    return rows.astype(np.int64) if np.all(rows == np.round(rows)) else rows.astype(np.float64)


def image_shape_of(pipeline):
    """The shape of one image the pipeline takes (its first step's), or None for rows of features."""
    first = pipeline.steps[0][1] if hasattr(pipeline, "steps") else None
    return tuple(first.row_shape) if isinstance(first, RawRows) and first.row_shape else None


def signature_of(pipeline, example):
    """The columns ``example`` has in (none for images), labels (or values) out.

    A table's columns by name with their types (string, double, long,
    boolean: :func:`search.data.columns.schema_types`), each optional in
    value, so that a null reaches the pipeline's imputation. Images have no
    input schema (see the module's docstring). Another numeric matrix's
    columns are typed 'any': MLflow's 'double' refuses int64 (a csv of values
    read by pandas) and 'long' refuses float64; the pipeline's first step
    checks and converts what comes.
    """
    if isinstance(example, pd.DataFrame):
        inputs = Schema([ColSpec(kind, str(name), required=True)
                         for name, kind in schema_types(example).items()])
    elif image_shape_of(pipeline):
        inputs = None
    else:
        inputs = Schema([ColSpec(AnyType()) for _ in range(example.shape[1])])
    # the outputs' schema alone: inferring the inputs' would warn of integer columns we have typed already
    return ModelSignature(inputs=inputs, outputs=infer_signature(pipeline.predict(example)).inputs)


def input_description(pipeline):
    """What the model takes, in one line for its metadata; None for a table (its schema names the columns)."""
    shape = image_shape_of(pipeline)
    if shape is None:
        return None
    return (f"{'x'.join(map(str, shape))} images as stored (height, width[, channels]): arrays of shape "
            f"(n, {', '.join(map(str, shape))}) or flattened rows (n, {math.prod(shape)}), any numeric dtype")


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
    shape, described = image_shape_of(model), input_description(model)
    with mlflow.start_run(run_id=run_id):
        info = mlflow.sklearn.log_model(
            model, name=MODEL_NAME, signature=signature_of(model, example),
            input_example=example.reshape(-1, *shape) if shape else example, pip_requirements=requirements,
            metadata={"input": described} if described else None,
            serialization_format=mlflow.sklearn.SERIALIZATION_FORMAT_CLOUDPICKLE,
            code_paths=[str(root / "estimators"), str(root / "search")],
        )
    return info.model_uri
