"""Shared fixtures: every layer test runs once per device.

The ``dev`` fixture is the contract layer tests rely on::

    def test_relu(dev):
        x = dev.put(np.random.default_rng(0).standard_normal((2, 3)))   # on the device
        out, _ = relu_forward(x)
        np.testing.assert_allclose(dev.get(out), ...)                    # back on the host

Devices: ``numpy`` (the host), ``double`` (convlab.devicedouble: NumPy underneath,
refusing implicit conversion as CuPy does) and, only where CuPy and a GPU are
usable, ``cuda``. ``dev.get`` fails the test when an array comes back from the
wrong device: a NumPy array out of a ``double`` run means some code path
silently left the device.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from hypothesis import settings

from convlab import devicedouble
from convlab.backend import cupy_or_none, get_array_module

# Shared, slow-ish CI machines: no per-example deadline; CI can pick another profile.
settings.register_profile("convlab", deadline=None, max_examples=100)
settings.register_profile("quick", deadline=None, max_examples=20)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "convlab"))


@dataclass(frozen=True)
class Device:
    """One place arrays can live in a test run.

    - name: ``"numpy"``, ``"double"`` or ``"cuda"``
    - xp: the array namespace (numpy, the double's namespace, cupy)
    - put(a): host data (array, list or number) -> a new array on this device
    - get(a): an array of this device -> a NumPy copy; fails the test (AssertionError)
      when ``a`` is not an array of this device
    """

    name: str
    xp: object

    def put(self, a, dtype=None):
        host = np.array(a, dtype=dtype, copy=True)
        return host if self.xp is np else self.xp.asarray(host)

    def owns(self, a) -> bool:
        """True when ``a`` is an array (not a Python number) living on this device."""
        if self.xp is np:
            return isinstance(a, (np.ndarray, np.generic))
        if isinstance(a, (np.ndarray, np.generic)) or not hasattr(a, "shape"):
            return False
        return get_array_module(a) is self.xp

    def get(self, a) -> np.ndarray:
        assert self.owns(a), (
            f"expected an array on device {self.name!r}, got {type(a).__module__}.{type(a).__name__}"
            + (" (a host array came out of a device run: some code path left the device)"
               if self.xp is not np and isinstance(a, (np.ndarray, np.generic)) else "")
        )
        if self.xp is np:
            return np.array(a, copy=True)
        return a.get()

    def randn(self, *shape, seed=0):
        """Standard-normal float64 array of ``shape`` on this device (drawn on the host, seeded)."""
        return self.put(np.random.default_rng(seed).standard_normal(shape))

    def __repr__(self) -> str:
        return f"Device({self.name})"


def _device_params():
    params = [pytest.param("numpy", id="numpy"), pytest.param("double", id="double")]
    if cupy_or_none() is not None:
        params.append(pytest.param("cuda", id="cuda", marks=pytest.mark.gpu))
    return params


def make_device(name: str) -> Device:
    """The :class:`Device` called ``name`` (``"numpy"``, ``"double"`` or ``"cuda"``)."""
    if name == "numpy":
        return Device("numpy", np)
    if name == "double":
        return Device("double", devicedouble.xp)
    if name == "cuda":
        cp = cupy_or_none()
        if cp is None:
            pytest.skip("CuPy with a CUDA device is not available")
        return Device("cuda", cp)
    raise ValueError(f"unknown device {name!r}")


@pytest.fixture(params=_device_params())
def dev(request) -> Device:
    """The device a test runs on; parametrized so each test runs on every available device."""
    return make_device(request.param)


_SESSION_START = pytest.StashKey[float]()


def pytest_sessionstart(session):
    session.config.stash[_SESSION_START] = time.time()


def pytest_terminal_summary(terminalreporter, config):
    """After a run whose browser tests took screenshots, say where they are (the CI artefacts, git-ignored).

    Here rather than in ``tests/browser/conftest.py``: under xdist only this conftest is loaded where
    the summary is written.
    """
    shots = Path(__file__).resolve().parents[1] / "out" / "browser"
    start = config.stash.get(_SESSION_START, time.time())
    if any(png.stat().st_mtime >= start for png in shots.glob("*.png")):
        terminalreporter.write_line(f"browser test screenshots: {shots}")
