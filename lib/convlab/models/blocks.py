"""The building blocks a :class:`~convlab.models.ConvNet` is made of.

Each block is a small frozen dataclass that knows its hyper-parameters and
nothing else; parameters are passed in on every call as a dict with the block's
*local* names (``"W"``, ``"b"``; a residual block has ``"W_a", "b_a", "W_b", "b_b"``
and, when it changes depth, ``"W_p", "b_p"``; batchnorm ``"gamma", "beta"``).
Every block offers

- ``token``: its spelling in the spec language (see :mod:`convlab.models.spec`)
- ``output_shape(in_shape)``: (C, H, W) or (D,) of one example's output volume
- ``param_shapes(in_shape)``: local name -> (shape, init); init is the fan-in (an int,
  for weights drawn at random) or ``"zeros"`` / ``"ones"``
- ``forward(x, p, *, train=False, rng=None, state=None) -> (out, cache)`` and
  ``backward(dout, cache, p) -> (dx, grads)`` with ``grads`` keyed by local names,
  built from :mod:`convlab.layers`. ``train`` switches dropout and batchnorm to
  their training behaviour; ``rng`` feeds dropout; ``state`` holds batchnorm's
  running statistics.
- stateful blocks (batchnorm) also have ``state_shapes(in_shape)`` and
  ``new_state(cache)`` (the running statistics after a training-mode forward).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from convlab.layers import (
    affine_backward,
    affine_forward,
    avg_pool_backward,
    avg_pool_forward,
    conv_backward,
    conv_forward,
    dropout_backward,
    dropout_forward,
    l2_pool_backward,
    l2_pool_forward,
    max_pool_backward,
    max_pool_forward,
    relu_backward,
    relu_forward,
    spatial_batchnorm_backward,
    spatial_batchnorm_forward,
)
from convlab.shapes import conv_output_size, pool_output_size

__all__ = ["Conv", "ReLU", "Pool", "FC", "Residual", "BatchNorm", "Dropout", "default_pad"]


def default_pad(fh: int, fw: int) -> tuple[int, int]:
    """'Same' padding ``(F - 1) / 2`` per axis for odd F (keeps the size at stride 1), else 0."""
    return tuple((f - 1) // 2 if f % 2 else 0 for f in (fh, fw))


def _spatial(token: str, in_shape) -> tuple[int, int, int]:
    if len(in_shape) != 3:
        raise ValueError(
            f"{token} needs a (C, H, W) volume but gets a flat vector of {in_shape[0]} features; "
            f"CONV and POOL layers must come before the first FC layer"
        )
    return tuple(in_shape)


@dataclass(frozen=True)
class Conv:
    """CONV layer: K filters of FH x FW spanning the whole input depth, stride S, pad P."""

    fh: int
    fw: int
    k: int
    stride: int = 1
    pad: tuple[int, int] | None = None  # None: default_pad(fh, fw)

    @property
    def padding(self) -> tuple[int, int]:
        return default_pad(self.fh, self.fw) if self.pad is None else self.pad

    @property
    def token(self) -> str:
        size = f"{self.fh}" if self.fh == self.fw else f"{self.fh}x{self.fw}"
        text = f"conv{size}-{self.k}"
        if self.stride != 1:
            text += f"s{self.stride}"
        if self.padding != default_pad(self.fh, self.fw):
            ph, pw = self.padding
            text += f"p{ph}" if ph == pw else f"p{ph}x{pw}"
        return text

    def output_shape(self, in_shape):
        _, H, W = _spatial(self.token, in_shape)
        ph, pw = self.padding
        return (self.k, conv_output_size(H, self.fh, self.stride, ph), conv_output_size(W, self.fw, self.stride, pw))

    def param_shapes(self, in_shape):
        C = _spatial(self.token, in_shape)[0]
        return {"W": ((self.k, C, self.fh, self.fw), C * self.fh * self.fw), "b": ((self.k,), "zeros")}

    def forward(self, x, p, *, train=False, rng=None, state=None):
        return conv_forward(x, p["W"], p["b"], stride=self.stride, pad=self.padding)

    def backward(self, dout, cache, p):
        dx, dw, db = conv_backward(dout, cache)
        return dx, {"W": dw, "b": db}


@dataclass(frozen=True)
class ReLU:
    """Elementwise max(0, x); no parameters, no hyper-parameters."""

    token = "relu"

    def output_shape(self, in_shape):
        return tuple(in_shape)

    def param_shapes(self, in_shape):
        return {}

    def forward(self, x, p, *, train=False, rng=None, state=None):
        return relu_forward(x)

    def backward(self, dout, cache, p):
        return relu_backward(dout, cache), {}


_POOLS = {
    "max": (max_pool_forward, max_pool_backward),
    "avg": (avg_pool_forward, avg_pool_backward),
    "l2": (l2_pool_forward, l2_pool_backward),
}


@dataclass(frozen=True)
class Pool:
    """POOL layer: max (default), average or L2-norm over F x F windows with stride S."""

    size: int
    stride: int
    kind: str = "max"

    @property
    def token(self) -> str:
        prefix = "" if self.kind == "max" else self.kind
        return f"{prefix}pool{self.size}" + (f"s{self.stride}" if self.stride != self.size else "")

    def output_shape(self, in_shape):
        C, H, W = _spatial(self.token, in_shape)
        return (C, pool_output_size(H, self.size, self.stride), pool_output_size(W, self.size, self.stride))

    def param_shapes(self, in_shape):
        return {}

    def forward(self, x, p, *, train=False, rng=None, state=None):
        return _POOLS[self.kind][0](x, size=self.size, stride=self.stride)

    def backward(self, dout, cache, p):
        return _POOLS[self.kind][1](dout, cache), {}


@dataclass(frozen=True)
class FC:
    """Fully-connected layer with K outputs; a (C, H, W) input is flattened channel-major."""

    k: int

    @property
    def token(self) -> str:
        return f"fc{self.k}"

    def output_shape(self, in_shape):
        return (self.k,)

    def param_shapes(self, in_shape):
        d = math.prod(in_shape)
        return {"W": ((d, self.k), d), "b": ((self.k,), "zeros")}

    def forward(self, x, p, *, train=False, rng=None, state=None):
        return affine_forward(x, p["W"], p["b"])

    def backward(self, dout, cache, p):
        dx, dw, db = affine_backward(dout, cache)
        return dx, {"W": dw, "b": db}


@dataclass(frozen=True)
class Residual:
    """Residual block: ``relu(conv_b(relu(conv_a(x))) + skip(x))``, both convs F x F, K filters, 'same'.

    ``skip`` is the identity when the input depth is K, else a 1x1 CONV projection
    (parameters ``W_p, b_p``). The spatial size is unchanged.
    """

    f: int
    k: int

    def __post_init__(self):
        if self.f % 2 == 0:
            raise ValueError(f"res{self.f}-{self.k}: a residual block needs an odd filter size to keep the size")

    @property
    def token(self) -> str:
        return f"res{self.f}-{self.k}"

    def _convs(self, in_depth):
        a = Conv(self.f, self.f, self.k)
        b = Conv(self.f, self.f, self.k)
        proj = Conv(1, 1, self.k) if in_depth != self.k else None
        return a, b, proj

    def output_shape(self, in_shape):
        _, H, W = _spatial(self.token, in_shape)
        return (self.k, H, W)

    def param_shapes(self, in_shape):
        C = _spatial(self.token, in_shape)[0]
        a, b, proj = self._convs(C)
        shapes = {}
        for suffix, conv, depth in (("a", a, C), ("b", b, self.k), ("p", proj, C)):
            if conv is not None:
                for name, spec in conv.param_shapes((depth, 1, 1)).items():
                    shapes[f"{name}_{suffix}"] = spec
        return shapes

    def forward(self, x, p, *, train=False, rng=None, state=None):
        a, b, proj = self._convs(x.shape[1])
        ha, cache_a = a.forward(x, {"W": p["W_a"], "b": p["b_a"]})
        ra, cache_ra = relu_forward(ha)
        hb, cache_b = b.forward(ra, {"W": p["W_b"], "b": p["b_b"]})
        if proj is None:
            skip, cache_p = x, None
        else:
            skip, cache_p = proj.forward(x, {"W": p["W_p"], "b": p["b_p"]})
        out, cache_out = relu_forward(hb + skip)
        return out, (cache_a, cache_ra, cache_b, cache_p, cache_out)

    def backward(self, dout, cache, p):
        cache_a, cache_ra, cache_b, cache_p, cache_out = cache
        dsum = relu_backward(dout, cache_out)  # flows into both branches
        dra, dWb, dbb = conv_backward(dsum, cache_b)
        dha = relu_backward(dra, cache_ra)
        dx, dWa, dba = conv_backward(dha, cache_a)
        grads = {"W_a": dWa, "b_a": dba, "W_b": dWb, "b_b": dbb}
        if cache_p is None:
            dx = dx + dsum
        else:
            dxp, dWp, dbp = conv_backward(dsum, cache_p)
            dx = dx + dxp
            grads.update(W_p=dWp, b_p=dbp)
        return dx, grads


@dataclass(frozen=True)
class BatchNorm:
    """Spatial batch normalisation of a (C, H, W) volume: per-channel gamma and beta.

    Training normalises with the batch's statistics and updates the running ones
    (``new = momentum * old + (1 - momentum) * batch``); testing uses the running ones.
    """

    momentum: float = 0.9
    eps: float = 1e-5

    token = "bn"

    def output_shape(self, in_shape):
        return _spatial(self.token, in_shape)

    def param_shapes(self, in_shape):
        C = _spatial(self.token, in_shape)[0]
        return {"gamma": ((C,), "ones"), "beta": ((C,), "zeros")}

    def state_shapes(self, in_shape):
        C = _spatial(self.token, in_shape)[0]
        return {"running_mean": ((C,), "zeros"), "running_var": ((C,), "ones")}

    def forward(self, x, p, *, train=False, rng=None, state=None):
        state = state or {}
        out, cache, mean, var = spatial_batchnorm_forward(
            x, p["gamma"], p["beta"], train=train, running_mean=state.get("running_mean"),
            running_var=state.get("running_var"), momentum=self.momentum, eps=self.eps)
        return out, (cache, mean, var)

    def new_state(self, cache):
        """The running statistics after the forward pass that made ``cache``."""
        _, mean, var = cache
        return {"running_mean": mean, "running_var": var}

    def backward(self, dout, cache, p):
        dx, dgamma, dbeta = spatial_batchnorm_backward(dout, cache[0])
        return dx, {"gamma": dgamma, "beta": dbeta}


@dataclass(frozen=True)
class Dropout:
    """Inverted dropout: in training, zero each value with probability p and scale the rest by 1/(1-p)."""

    p: float = 0.5

    def __post_init__(self):
        if not 0.0 <= self.p < 1.0:
            raise ValueError(f"dropout probability must lie in [0, 1), got {self.p}")

    @property
    def token(self) -> str:
        return f"dropout{self.p:g}"

    def output_shape(self, in_shape):
        return tuple(in_shape)

    def param_shapes(self, in_shape):
        return {}

    def forward(self, x, p, *, train=False, rng=None, state=None):
        return dropout_forward(x, p=self.p, train=train, rng=rng)

    def backward(self, dout, cache, p):
        return dropout_backward(dout, cache), {}
