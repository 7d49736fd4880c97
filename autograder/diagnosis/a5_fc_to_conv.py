"""Diagnosis of assignment 5 (from FC layers to CONV layers): public probes, known mistakes, hints.

Every probe is public (none is a hidden case of ``solutions/a5_fc_to_conv/checks.py``: fixed nets and
shapes here, drawn at random there); the visible tests' own examples carry the tag ``"visible"``.
References are the library's FC layer and converter (``convlab.layers.affine_*``,
``convlab.models.fc_to_conv``) and, for the score maps, the original net run crop by crop.
"""

import math

import numpy as np

from autograder.diagnosis.engine import ExerciseProbes, Probe, Symptom
from convlab import layers
from convlab.models import FC, Conv, ConvNet, fc_to_conv, format_spec, parse_spec, summarize

__all__ = ["EXERCISES"]

_FC = ("convlab.layers.affine_forward", "convlab.layers.affine_backward")
_CONVERT = ("convlab.models.fc_to_conv",)
_NET_TOL = dict(rtol=1e-9, atol=1e-10)  # float64 nets agree up to summation order


def _channels(C):
    return "channels>1" if C > 1 else "channels1"


# --- exercise 1: fc_forward / fc_backward -----------------------------------------------------------

_FC_GEOMETRIES = [  # (N, C, H, W, M)
    (2, 3, 3, 4, 5), (1, 1, 4, 2, 3), (3, 2, 2, 2, 4), (2, 1, 3, 3, 6), (1, 4, 2, 5, 2),
]


def _fc_probes(rng, dout=False):
    probes = []
    for N, C, H, W, M in _FC_GEOMETRIES:
        entries = dict(x=rng.standard_normal((N, C, H, W)), w=rng.standard_normal((C * H * W, M)),
                       b=rng.standard_normal(M))
        if dout:
            entries["dout"] = rng.standard_normal((N, M))
        tags = [_channels(C), "square" if H == W else "nonsquare"]
        if N > 1:
            tags.append("batch>1")
        probes.append(Probe(entries, tuple(tags)))
    return probes


def _flattened_hwc(entries, got, want):
    x, w, b = entries["x"], entries["w"], entries["b"]
    return np.allclose(got, x.transpose(0, 2, 3, 1).reshape(x.shape[0], -1) @ w + b)


FC_FORWARD = ExerciseProbes(
    cell="fc_layer",
    function="fc_forward",
    call=lambda fn, c: fn(c.x, c.w, c.b)[0],
    reference=lambda c: layers.affine_forward(c.x, c.w, c.b)[0],
    probes=_fc_probes,
    symptoms=(Symptom("hwc-order", _flattened_hwc),),
    hints={
        "hwc-order": "the rows of w follow x.reshape(N, -1), channel-major: all of channel 0 first; moving the "
                     "channels last before flattening pairs the weights with the wrong inputs",
        "channels>1": "with one channel every flattening order agrees: check the order in which you lay out "
                      "(C, H, W) as a row",
        "withheld": "write the layer as one matrix product of the flattened volumes with w, plus b; the "
                    "library's FC layer is not in the grader's copy of the library",
    },
    withhold=_FC,
)


def _fc_backward_reference(c):
    _, cache = layers.affine_forward(c.x, c.w, c.b)
    return layers.affine_backward(c.dout, cache)


FC_BACKWARD = ExerciseProbes(
    cell="fc_layer",
    function="fc_backward",
    call=lambda fn, c: fn(c.dout, (c.x, c.w)),
    reference=_fc_backward_reference,
    probes=lambda rng: _fc_probes(rng, dout=True),
    components=("dx", "dw", "db"),
    hints={
        "transposed": "dw has the shape of w, (D, M): multiply the flattened x, transposed, by dout, in that "
                      "order",
        "wrong:dx": "dx is wrong while dw and db are right: it goes back in the shape of x, (N, C, H, W), "
                    "and each of its rows is dout times w transposed",
        "shape": "dx goes back in the shape of x, (N, C, H, W): reshape the (N, D) product",
        "wrong:db": "db sums dout over the batch: one number per neuron",
    },
    withhold=_FC,
)


