import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.utils._param_validation import InvalidParameterError

from estimators import MLPClassifier, check_gradients
from scipy.ndimage import map_coordinates

from estimators.augment import (
    ElasticDistortion,
    ImageAugmenter,
    TrainingInputs,
    check_augment,
    resolve_image_shape,
)


def shifted(image, dy, dx):
    """``image`` (h, w, c) moved down by dy and right by dx, zeros brought in: the definition."""
    height, width, _ = image.shape
    out = np.zeros_like(image)
    for y in range(height):
        for x in range(width):
            if 0 <= y - dy < height and 0 <= x - dx < width:
                out[y, x] = image[y - dy, x - dx]
    return out


def draws(seed, n, shift=0, crop_padding=0, flip=False):
    """The offsets and flips an ImageAugmenter with this seed draws for one batch of n."""
    rng = np.random.default_rng(seed)
    dy, dx = np.zeros(n, dtype=int), np.zeros(n, dtype=int)
    for limit in (shift, crop_padding):
        if limit:
            dy += rng.integers(-limit, limit + 1, n)
            dx += rng.integers(-limit, limit + 1, n)
    flips = rng.random(n) < 0.5 if flip else np.zeros(n, dtype=bool)
    return dy, dx, flips


@pytest.mark.parametrize("shape", [(5, 6, 1), (4, 5, 3)])
@pytest.mark.parametrize("shift, crop_padding, flip", [(2, 0, False), (0, 3, False), (1, 2, True),
                                                        (0, 0, True)])
def test_each_image_is_shifted_and_flipped_as_drawn(shape, shift, crop_padding, flip, each_path):
    X = np.random.default_rng(0).normal(size=(40, np.prod(shape))).astype(np.float32)
    index = np.array([0, 39, 5, 5, 17, 38, 1, 20])  # the data's first and last rows included
    augmenter = ImageAugmenter(shape, shift, crop_padding, flip, np.random.default_rng(3))
    out = augmenter.batch(X, index)
    assert out.shape == (len(index), X.shape[1]) and out.dtype == X.dtype
    dy, dx, flips = draws(3, len(index), shift, crop_padding, flip)
    # the reference: the shift (dy rows down, dx columns right, in the stored
    # sense: pixel (y, x) read from (y + dy, x + dx)) and then the mirror
    for row, i in enumerate(index):
        expected = shifted(X[i].reshape(shape), -dy[row], -dx[row])
        if flips[row]:
            expected = expected[:, ::-1]
        np.testing.assert_array_equal(out[row].reshape(shape), expected)


def test_moving_images_copies_the_batch_only(each_path):
    import tracemalloc

    X = np.random.default_rng(0).random((300, 784), dtype=np.float32)  # 0.9 MB; all its shifted windows: 700 MB
    inputs = TrainingInputs({"shift": 2, "flip": True}, None, 0.1, np.random.default_rng(0))
    make_batch, out = inputs.epoch(X), np.empty((64, 784), np.float32)
    make_batch(np.arange(64), out)  # numba's kernels loaded or compiled before measuring
    tracemalloc.start()
    make_batch(np.arange(64, 128), out)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 2_000_000


def test_offsets_cover_the_whole_range_uniformly():
    augmenter = ImageAugmenter((8, 8, 1), 2, 0, False, np.random.default_rng(0))
    dy, dx = augmenter._offsets(10000)
    assert set(dy) == set(dx) == {-2, -1, 0, 1, 2}
    assert np.bincount(dx + 2).min() > 1800  # 2000 expected each
    crop = ImageAugmenter((8, 8, 1), 0, 4, False, np.random.default_rng(0))
    assert set(crop._offsets(5000)[0]) == set(range(-4, 5))


def test_flips_half_of_the_images():
    X = np.random.default_rng(0).normal(size=(1000, 12)).astype(np.float32)
    out = ImageAugmenter((3, 4, 1), 0, 0, True, np.random.default_rng(0)).batch(X, np.arange(1000))
    mirrored = np.all(out.reshape(-1, 3, 4) == X.reshape(-1, 3, 4)[:, :, ::-1], axis=(1, 2))
    kept = np.all(out == X, axis=1)
    assert np.all(mirrored ^ kept)
    assert 430 < mirrored.sum() < 570


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("augment", [{"shift": 2}, {"crop_padding": 3, "flip": True},
                                     {"shift": 1, "elastic": 3.0, "elastic_sigma": 1.0, "flip": True}])
