"""convlab.devicedouble: arrays that behave like CuPy's, refusing implicit trips to NumPy."""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest

from convlab.backend import get_array_module, to_device, to_numpy
from convlab.devicedouble import DeviceArray, xp


@pytest.fixture
def d():
    return xp.asarray(np.arange(12.0).reshape(3, 4))  # (3, 4)


HOST = np.ones((3, 4))

# --- every implicit conversion path raises TypeError -------------------------------

IMPLICIT_PATHS = {
    "np.asarray": lambda d: np.asarray(d),
    "np.array": lambda d: np.array(d),
    "np.array(list of device)": lambda d: np.array([d, d]),
    "np.ascontiguousarray": lambda d: np.ascontiguousarray(d),
    "np.add(host, dev)": lambda d: np.add(HOST, d),
    "np.add(dev, host)": lambda d: np.add(d, HOST),
    "np.exp(dev)": lambda d: np.exp(d),
    "np.sum(dev)": lambda d: np.sum(d),
    "np.concatenate": lambda d: np.concatenate([HOST, d]),
    "np.einsum": lambda d: np.einsum("ij->i", d),
    "np.testing.assert_allclose": lambda d: np.testing.assert_allclose(d, HOST),
    "host + dev": lambda d: HOST + d,
    "dev + host": lambda d: d + HOST,
    "host * dev": lambda d: HOST * d,
    "dev - host": lambda d: d - HOST,
    "host / dev": lambda d: HOST / d,
    "host @ dev.T": lambda d: HOST @ d.T,
    "dev @ host.T": lambda d: d @ HOST.T,
    "dev < host": lambda d: d < HOST,
    "host == dev": lambda d: HOST == d,
    "dev += host": lambda d: d.__iadd__(HOST),
    "host += dev": lambda d: HOST.copy().__iadd__(d),
    "dev[...] = host": lambda d: d.__setitem__(Ellipsis, HOST),
    "host[...] = dev": lambda d: HOST.copy().__setitem__(Ellipsis, d),
    "dev[host index]": lambda d: d[np.array([0, 1])],
    "host[dev index]": lambda d: HOST[xp.asarray(np.array([0, 1]))],
    "xp.exp(host)": lambda d: xp.exp(HOST),
    "xp.maximum(dev, host)": lambda d: xp.maximum(d, HOST),
    "xp.where(dev, host, dev)": lambda d: xp.where(d > 1, HOST, d),
    "xp.concatenate": lambda d: xp.concatenate([d, HOST]),
    "xp.zeros_like(host)": lambda d: xp.zeros_like(HOST),
    "xp.add.at(dev, idx, host)": lambda d: xp.add.at(d, (0,), np.ones(4)),
    "xp.add.at(host, ...)": lambda d: xp.add.at(HOST.copy(), (0,), d[0]),
    "xp.einsum(dev, host)": lambda d: xp.einsum("ij,ij->", d, HOST),
    "float(size>1)": lambda d: float(d),
    "int(size>1)": lambda d: int(d),
}


@pytest.mark.parametrize("path", list(IMPLICIT_PATHS))
def test_implicit_conversion_paths_raise_type_error(path, d):
    before = d.get()
    with pytest.raises(TypeError):
        IMPLICIT_PATHS[path](d)
    np.testing.assert_array_equal(d.get(), before)  # nothing half-written


def test_numpy_functions_name_the_problem(d):
    with pytest.raises(TypeError, match=r"\.get\(\)"):
        np.asarray(d)
    with pytest.raises(TypeError, match="numpy.sum"):
        np.sum(d)
    with pytest.raises(TypeError, match="shape \\(3, 4\\)"):
        d + HOST


# --- explicit transfer and scalars ------------------------------------------------------


def test_get_returns_an_independent_numpy_copy(d):
    host = d.get()
    assert type(host) is np.ndarray
    host[0, 0] = 99.0
    assert float(d[0, 0]) == 0.0
    np.testing.assert_array_equal(to_numpy(d), np.arange(12.0).reshape(3, 4))
    np.testing.assert_array_equal(xp.asnumpy(d), np.arange(12.0).reshape(3, 4))


