"""Data sets as NCHW float arrays: embedded digits and photos, and CIFAR-10 from disk.

- :func:`load_digits` -- scikit-learn's bundled 8x8 handwritten digits (1,797 images,
  10 classes), split once and for all into train/val/test; needs no download.
- :func:`sample_images` -- the two photos scikit-learn bundles (a Chinese temple and a
  flower), for demonstrating filters (edges, blur, Sobel) on real images.
- :func:`load_cifar10` -- the standard CIFAR-10 python batches a user has on disk.

Every loader returns NumPy arrays on the host; move them with
:func:`convlab.backend.to_device` when training on a GPU.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np

__all__ = [
    "CIFAR10_URL",
    "CIFAR10_CLASSES",
    "SAMPLE_IMAGE_NAMES",
    "DatasetMissingError",
    "DatasetCorruptError",
    "load_digits",
    "sample_images",
    "load_cifar10",
    "split_indices",
    "upsample_nearest",
]

CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
CIFAR10_CLASSES = (
    "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
)
SAMPLE_IMAGE_NAMES = ("china", "flower")

_DIGITS_SPLIT_SEED = 20240  # fixed: the split is part of the data set, not a knob
_CIFAR_TRAIN_FILES = tuple(f"data_batch_{i}" for i in range(1, 6))
_CIFAR_TEST_FILE = "test_batch"


class DatasetMissingError(FileNotFoundError):
    """A data set's files are not where they were looked for (the message says how to get them)."""


class DatasetCorruptError(ValueError):
    """A data set's files exist but cannot be read as the expected format."""


def split_indices(labels, fractions=(0.6, 0.2, 0.2), seed=0):
    """Stratified split of ``range(len(labels))`` into index arrays, one per fraction.

    Inputs
    - labels: (N,) integer class labels
    - fractions: fractions of each class going to each part (they must sum to 1)
    - seed: seed of the NumPy Generator that shuffles each class

    Returns a tuple of sorted int64 index arrays, disjoint and covering all N samples.
    """
    labels = np.asarray(labels)
    fractions = np.asarray(fractions, dtype=np.float64)
    if np.any(fractions < 0) or not np.isclose(fractions.sum(), 1.0):
        raise ValueError(f"fractions must be non-negative and sum to 1, got {fractions.tolist()}")
    rng = np.random.default_rng(seed)
    parts = [[] for _ in fractions]
    bounds = np.cumsum(fractions)[:-1]
    for cls in np.unique(labels):
        idx = np.flatnonzero(labels == cls)
        rng.shuffle(idx)
        cuts = np.round(bounds * idx.size).astype(int)
        for part, chunk in zip(parts, np.split(idx, cuts)):
            part.append(chunk)
    return tuple(np.sort(np.concatenate(p)).astype(np.int64) for p in parts)


def upsample_nearest(x, factor: int):
    """Repeat every pixel ``factor`` times along H and W: (N, C, H, W) -> (N, C, fH, fW)."""
    if isinstance(factor, bool) or not isinstance(factor, int) or factor < 1:
        raise ValueError(f"upsample factor must be a positive integer, got {factor!r}")
    if factor == 1:
        return x
    return x.repeat(factor, axis=2).repeat(factor, axis=3)  # (N, C, fH, fW)


def load_digits(upsample: int = 1, dtype=np.float32, fractions=(0.6, 0.2, 0.2)):
    """scikit-learn's 8x8 digits as a fixed, stratified train/val/test split of NCHW arrays.

    Pixels (0..16) are scaled to [0, 1] and then standardised with the mean and
    standard deviation of the *training* pixels (one scalar each), so every split
    is normalised the same way and no test statistics leak into training.

    Inputs
    - upsample: nearest-neighbour factor; 1 gives 8x8 images, 2 gives 16x16, 4 gives 32x32
    - dtype: float dtype of the images (float32 for speed, float64 for gradient checks)
    - fractions: train/val/test fractions of each class (default 60/20/20)

    Returns a dict with ``X_train, X_val, X_test`` of shape (n, 1, 8*upsample, 8*upsample)
    and ``y_train, y_val, y_test`` of shape (n,) int64. The split is fixed by a constant
    seed, so it is the same on every machine and every call.
    """
    from sklearn.datasets import load_digits as _sk_load_digits  # noqa: PLC0415 - heavy import

    bunch = _sk_load_digits()
    images = bunch.images.astype(np.float64) / 16.0  # (1797, 8, 8) in [0, 1]
    labels = bunch.target.astype(np.int64)
    X = images[:, None, :, :]  # (N, 1, 8, 8)
    train, val, test = split_indices(labels, fractions, seed=_DIGITS_SPLIT_SEED)
    mean = X[train].mean()
    std = X[train].std()
    X = upsample_nearest((X - mean) / std, upsample).astype(dtype)
    return {
        "X_train": X[train], "y_train": labels[train],
        "X_val": X[val], "y_val": labels[val],
        "X_test": X[test], "y_test": labels[test],
    }


