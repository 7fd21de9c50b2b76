"""Tests for search.data: every file format, the search order and the splits."""

import gzip
import pickle
import re
import struct
from pathlib import Path
from urllib.error import URLError

import numpy as np
import pytest
import sklearn.datasets as sk_datasets
import sklearn.datasets._openml as sk_openml

from search.data import bundled, formats
from search.data import DATASETS, DataError, Dataset, load_arrays, load_dataset

REAL_MNIST = Path(__file__).resolve().parents[4] / "shared" / "data" / "mnist.npz"
LOCATION_VARS = ("MNIST_PATH", "FASHION_MNIST_PATH", "CIFAR10_PATH", "DATA_DIR")
REAL_FETCH_OPENML = sk_datasets.fetch_openml  # kept before the fixture stubs it out


def _no_network(*args, **kwargs):
    raise OSError("network unreachable (test)")


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """No location variables, no shared folder, no OpenML: only what a test writes."""
    for var in LOCATION_VARS:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("SCIKIT_LEARN_DATA", str(tmp_path / "sklearn_home"))
    repo = tmp_path / "work" / "repo"
    repo.mkdir(parents=True)
    monkeypatch.chdir(repo)
    monkeypatch.setattr(bundled, "REPO_ROOT", repo)
    monkeypatch.setattr(sk_datasets, "fetch_openml", _no_network)
    return repo


# ----------------------------------------------------------------------------
# Writers for small files in each format
# ----------------------------------------------------------------------------

def mnist_like(n_train=20, n_test=8, n_classes=4, shape=(28, 28), seed=0):
    """Random uint8 images with balanced labels, as (x_train, y_train, x_test, y_test)."""
    rng = np.random.default_rng(seed)
    x_train = rng.integers(0, 256, size=(n_train, *shape), dtype=np.uint8)
    x_test = rng.integers(0, 256, size=(n_test, *shape), dtype=np.uint8)
    y_train = (np.arange(n_train) % n_classes).astype(np.uint8)
    y_test = (np.arange(n_test) % n_classes).astype(np.uint8)
    return x_train, y_train, x_test, y_test