# --- exercise 2a: fc_as_conv ------------------------------------------------------------------------

_AS_CONV_SHAPES = [  # (in_shape, K)
    ((2, 3, 4), 3), ((1, 4, 2), 2), ((3, 2, 2), 4), ((5,), 3), ((4, 1, 3), 2),
]


def _as_conv_probes(rng):
    probes = []
    for in_shape, K in _AS_CONV_SHAPES:
        tags = ["flat"] if len(in_shape) == 1 else [_channels(in_shape[0]),
                                                    "square" if in_shape[1] == in_shape[2] else "nonsquare"]
        probes.append(Probe(dict(w=rng.standard_normal((math.prod(in_shape), K)), b=rng.standard_normal(K),
                                 in_shape=in_shape), tuple(tags)))
    return probes


def _as_conv_reference(c):
    in_shape = tuple(c.in_shape) if len(c.in_shape) == 3 else (c.in_shape[0], 1, 1)
    net = ConvNet(f"fc{c.w.shape[1]}", in_shape, dtype=np.float64, params={"W1": c.w, "b1": c.b})
    conv = fc_to_conv(net)
    return conv.params["W1"], conv.params["b1"]


def _folded_hwc(entries, got, want):
    K, C, H, W = want[0].shape
    return np.allclose(got[0], entries["w"].T.reshape(K, H, W, C).transpose(0, 3, 1, 2))


def _not_transposed(entries, got, want):
    return np.allclose(got[0], entries["w"].reshape(want[0].shape))


FC_AS_CONV = ExerciseProbes(
    cell="fc_as_conv",
    call=lambda fn, c: fn(c.w, c.b, c.in_shape),
    reference=_as_conv_reference,
    probes=_as_conv_probes,
    components=("w_conv", "b_conv"),
    symptoms=(Symptom("hwc-order", _folded_hwc), Symptom("no-transpose", _not_transposed)),
    kinds={"flat": "only on flat inputs (an FC layer after an FC layer)"},
    hints={
        "hwc-order": "column k of w lists neuron k's weights channel-major, (c*H + h)*W + w: fold it back as "
                     "(C, H, W), not as (H, W, C)",
        "no-transpose": "w is (D, K): neuron k's weights are a column; reshaping w itself to (K, C, H, W) cuts "
                        "it into rows instead, so put the neurons first before folding",
        "flat": "a flat input of D numbers is a 1x1 volume of depth D: the filters are (K, D, 1, 1)",
        "withheld": "fold each column of w into a volume yourself; the library's converter is not in the "
                    "grader's copy of the library",
    },
    withhold=_CONVERT,
)


# --- exercise 2b: conv_spec -------------------------------------------------------------------------

_SPECS = [  # (spec, input_shape, visible); comments: the volume the first FC layer sees
    ("conv3-8p0 relu pool2 fc16 relu fc10", (1, 10, 8), True),    # 8x4x3
    ("fc5 relu fc4 relu fc3", (2, 3, 5), True),                   # 2x3x5
    ("conv3-4p0 relu pool2 fc6 relu fc3", (2, 8, 8), False),      # 4x3x3: square, odd
    ("conv3-3 relu pool2 fc4 relu fc2", (1, 8, 4), False),        # 3x4x2: even
    ("conv2-2p0 relu fc5 relu fc4 relu fc3", (3, 5, 5), False),   # 2x4x4: square, even
    ("conv3-2p0 relu fc4 relu fc2", (2, 7, 5), False),            # 2x5x3: odd
]


def _fc_input(spec, input_shape):
    rows = summarize(spec, input_shape)
    first = next(i for i, block in enumerate(parse_spec(spec)) if isinstance(block, FC))
    return rows[first].shape  # (C', H', W')


def _spec_probes(rng):
    probes = []
    for spec, shape, visible in _SPECS:
        _, H, W = _fc_input(spec, shape)
        tags = ["square" if H == W else "nonsquare", "odd" if H % 2 or W % 2 else "even"]
        probes.append(Probe(dict(spec=spec, input_shape=shape), tuple(["visible"] * visible + tags)))
    return probes


