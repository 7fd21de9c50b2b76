"""Tests for search.data.preprocessing: the loader's steps, reused by the model, on raw rows of any dtype."""

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_digits

from estimators import MLPClassifier
from search.data import load_dataset
from search.data.preprocessing import ZCA, RawRows, describe, make_preprocessing, with_estimator


def test_raw_rows_give_the_same_float32_rows_in_any_numeric_dtype():
    X = load_digits().data[:20]  # float64, whole numbers 0..16
    rows = RawRows().fit(X)
    expected = rows.transform(X)
    assert expected.dtype == np.float32
    for same in (X.astype(np.int64), X.astype(np.uint8), X.astype(np.float32),
                 pd.DataFrame(X.astype(np.int32), columns=[f"c{i}" for i in range(64)])):
        np.testing.assert_array_equal(rows.transform(same), expected)


def test_raw_rows_flatten_images_and_name_a_wrong_width():
    images = np.arange(2 * 28 * 28, dtype=np.uint8).reshape(2, 28, 28)
    rows = RawRows((28, 28)).fit(images)
    np.testing.assert_array_equal(rows.transform(images), images.reshape(2, -1).astype(np.float32))
    with pytest.raises(ValueError, match=r"X has 783 features per row, expected 784 \(flattened 28x28"):
        rows.transform(images.reshape(2, -1)[:, 1:])
    with pytest.raises(ValueError, match="features must be numeric"):
        rows.transform(np.array([["a"] * 784]))


def test_the_loaders_steps_turn_raw_test_rows_into_its_scaled_test_rows():
    for scaling in ("standard", "minmax", "zca", "none"):
        data = load_dataset("digits", scaling=scaling)
        np.testing.assert_array_equal(data.preprocessing.transform(data.X_test_raw), data.X_test)
        np.testing.assert_array_equal(data.preprocessing.transform(data.X_test_raw.astype(np.int64)),
                                      data.X_test)


def test_a_pipeline_of_fitted_steps_predicts_from_raw_rows_as_the_estimator_from_scaled_ones():
    data = load_dataset("digits", subset=400, validation_fraction=0)
    estimator = MLPClassifier((16,), max_iter=3, random_state=0).fit(data.X_train, data.y_train)
    pipeline = with_estimator(data.preprocessing, estimator)
    np.testing.assert_array_equal(pipeline.predict(data.X_test_raw.astype(np.int64)),
                                  estimator.predict(data.X_test))
    assert describe(pipeline[:-1]) == "8x8 images flattened to float32 rows -> StandardScaler"


def test_zca_with_little_regularization_whitens_and_stays_near_the_pixels():
    X = load_digits().data.astype(np.float32)
    X = X[:, X.std(axis=0) > 1]  # drop the constant border pixels: their variance is 0
    white = ZCA(regularization=1e-6).fit(X).transform(X)
    np.testing.assert_allclose(np.cov(white, rowvar=False), np.eye(X.shape[1]), atol=2e-3)
    # ZCA is the whitening closest to the identity: each feature stays its own pixel
    # (PCA whitening, a rotation away, would not)
    centred = X - X.mean(axis=0)
    same_pixel = [np.corrcoef(centred[:, j], white[:, j])[0, 1] for j in range(X.shape[1])]
    assert min(same_pixel) > 0.3


def test_zca_regularization_damps_the_small_directions_and_ignores_the_scale():
    X = load_digits().data.astype(np.float32)
    soft = ZCA(regularization=1.0).fit(X)
    variances = np.linalg.eigvalsh(np.cov(soft.transform(X), rowvar=False))
    assert variances.max() < 1.0 and variances.max() > 0.3  # s / (s + mean(s)): below 1
    np.testing.assert_allclose(ZCA().fit(X / 16).transform(X / 16), soft.transform(X), atol=1e-4)
    with pytest.raises(ValueError, match="regularization must be > 0, got regularization=0"):
        ZCA(regularization=0).fit(X)


def test_the_fingerprint_follows_the_rows_and_the_scaling():
    a, b = load_dataset("digits"), load_dataset("digits")
    assert a.fingerprint == b.fingerprint and len(a.fingerprint) == 16
    assert load_dataset("digits", scaling="minmax").fingerprint != a.fingerprint
    assert load_dataset("digits", subset=500).fingerprint != a.fingerprint


def test_an_unknown_scaling_is_named():
    with pytest.raises(ValueError, match="unknown scaling 'unit'"):
        make_preprocessing("unit")