def write_split_npz(path, arrays):
    x_train, y_train, x_test, y_test = arrays
    np.savez(path, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    return path


def write_idx(path, array, magic=None):
    """Write ``array`` as an IDX file (gzipped when the name ends in .gz)."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    magic = 0x800 | array.ndim if magic is None else magic
    payload = (struct.pack(">I", magic) + struct.pack(f">{array.ndim}I", *array.shape)
               + array.tobytes())
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wb") as file:
        file.write(payload)


def write_idx_folder(folder, arrays, gz=False):
    folder.mkdir(parents=True, exist_ok=True)
    suffix = ".gz" if gz else ""
    for key, array in zip(formats.SPLIT_KEYS, arrays):
        write_idx(folder / (formats.IDX_FILES[key] + suffix), array)
    return folder


def write_cifar_folder(folder, rows_per_batch=10, seed=0):
    """CIFAR-10 python batches; returns the channel-major train and test arrays."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True)
    written = {}
    for name in (*formats.CIFAR_TRAIN_BATCHES, formats.CIFAR_TEST_BATCH):
        batch = {b"data": rng.integers(0, 256, size=(rows_per_batch, 3072), dtype=np.uint8),
                 b"labels": [i % 10 for i in range(rows_per_batch)],
                 b"batch_label": name.encode()}
        with open(folder / name, "wb") as file:
            pickle.dump(batch, file)
        written[name] = batch
    train = np.concatenate([written[name][b"data"] for name in formats.CIFAR_TRAIN_BATCHES])
    return train, written[formats.CIFAR_TEST_BATCH][b"data"]


def write_csv(path, text):
    path.write_text(text)
    return path


def blobs_csv_rows(n_per_class=10, classes=("cat", "dog")):
    """Lines 'f1,f2,label' for separable classes, as strings."""
    rows = []
    for k, label in enumerate(classes):
        rows += [f"{k * 10 + i * 0.1},{-k + i * 0.01},{label}" for i in range(n_per_class)]
    return rows


# ----------------------------------------------------------------------------
# MNIST-style files
# ----------------------------------------------------------------------------

def test_mnist_npz_is_flattened_float32_with_labels_kept(tmp_path):
    arrays = mnist_like()
    path = write_split_npz(tmp_path / "mnist.npz", arrays)

    X_train, y_train, X_test, y_test, image_shape = load_arrays("mnist", path)

    assert X_train.shape == (20, 784) and X_test.shape == (8, 784)
    assert X_train.dtype == np.float32 and image_shape == (28, 28)
    np.testing.assert_array_equal(X_train, arrays[0].reshape(20, -1))
    np.testing.assert_array_equal(y_test, arrays[3])
    assert y_train.dtype == np.int64


def test_mnist_npz_missing_keys_names_them(tmp_path):
    path = tmp_path / "bad.npz"
    np.savez(path, images=np.zeros((2, 28, 28)))

    with pytest.raises(DataError, match="lacks x_train, y_train, x_test, y_test"):
        load_arrays("mnist", path)


@pytest.mark.parametrize("gz", [False, True], ids=["raw", "gzipped"])
def test_idx_folder_reads_the_four_files(tmp_path, gz):
    arrays = mnist_like(n_train=12, n_test=6)
    folder = write_idx_folder(tmp_path / "mnist", arrays, gz=gz)

    X_train, y_train, X_test, y_test, image_shape = load_arrays("fashion_mnist", folder)

    np.testing.assert_array_equal(X_train, arrays[0].reshape(12, -1).astype(np.float32))
    np.testing.assert_array_equal(X_test, arrays[2].reshape(6, -1).astype(np.float32))
    np.testing.assert_array_equal(y_train, arrays[1])
    np.testing.assert_array_equal(y_test, arrays[3])
    assert image_shape == (28, 28)


def test_idx_with_corrupt_magic_number_is_rejected(tmp_path):
    folder = write_idx_folder(tmp_path / "mnist", mnist_like())
    write_idx(folder / formats.IDX_FILES["x_train"], mnist_like()[0], magic=0x12345678)

    with pytest.raises(DataError, match=r"magic number 0x12345678, expected 0x00000803"):
        load_arrays("mnist", folder)


def test_idx_labels_with_image_magic_are_rejected(tmp_path):
    folder = write_idx_folder(tmp_path / "mnist", mnist_like())
    write_idx(folder / formats.IDX_FILES["y_test"], np.zeros(8), magic=0x00000803)

    with pytest.raises(DataError, match="expected 0x00000801"):
        load_arrays("mnist", folder)


def test_idx_truncated_data_is_rejected(tmp_path):
    folder = write_idx_folder(tmp_path / "mnist", mnist_like())
    images = folder / formats.IDX_FILES["x_test"]
    images.write_bytes(images.read_bytes()[:-5])

    with pytest.raises(DataError, match=r"data bytes but its header \(8, 28, 28\) needs 6272"):
        load_arrays("mnist", folder)


def test_idx_folder_missing_a_file_names_it(tmp_path):
    folder = write_idx_folder(tmp_path / "mnist", mnist_like())
    (folder / formats.IDX_FILES["y_test"]).unlink()

    with pytest.raises(DataError, match="lacks t10k-labels-idx1-ubyte"):
        load_arrays("mnist", folder)


def test_idx_image_and_label_counts_must_agree(tmp_path):
    x_train, y_train, x_test, y_test = mnist_like()
    folder = write_idx_folder(tmp_path / "mnist", (x_train, y_train[:-1], x_test, y_test))

    with pytest.raises(DataError, match="20 images but its label file holds 19"):
        load_arrays("mnist", folder)


def test_wrong_image_size_is_rejected(tmp_path):
    path = write_split_npz(tmp_path / "small.npz", mnist_like(shape=(14, 14)))

    with pytest.raises(DataError, match=r"expected N x 28 x 28 or N x 784"):
        load_arrays("mnist", path)


# ----------------------------------------------------------------------------
# CIFAR-10
# ----------------------------------------------------------------------------

def test_cifar_pickle_folder_is_converted_to_height_width_channel(tmp_path):
    train_rows, test_rows = write_cifar_folder(tmp_path / "cifar-10-batches-py")

    # The parent of cifar-10-batches-py works too, as after extracting the tarball.
    X_train, y_train, X_test, y_test, image_shape = load_arrays("cifar10", tmp_path)

    assert X_train.shape == (50, 3072) and X_test.shape == (10, 3072)
    assert image_shape == (32, 32, 3)
    first = X_train[0].reshape(image_shape)
    for channel in range(3):
        expected = train_rows[0, channel * 1024:(channel + 1) * 1024].reshape(32, 32)
        np.testing.assert_array_equal(first[..., channel], expected)
    np.testing.assert_array_equal(X_test[3].reshape(image_shape).transpose(2, 0, 1).ravel(),
                                  test_rows[3])
    np.testing.assert_array_equal(y_train[:10], np.arange(10))


def test_cifar_folder_missing_a_batch_names_it(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    write_cifar_folder(folder)
    (folder / "data_batch_4").unlink()

    with pytest.raises(DataError, match="lacks data_batch_4"):
        load_arrays("cifar10", folder)


def test_cifar_npz_in_height_width_channel_form(tmp_path):
    arrays = mnist_like(n_train=10, n_test=5, n_classes=10, shape=(32, 32, 3))
    path = write_split_npz(tmp_path / "cifar10.npz", arrays)

    X_train, _, X_test, _, image_shape = load_arrays("cifar10", path)

    np.testing.assert_array_equal(X_train, arrays[0].reshape(10, -1))
    np.testing.assert_array_equal(X_test, arrays[2].reshape(5, -1))
    assert image_shape == (32, 32, 3)


# ----------------------------------------------------------------------------
# A user's own csv and npz
# ----------------------------------------------------------------------------

def test_csv_without_header_takes_the_last_column_as_label(tmp_path):
    path = write_csv(tmp_path / "blobs.csv", "\n".join(blobs_csv_rows()) + "\n")

    X_train, y_train, X_test, y_test, image_shape = load_arrays("csv", path)

    assert X_train.shape == (16, 2) and X_test.shape == (4, 2)
    assert image_shape is None
    assert sorted(np.unique(y_test)) == ["cat", "dog"]  # stratified: both classes tested
    assert X_train.dtype == np.float32


def test_csv_with_header_uses_the_label_column(tmp_path):
    lines = ["a,label,b"] + [f"{i}.5,{i % 2},{-i}" for i in range(10)]
    path = write_csv(tmp_path / "with_header.csv", "\n".join(lines))

    X_train, y_train, X_test, y_test, _ = load_arrays("csv", path)

    X = np.concatenate([X_train, X_test])
    y = np.concatenate([y_train, y_test])
    assert X.shape == (10, 2) and y.dtype == np.int64
    # Each row's label is i % 2 where its first feature is i + 0.5.
    np.testing.assert_array_equal(y, (X[:, 0] - 0.5).astype(int) % 2)
    np.testing.assert_array_equal(X[:, 1], -(X[:, 0] - 0.5))


def test_csv_with_text_feature_names_the_line(tmp_path):
    path = write_csv(tmp_path / "bad.csv", "1,2,0\n3,x,1\n")

    with pytest.raises(DataError, match=r"line 2: 'x' is not a number"):
        load_arrays("csv", path)


@pytest.mark.parametrize("text, expect", [
    ("1,2,0\n\n3,4,1,9\n", "line 3 has 4 fields, expected 3 like the first row"),  # the blank line counts
    ("1,2,0\n\n3,4\n", "line 3 has 2 fields, expected 3 like the first row"),
])
def test_a_ragged_csv_row_names_its_line(tmp_path, text, expect):
    with pytest.raises(DataError, match=expect):
        load_arrays("csv", write_csv(tmp_path / "ragged.csv", text))


def test_user_npz_with_X_and_y_gets_a_stratified_test_split(tmp_path):
    X = np.arange(60, dtype=np.float64).reshape(30, 2)
    y = np.repeat([0, 1, 2], 10)
    path = tmp_path / "mine.npz"
    np.savez(path, X=X, y=y)

    X_train, y_train, X_test, y_test, image_shape = load_arrays("npz", path)

    assert len(X_train) == 24 and len(X_test) == 6
    assert np.bincount(y_test).tolist() == [2, 2, 2]
    assert image_shape is None
    assert set(map(tuple, np.concatenate([X_train, X_test]))) == set(map(tuple, X))


def test_user_npz_with_split_keys_is_taken_as_is(tmp_path):
    arrays = mnist_like(n_train=6, n_test=3, n_classes=3, shape=(4, 5))
    path = write_split_npz(tmp_path / "mine.npz", arrays)

    X_train, y_train, X_test, y_test, image_shape = load_arrays("npz", path)

    np.testing.assert_array_equal(X_test, arrays[2].reshape(3, 20))
    np.testing.assert_array_equal(y_train, arrays[1])
    assert image_shape == (4, 5)


def test_user_file_needs_a_path():
    with pytest.raises(DataError, match="pass path="):
        load_arrays("csv")


# ----------------------------------------------------------------------------
# Where files are looked for
# ----------------------------------------------------------------------------

def test_env_var_is_used_when_no_path_is_given(tmp_path, monkeypatch):
    path = write_split_npz(tmp_path / "elsewhere.npz", mnist_like(n_train=9))
    monkeypatch.setenv("MNIST_PATH", str(path))

    assert load_arrays("mnist")[0].shape == (9, 784)


def test_path_argument_beats_env_var(tmp_path, monkeypatch):
    env_file = write_split_npz(tmp_path / "a.npz", mnist_like(n_train=9))
    monkeypatch.setenv("MNIST_PATH", str(env_file))
    path = write_split_npz(tmp_path / "b.npz", mnist_like(n_train=11))

    assert load_arrays("mnist", path)[0].shape == (11, 784)


def test_cifar_env_var_may_name_the_batch_folder(tmp_path, monkeypatch):
    write_cifar_folder(tmp_path / "batches")
    monkeypatch.setenv("CIFAR10_PATH", str(tmp_path / "batches"))

    assert load_arrays("cifar10")[2].shape == (10, 3072)


def test_data_dir_with_conventional_names(tmp_path, monkeypatch):
    write_idx_folder(tmp_path / "data" / "fashion_mnist", mnist_like(n_train=7), gz=True)
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))

    assert load_arrays("fashion_mnist")[0].shape == (7, 784)


