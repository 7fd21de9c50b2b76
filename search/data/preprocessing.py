"""The study's preprocessing as scikit-learn steps, so that a model takes raw rows.

``load_dataset`` fits these steps on the training rows and transforms every
split with them; the registered champion is the same fitted steps followed
by the estimator, one ``Pipeline``, so that it predicts from rows as the
dataset stores them (digits 0..16, uint8 pixels, a csv's columns) in any
numeric dtype. A table's steps are :mod:`search.data.columns`'.
"""

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler
from sklearn.utils.validation import check_is_fitted

from .columns import describe_columns

ESTIMATOR_STEP = "mlp"


class ZCA(TransformerMixin, BaseEstimator):
    """ZCA whitening: decorrelated features that still look like the images.

    ``(X - mean_) @ whitening_`` with ``whitening_ = U diag(1 / sqrt(s + eps)) U^T``
    from the eigendecomposition ``U diag(s) U^T`` of the training rows'
    covariance (Krizhevsky 2009; Coates & Ng 2011). Unlike PCA whitening it
    rotates back, so each feature stays a pixel (with its neighbours'
    correlation taken out) and flips and crops still apply. An MLP sees no
    neighbourhoods, and whitening hands it the edges a convolution would find.

    Parameters
    ----------
    regularization : float, default=1.0
        ``eps`` as a multiple of the mean eigenvalue: the directions of small
        variance (fine detail and noise) are amplified at most this much less.
        Small values whiten fully and overfit: on CIFAR-10, 0.1 scored 6 points
        below standard scaling, 1.0 (with crops and flips) 3 points above it
        (see ``studies/cifar10_best.yaml``). Scale-free: pixels in 0..255 or
        0..1 give the same result.
    """

    def __init__(self, regularization=1.0):
        self.regularization = regularization

    def fit(self, X, y=None):
        if not self.regularization > 0:
            raise ValueError(f"regularization must be > 0, got regularization={self.regularization!r}")
        X = np.asarray(X, dtype=np.float32)
        self.mean_ = X.mean(axis=0)
        centred = X - self.mean_
        # float32 products (the covariance of 50000 CIFAR rows in ~2 s), float64 eigenvectors
        covariance = (centred.T @ centred).astype(np.float64) / len(X)
        s, U = np.linalg.eigh(covariance)
        s = np.clip(s, 0.0, None)
        scale = 1.0 / np.sqrt(s + self.regularization * s.mean())
        self.whitening_ = ((U * scale) @ U.T).astype(np.float32)
        self.n_features_in_ = X.shape[1]
        return self

    def transform(self, X):
        check_is_fitted(self)
        return (np.asarray(X, dtype=np.float32) - self.mean_) @ self.whitening_


# scaling name -> a new, unfitted scaler; 'none' keeps the values as read.
SCALERS = {
    "standard": StandardScaler,
    "minmax": lambda: MinMaxScaler(clip=True),  # clip: test pixels stay in the trained range
    "zca": ZCA,
    "none": lambda: "passthrough",
}


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
    scaling : {'standard', 'minmax', 'zca', 'none'}
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
        elif isinstance(step, ColumnTransformer):
            parts.append(describe_columns(step))
        elif step != "passthrough":
            parts.append(type(step).__name__)
    return " -> ".join(parts)