def _layers(spec):
    """A spec written the way the grader compares specs (``conv4x4-8p0`` is ``conv4-8p0``)."""
    return format_spec(parse_spec(spec))


def _dropped_p0(entries, got, want):
    got, want = got.split(), want.split()
    differ = [(g, w) for g, w in zip(got, want) if g != w]
    return len(got) == len(want) and bool(differ) and all(w.endswith("p0") and _layers(w[:-2]) == g
                                                           for g, w in differ)


CONV_SPEC = ExerciseProbes(
    cell="conv_spec",
    call=lambda fn, c: _layers(fn(c.spec, tuple(c.input_shape))),
    reference=lambda c: _layers(fc_to_conv(ConvNet(c.spec, tuple(c.input_shape), dtype=np.float64)).spec),
    probes=_spec_probes,
    symptoms=(Symptom("no-p0", _dropped_p0),),
    kinds={"nonsquare": "only when the first FC layer sees a volume whose height and width differ",
           "odd": "only when the first FC layer sees an odd height or width",
           "even": "only when the first FC layer sees an even height and width"},
    hints={
        "no-p0": "write the converted layer's padding out (p0): without it an odd filter gets the spec's "
                 "default 'same' padding and no longer fits the volume exactly once",
        "nonsquare": "summarize gives each volume as (C, H, W): the filter is height x width, conv{H'}x{W'}",
        "withheld": "build the spec from summarize's rows and parse_spec's layers; the library's converter "
                    "is not in the grader's copy of the library",
    },
    withhold=_CONVERT,
)


# --- exercise 2c: fc_to_conv ------------------------------------------------------------------------

class _Entries(dict):
    """A dict whose keys read as attributes, as a probe's ``Case`` does."""

    __getattr__ = dict.__getitem__


def _random_params(rng, spec, input_shape):
    """float64 parameters of ``spec``, weights scaled by 1/sqrt(fan-in) so the scores stay near 1."""
    out = {}
    for key, value in ConvNet(spec, input_shape, dtype=np.float64).params.items():
        fan_in = math.prod(value.shape[1:]) if value.ndim == 4 else value.shape[0]
        out[key] = (1.0 if key.startswith("b") else fan_in ** -0.5) * rng.standard_normal(value.shape)
    return out


def _net(c):
    params = {k: c[k] for k in c.keys() if k[:1] in ("W", "b")}
    return ConvNet(c.spec, tuple(c.input_shape), dtype=np.float64, params=params)


_NETS = [  # (spec, input_shape, N): nets before the first FC layer and the FC layers after it
    ("conv3-3p0 relu pool2 fc5 relu fc4 relu fc3", (2, 12, 8), 2),
    ("fc4 relu fc3", (1, 3, 5), 3),
    ("conv2-2p0 relu fc4 relu fc3", (3, 5, 5), 1),
    ("conv3-2 relu pool2 fc6 relu fc2", (2, 6, 10), 2),
]


def _to_conv_probes(rng):
    probes = []
    for spec, shape, N in _NETS:
        entries = dict(spec=spec, input_shape=shape, x=rng.standard_normal((N, *shape)))
        entries.update(_random_params(rng, spec, shape))
        probes.append(Probe(entries, ("batch>1",) if N > 1 else ()))
    return probes


def _converted_scores(net, x):
    """The converted net's scores, on ``x`` in the net's own dtype (so a float32 net shows its precision)."""
    return net.forward(x.astype(net.dtype))[0]


def _single_precision(entries, got, want):
    got = np.asarray(got)
    return got.dtype == np.float32 or (not np.allclose(got, want, **_NET_TOL) and np.allclose(got, want, 1e-4, 1e-5))


def _library_as_conv(w, b, in_shape):
    return _as_conv_reference(_Entries(w=w, b=b, in_shape=in_shape))


def _library_spec(spec, input_shape):
    return fc_to_conv(ConvNet(spec, tuple(input_shape), dtype=np.float64)).spec