def test_shared_mnist_next_to_the_repository_root(isolated):
    write_split_npz_at = isolated.parent / "shared" / "data"
    write_split_npz_at.mkdir(parents=True)
    write_split_npz(write_split_npz_at / "mnist.npz", mnist_like(n_train=5))

    assert load_arrays("mnist")[0].shape == (5, 784)
    with pytest.raises(DataError, match="fashion_mnist data not found"):
        load_arrays("fashion_mnist")  # the shared folder holds mnist and cifar10 only


def test_shared_cifar10_next_to_the_repository_root(isolated):
    shared = isolated.parent / "shared" / "data"
    shared.mkdir(parents=True)
    write_split_npz(shared / "cifar10.npz", mnist_like(n_train=5, shape=(32, 32, 3)))

    X_train, _, _, _, image_shape = load_arrays("cifar10")
    assert X_train.shape == (5, 3072) and image_shape == (32, 32, 3)


def test_shared_mnist_next_to_the_working_directory(tmp_path, monkeypatch):
    (tmp_path / "elsewhere" / "shared" / "data").mkdir(parents=True)
    (tmp_path / "elsewhere" / "cwd").mkdir()
    write_split_npz(tmp_path / "elsewhere" / "shared" / "data" / "mnist.npz", mnist_like(n_train=6))
    monkeypatch.chdir(tmp_path / "elsewhere" / "cwd")

    assert load_arrays("mnist")[0].shape == (6, 784)


