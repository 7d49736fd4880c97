"""Tests of convlab.data: the digits split, the sample photos and the CIFAR-10 reader."""

import pickle

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from convlab import data


@pytest.fixture(scope="module")
def digits():
    return data.load_digits()


def test_digits_shapes_dtypes_and_split(digits):
    sizes = {k: digits[f"X_{k}"].shape[0] for k in ("train", "val", "test")}
    assert sum(sizes.values()) == 1797
    assert sizes["train"] > sizes["val"] > 0 and sizes["test"] > 0
    for k in ("train", "val", "test"):
        X, y = digits[f"X_{k}"], digits[f"y_{k}"]
        assert X.shape == (y.shape[0], 1, 8, 8)
        assert X.dtype == np.float32 and y.dtype == np.int64
        assert set(np.unique(y)) == set(range(10))  # stratified: every class in every split


def test_digits_normalised_on_train_and_fixed(digits):
    X = digits["X_train"].astype(np.float64)
    assert abs(X.mean()) < 1e-5 and abs(X.std() - 1) < 1e-5
    again = data.load_digits(dtype=np.float64)
    for key in digits:
        np.testing.assert_allclose(again[key], digits[key], rtol=1e-6, atol=1e-6)


def test_digits_splits_are_disjoint(digits):
    rows = {k: {x.tobytes() for x in digits[f"X_{k}"].astype(np.float64)} for k in ("train", "val", "test")}
    # sklearn's digits hold a few exact duplicates; disjoint index sets keep overlap tiny
    assert len(rows["train"] & rows["test"]) <= 5
    assert len(rows["val"] & rows["test"]) <= 5


def test_digits_upsample_repeats_pixels(digits):
    up = data.load_digits(upsample=2)
    assert up["X_train"].shape[1:] == (1, 16, 16)
    np.testing.assert_array_equal(up["X_train"][:, :, ::2, ::2], digits["X_train"])
    np.testing.assert_array_equal(up["X_train"][:, :, 1::2, 1::2], digits["X_train"])
    np.testing.assert_array_equal(up["y_test"], digits["y_test"])
    with pytest.raises(ValueError, match="upsample"):
        data.load_digits(upsample=0)


@settings(max_examples=40, deadline=None)
@given(labels=st.lists(st.integers(0, 4), min_size=1, max_size=60),
       seed=st.integers(0, 2**32 - 1))
def test_split_indices_partition(labels, seed):
    parts = data.split_indices(labels, (0.5, 0.3, 0.2), seed=seed)
    joined = np.concatenate(parts)
    assert sorted(joined.tolist()) == list(range(len(labels)))
    labels = np.asarray(labels)
    for cls in np.unique(labels):  # each class split by the fractions, rounded
        n = int((labels == cls).sum())
        assert abs((labels[parts[0]] == cls).sum() - 0.5 * n) <= 1


def test_split_indices_rejects_bad_fractions():
    with pytest.raises(ValueError, match="sum to 1"):
        data.split_indices([0, 1, 1], (0.5, 0.6))


def test_sample_images_layouts():
    nchw = data.sample_images(downsample=4)
    nhwc = data.sample_images(layout="NHWC", downsample=4)
    assert nchw.shape == (2, 3, 107, 160) and nchw.dtype == np.float32
    np.testing.assert_array_equal(nchw.transpose(0, 2, 3, 1), nhwc)
    assert 0 <= nchw.min() and nchw.max() <= 1 and nchw.std() > 0.1
    assert not np.allclose(nchw[0], nchw[1])  # two different photos
    with pytest.raises(ValueError, match="layout"):
        data.sample_images(layout="CHW")


def _write_batch(path, images, labels, protocol=pickle.HIGHEST_PROTOCOL):
    """Write a batch like CIFAR-10's: dict with b'data' (n, 3072) uint8 and b'labels' list."""
    with open(path, "wb") as fh:
        pickle.dump({b"batch_label": b"fake", b"data": images.reshape(len(labels), -1),
                     b"labels": list(map(int, labels))}, fh, protocol=protocol)