FC_TO_CONV = ExerciseProbes(
    cell="fc_to_conv",
    call=lambda fn, c: _converted_scores(fn(_net(c)), c.x),
    reference=lambda c: _net(c).loss(c.x)[:, :, None, None],
    probes=_to_conv_probes,
    symptoms=(Symptom("single-precision", _single_precision),),
    hints={
        "single-precision": "the converted net computes in float32 (its scores agree only to float32 "
                            "precision): pass the original net's dtype on to ConvNet, and its reg and state",
        "withheld": "build the new ConvNet from conv_spec and fc_as_conv yourself; the library's converter is "
                    "not in the grader's copy of the library",
    },
    stand_ins={"fc_as_conv": _library_as_conv, "conv_spec": _library_spec},
    **_NET_TOL,
    withhold=_CONVERT,
)


# --- exercise 3: multiply_adds ----------------------------------------------------------------------

_MAC_NETS = [  # (spec, input_shape, visible)
    ("conv3-2p0 relu fc4", (1, 5, 6), True), ("conv3-4s2p0 relu", (2, 9, 7), True),
    ("conv3-3 relu pool2 fc5 relu fc2", (2, 6, 8), False), ("conv2x3-2p0 relu fc3", (3, 5, 6), False),
    ("conv3-2s2 relu conv1-4 relu fc3", (2, 7, 9), False), ("fc6 relu fc3", (2, 3, 4), False),
]


def _mac_probes(rng):
    return [Probe(dict(spec=spec, input_shape=shape), ("visible",) if visible else ()) for spec, shape, visible
            in _MAC_NETS]


def _layer_costs(spec, input_shape):
    """``(multiply-adds, biases times positions, input positions times weights)`` per CONV or FC layer."""
    shape, costs = tuple(input_shape), []
    for block in parse_spec(spec):
        out = tuple(block.output_shape(shape))
        if isinstance(block, Conv):
            weights = out[0] * shape[0] * block.fh * block.fw
            costs.append((weights * out[1] * out[2], out[0] * out[1] * out[2], weights * shape[1] * shape[2]))
        elif isinstance(block, FC):
            weights = math.prod(shape) * block.k
            costs.append((weights, block.k, weights * math.prod(shape[1:])))
        shape = out
    return costs


def _counts_biases(entries, got, want):
    costs = _layer_costs(entries["spec"], entries["input_shape"])
    return got == sum(mac + biases for mac, biases, _ in costs)


def _input_positions(entries, got, want):
    return got == sum(at_input for _, _, at_input in _layer_costs(entries["spec"], entries["input_shape"]))


MULTIPLY_ADDS = ExerciseProbes(
    cell="multiply_adds",
    call=lambda fn, c: fn(c.spec, tuple(c.input_shape)),
    reference=lambda c: int(sum(mac for mac, _, _ in _layer_costs(c.spec, c.input_shape))),
    probes=_mac_probes,
    symptoms=(Symptom("counts-biases", _counts_biases), Symptom("input-positions", _input_positions)),
    hints={
        "counts-biases": "a layer's parameter count includes its K biases, which cost no multiply-add: count "
                         "the weights only",
        "input-positions": "a layer works once per position of its output (H_out x W_out, and 1 for an FC "
                           "layer), not of its input",
        "dtype": "return a Python int (int(...)), not a float",
    },
)


# --- exercise 4a: score_map -------------------------------------------------------------------------

def _crop_scores(net, image, step):
    """The original net's scores of every crop taken every ``step`` pixels, one crop at a time."""
    _, H, W = net.input_shape
    tops, lefts = range(0, image.shape[2] - H + 1, step), range(0, image.shape[3] - W + 1, step)
    rows = [np.stack([net.loss(image[:, :, i:i + H, j:j + W]) for j in lefts], axis=-1) for i in tops]
    return np.stack(rows, axis=-2)  # (N, K, rows, cols)