def test_missing_mnist_names_every_place_looked(tmp_path, monkeypatch, isolated):
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))

    with pytest.raises(DataError) as caught:
        load_arrays("mnist")

    message = str(caught.value)
    assert "\n" not in message
    assert "$MNIST_PATH (not set)" in message
    assert str(tmp_path / "data" / "mnist.npz") in message
    assert str(tmp_path / "data" / "mnist") in message
    assert str(isolated.parent / "shared" / "data" / "mnist.npz") in message
    assert "OpenML cache" in message and "network unreachable (test)" in message
    assert "Set MNIST_PATH to an .npz with x_train, y_train, x_test, y_test" in message
    assert "four IDX files" in message


def test_env_var_naming_a_missing_file_is_an_error_not_a_fallback(tmp_path, monkeypatch):
    monkeypatch.setenv("MNIST_PATH", str(tmp_path / "typo.npz"))

    with pytest.raises(DataError, match=r"MNIST_PATH='.*typo\.npz' does not exist"):
        load_arrays("mnist")


def test_openml_cache_is_the_last_resort(monkeypatch):
    calls = []

    def fake_fetch_openml(name, **kwargs):
        calls.append((name, kwargs))
        X = np.arange(7 * 784, dtype=np.float64).reshape(7, 784) % 256
        return sk_datasets._base.Bunch(data=X, target=np.array(list("0120120"), dtype=object))

    monkeypatch.setattr(sk_datasets, "fetch_openml", fake_fetch_openml)
    monkeypatch.setattr(bundled, "OPENML_TEST_ROWS", 3)

    X_train, y_train, X_test, y_test, image_shape = load_arrays("fashion_mnist")

    assert calls[0][0] == "Fashion-MNIST" and calls[0][1]["as_frame"] is False
    assert X_train.shape == (4, 784) and X_test.shape == (3, 784)
    assert y_train.tolist() == [0, 1, 2, 0] and y_test.tolist() == [1, 2, 0]
    assert X_train.dtype == np.float32 and image_shape == (28, 28)


