"""The study's preprocessing as scikit-learn steps, so that a model takes raw rows.

``load_dataset`` fits these steps on the training rows and transforms every
split with them; the registered champion is the same fitted steps followed
by the estimator, one ``Pipeline``, so that it predicts from rows as the
dataset stores them (digits 0..16, uint8 pixels, a csv's columns) in any
numeric dtype.
"""

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler
from sklearn.utils.validation import check_is_fitted

# scaling name -> a new, unfitted scaler; 'none' keeps the values as read.
SCALERS = {
    "standard": StandardScaler,
    "minmax": lambda: MinMaxScaler(clip=True),  # clip: test pixels stay in the trained range
    "none": lambda: "passthrough",
}
ESTIMATOR_STEP = "mlp"


class RawRows(TransformerMixin, BaseEstimator):
    """Raw rows as float32 feature rows, as the data loader makes them.

    Images may come as ``(n, *row_shape)`` or already flat; any numeric dtype
    (integers, float32, float64, a DataFrame of such columns) gives the same
    float32 values the study trained on.

    Parameters
    ----------
    row_shape : tuple of int, default=None
        Shape of one raw row before flattening, e.g. ``(28, 28)`` or
        ``(32, 32, 3)`` (height, width, channels); None for tabular rows.
    """

    def __init__(self, row_shape=None):
        self.row_shape = row_shape

    def fit(self, X, y=None):
        self.n_features_in_ = self._rows(X).shape[1]
        return self

    def transform(self, X):
        check_is_fitted(self)
        X = self._rows(X)
        if X.shape[1] != self.n_features_in_:
            shape = f" (flattened {'x'.join(map(str, self.row_shape))} images)" if self.row_shape else ""
            raise ValueError(f"X has {X.shape[1]} features per row, expected "
                             f"{self.n_features_in_}{shape}")
        return X

    @staticmethod
    def _rows(X):
        X = np.asarray(X)
        if not (np.issubdtype(X.dtype, np.number) or X.dtype == bool):
            raise ValueError(f"X has dtype {X.dtype}; features must be numeric")
        if X.ndim < 2:
            raise ValueError(f"X has shape {X.shape}; give one row per sample")
        # float32: exact for integer pixels, and what the loader gave the trials
        return X.reshape(len(X), -1).astype(np.float32, copy=False)


def make_preprocessing(scaling, row_shape=None):
    """Unfitted steps that turn raw rows into the study's features.

    Parameters
    ----------
    scaling : {'standard', 'minmax', 'none'}
        The study file's ``dataset.scaling``.
    row_shape : tuple of int, default=None
        Shape of one image, flattened first; None for tabular rows.

    Returns
    -------
    Pipeline
        ``rows`` (:class:`RawRows`) then ``scale``.
    """
    if scaling not in SCALERS:
        raise ValueError(f"unknown scaling {scaling!r}; use one of {', '.join(SCALERS)}")
    return Pipeline([("rows", RawRows(row_shape)), ("scale", SCALERS[scaling]())])


def with_estimator(preprocessing, estimator):
    """One Pipeline of fitted ``preprocessing`` steps and a fitted ``estimator``.

    The steps are shared, not copied or refitted: the result predicts from raw
    rows exactly as the estimator saw the study's features.
    """
    return Pipeline([*preprocessing.steps, (ESTIMATOR_STEP, estimator)])


def describe(preprocessing):
    """The steps in a few words, e.g. 'rows (8x8 images flattened, float32) -> StandardScaler'."""
    parts = []
    for name, step in preprocessing.steps:
        if isinstance(step, RawRows):
            shape = step.row_shape
            parts.append(f"{'x'.join(map(str, shape))} images flattened to float32 rows" if shape
                         else "float32 rows")
        elif step != "passthrough":
            parts.append(type(step).__name__)
    return " -> ".join(parts)