@pytest.mark.parametrize("jitter", [0.0, 0.4])
def test_both_paths_make_the_same_batches(augment, jitter, dtype, both_paths):
    X = np.random.default_rng(0).normal(size=(40, 5 * 6 * 3)).astype(dtype)
    index = np.array([0, 39, 5, 5, 17, 38, 1, 20])  # the data's first and last rows included

    def batches():
        inputs = TrainingInputs(augment, (5, 6, 3), jitter, np.random.default_rng(7))
        return [inputs.epoch(X)(index, np.empty((8, 90), dtype)).copy() for _ in range(2)]

    for ours, numpys in zip(*both_paths(batches)):
        np.testing.assert_array_equal(ours, numpys)


def test_a_whole_augmented_and_jittered_fit_is_the_same_on_both_paths(both_paths, small_digits):
    X, y = small_digits
    model = quick(augment={"crop_padding": 2, "flip": True}, jitter=0.3, dtype="float64")
    fits = both_paths(lambda: fit(clone(model), X, y))
    for ours, numpys in zip(fits[0].coefs_ + fits[0].intercepts_, fits[1].coefs_ + fits[1].intercepts_):
        np.testing.assert_allclose(ours, numpys, rtol=1e-10, atol=1e-10)


def test_no_augmentation_and_no_jitter_is_the_plain_batch():
    X = np.random.default_rng(0).normal(size=(30, 16)).astype(np.float32)
    for augment in (None, {"shift": 0, "flip": False}):
        make_batch = TrainingInputs(augment, None, 0.0, np.random.default_rng(0)).epoch(X)
        index = np.array([3, 0, 29])
        np.testing.assert_array_equal(make_batch(index, np.empty((8, 16), np.float32)), X[index])


@pytest.mark.parametrize("n_features, shape", [(784, (28, 28, 1)), (3072, (32, 32, 3)),
                                               (64, (8, 8, 1)), (12, (2, 2, 3))])
def test_image_shape_is_inferred_for_square_grey_or_rgb_images(n_features, shape):
    assert resolve_image_shape(None, n_features) == shape


def test_image_shape_given_or_refused():
    assert resolve_image_shape((4, 8), 32) == (4, 8, 1)
    assert resolve_image_shape([2, 4, 3], 24) == (2, 4, 3)
    with pytest.raises(ValueError, match=r"image_shape \(4, 4\) holds 16 values but X has 32"):
        resolve_image_shape((4, 4), 32)
    with pytest.raises(ValueError, match="augment needs image_shape: X's 50 features"):
        resolve_image_shape(None, 50)


@pytest.mark.parametrize("augment, image_shape, match", [
    ([2], None, "must be None or a"),
    ({"shfit": 2}, None, r"unknown keys \['shfit'\]"),
    ({"shift": -1}, None, r"\['shift'\] must be an int >= 0"),
    ({"crop_padding": 1.5}, None, r"\['crop_padding'\] must be an int >= 0"),
    ({"shift": True}, None, r"\['shift'\] must be an int >= 0"),
    ({"flip": "yes"}, None, r"\['flip'\] must be True or False"),
    ({"elastic": -1.0}, None, r"\['elastic'\] must be a number >= 0"),
    ({"elastic": "34"}, None, r"\['elastic'\] must be a number >= 0"),
    ({"elastic": True}, None, r"\['elastic'\] must be a number >= 0"),
    ({"elastic": float("nan")}, None, r"\['elastic'\] must be a number >= 0"),
    ({"elastic": 34.0, "elastic_sigma": 0}, None, r"\['elastic_sigma'\] must be a number > 0"),
    (None, (28,), "'image_shape' parameter"),
    (None, (28, 0), "'image_shape' parameter"),
    (None, (2, 2, 2, 2), "'image_shape' parameter"),
])
def test_bad_augment_or_image_shape_is_refused_at_fit_by_name(augment, image_shape, match):
    with pytest.raises(InvalidParameterError, match=match):
        check_augment(augment, image_shape)
    X, y = np.zeros((6, 4)), np.arange(6) % 2
    with pytest.raises(InvalidParameterError, match=match):
        MLPClassifier((3,), augment=augment, image_shape=image_shape, max_iter=1).fit(X, y)


def test_an_image_shape_that_does_not_fit_x_is_a_value_error(small_digits):
    X, y = small_digits
    with pytest.raises(ValueError, match="holds 784 values but X has 64"):
        MLPClassifier((8,), augment={"shift": 1}, image_shape=(28, 28), max_iter=1).fit(X, y)


def quick(**params):
    settings = dict(hidden_layer_sizes=(16,), solver="sgd", learning_rate_init=0.05, max_iter=3,
                    random_state=0, augment={"shift": 1, "flip": True})
    return MLPClassifier(**{**settings, **params})