def test_openml_failure_lists_where_it_looked(monkeypatch):
    def failing_fetch_openml(name, **kwargs):
        raise ValueError("dataset not in cache")

    monkeypatch.setattr(sk_datasets, "fetch_openml", failing_fetch_openml)

    with pytest.raises(DataError) as caught:
        load_arrays("fashion_mnist")

    message = str(caught.value)
    assert "$FASHION_MNIST_PATH (not set)" in message and "$DATA_DIR (not set)" in message
    assert "fetch_openml('Fashion-MNIST') failed: dataset not in cache" in message


@pytest.mark.filterwarnings("ignore:A network error occurred")
def test_real_fetch_openml_accepts_our_arguments_and_fails_offline(monkeypatch):
    def offline_urlopen(*args, **kwargs):
        raise URLError("offline (test)")

    monkeypatch.setattr(sk_datasets, "fetch_openml", REAL_FETCH_OPENML)
    monkeypatch.setattr(sk_openml, "urlopen", offline_urlopen)

    with pytest.raises(DataError, match=r"fetch_openml\('mnist_784'\) failed: .*offline \(test\)"):
        load_arrays("mnist")


def test_real_shared_mnist_has_the_official_shapes():
    if not REAL_MNIST.is_file():
        pytest.skip(f"no MNIST at {REAL_MNIST}; put the 60000/10000 mnist.npz there to run this")

    X_train, y_train, X_test, y_test, image_shape = load_arrays("mnist", REAL_MNIST)

    assert X_train.shape == (60000, 784) and X_test.shape == (10000, 784)
    assert y_train.shape == (60000,) and y_test.shape == (10000,)
    assert set(np.unique(y_train)) == set(range(10))
    assert 0 <= X_train.min() and X_train.max() <= 255


