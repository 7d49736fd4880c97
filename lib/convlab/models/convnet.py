"""A ConvNet assembled from a spec string, with a softmax classifier on top.

``ConvNet("[conv3-16 relu]x2 pool2 fc64 relu fc10", input_shape=(1, 8, 8))`` builds the
lecture notes' ``INPUT -> [[CONV -> RELU]*N -> POOL?]*M -> [FC -> RELU]*K -> FC``;
see :mod:`convlab.models.spec` for the spec language. Parameters live in the
``params`` dict: the i-th block with parameters (counting from 1) owns ``W{i}`` and
``b{i}`` (a residual block: ``W{i}a, b{i}a, W{i}b, b{i}b`` and maybe ``W{i}p, b{i}p``;
batchnorm: ``gamma{i}, beta{i}``). Batchnorm's running statistics live apart, in
``state`` (``running_mean{i}, running_var{i}``), because they are not trained by gradients.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from convlab.backend import get_array_module, to_device
from convlab.layers import softmax_loss
from convlab.models.blocks import Conv, Pool
from convlab.models.spec import format_spec, parse_spec
from convlab.shapes import activation_bytes

__all__ = ["ConvNet", "SummaryRow", "format_summary", "summarize", "net_forward", "net_backward", "net_loss"]


class SummaryRow(NamedTuple):
    """One line of :meth:`ConvNet.summary`: a layer's output volume and its costs."""

    layer: str  # spec token, "input" for the input volume
    shape: tuple  # output volume of one example: (C, H, W) or (D,)
    activations: int  # numbers in that volume
    params: int  # weights + biases of the layer
    memory: int  # bytes of the activations for one example at the net's dtype