def fit(model, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return model.fit(X, y)


def test_augmented_training_is_reproducible_and_seeded_by_random_state(small_digits):
    X, y = small_digits
    a, b = fit(quick(), X, y), fit(quick(), X, y)
    np.testing.assert_array_equal(a.coefs_[0], b.coefs_[0])
    assert not np.allclose(fit(quick(random_state=1), X, y).coefs_[0], a.coefs_[0])
    assert not np.allclose(fit(quick(augment=None), X, y).coefs_[0], a.coefs_[0])


def test_augmentation_and_jitter_leave_predict_alone(small_digits):
    X, y = small_digits
    model = fit(quick(jitter=0.2), X, y)
    first = model.predict_proba(X)
    np.testing.assert_array_equal(model.predict_proba(X), first)
    np.testing.assert_array_equal(model.set_params(augment=None, jitter=0.0).predict_proba(X), first)
    assert model.score(X, y) == np.mean(model.predict(X) == y)


def test_each_epoch_draws_new_augmentations(small_digits):
    X, _ = small_digits
    X = X.astype(np.float32)
    make = TrainingInputs({"shift": 2}, None, 0.1, np.random.default_rng(0))
    index = np.arange(50)
    first = make.epoch(X[:50])(index, np.empty((50, 64), np.float32)).copy()
    second = make.epoch(X[:50])(index, np.empty((50, 64), np.float32))
    assert not np.allclose(first, second)


@pytest.mark.parametrize("params", [dict(augment={"shift": 1, "flip": True}), dict(jitter=0.3),
                                    dict(augment={"crop_padding": 2}, jitter=0.1)])
def test_training_on_an_augmented_batch_is_training_on_that_batch(params, small_digits):
    # The gradient path is the plain one: one full-batch SGD step with
    # augmentation equals a plain step on the batch the augmentation made.
    X, y = small_digits
    X = X.astype(np.float32)
    step = dict(hidden_layer_sizes=(16,), solver="sgd", momentum=0.0, learning_rate_init=0.1,
                batch_size=len(X), shuffle=False, max_iter=1, random_state=0)
    augmented = fit(MLPClassifier(**step, **params), X, y)
    source = np.random.default_rng(augmented._noise.bit_generator.seed_seq.entropy)
    inputs = TrainingInputs(params.get("augment"), None, params.get("jitter", 0.0), source)
    batch = inputs.epoch(X)(np.arange(len(X)), np.empty_like(X))
    assert not np.allclose(batch, X)
    plain = fit(MLPClassifier(**step), batch, y)
    for got, expected in zip(augmented.coefs_ + augmented.intercepts_, plain.coefs_ + plain.intercepts_):
        np.testing.assert_array_equal(got, expected)


def test_gradient_check_of_an_augmented_estimator(small_digits):
    X, y = small_digits
    model = quick(augment={"shift": 2, "flip": True}, jitter=0.5, activation="tanh", alpha=0.1)
    errors = check_gradients(model, X[:20], y[:20])
    assert max(errors.values()) < 1e-6, errors


def test_augmented_estimator_clones_pickles_and_trains_on(small_digits):
    import pickle

    X, y = small_digits
    model = fit(quick(jitter=0.1), X, y)
    assert clone(model).get_params()["augment"] == {"shift": 1, "flip": True}
    restored = pickle.loads(pickle.dumps(model))
    model.partial_fit(X, y)
    restored.partial_fit(X, y)
    np.testing.assert_array_equal(model.coefs_[0], restored.coefs_[0])


def test_augment_needs_dense_input_and_a_stochastic_solver(small_digits):
    from scipy import sparse
    X, y = small_digits
    with pytest.raises(ValueError, match=r"augment=\{'shift': 1\} moves image pixels: it needs dense X"):
        MLPClassifier((8,), max_iter=1, augment={"shift": 1}).fit(sparse.csr_matrix(X), y)
    with pytest.raises(ValueError, match="solver='lbfgs' needs a deterministic loss"):
        MLPClassifier((8,), solver="lbfgs", augment={"shift": 1}).fit(X, y)


def test_a_plain_fit_draws_no_noise_generator(small_digits):
    """Without jitter, augmentation or dropout the random stream is sklearn's: no extra draw."""
    X, y = small_digits
    clf = MLPClassifier((8,), max_iter=1, random_state=0).fit(X, y)
    assert clf._noise is None


def elastic_reference(image, dy, dx):
    """``image`` (h, w, c) read at (y + dy, x + dx) by scipy: bilinear, zeros beyond the edges."""
    height, width, channels = image.shape
    rows, cols = np.meshgrid(np.arange(height), np.arange(width), indexing="ij")
    return np.stack([map_coordinates(image[..., c], [rows + dy, cols + dx], order=1, mode="grid-constant")
                     for c in range(channels)], axis=-1)


@pytest.mark.parametrize("shape, alpha, sigma", [((28, 28, 1), 34.0, 4.0), ((6, 9, 3), 8.0, 1.0)])
def test_elastic_distortion_reads_each_pixel_at_its_smoothed_random_displacement(shape, alpha, sigma):
    X = np.random.default_rng(0).random((5, np.prod(shape))).astype(np.float32)
    out = ElasticDistortion(shape, alpha, sigma, np.random.default_rng(1)).distort(X)
    assert out.shape == X.shape and out.dtype == X.dtype
    dy, dx = ElasticDistortion(shape, alpha, sigma, np.random.default_rng(1)).displacements(5)
    assert np.abs(dy).max() > 1  # some pixels move by more than one cell, some past the border
    for row in range(5):
        expected = elastic_reference(X[row].reshape(shape), dy[row], dx[row])
        np.testing.assert_allclose(out[row].reshape(shape), expected, atol=1e-5)


def test_elastic_fields_are_gaussian_smoothed_uniform_noise_scaled_by_alpha():
    from scipy.ndimage import gaussian_filter

    dy, dx = ElasticDistortion((28, 28, 1), 34.0, 4.0, np.random.default_rng(0)).displacements(3)
    uniform = np.random.default_rng(0).random((2, 3, 28, 28), dtype=np.float32) * 2 - 1
    expected = 34.0 * gaussian_filter(uniform, 4.0, axes=(2, 3))
    np.testing.assert_allclose(np.stack([dy, dx]), expected, atol=1e-4)
    # neighbours move together: the fields are smooth
    assert np.corrcoef(dy[:, :, :-1].ravel(), dy[:, :, 1:].ravel())[0, 1] > 0.9


def test_zero_elastic_is_no_distortion():
    X = np.random.default_rng(0).random((4, 64)).astype(np.float32)
    out = ElasticDistortion((8, 8, 1), 0.0, 4.0, np.random.default_rng(0)).distort(X)
    np.testing.assert_allclose(out, X, atol=1e-6)
    make_batch = TrainingInputs({"elastic": 0.0}, None, 0.0, np.random.default_rng(0)).epoch(X)
    np.testing.assert_array_equal(make_batch(np.arange(4), np.empty_like(X)), X)


def test_a_distorted_shape_is_still_that_shape():
    rows, cols = np.mgrid[:28, :28] - 13.5
    ring = (np.abs(np.hypot(rows, cols) - 8) < 2).astype(np.float32)    # a "0"
    bar = (np.abs(cols) < 2) & (np.abs(rows) < 10)                      # a "1"
    X = np.repeat(np.stack([ring.ravel(), bar.ravel()]).astype(np.float32), 50, axis=0)
    out = ElasticDistortion((28, 28, 1), 34.0, 4.0, np.random.default_rng(0)).distort(X)
    assert not np.allclose(out, X, atol=0.1)
    own = [np.corrcoef(o, x)[0, 1] for o, x in zip(out, X)]
    other = [np.corrcoef(o, x)[0, 1] for o, x in zip(out, X[::-1])]
    assert np.mean(own) > 0.6 and np.all(np.array(own) > np.array(other))


def elastic_batches(seed, epochs=1):
    X = np.random.default_rng(0).random((40, 64)).astype(np.float32)
    inputs = TrainingInputs({"elastic": 8.0, "elastic_sigma": 1.0, "shift": 1}, None, 0.0,
                            np.random.default_rng(seed))
    batches = []
    for _ in range(epochs):
        make_batch = inputs.epoch(X)
        batches += [make_batch(index, np.empty((16, 64), np.float32)).copy()
                    for index in np.array_split(np.arange(40), [16, 32])]
    return batches


def test_elastic_batches_are_seeded_and_new_each_batch_and_epoch():
    first, again, other = elastic_batches(0, epochs=2), elastic_batches(0, epochs=2), elastic_batches(1)
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    assert not np.allclose(first[0], other[0])
    assert not np.allclose(first[0], first[3])   # the same rows in the next epoch


def test_elastic_training_is_seeded_and_leaves_predict_alone(small_digits):
    X, y = small_digits
    model = fit(quick(augment={"elastic": 4.0, "elastic_sigma": 1.0}), X, y)
    again = fit(quick(augment={"elastic": 4.0, "elastic_sigma": 1.0}), X, y)
    np.testing.assert_array_equal(model.coefs_[0], again.coefs_[0])
    assert not np.allclose(fit(quick(augment=None), X, y).coefs_[0], model.coefs_[0])
    first = model.predict_proba(X)
    np.testing.assert_array_equal(model.predict_proba(X), first)
    np.testing.assert_array_equal(model.set_params(augment=None).predict_proba(X), first)