def sample_images(dtype=np.float32, layout: str = "NCHW", downsample: int = 1):
    """The two photos scikit-learn bundles ("china", "flower") as float arrays in [0, 1].

    Inputs
    - dtype: float dtype of the result
    - layout: ``"NCHW"`` (ready for ``conv_forward``) or ``"NHWC"`` (ready for ``plt.imshow``)
    - downsample: keep every ``downsample``-th pixel along H and W (the photos are 427x640)

    Returns an array of shape (2, 3, H, W) or (2, H, W, 3); the order is SAMPLE_IMAGE_NAMES.
    """
    from sklearn.datasets import load_sample_images  # noqa: PLC0415 - heavy import

    if layout not in ("NCHW", "NHWC"):
        raise ValueError(f"layout must be 'NCHW' or 'NHWC', got {layout!r}")
    if isinstance(downsample, bool) or not isinstance(downsample, int) or downsample < 1:
        raise ValueError(f"downsample must be a positive integer, got {downsample!r}")
    photos = np.stack(load_sample_images().images)  # (2, 427, 640, 3) uint8
    photos = photos[:, ::downsample, ::downsample, :].astype(dtype) / 255
    if layout == "NCHW":
        photos = photos.transpose(0, 3, 1, 2)  # (2, 3, H, W)
    return np.ascontiguousarray(photos)


class _ArrayOnlyUnpickler(pickle.Unpickler):
    """Unpickler that rebuilds NumPy arrays and plain containers, and nothing else.

    The CIFAR-10 batches are pickles; refusing every other global keeps a file
    that is not what it claims from running code when it is opened.
    """

    _ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "scalar"),
        ("numpy.core.numeric", "_frombuffer"),
        ("numpy._core.numeric", "_frombuffer"),
        ("_codecs", "encode"),
    }

    def find_class(self, module, name):
        if (module, name) in self._ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name} from a data file")


def _cifar_help(path) -> str:
    return (
        f"Download {CIFAR10_URL} (about 163 MB), unpack it with "
        f"`tar xzf cifar-10-python.tar.gz`, and pass the folder `cifar-10-batches-py` "
        f"(or the folder containing it) as the path; looked in {str(path)!r}. It must hold "
        f"{', '.join(_CIFAR_TRAIN_FILES)} and {_CIFAR_TEST_FILE}."
    )


def _find_cifar_dir(path: Path) -> Path:
    for candidate in (path, path / "cifar-10-batches-py"):
        if candidate.is_dir() and (candidate / _CIFAR_TEST_FILE).is_file():
            return candidate
    raise DatasetMissingError(f"CIFAR-10 batches not found. {_cifar_help(path)}")


def _read_cifar_batch(file: Path, help_text: str):
    """Read one batch file: returns images (n, 3, 32, 32) uint8 and labels (n,) int64."""
    if not file.is_file():
        raise DatasetMissingError(f"CIFAR-10 batch {file.name!r} is missing. {help_text}")
    try:
        with file.open("rb") as fh:
            batch = _ArrayOnlyUnpickler(fh, encoding="bytes").load()
        data = np.asarray(batch[b"data"], dtype=np.uint8)
        labels = np.asarray(batch[b"labels"], dtype=np.int64)
    except Exception as exc:  # truncated file, wrong pickle, missing keys: all mean "corrupt"
        raise DatasetCorruptError(
            f"CIFAR-10 batch {str(file)!r} cannot be read ({type(exc).__name__}: {exc}). {help_text}"
        ) from exc
    if data.ndim != 2 or data.shape[1] != 3 * 32 * 32 or labels.shape != (data.shape[0],):
        raise DatasetCorruptError(
            f"CIFAR-10 batch {str(file)!r} has data of shape {data.shape} and {labels.size} labels; "
            f"expected (n, 3072) and n labels. {help_text}"
        )
    if labels.size and (labels.min() < 0 or labels.max() > 9):
        raise DatasetCorruptError(f"CIFAR-10 batch {str(file)!r} has labels outside 0..9. {help_text}")
    return data.reshape(-1, 3, 32, 32), labels  # rows are R(1024) G(1024) B(1024): (n, 3, 32, 32)


def load_cifar10(path, *, num_val: int = 1000, dtype=np.float32, normalize: bool = True):
    """Load the CIFAR-10 python batches from ``path`` as NCHW float arrays.

    Inputs
    - path: the folder ``cifar-10-batches-py`` or its parent
    - num_val: the last ``num_val`` training images become the validation set
    - dtype: float dtype of the images
    - normalize: scale to [0, 1] and subtract the per-channel mean of the training split
      (otherwise the raw 0..255 values are returned as floats)

    Returns a dict ``X_train, y_train, X_val, y_val, X_test, y_test``; images (n, 3, 32, 32),
    labels (n,) int64. Raises DatasetMissingError / DatasetCorruptError with download instructions.
    """
    path = Path(path).expanduser()
    folder = _find_cifar_dir(path)
    help_text = _cifar_help(path)
    parts = [_read_cifar_batch(folder / name, help_text) for name in _CIFAR_TRAIN_FILES]
    X_all = np.concatenate([p[0] for p in parts])  # (50000, 3, 32, 32) for the real data
    y_all = np.concatenate([p[1] for p in parts])
    X_test, y_test = _read_cifar_batch(folder / _CIFAR_TEST_FILE, help_text)
    if not 0 <= num_val < X_all.shape[0]:
        raise ValueError(f"num_val must be in [0, {X_all.shape[0]}), got {num_val}")
    n_train = X_all.shape[0] - num_val
    out = {
        "X_train": X_all[:n_train].astype(dtype), "y_train": y_all[:n_train],
        "X_val": X_all[n_train:].astype(dtype), "y_val": y_all[n_train:],
        "X_test": X_test.astype(dtype), "y_test": y_test,
    }
    if normalize:
        mean = out["X_train"].mean(axis=(0, 2, 3), keepdims=True, dtype=np.float64) / 255  # (1, 3, 1, 1)
        for key in ("X_train", "X_val", "X_test"):
            out[key] = (out[key] / 255 - mean).astype(dtype)
    return out
