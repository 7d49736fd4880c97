"""convlab.backend: choosing the array module, moving data, accumulating with add-at."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from convlab import backend
from convlab.backend import (
    DeviceUnavailableError,
    get_array_module,
    gpu_available,
    scatter_add,
    to_device,
    to_numpy,
)
from convlab.devicedouble import DeviceArray, xp

needs_no_gpu = pytest.mark.skipif(gpu_available(), reason="checks the behaviour of a machine without a GPU")


def test_numpy_and_python_values_select_numpy():
    assert get_array_module(np.ones(3)) is np
    assert get_array_module() is np
    assert get_array_module(None, 1.0, 3) is np
    assert get_array_module(np.ones(2), np.float64(1.0), None) is np


def test_device_arrays_select_their_namespace(dev):
    x = dev.put(np.ones((2, 2)))
    assert get_array_module(x) is dev.xp
    assert get_array_module(x, None, 2.0, x) is dev.xp


def test_mixing_host_and_device_arrays_raises():
    d = xp.ones(3)
    with pytest.raises(TypeError, match="NumPy \\(host\\) array was mixed"):
        get_array_module(d, np.ones(3))
    with pytest.raises(TypeError, match="NumPy \\(host\\) array was mixed"):
        get_array_module(np.ones(3), d)
    # scalars and 0-d host values may accompany device arrays, as CuPy allows
    assert get_array_module(d, np.float64(2.0), np.array(3.0)) is xp


def test_mixing_two_device_namespaces_raises():
    class OtherNamespace:
        pass

    class OtherArray:
        __array_namespace_owner__ = OtherNamespace()

    with pytest.raises(TypeError, match="different devices"):
        get_array_module(xp.ones(2), OtherArray())


@needs_no_gpu
def test_without_cupy_everything_runs_on_numpy():
    assert backend.cupy_or_none() is None
    assert gpu_available() is False
    assert type(to_device(np.ones(2), "auto")) is np.ndarray


@needs_no_gpu
def test_requesting_cuda_without_a_gpu_raises_a_clear_error():
    with pytest.raises(DeviceUnavailableError, match="device 'cuda' was requested but CuPy"):
        to_device(np.ones(2), "cuda")
    assert issubclass(DeviceUnavailableError, RuntimeError)


def test_importing_the_backend_is_silent_and_does_not_import_cupy():
    code = (
        "import sys, warnings; warnings.simplefilter('error');"
        "import convlab.backend as b; b.get_array_module(); "
        "assert 'cupy' not in sys.modules, 'cupy imported eagerly'"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "" and done.stderr == ""


def test_unknown_device_name_is_rejected():
    with pytest.raises(ValueError, match="unknown device 'tpu'"):
        to_device(np.ones(2), "tpu")


def test_to_numpy_and_to_device_round_trip(dev):
    host = np.arange(6.0).reshape(2, 3)
    on_dev = to_device(host, dev.xp) if dev.xp is not np else to_device(host, "cpu")
    assert dev.owns(on_dev)
    back = to_numpy(on_dev)
    assert type(back) is np.ndarray
    np.testing.assert_array_equal(back, host)
    assert to_numpy(host) is host  # no copy on the host
    np.testing.assert_array_equal(to_numpy([1, 2]), [1, 2])


def test_to_device_with_a_namespace_and_back_to_cpu():
    d = to_device(np.ones((2, 2)), xp)
    assert isinstance(d, DeviceArray)
    host = to_device(d, "cpu")
    assert type(host) is np.ndarray
    np.testing.assert_array_equal(host, np.ones((2, 2)))


def test_scatter_add_accumulates_repeated_indices(dev):
    target = dev.put(np.zeros(5))
    index = dev.put(np.array([0, 3, 3, 3, 1, 0]))
    values = dev.put(np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0]))
    out = scatter_add(target, index, values)
    assert out is target
    np.testing.assert_array_equal(dev.get(target), [7.0, 5.0, 0.0, 9.0, 0.0])


def test_scatter_add_with_tuple_index_and_scalar_values(dev):
    target = dev.put(np.zeros((2, 3)))
    rows = dev.put(np.array([1, 1, 0]))
    cols = dev.put(np.array([2, 2, 2]))
    scatter_add(target, (rows, cols), 0.5)
    np.testing.assert_array_equal(dev.get(target), [[0, 0, 0.5], [0, 0, 1.0]])


def test_scatter_add_matches_a_loop_on_random_overlapping_windows(dev):
    rng = np.random.default_rng(0)
    index_host = rng.integers(0, 4, size=50)
    values_host = rng.standard_normal(50)
    expected = np.zeros(4)
    for i, v in zip(index_host, values_host):
        expected[i] += v
    target = scatter_add(dev.put(np.zeros(4)), dev.put(index_host), dev.put(values_host))
    np.testing.assert_allclose(dev.get(target), expected, rtol=1e-12)


def test_scatter_add_refuses_host_values_for_a_device_target():
    with pytest.raises(TypeError):
        scatter_add(xp.zeros(3), xp.asarray(np.array([0, 1])), np.ones(2))
    with pytest.raises(TypeError):
        scatter_add(xp.zeros(3), np.array([0, 1]), xp.ones(2))