def _human(n: float) -> str:
    """1234 -> '1.2K', 3211264 -> '3.2M' (the notes' way of writing sizes)."""
    for unit, scale in (("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if n >= scale:
            return f"{n / scale:.1f}{unit}"
    return f"{n:g}"


def _volume(shape) -> str:
    """(C, H, W) -> 'HxWxC', the notes' W x H x D order of writing a volume; (D,) -> '1x1xD'."""
    if len(shape) == 3:
        C, H, W = shape
        return f"{H}x{W}x{C}"
    return f"1x1x{shape[0]}"


def format_summary(rows, itemsize: int = 4) -> str:
    """Render summary rows as the notes' VGG-style table with a totals line."""
    lines = [f"{'layer':<14}{'volume':>14}{'activations':>14}{'memory':>12}{'params':>14}"]
    for r in rows:
        lines.append(f"{r.layer:<14}{_volume(r.shape):>14}{r.activations:>14,}{_human(r.memory) + 'B':>12}"
                     f"{r.params:>14,}")
    acts = sum(r.activations for r in rows)
    params = sum(r.params for r in rows)
    lines.append(
        f"total: {acts:,} activations = {_human(acts * itemsize)}B per example forward "
        f"(~x2 with backward); {params:,} parameters = {_human(params * itemsize)}B"
    )
    return "\n".join(lines)


def summarize(spec, input_shape, dtype=np.float32):
    """Rows of the sizing table for a spec (string or blocks) on ``input_shape`` (C, H, W).

    Needs no parameters, so it sizes nets far too large to build (VGG-16 on 224x224x3).
    Returns a list of :class:`SummaryRow`, the first for the input volume; a layer's
    ``params`` counts weights and biases (``convlab.shapes`` formulas), ``memory`` is
    its output volume's bytes at ``dtype``.
    """
    blocks = parse_spec(spec) if isinstance(spec, str) else tuple(spec)
    itemsize = np.dtype(dtype).itemsize
    shape = tuple(input_shape)
    size = math.prod(shape)
    rows = [SummaryRow("input", shape, size, 0, activation_bytes(size, itemsize))]
    for i, block in enumerate(blocks):
        in_shape = shape
        try:
            shape = tuple(block.output_shape(in_shape))
        except ValueError as exc:
            raise ValueError(f"layer {i + 1} ({block.token}) on input {in_shape}: {exc}") from None
        params = sum(math.prod(s) for s, _ in block.param_shapes(in_shape).values())
        size = math.prod(shape)
        rows.append(SummaryRow(block.token, shape, size, params, activation_bytes(size, itemsize)))
    return rows


class ConvNet:
    """A ConvNet described by a spec string, trained with softmax loss and L2 regularisation.

    Inputs
    - spec: architecture, e.g. ``"[conv3-16 relu]x2 pool2 fc64 relu fc10"``; the last
      layer's outputs are the class scores
    - input_shape: (C, H, W) of one example
    - weight_scale: a float (weights ~ N(0, weight_scale^2)) or ``"he"`` (Kaiming:
      N(0, 2 / fan_in), fan_in = C*FH*FW for CONV, D for FC); biases start at zero
    - reg: L2 strength; the loss adds ``0.5 * reg * sum(W**2)`` over weights (not biases)
    - dtype: float32 (fast) or float64 (gradient checks)
    - seed: seed of the NumPy Generators drawing the initial weights and the dropout masks
    - device: "cpu", "cuda", "auto" or an array namespace (see :func:`convlab.backend.to_device`);
      None: the host for a random init, the given arrays' own device for ``params``
    - params: optional dict of initial parameters (shapes are checked; copied in ``dtype``)
      instead of a random init; state: likewise for batchnorm's running statistics

    ``loss(X, y)`` with labels runs in training mode (dropout on, batchnorm on batch
    statistics, running statistics updated in ``state``); ``loss(X)`` in test mode.
    ``rng`` (a NumPy Generator) draws the dropout masks; reseed it for repeatable runs.
    """

    def __init__(self, spec: str, input_shape, *, weight_scale="he", reg: float = 0.0, dtype=np.float32,
                 seed: int = 0, device=None, params=None, state=None):
        self.blocks = parse_spec(spec)
        self.input_shape = tuple(int(s) for s in input_shape)
        if len(self.input_shape) not in (1, 3):
            raise ValueError(f"input_shape must be (C, H, W) or (D,), got {input_shape!r}")
        self.reg = float(reg)
        self.dtype = np.dtype(dtype)
        if self.dtype.kind != "f":
            raise TypeError(f"dtype must be a float type, got {self.dtype}")
        self.shapes = self._infer_shapes()
        self.param_names = self._name_params()
        self.state_names = self._name_state()
        self.rng = np.random.default_rng([seed, 1])  # dropout masks: a stream apart from the init
        expected = self._expected_param_shapes()
        if params is None:
            params = self._init_params(weight_scale, seed)  # on the host
            device = "cpu" if device is None else device
        else:
            got = {k: tuple(v.shape) for k, v in params.items()}
            want = {k: shape for k, (shape, _) in expected.items()}
            if got != want:
                raise ValueError(f"params do not fit the spec: expected shapes {want}, got {got}")
        # copies in the net's dtype, on the arrays' own device
        self.params = {k: v.astype(self.dtype, copy=True) for k, v in params.items()}
        fresh = self._init_state()  # on the host
        if state is None:
            xp = get_array_module(*self.params.values())  # follow the parameters' device
            self.state = fresh if xp is np else {k: xp.asarray(v) for k, v in fresh.items()}
        elif state.keys() != fresh.keys():
            raise ValueError(f"state must hold {sorted(fresh)}, got {sorted(state)}")
        else:
            self.state = {k: v.astype(self.dtype, copy=True) for k, v in state.items()}
        if device is not None:
            self.to(device)

    # ---- structure ----

    @property
    def spec(self) -> str:
        """The canonical spec (repeats expanded)."""
        return format_spec(self.blocks)

    @property
    def output_shape(self) -> tuple:
        return self.shapes[-1]

    @property
    def num_classes(self) -> int:
        return self.output_shape[0]

    @property
    def total_stride(self) -> int:
        """Product of the strides of all CONV and POOL layers: the net's downsampling factor."""
        return math.prod(b.stride for b in self.blocks if isinstance(b, (Conv, Pool)))

    def _infer_shapes(self):
        """Output shape after each block; error messages name the block."""
        return [row.shape for row in summarize(self.blocks, self.input_shape, self.dtype)[1:]]

    def _in_shapes(self):
        return [self.input_shape, *self.shapes[:-1]]

    def _block_indices(self):
        """1-based index of each block among the blocks with parameters (None for the others)."""
        out, index = [], 0
        for block, in_shape in zip(self.blocks, self._in_shapes()):
            if block.param_shapes(in_shape):
                index += 1
                out.append(index)
            else:
                out.append(None)
        return out

    def _name_params(self):
        """For each block, local name -> global key: the 3rd parametric block's ``W`` is ``W3``,
        a residual block's ``W_a`` is ``W3a``, a batchnorm's ``gamma`` is ``gamma3``."""
        names = []
        for block, in_shape, i in zip(self.blocks, self._in_shapes(), self._block_indices()):
            local = block.param_shapes(in_shape)
            names.append({name: "{0}{2}{1}".format(*name.partition("_")[::2], i) for name in local})
        return names

    def _name_state(self):
        """For each block, local state name -> key in ``state`` (``running_mean`` -> ``running_mean3``)."""
        names = []
        for block, in_shape, i in zip(self.blocks, self._in_shapes(), self._block_indices()):
            local = block.state_shapes(in_shape) if hasattr(block, "state_shapes") else {}
            names.append({name: f"{name}{i}" for name in local})
        return names

    def _init_state(self):
        state = {}
        for block, in_shape, names in zip(self.blocks, self._in_shapes(), self.state_names):
            for local, (shape, init) in (block.state_shapes(in_shape) if names else {}).items():
                state[names[local]] = (np.ones if init == "ones" else np.zeros)(shape, dtype=self.dtype)
        return state

    def _expected_param_shapes(self):
        out = {}
        for block, in_shape, names in zip(self.blocks, self._in_shapes(), self.param_names):
            for local, (shape, fan_in) in block.param_shapes(in_shape).items():
                out[names[local]] = (shape, fan_in)
        return out

    def _init_params(self, weight_scale, seed):
        if isinstance(weight_scale, str) and weight_scale.lower() not in ("he", "kaiming"):
            raise ValueError(f"weight_scale must be a number or 'he', got {weight_scale!r}")
        rng = np.random.default_rng(seed)
        params = {}
        for key, (shape, init) in self._expected_param_shapes().items():
            if init == "zeros":  # biases, batchnorm shifts
                params[key] = np.zeros(shape)
            elif init == "ones":  # batchnorm scales
                params[key] = np.ones(shape)
            else:  # weights; init is the fan-in
                std = math.sqrt(2.0 / init) if isinstance(weight_scale, str) else float(weight_scale)
                params[key] = std * rng.standard_normal(shape)
        return params

    def to(self, device):
        """Move every parameter and state array to ``device`` ("cpu", "cuda", "auto" or a namespace).

        Returns self."""
        self.params = {k: to_device(v, device) for k, v in self.params.items()}
        self.state = {k: to_device(v, device) for k, v in self.state.items()}
        return self

    # ---- computation ----

    def _block_params(self, names):
        return {local: self.params[key] for local, key in names.items()}

    def forward(self, X, train: bool = False):
        """Run every block on X (N, C, H, W); returns (out, caches).

        ``out`` is (N, num_classes) for a net ending in FC, or a score map
        (N, num_classes, H', W') for a fully-convolutional net (see fc_to_conv).
        ``train=True`` applies dropout and batch statistics and updates ``state``.
        """
        return net_forward(self, X, train)

    def backward(self, dout, caches):
        """Backpropagate ``dout`` (shaped like forward's output); returns (dX, grads keyed like params)."""
        return net_backward(self, dout, caches)

    def _weight_keys(self):
        return [k for k in self.params if k.startswith("W")]

    def loss(self, X, y=None):
        """Class scores, or the loss and its gradients.

        Inputs: X (N, C, H, W) in the net's dtype and device; y (N,) integer labels or None.
        Returns scores (N, num_classes) when y is None (a score map (N, num_classes, H', W')
        for a fully-convolutional net on a larger input); otherwise (loss, grads) with loss a
        Python float (softmax data loss + 0.5 * reg * sum of squared weights) and grads keyed
        like ``params``.
        """
        return net_loss(self, X, y)

    def predict(self, X, batch_size: int = 256):
        """Predicted labels (N,) for X, on X's device, computed in batches."""
        xp = get_array_module(X)
        parts = [xp.argmax(self.loss(X[i:i + batch_size]), axis=1) for i in range(0, X.shape[0], batch_size)]
        return xp.concatenate(parts)

    # ---- sizing ----

    def summary(self, show: bool = True):
        """Each layer's output volume, activations, activation memory and parameters.

        Prints the notes' VGG-style table (unless ``show=False``) and returns the rows,
        a list of :class:`SummaryRow` starting with the input volume.
        """
        rows = summarize(self.blocks, self.input_shape, self.dtype)
        if show:
            print(format_summary(rows, self.dtype.itemsize))
        return rows

    def __repr__(self) -> str:
        return f"ConvNet({self.spec!r}, input_shape={self.input_shape}, dtype={self.dtype.name})"


# The computations of ConvNet.forward, .backward and .loss live in module-level functions (the methods
# call them) so that a grading build of the library can withhold them: the autograder strips functions,
# and an assignment in which students write their own ConvNet must not find the library's one working.

def net_forward(net: ConvNet, X, train: bool = False):
    """What :meth:`ConvNet.forward` computes: run every block of ``net`` on X; returns (out, caches)."""
    if np.dtype(X.dtype) != net.dtype:
        raise TypeError(f"X has dtype {X.dtype} but the net's parameters are {net.dtype}; "
                        f"convert one of them (e.g. X.astype(np.{net.dtype}))")
    caches = []
    out = X
    for block, names, snames in zip(net.blocks, net.param_names, net.state_names):
        state = {local: net.state[key] for local, key in snames.items()}
        out, cache = block.forward(out, net._block_params(names), train=train, rng=net.rng, state=state)
        if train and snames:
            for local, value in block.new_state(cache).items():
                net.state[snames[local]] = value
        caches.append(cache)
    return out, caches


def net_backward(net: ConvNet, dout, caches):
    """What :meth:`ConvNet.backward` computes: returns (dX, grads keyed like ``net.params``)."""
    grads = {}
    for block, names, cache in zip(reversed(net.blocks), reversed(net.param_names), reversed(caches)):
        dout, local = block.backward(dout, cache, net._block_params(names))
        for name, g in local.items():
            grads[names[name]] = g
    return dout, grads


def net_loss(net: ConvNet, X, y=None):
    """What :meth:`ConvNet.loss` computes: scores without labels, (loss, grads) with them."""
    scores, caches = net.forward(X, train=y is not None)
    if scores.ndim == 4 and scores.shape[2:] == (1, 1):
        scores = scores.reshape(scores.shape[0], scores.shape[1])  # (N, K, 1, 1) -> (N, K)
    if y is None:
        return scores
    if scores.ndim != 2:
        raise ValueError(f"the net produces a score map of shape {tuple(scores.shape)}; "
                         f"training needs inputs of size {net.input_shape}")
    data_loss, dscores = softmax_loss(scores, y)
    dscores = dscores.reshape(scores.shape[0], *net.shapes[-1])  # (N, K) -> forward's (N, K[, 1, 1])
    _, grads = net.backward(dscores, caches)
    reg_loss = 0.0
    if net.reg:
        for key in net._weight_keys():
            w = net.params[key]
            reg_loss += 0.5 * net.reg * float((w * w).sum())
            grads[key] = grads[key] + net.reg * w
    return data_loss + reg_loss, grads