def test_asarray_copies_host_data_and_keeps_device_arrays():
    host = np.arange(3.0)
    dev = xp.asarray(host)
    host[0] = 7.0
    assert float(dev[0]) == 0.0
    assert xp.asarray(dev) is dev
    assert xp.asarray(dev, dtype=xp.float32).dtype == np.float32
    assert xp.array(dev) is not dev
    assert xp.asarray([1, 2]).dtype.kind == "i"
    assert xp.asarray([dev, dev]).shape == (2, 3)


def test_size_one_arrays_become_python_scalars(d):
    s = d.sum()
    assert isinstance(s, DeviceArray) and s.shape == ()  # reductions stay on the device, as in CuPy
    assert float(s) == 66.0 and type(float(s)) is float
    assert s.item() == 66.0
    assert int(d[1, 1]) == 5
    assert float(d[2:3, 3:4]) == 11.0
    assert bool(d[0, 1]) is True
    with pytest.raises(ValueError):
        bool(d)
    with pytest.raises(ValueError):
        d.item()
    assert f"{d.mean():.2f}" == "5.50"


# --- arithmetic, indexing, methods ---------------------------------------------------------


def test_operators_with_scalars_and_device_arrays_match_numpy(d):
    h = np.arange(12.0).reshape(3, 4)
    cases = [
        (d + 1, h + 1), (2 - d, 2 - h), (d * d, h * h), (d / 2.0, h / 2.0), (1.0 / (d + 1), 1.0 / (h + 1)),
        (d // 3, h // 3), (d % 5, h % 5), (d**2, h**2), (2**d, 2**h), (-d, -h), (abs(-d), h),
        (d @ d.T, h @ h.T), (np.float64(3.0) * d, 3.0 * h), (d * np.array(2.0), h * 2.0),
        (d > 4, h > 4), (d == 3, h == 3), (d != d, h != h), ((d > 2) & (d < 8), (h > 2) & (h < 8)),
        (~(d > 2), ~(h > 2)),
    ]
    for got, expected in cases:
        assert isinstance(got, DeviceArray)
        np.testing.assert_array_equal(got.get(), expected)


def test_in_place_operators_and_views_write_through(d):
    d += 1
    d *= 2
    row = d[1]
    row -= 2  # a view: changes d
    d[0, :2] = 0.0
    d[2] = xp.ones(4)
    expected = (np.arange(12.0).reshape(3, 4) + 1) * 2
    expected[1] -= 2
    expected[0, :2] = 0.0
    expected[2] = 1.0
    np.testing.assert_array_equal(d.get(), expected)


def test_indexing_with_device_arrays_and_masks(d):
    h = np.arange(12.0).reshape(3, 4)
    rows, cols = xp.arange(3), xp.asarray(np.array([3, 0, 2]))
    np.testing.assert_array_equal(d[rows, cols].get(), h[np.arange(3), [3, 0, 2]])
    np.testing.assert_array_equal(d[d > 6].get(), h[h > 6])
    np.testing.assert_array_equal(d[:, None, 1:3].get(), h[:, None, 1:3])
    np.testing.assert_array_equal(d[[0, 2]].get(), h[[0, 2]])
    d[d > 6] = 0.0
    h[h > 6] = 0.0
    np.testing.assert_array_equal(d.get(), h)


def test_methods_and_attributes_match_numpy(d):
    h = np.arange(12.0).reshape(3, 4)
    assert (d.shape, d.ndim, d.size, d.dtype, d.strides, d.itemsize, d.nbytes) == (
        h.shape, h.ndim, h.size, h.dtype, h.strides, h.itemsize, h.nbytes)
    assert len(d) == 3
    assert [r.get().tolist() for r in d] == h.tolist()
    pairs = [
        (d.reshape(4, 3), h.reshape(4, 3)), (d.reshape((2, 6)), h.reshape(2, 6)), (d.T, h.T),
        (d.transpose(1, 0), h.T), (d.transpose((1, 0)), h.T), (d.astype(np.float32), h.astype(np.float32)),
        (d.copy(), h), (d.ravel(), h.ravel()), (d.flatten(), h.ravel()), (d.sum(axis=0), h.sum(axis=0)),
        (d.max(axis=1, keepdims=True), h.max(axis=1, keepdims=True)), (d.min(), h.min()),
        (d.mean(axis=(0, 1)), h.mean()), (d.var(axis=0), h.var(axis=0)), (d.argmax(axis=1), h.argmax(axis=1)),
        (d.argmax(), h.argmax()), ((d > 3).any(axis=0), (h > 3).any(axis=0)), ((d > 3).all(), (h > 3).all()),
        (d.clip(2, 5), h.clip(2, 5)), (d.swapaxes(0, 1), h.swapaxes(0, 1)), (d[None].squeeze(0), h),
        (d.cumsum(axis=1), h.cumsum(axis=1)), (d.std(), h.std()),
    ]
    for got, expected in pairs:
        assert isinstance(got, DeviceArray)
        np.testing.assert_array_equal(got.get(), expected)


def test_copy_deepcopy_and_pickle_stay_on_the_device(d):
    for clone in (copy.copy(d), copy.deepcopy({"w": d})["w"], pickle.loads(pickle.dumps(d))):
        assert isinstance(clone, DeviceArray)
        np.testing.assert_array_equal(clone.get(), d.get())
        clone[0, 0] = -1.0
        assert float(d[0, 0]) == 0.0


# --- the namespace ----------------------------------------------------------------------


def test_namespace_functions_return_device_arrays(d):
    h = np.arange(12.0).reshape(3, 4)
    x = xp.asarray(np.random.default_rng(0).standard_normal((2, 3, 5, 5)))
    hx = x.get()
    pairs = [
        (xp.zeros((2, 3)), np.zeros((2, 3))), (xp.ones(3, dtype=xp.float32), np.ones(3, np.float32)),
        (xp.full((2,), 7.0), np.full((2,), 7.0)), (xp.arange(5), np.arange(5)), (xp.zeros_like(d), h * 0),
        (xp.ones_like(d), h * 0 + 1), (xp.full_like(d, 2.0), h * 0 + 2),
        (xp.pad(x, ((0, 0), (0, 0), (1, 1), (2, 2))), np.pad(hx, ((0, 0), (0, 0), (1, 1), (2, 2)))),
        (xp.einsum("nchw->nc", x), np.einsum("nchw->nc", hx)), (xp.matmul(d, d.T), h @ h.T),
        (xp.dot(d, d.T), h @ h.T), (xp.tensordot(d, d, axes=([0], [0])), np.tensordot(h, h, axes=([0], [0]))),
        (xp.exp(d / 10), np.exp(h / 10)), (xp.log(d + 1), np.log(h + 1)), (xp.sqrt(d), np.sqrt(h)),
        (xp.maximum(d, 4.0), np.maximum(h, 4.0)), (xp.minimum(d, d.T.T), h), (xp.where(d > 3, d, 0.0),
                                                                               np.where(h > 3, h, 0.0)),
        (xp.sum(d, axis=1), h.sum(axis=1)), (xp.max(d), h.max()), (xp.argmax(d, axis=0), h.argmax(axis=0)),
        (xp.mean(d), h.mean()), (xp.var(d, axis=1), h.var(axis=1)), (xp.abs(-d), h),
        (xp.stack([d, d]), np.stack([h, h])), (xp.concatenate([d, d], axis=1), np.concatenate([h, h], axis=1)),
        (xp.isfinite(xp.where(d > 5, xp.inf, d)), np.isfinite(np.where(h > 5, np.inf, h))),
        (xp.transpose(x, (0, 2, 3, 1)), hx.transpose(0, 2, 3, 1)), (xp.reshape(d, (4, 3)), h.reshape(4, 3)),
        (xp.flip(d, axis=1), h[:, ::-1]), (xp.random.default_rng(3).standard_normal((2, 2)),
                                           np.random.default_rng(3).standard_normal((2, 2))),
        (xp.lib.stride_tricks.sliding_window_view(x, (3, 3), axis=(2, 3)),
         np.lib.stride_tricks.sliding_window_view(hx, (3, 3), axis=(2, 3))),
    ]
    for got, expected in pairs:
        assert isinstance(got, DeviceArray), got
        np.testing.assert_array_equal(got.get(), expected)
    assert xp.allclose(d, d) and not xp.allclose(d, d + 1)
    assert isinstance(xp.empty((2, 2)), DeviceArray) and xp.empty((2, 2)).shape == (2, 2)


def test_as_strided_gives_a_view_of_the_device_buffer(d):
    windows = xp.lib.stride_tricks.as_strided(d, shape=(3, 3, 2), strides=(d.strides[0], d.strides[1],
                                                                            d.strides[1]))  # (3, 3, 2)
    assert isinstance(windows, DeviceArray)
    np.testing.assert_array_equal(windows.get()[1, 2], [6.0, 7.0])


def test_add_at_accumulates_repeated_indices():
    target = xp.zeros((3, 2))
    xp.add.at(target, (xp.asarray(np.array([0, 0, 2, 0])), xp.asarray(np.array([1, 1, 0, 1]))), 1.5)
    np.testing.assert_array_equal(target.get(), [[0, 4.5], [0, 0], [1.5, 0]])
    target = xp.zeros(4)
    xp.add.at(target, xp.asarray(np.array([3, 3])), xp.asarray(np.array([1.0, 2.0])))
    np.testing.assert_array_equal(target.get(), [0, 0, 0, 3.0])


def test_generator_is_seeded_and_device_resident():
    a = xp.random.default_rng(5)
    b = xp.random.default_rng(5)
    for name, args in [("random", ((2, 3),)), ("standard_normal", ((4,),)), ("integers", (0, 10, (5,))),
                       ("uniform", (-1.0, 1.0, (3,))), ("normal", (0.0, 2.0, (3,))), ("permutation", (6,))]:
        x, y = getattr(a, name)(*args), getattr(b, name)(*args)
        assert isinstance(x, DeviceArray), name
        np.testing.assert_array_equal(x.get(), y.get())
    shuffled = xp.arange(10)
    a.shuffle(shuffled)
    assert sorted(shuffled.get().tolist()) == list(range(10))
    with pytest.raises(AttributeError, match="random.Generator has no method 'zipf'"):
        a.zipf(2.0)


def test_unknown_functions_fail_loudly_with_their_name():
    with pytest.raises(AttributeError, match=r"xp\.fft is not provided"):
        xp.fft  # noqa: B018
    with pytest.raises(AttributeError, match=r"xp\.random\.beta is not provided"):
        xp.random.beta  # noqa: B018
    with pytest.raises(AttributeError, match=r"stride_tricks\.broadcast_shapes"):
        xp.lib.stride_tricks.broadcast_shapes  # noqa: B018
    with pytest.raises(AttributeError):
        xp.zeros = np.zeros
    with pytest.raises(AttributeError):
        d = xp.zeros(2)
        d.sort_values()


def test_namespace_identity_and_backend_contract(d):
    assert get_array_module(d) is xp
    assert get_array_module(d, 1.0, None, np.float64(2.0)) is xp
    assert xp.ndarray is DeviceArray and isinstance(d, xp.ndarray)
    assert d.__array_namespace__() is xp
    assert xp.float64 is np.float64 and xp.newaxis is None
    moved = to_device(np.ones(2), xp)
    assert isinstance(moved, DeviceArray)
    assert type(to_device(moved, "cpu")) is np.ndarray
    assert "DeviceArray" in repr(d) and "float64" in repr(d)


def test_device_array_needs_a_numpy_buffer():
    with pytest.raises(TypeError, match="xp.asarray"):
        DeviceArray([1, 2])


@pytest.mark.parametrize("op", [lambda a: -a, lambda a: +a, abs])
def test_unary_operators_keep_zero_d_results_on_the_device(op):
    # reductions return 0-d device arrays (as CuPy's do); negating one must not fall back to the host
    m = xp.asarray([1.0, -3.0]).mean()
    out = op(m)
    assert isinstance(out, DeviceArray) and out.ndim == 0
    assert float(out) == op(-1.0)