@pytest.fixture
def fake_cifar(tmp_path):
    """A fake cifar-10-batches-py folder: 5 train batches of 4 images, a test batch of 3."""
    rng = np.random.default_rng(0)
    root = tmp_path / "cifar-10-batches-py"
    root.mkdir()
    images, labels = [], []
    for i in range(1, 6):
        x = rng.integers(0, 256, size=(4, 3, 32, 32), dtype=np.uint8)
        y = rng.integers(0, 10, size=4)
        _write_batch(root / f"data_batch_{i}", x, y, protocol=2 if i == 1 else pickle.HIGHEST_PROTOCOL)
        images.append(x)
        labels.append(y)
    xt = rng.integers(0, 256, size=(3, 3, 32, 32), dtype=np.uint8)
    yt = rng.integers(0, 10, size=3)
    _write_batch(root / "test_batch", xt, yt)
    return root, np.concatenate(images), np.concatenate(labels), xt, yt


def test_cifar_reads_raw_values(fake_cifar):
    root, X, y, Xt, yt = fake_cifar
    out = data.load_cifar10(root, num_val=5, normalize=False)
    assert out["X_train"].shape == (15, 3, 32, 32) and out["X_train"].dtype == np.float32
    np.testing.assert_array_equal(out["X_train"], X[:15])
    np.testing.assert_array_equal(out["X_val"], X[15:])
    np.testing.assert_array_equal(out["y_train"], y[:15])
    np.testing.assert_array_equal(out["y_val"], y[15:])
    np.testing.assert_array_equal(out["X_test"], Xt)
    np.testing.assert_array_equal(out["y_test"], yt)
    # channel order: the first 1024 bytes of a row are the red plane
    assert out["X_test"][0, 0, 0, 1] == Xt.reshape(3, -1)[0, 1]


def test_cifar_parent_folder_and_normalisation(fake_cifar):
    root, X, _, Xt, _ = fake_cifar
    out = data.load_cifar10(root.parent, num_val=0, dtype=np.float64)
    mean = (X / 255).mean(axis=(0, 2, 3), keepdims=True)
    np.testing.assert_allclose(out["X_train"], X / 255 - mean, atol=1e-12)
    np.testing.assert_allclose(out["X_test"], Xt / 255 - mean, atol=1e-12)
    np.testing.assert_allclose(out["X_train"].mean(axis=(0, 2, 3)), 0, atol=1e-12)


def test_cifar_missing_explains_download(tmp_path):
    with pytest.raises(data.DatasetMissingError) as err:
        data.load_cifar10(tmp_path / "nowhere")
    assert data.CIFAR10_URL in str(err.value) and "cifar-10-batches-py" in str(err.value)


def test_cifar_missing_one_batch(fake_cifar):
    root = fake_cifar[0]
    (root / "data_batch_3").unlink()
    with pytest.raises(data.DatasetMissingError, match="data_batch_3"):
        data.load_cifar10(root)


@pytest.mark.parametrize("damage", ["truncate", "not_pickle", "bad_shape", "bad_label", "code"])
def test_cifar_corrupt_batches(fake_cifar, damage):
    root = fake_cifar[0]
    target = root / "data_batch_2"
    if damage == "truncate":
        target.write_bytes(target.read_bytes()[:100])
    elif damage == "not_pickle":
        target.write_text("hello")
    elif damage == "bad_shape":
        _write_batch(target, np.zeros((2, 100), np.uint8), [0, 1])
    elif damage == "bad_label":
        _write_batch(target, np.zeros((2, 3072), np.uint8), [0, 12])
    else:  # a pickle that would call a function when loaded
        with open(target, "wb") as fh:
            pickle.dump({b"data": print, b"labels": []}, fh)
    with pytest.raises(data.DatasetCorruptError) as err:
        data.load_cifar10(root)
    assert "data_batch_2" in str(err.value) and data.CIFAR10_URL in str(err.value)