# ----------------------------------------------------------------------------
# Digits, names and load_dataset
# ----------------------------------------------------------------------------

def test_digits_always_loads_with_a_fixed_test_split():
    X_train, y_train, X_test, y_test, image_shape = load_arrays("digits")

    assert X_train.shape == (1347, 64) and X_test.shape == (450, 64)
    assert image_shape == (8, 8) and X_train.dtype == np.float32
    np.testing.assert_array_equal(load_arrays("digits")[3], y_test)  # same split every time


def test_unknown_name_lists_the_known_ones():
    with pytest.raises(DataError) as caught:
        load_arrays("imagenet")

    assert "'imagenet'" in str(caught.value)
    assert all(name in str(caught.value) for name in DATASETS)


def test_names_are_forgiving_about_case_and_dashes(tmp_path):
    path = write_split_npz(tmp_path / "f.npz", mnist_like())

    assert load_dataset("Fashion-MNIST", path, scaling="none").name == "fashion_mnist"


def test_load_dataset_sizes_and_stratification():
    dataset = load_dataset("digits", subset=500, test_subset=200, validation_size=100)

    assert isinstance(dataset, Dataset)
    assert len(dataset.y_train) == 400 and len(dataset.y_val) == 100
    assert len(dataset.y_test) == 200
    np.testing.assert_array_equal(dataset.classes, np.arange(10))
    for y in (dataset.y_train, dataset.y_val, dataset.y_test):
        counts = np.bincount(y, minlength=10)
        assert counts.max() - counts.min() <= 2, counts  # balanced classes stay balanced
    splits = (dataset.X_train, dataset.X_val, dataset.X_test)
    assert {X.dtype for X in splits} == {np.dtype(np.float32)}


def test_validation_fraction_is_a_share_of_the_training_rows():
    dataset = load_dataset("digits", validation_fraction=0.2)

    assert len(dataset.y_val) == 270 and len(dataset.y_train) == 1347 - 270


def test_zero_validation_fraction_gives_an_empty_validation_set():
    dataset = load_dataset("digits", validation_fraction=0)

    assert dataset.X_val.shape == (0, 64) and dataset.y_val.shape == (0,)
    assert len(dataset.y_train) == 1347