_MAP_NETS = [  # (spec, input_shape, extra rows, extra columns, N): extra pixels beyond one crop
    ("conv3-2p0 relu pool2 fc5 relu fc3", (1, 8, 6), 4, 6, 1),    # stride 2, whole strides
    ("conv3-2p0 relu pool2 fc5 relu fc3", (1, 8, 6), 3, 5, 2),    # ragged
    ("conv2-3p0 relu fc4 relu fc2", (2, 5, 4), 2, 3, 1),          # stride 1
    ("conv3-2p0 relu pool2 fc4 relu fc3", (2, 6, 8), 0, 0, 2),    # a single crop: a 1x1 map
    ("conv3-2p0 relu pool2 fc4 relu fc3", (2, 6, 8), 1, 0, 1),    # a single crop, one ragged row
]


def _map_probes(rng):
    probes = []
    for spec, shape, dh, dw, N in _MAP_NETS:
        C, H, W = shape
        entries = dict(spec=spec, input_shape=shape, image=rng.standard_normal((N, C, H + dh, W + dw)))
        entries.update(_random_params(rng, spec, shape))
        S = ConvNet(spec, shape, dtype=np.float64).total_stride
        tags = ["ragged" if dh % S or dw % S else "aligned", "1x1" if dh < S and dw < S else "map"]
        probes.append(Probe(entries, tuple(tags)))
    return probes


SCORE_MAP = ExerciseProbes(
    cell="score_map",
    call=lambda fn, c: fn(_net(c), c.image),
    reference=lambda c: _crop_scores(_net(c), c.image, _net(c).total_stride),
    probes=_map_probes,
    kinds={"ragged": "only on images whose extra rows or columns are not whole strides",
           "1x1": "only when the image holds a single crop (a 1x1 map)"},
    hints={
        "ragged": "rows (or columns) beyond the last whole stride fit no crop and the converted layers reject "
                  "them: keep the top-left H + k*S rows and W + l*S columns first",
        "1x1": "ConvNet.loss squeezes a 1x1 map to (N, K); the map must stay (N, K, rows, cols): take the "
               "scores from forward",
        "withheld": "run your own fc_to_conv(net); the library's converter is not in the grader's copy of "
                    "the library",
    },
    stand_ins={"fc_to_conv": fc_to_conv},
    **_NET_TOL,
    withhold=_CONVERT,
)


# --- exercise 4b: class_confidence ------------------------------------------------------------------

_SCORES = [  # (N, K, rows, cols, scale, offset, visible)
    (2, 5, 3, 4, 1.0, 0.0, False), (1, 3, 2, 2, 4.0, 0.0, False), (1, 4, 3, 1, 1.0, 0.0, False),
    (2, 6, 2, 3, 200.0, 800.0, False), (1, 5, 4, 2, 10.0, -950.0, False),
]


def _confidence_probes(rng):
    return [Probe(dict(scores=offset + scale * rng.standard_normal((N, K, rows, cols))),
                  ("large",) if abs(offset) > 700 else ("moderate",))
            for N, K, rows, cols, scale, offset, _ in _SCORES]