def test_standard_scaling_is_fitted_on_training_rows_only():
    dataset = load_dataset("digits")
    used = dataset.X_train.std(axis=0) > 0  # constant pixels stay at zero

    np.testing.assert_allclose(dataset.X_train.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(dataset.X_train.std(axis=0)[used], 1, atol=1e-4)
    assert not np.allclose(dataset.X_test.mean(axis=0)[used], 0, atol=1e-3)


def test_minmax_scaling_clips_other_splits_to_the_unit_range():
    dataset = load_dataset("digits", scaling="minmax")

    assert dataset.X_train.min() == 0 and dataset.X_train.max() == 1
    assert dataset.X_test.min() >= 0 and dataset.X_test.max() <= 1
    assert dataset.X_test.dtype == np.float32


def test_no_scaling_keeps_raw_pixel_values(tmp_path):
    arrays = mnist_like()
    dataset = load_dataset("mnist", write_split_npz(tmp_path / "m.npz", arrays),
                           validation_fraction=0, scaling="none")

    np.testing.assert_array_equal(dataset.X_test, arrays[2].reshape(8, -1))
    assert dataset.image_shape == (28, 28)


def test_nan_in_a_csv_is_reported_with_a_row_count(tmp_path):
    rows = blobs_csv_rows()
    rows[3] = "nan,1,cat"
    rows[12] = ",2,dog"  # an empty cell is missing too
    path = write_csv(tmp_path / "holes.csv", "\n".join(rows))

    with pytest.raises(DataError, match=r"csv \(.*holes\.csv\) has rows with NaN or inf") as caught:
        load_dataset("csv", path)

    per_split = re.findall(r"(\d+) in (X_train|X_test)", str(caught.value))
    assert sum(int(count) for count, _ in per_split) == 2


def test_a_single_class_is_rejected(tmp_path):
    path = write_csv(tmp_path / "one.csv", "\n".join(blobs_csv_rows(classes=("cat",))))

    with pytest.raises(DataError, match="1 class"):
        load_dataset("csv", path)


def test_test_labels_unseen_in_training_are_rejected(tmp_path):
    x_train, y_train, x_test, y_test = mnist_like()
    y_test[0] = 9
    path = write_split_npz(tmp_path / "m.npz", (x_train, y_train, x_test, y_test))

    with pytest.raises(DataError, match="test labels 9 never occur in the training rows"):
        load_dataset("mnist", path)


@pytest.mark.parametrize("arguments, complaint", [
    ({"scaling": "unit"}, "unknown scaling 'unit'"),
    ({"validation_fraction": 1.0}, "validation_fraction must be in"),
    ({"subset": 0}, "subset must be an integer >= 1"),
    ({"validation_size": 2000}, "too few to hold out 2000"),
])
def test_bad_arguments_are_explained(arguments, complaint):
    with pytest.raises(DataError, match=complaint):
        load_dataset("digits", **arguments)


def test_dataset_is_frozen_and_its_repr_is_short():
    dataset = load_dataset("digits", validation_fraction=0)

    with pytest.raises(AttributeError):
        dataset.name = "other"
    assert repr(dataset) == "Dataset(name='digits', image_shape=(8, 8))"


def test_the_rows_fingerprint_is_of_the_rows_as_read_whatever_their_scaling():
    standard, minmax = (load_dataset("digits", scaling=scaling) for scaling in ("standard", "minmax"))
    assert standard.rows_fingerprint == minmax.rows_fingerprint and standard.fingerprint != minmax.fingerprint
    assert load_dataset("digits", subset=1000).rows_fingerprint != standard.rows_fingerprint


def test_penguins_are_the_packages_csv_as_a_table_with_strings_and_missing_values():
    from palmerpenguins import load_penguins

    from search.data.memory import InMemory

    X_train, y_train, X_test, y_test, image_shape = load_arrays("penguins")
    assert len(X_train) + len(X_test) == len(load_penguins()) == 344 and len(X_test) == 69 and image_shape is None
    assert list(X_train) == ["island", "bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g", "sex",
                             "year"]
    assert X_train["sex"].isna().any() and X_train["bill_length_mm"].isna().any()  # missing cells stay missing
    assert set(y_test) == {"Adelie", "Chinstrap", "Gentoo"}
    data = load_dataset("penguins")
    assert data.X_train.shape[1] == 15  # 5 numbers, 4 missing-value indicators, 3 islands and 3 sexes one-hot
    same = load_dataset("table", data=InMemory(load_penguins()), target="species")
    assert (data.fingerprint, data.rows_fingerprint) == (same.fingerprint, same.rows_fingerprint)
    with pytest.raises(DataError, match="penguins ships with a package and reads no file"):
        load_arrays("penguins", path="penguins.csv")


# ----------------------------------------------------------------------------
# Regression: diabetes and numeric targets
# ----------------------------------------------------------------------------

def regression_rows(n=40, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.random((n, 3))
    return X, X @ [2.0, -1.0, 0.5] + 0.25  # non-integer targets: a classifier's loader refuses them


def test_diabetes_is_bundled_raw_with_float_targets_and_a_fixed_test_split():
    X_train, y_train, X_test, y_test, image_shape = load_arrays("diabetes")
    X, y = sk_datasets.load_diabetes(return_X_y=True, scaled=False)
    assert X_train.shape == (331, 10) and X_test.shape == (111, 10) and image_shape is None
    assert y_train.dtype == np.float64 and X_train.dtype == np.float32
    assert sorted(np.concatenate([y_train, y_test])) == sorted(y)  # every row once, targets as given
    np.testing.assert_array_equal(load_arrays("diabetes")[3], y_test)  # the same split every time
    assert X_train[:, 1].max() == 2  # the raw sex column (1 or 2), not sklearn's scaled default


def test_a_regression_dataset_splits_without_stratifying_and_skips_the_class_checks():
    data = load_dataset("diabetes", task="regression", validation_fraction=0.2, subset=200, test_subset=50)
    assert (len(data.y_train), len(data.y_val), len(data.y_test)) == (160, 40, 50)
    assert data.y_val.dtype == np.float64 and len(np.unique(data.y_train)) > 100
    np.testing.assert_allclose(data.X_train.mean(axis=0), 0, atol=1e-5)  # features scaled


def test_a_csv_with_a_numeric_target_is_a_regression_set(tmp_path):
    X, y = regression_rows()
    lines = ["a,b,c,target"] + [",".join(f"{v:.6f}" for v in (*row, t)) for row, t in zip(X, y)]
    path = write_csv(tmp_path / "reg.csv", "\n".join(lines) + "\n")
    X_train, y_train, X_test, y_test, _ = load_arrays("csv", path, task="regression")
    assert y_train.dtype == np.float64 and len(y_test) == 8
    np.testing.assert_allclose(np.sort(np.concatenate([y_train, y_test])), np.sort(y), atol=1e-5)
    with pytest.raises(DataError, match="non-integer float labels.*set task: regression"):
        load_arrays("csv", path)  # as a classification


def test_a_non_numeric_csv_target_names_its_line(tmp_path):
    X, y = regression_rows()
    cells = [[f"{v:.4f}" for v in (*row, t)] for row, t in zip(X, y)]
    cells[6][-1] = "high"
    path = write_csv(tmp_path / "reg.csv", "".join(",".join(row) + "\n" for row in cells))
    with pytest.raises(DataError, match=r"reg.csv line 7: target 'high' is not a finite number"):
        load_dataset("csv", path, task="regression")


def test_a_user_npz_with_numeric_targets_is_a_regression_set(tmp_path):
    X, y = regression_rows()
    np.savez(tmp_path / "reg.npz", X=X, y=y.reshape(-1, 1))
    data = load_dataset("npz", tmp_path / "reg.npz", task="regression", validation_fraction=0.25)
    assert data.y_train.dtype == np.float64 and len(data.y_train) + len(data.y_val) + len(data.y_test) == 40
    y[3] = np.nan
    np.savez(tmp_path / "bad.npz", X=X, y=y)
    with pytest.raises(DataError, match=r"bad.npz\[y\] row 3: target nan is not a finite number"):
        load_dataset("npz", tmp_path / "bad.npz", task="regression")


@pytest.mark.parametrize("name, task, natural", [("diabetes", "classification", "regression"),
                                                  ("digits", "regression", "classification")])
def test_a_bundled_set_keeps_its_own_task(name, task, natural):
    with pytest.raises(DataError, match=f"{name} is a {natural} dataset, not a {task} one"):
        load_dataset(name, task=task)


def test_an_unknown_task_is_refused():
    with pytest.raises(DataError, match="unknown task 'ranking'"):
        load_dataset("diabetes", task="ranking")