def _softmax(scores, axis):
    e = np.exp(scores - scores.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _softmax_elsewhere(entries, got, want):
    """Normalised along another axis than the classes' (shifted by the classes' or that axis's largest)."""
    scores = entries["scores"]
    for axis in (0, 2, 3):
        for shift in (scores.max(axis=1, keepdims=True), scores.max(axis=axis, keepdims=True)):
            e = np.exp(scores - shift)
            if np.allclose(got[1], (e / e.sum(axis=axis, keepdims=True)).max(axis=1)):
                return True
    return False


CLASS_CONFIDENCE = ExerciseProbes(
    cell="class_confidence",
    call=lambda fn, c: fn(c.scores),
    reference=lambda c: (c.scores.argmax(axis=1), _softmax(c.scores, 1).max(axis=1)),
    probes=_confidence_probes,
    components=("classes", "confidence"),
    symptoms=(Symptom("softmax-axis", _softmax_elsewhere),),
    kinds={"large": "only on very large or very negative scores"},
    hints={
        "softmax-axis": "the probabilities are over the classes, axis 1 of (N, K, rows, cols): sum and "
                        "normalise along that axis only",
        "large": "exp overflows for scores of a few hundred and underflows for very negative ones: subtract "
                 "each position's largest score before exponentiating",
    },
)


# --- exercise 5: fine_score_map ---------------------------------------------------------------------

_FINE_NETS = [  # (spec, input_shape, step, fine rows, fine columns, extra pixels, N)
    ("conv3-2p0 relu pool2 fc4 relu fc3", (1, 8, 6), 1, 4, 6, 0, 1),                   # S = 2, r = 2
    ("conv2-2p0 relu pool2 conv1-2 relu pool2 fc4 relu fc2", (1, 9, 9), 2, 4, 4, 1, 2),  # S = 4, r = 2
    ("conv2-2p0 relu pool2 conv1-2 relu pool2 fc4 relu fc2", (1, 9, 9), 1, 4, 8, 0, 1),  # S = 4, r = 4
    ("conv3-2p0 relu pool2 fc4 relu fc3", (2, 8, 6), 2, 2, 3, 1, 1),                   # step = S: r = 1
]


def _fine_probes(rng):
    probes = []
    for spec, shape, step, rows, cols, extra, N in _FINE_NETS:
        C, H, W = shape
        image = rng.standard_normal((N, C, H + (rows - 1) * step + extra, W + (cols - 1) * step + extra))
        entries = dict(spec=spec, input_shape=shape, step=step, image=image)
        entries.update(_random_params(rng, spec, shape))
        r = ConvNet(spec, shape, dtype=np.float64).total_stride // step
        probes.append(Probe(entries, ("r>1" if r > 1 else "r1",)))
    return probes


def _library_score_map(net, image):
    """The score map of exercise 4, from the library's converter (stands in for the learner's)."""
    _, H, W = net.input_shape
    S = net.total_stride
    rows, cols = (image.shape[2] - H) // S, (image.shape[3] - W) // S
    return fc_to_conv(net).forward(image[:, :, :H + rows * S, :W + cols * S])[0]


def _passes(c):
    """``(r, {(a, b): the map of the pass shifted by a steps down and b across})``."""
    net = _net(c)
    r = net.total_stride // c.step
    return r, {(a, b): _library_score_map(net, c.image[:, :, a * c.step:, b * c.step:])
               for a in range(r) for b in range(r)}


def _diagonal_only(entries, got, want):
    r, passes = _passes(_Entries(entries))
    return r > 1 and all(np.allclose(got[:, :, a::r, b::r], passes[a, b] if a == b else 0.0)
                         for a in range(r) for b in range(r))


def _reversed(entries, got, want):
    r, passes = _passes(_Entries(entries))
    return r > 1 and all(np.allclose(got[:, :, r - 1 - a::r, r - 1 - b::r], passes[a, b])
                         for a in range(r) for b in range(r))


FINE_SCORE_MAP = ExerciseProbes(
    cell="fine_score_map",
    call=lambda fn, c: fn(_net(c), c.image, c.step),
    reference=lambda c: _crop_scores(_net(c), c.image, c.step),
    probes=_fine_probes,
    symptoms=(Symptom("diagonal-only", _diagonal_only), Symptom("interleave-reversed", _reversed)),
    kinds={"r>1": "only when step is smaller than the total stride"},
    hints={
        "diagonal-only": "shifting down and across together gives only the passes with a = b: shift the rows "
                         "and the columns independently, r * r passes in all",
        "interleave-reversed": "dropping the first a*step rows moves every crop a steps down: the pass shifted "
                               "by (a, b) fills the fine map's rows a, a + r, ... and columns b, b + r, ...",
        "r>1": "the pass shifted by (a, b) steps fills rows a::r and columns b::r of the fine map",
        "withheld": "build the passes on your score_map; the library's converter is not in the grader's copy "
                    "of the library",
    },
    stand_ins={"fc_to_conv": fc_to_conv, "score_map": _library_score_map},
    **_NET_TOL,
    withhold=_CONVERT,
)


EXERCISES = [FC_FORWARD, FC_BACKWARD, FC_AS_CONV, CONV_SPEC, FC_TO_CONV, MULTIPLY_ADDS, SCORE_MAP, CLASS_CONFIDENCE,
             FINE_SCORE_MAP]
