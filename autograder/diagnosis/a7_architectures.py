"""Diagnosis of assignment 7 (architectures and sizing): public probes, known mistakes and their hints.

Every probe is public (none is a hidden case of ``solutions/a7_architectures/checks.py``); the
visible tests' own examples carry the tag ``"visible"``. A net is sent as the hidden tests send it:
an int array with one row ``(kind, F, K, S, P, G)`` per layer (kind 0 CONV, 1 POOL, 2 FC). The
references are written here from the library's formulas (``convlab.shapes``) and layers
(``convlab.layers``). Each exercise's tags come from a case's entries alone (``tags``), so the
same function tags the grader's hidden cases.
"""

from typing import NamedTuple

import numpy as np

from autograder.diagnosis.engine import ExerciseProbes, Probe, Symptom
from convlab import shapes
from convlab.layers import conv_backward, conv_forward, relu_backward, relu_forward

__all__ = ["EXERCISES"]

KINDS = ("conv", "pool", "fc")
CONV, POOL, FC = range(3)
_COPIES = {"sgd": 0, "sgd_momentum": 1, "rmsprop": 1, "adam": 2}
_NET_KINDS = {
    "fc-on-map": "only when an FC layer sits on a volume larger than 1x1",
    "grouped": "only for grouped CONV layers (G > 1)",
    "pool": "only for nets with POOL layers",
}


class _Layer(NamedTuple):
    """The notebook's ``Layer``: what the learner's functions read (``layer.kind``, ``layer.F``, ...)."""

    kind: str
    F: int
    K: int
    S: int
    P: int
    G: int


def _layers(rows):
    return [_Layer(KINDS[int(r[0])], *(int(v) for v in r[1:])) for r in rows]


def _net(*rows):
    return np.array(rows, dtype=np.int64)


# --- the correct sizing table (the reference, and what stands in for exercise 1) -----------------

def _volumes(layers, input_shape):
    """Yield (layer, volume before it, volume after it) along the net; layers as rows or ``Layer``."""
    C, H, W = (int(v) for v in input_shape)
    for layer in layers:
        kind = layer[0] if isinstance(layer[0], str) else KINDS[int(layer[0])]
        F, K, S, P, G = (int(v) for v in layer[1:])
        before = (C, H, W)
        if kind == "conv":
            C, H, W = K, shapes.conv_output_size(H, F, S, P), shapes.conv_output_size(W, F, S, P)
        elif kind == "pool":
            H, W = shapes.pool_output_size(H, F, S), shapes.pool_output_size(W, F, S)
        else:
            C, H, W = K, 1, 1
        yield (kind, F, K, S, P, G), before, (C, H, W)


def _table(layers, input_shape):
    C, H, W = (int(v) for v in input_shape)
    rows = [(C, H, W, C * H * W, 0, 0)]
    for (kind, F, K, _, _, G), (c, h, w), out in _volumes(layers, input_shape):
        weights = {"conv": lambda: shapes.grouped_conv_param_count(F, c, K, G, bias=False),
                   "fc": lambda: shapes.fc_param_count(c * h * w, K, bias=False)}.get(kind, lambda: 0)()
        rows.append((*out, int(np.prod(out)), weights, K if kind != "pool" else 0))
    return np.array(rows, dtype=np.int64)


def _net_tags(layers, input_shape):
    tags = []
    steps = list(_volumes(layers, input_shape))
    if any(kind == "fc" and h * w > 1 for (kind, *_), (_, h, w), _ in steps):
        tags.append("fc-on-map")
    if any(kind == "conv" and G > 1 for (kind, *_, G), _, _ in steps):
        tags.append("grouped")
    if any(kind == "pool" for (kind, *_), _, _ in steps):
        tags.append("pool")
    if any(kind == "conv" and S > 1 for (kind, _, _, S, _, _), _, _ in steps):
        tags.append("stride>1")
    if int(input_shape[1]) != int(input_shape[2]):
        tags.append("nonsquare")
    return tuple(tags)


def _probes(entries, tagger, visible):
    return [Probe(e, (("visible",) if i < visible else ()) + tuple(tagger(e))) for i, e in enumerate(entries)]


# --- exercise 1: layer_table ---------------------------------------------------------------------

_NETS = [  # (rows, input_shape): not the visible tests' nets
    (_net((0, 3, 4, 1, 1, 1), (0, 3, 6, 2, 1, 2)), (4, 9, 9)),               # grouped, square
    (_net((0, 5, 3, 1, 2, 1), (1, 2, 0, 2, 0, 1)), (2, 8, 6)),               # pool, non-square
    (_net((0, 4, 5, 1, 0, 1), (2, 0, 7, 1, 0, 1), (2, 0, 3, 1, 0, 1)), (3, 4, 4)),  # FC on 1x1 only
    (_net((0, 3, 2, 1, 0, 1), (2, 0, 4, 1, 0, 1)), (1, 5, 7)),               # FC on a 3x5 map
    (_net((0, 1, 6, 1, 0, 3), (0, 3, 4, 1, 0, 2), (2, 0, 5, 1, 0, 1)), (3, 3, 3)),  # grouped, FC on 1x1
    (_net((0, 3, 8, 2, 0, 1), (1, 3, 0, 1, 0, 1), (0, 1, 4, 1, 0, 4), (2, 0, 6, 1, 0, 1)), (2, 11, 9)),
]
_TABLE_VISIBLE = [
    (_net((0, 3, 12, 1, 1, 1), (1, 2, 0, 2, 0, 1), (2, 0, 10, 1, 0, 1)), (3, 32, 32)),
    (_net((0, 11, 96, 4, 0, 1)), (3, 227, 227)),
    (_net((0, 3, 8, 2, 0, 2)), (6, 9, 7)),
]


def table_tags(entries):
    return _net_tags(entries["layers"], entries["input_shape"])


def _net_probes(visible, nets):
    """Probes of whole nets: the visible tests' ``visible`` (tagged so), then ``nets``."""
    return _probes([dict(layers=rows, input_shape=shape) for rows, shape in visible + nets], table_tags, len(visible))


_TABLE_WITHHELD = ("convlab.models.summarize", "convlab.models.format_summary", "convlab.shapes.conv_param_count",
                   "convlab.shapes.grouped_conv_param_count", "convlab.shapes.fc_param_count")

LAYER_TABLE = ExerciseProbes(
    cell="layer_table",
    call=lambda fn, c: fn(_layers(c.layers), c.input_shape),
    reference=lambda c: _table(c.layers, c.input_shape),
    probes=lambda rng: _net_probes(_TABLE_VISIBLE, _NETS),
    tags=table_tags,
    kinds=_NET_KINDS,
    hints={
        "fc-on-map": "an FC layer connects every output to every value of its input volume: its weights "
                     "count the input's height and width too, not only its depth",
        "grouped": "in a grouped layer each filter spans only C/G of the input channels: check the depth "
                   "your weight count uses",
        "pool": "POOL changes height and width but not depth, and holds no weights or biases",
        "stride>1": "take each CONV output size from conv_output_size with the layer's S and P",
        "nonsquare": "H and W each go through their own conv_output_size / pool_output_size call",
        "withheld": "count the weights and biases layer by layer yourself; summarize and the shapes "
                    "param counts are not in the grader's copy of the library",
    },
    withhold=_TABLE_WITHHELD,
)


# --- exercise 2: memory_estimate and max_batch_size ----------------------------------------------

def _memory(layers, input_shape, batch_size, optimizer="sgd", dtype="float32"):
    size = np.dtype(dtype).itemsize
    table = _table(layers, input_shape)
    acts, params = int(table[1:, 3].sum()) * batch_size * size, int(table[:, 4:].sum()) * size
    return acts, acts, params, params, _COPIES[optimizer] * params, int(table[0, 3]) * batch_size * size


def _max_batch(layers, input_shape, budget_bytes, optimizer="sgd", dtype="float32"):
    fixed = sum(_memory(layers, input_shape, 0, optimizer, dtype))
    per = sum(_memory(layers, input_shape, 1, optimizer, dtype)) - fixed
    return max(0, (budget_bytes - fixed) // per)


_OPTIMIZER_KINDS = {"adam": "only with Adam", "sgd_momentum": "only with SGD with momentum",
                    "rmsprop": "only with RMSProp", "sgd": "only with plain SGD",
                    "float64": "only for float64 (8 bytes a value)"}


def memory_tags(entries):
    tags = [entries["optimizer"]] + (["float64"] if entries["dtype"] == "float64" else [])
    if "batch_size" in entries and entries["batch_size"] > 1:
        tags.append("batch>1")
    return (*tags, *table_tags(entries))


_THREE = _net(*[(0, 3, 64, 1, 1, 1)] * 3)
_MEMORY = [  # (net index in _NETS, batch, optimizer, dtype)
    (1, 3, "adam", "float32"), (3, 1, "sgd_momentum", "float64"), (0, 2, "rmsprop", "float32"),
    (5, 5, "adam", "float64"), (4, 4, "sgd", "float64"), (2, 1, "sgd", "float32"), (0, 6, "adam", "float32"),
]


def _memory_probes(rng):
    visible = [dict(layers=_THREE, input_shape=(3, 224, 224), batch_size=1, optimizer="sgd", dtype="float32"),
               dict(layers=_THREE, input_shape=(3, 224, 224), batch_size=8, optimizer="adam", dtype="float64")]
    cases = [dict(layers=_NETS[i][0], input_shape=_NETS[i][1], batch_size=n, optimizer=opt, dtype=dtype)
             for i, n, opt, dtype in _MEMORY]
    return _probes(visible + cases, memory_tags, len(visible))


_MEMORY_WITHHELD = (*_TABLE_WITHHELD, "convlab.shapes.activation_bytes")

MEMORY_ESTIMATE = ExerciseProbes(
    cell="memory_estimate",
    call=lambda fn, c: fn(_layers(c.layers), c.input_shape, c.batch_size, c.optimizer, c.dtype),
    reference=lambda c: _memory(c.layers, c.input_shape, c.batch_size, c.optimizer, c.dtype),
    probes=_memory_probes,
    tags=memory_tags,
    components=("activations", "activation_grads", "params", "param_grads", "optimizer_state", "input_batch"),
    kinds={**_OPTIMIZER_KINDS, **_NET_KINDS},
    hints={
        "adam": "count the copies of the parameters each optimiser keeps: Adam keeps two (m and v)",
        "sgd_momentum": "momentum keeps one copy of the parameters (the velocity)",
        "rmsprop": "RMSProp keeps one copy of the parameters (the running mean of squared gradients)",
        "float64": "a value takes dtype's itemsize bytes: 4 for float32, 8 for float64",
        "batch>1": "activations, their gradients and the input grow with the batch; parameters do not",
        "wrong:input_batch": "the input batch is the input row of the table times the batch and the item size",
        "withheld": "compute the bytes from your own layer_table; activation_bytes is not in the grader's "
                    "copy of the library",
    },
    stand_ins={"layer_table": _table},
    withhold=_MEMORY_WITHHELD,
)


def max_batch_tags(entries):
    fixed = sum(_memory(entries["layers"], entries["input_shape"], 0, entries["optimizer"], entries["dtype"]))
    return (*(("nothing-fits",) if entries["budget_bytes"] < fixed else ()), *memory_tags(entries))


def _max_batch_probes(rng):
    one = sum(_memory(_THREE, (3, 224, 224), 1))
    two = sum(_memory(_THREE, (3, 224, 224), 2))
    visible = [dict(layers=_THREE, input_shape=(3, 224, 224), budget_bytes=b, optimizer="sgd", dtype="float32")
               for b in (one, two - 1, one - 1)]
    cases = []
    for (i, _, opt, dtype), extra in zip(_MEMORY, (0, 3, -1, 7, 2, 0, -5)):
        rows, shape = _NETS[i]
        fixed = sum(_memory(rows, shape, 0, opt, dtype))
        per = sum(_memory(rows, shape, 1, opt, dtype)) - fixed
        budget = fixed // 2 if extra < 0 else fixed + extra * per + per // 3  # < 0: not even the parameters fit
        cases.append(dict(layers=rows, input_shape=shape, budget_bytes=budget, optimizer=opt, dtype=dtype))
    return _probes(visible + cases, max_batch_tags, len(visible))


def _ignores_fixed(entries, got, want):
    net, settings = (entries["layers"], entries["input_shape"]), (entries["optimizer"], entries["dtype"])
    per_example = sum(_memory(*net, 1, *settings)) - sum(_memory(*net, 0, *settings))
    return int(got) == entries["budget_bytes"] // per_example != int(want)


MAX_BATCH_SIZE = ExerciseProbes(
    cell="max_batch_size",
    call=lambda fn, c: fn(_layers(c.layers), c.input_shape, c.budget_bytes, c.optimizer, c.dtype),
    reference=lambda c: _max_batch(c.layers, c.input_shape, c.budget_bytes, c.optimizer, c.dtype),
    probes=_max_batch_probes,
    tags=max_batch_tags,
    symptoms=(Symptom("ignores-fixed", _ignores_fixed),),
    kinds={"nothing-fits": "only when not even one example fits", **_OPTIMIZER_KINDS, **_NET_KINDS},
    hints={
        "ignores-fixed": "the parameters, their gradients and the optimiser's state are paid once, whatever "
                         "the batch: take them off the budget before dividing by one example's bytes",
        "nothing-fits": "when the fixed costs alone exceed the budget no batch fits: the answer is 0, never "
                        "negative",
        "offset": "a batch fits when its total is at most the budget: round the division down, once",
    },
    stand_ins={"layer_table": _table, "memory_estimate": _memory},
    withhold=_MEMORY_WITHHELD,
)


# --- exercise 3: stack_vs_single -----------------------------------------------------------------

def _stack(num_layers, kernel, depth, height, width):
    reach = shapes.receptive_field([kernel] * num_layers)
    rows = []
    for n, F in ((num_layers, kernel), (1, reach)):
        weights = n * shapes.conv_param_count(F, depth, depth, bias=False)
        rows.append((reach, weights, weights * height * width, n, n * depth * height * width))
    return np.array(rows, dtype=np.int64)


def _reach_is_sum_of_kernels(entries, got, want):
    return np.asarray(got)[:, 0].tolist() == [entries["num_layers"] * entries["kernel"]] * 2


STACK_VS_SINGLE = ExerciseProbes(
    cell="stack_vs_single",
    call=lambda fn, c: fn(c.num_layers, c.kernel, c.depth, c.height, c.width),
    reference=lambda c: _stack(c.num_layers, c.kernel, c.depth, c.height, c.width),
    probes=lambda rng: _probes([dict(num_layers=n, kernel=k, depth=d, height=h, width=w) for n, k, d, h, w in
                                [(3, 3, 10, 8, 6), (2, 5, 1, 4, 4), (4, 3, 5, 6, 7), (2, 7, 3, 5, 5),
                                 (3, 5, 2, 4, 9), (5, 3, 1, 3, 3)]],
                               lambda e: ("nonsquare",) if e["height"] != e["width"] else (), 2),
    tags=lambda e: ("nonsquare",) if e["height"] != e["width"] else (),
    symptoms=(Symptom("reach-sum-of-kernels", _reach_is_sum_of_kernels),),
    hints={"reach-sum-of-kernels": "stacked stride-1 layers overlap by one pixel: each adds F - 1 to what the "
                                   "layers below it see, so three 3x3 layers see 7, not 9",
           "withheld": "add up the receptive field and the weights yourself; receptive_field and "
                       "conv_param_count are not in the grader's copy of the library"},
    withhold=("convlab.shapes.receptive_field", "convlab.shapes.conv_param_count"),
)


# --- exercise 4: grouped_conv_forward, depthwise_separable_forward, conv_costs -------------------

def _recording(run):
    """(out, the input depth of each call of conv) of ``run(conv)``; this conv refuses ``groups``."""
    depths = []

    def conv(x, w, b, **settings):
        if settings.pop("groups", 1) != 1:
            raise ValueError("call conv once per group, without a groups argument")
        depths.append(int(x.shape[1]))
        return conv_forward(x, w, b, **settings)

    return run(conv)[0], tuple(depths)


def _grouped(x, w, b, groups, *, stride=1, pad=0, conv=conv_forward):
    """A correct grouped convolution by one ``conv`` call per group (stands in for exercise 4)."""
    parts = [conv(xg, wg, bg, stride=stride, pad=pad) for xg, wg, bg in
             zip(np.split(x, groups, axis=1), np.split(w, groups), np.split(b, groups))]
    return np.concatenate([out for out, _ in parts], axis=1), [cache for _, cache in parts]


def grouped_tags(entries):
    x, w, G, S, P = entries["x"], entries["w"], entries["groups"], entries["stride"], entries["pad"]
    N, C, H, W = x.shape
    K, _, FH, FW = w.shape
    tags = ["filters!=channels" if K != C else "filters=channels", "stride>1" if S > 1 else "stride1",
            "pad>0" if P else "pad0", "square" if H == W and FH == FW else "nonsquare"]
    if N > 1:
        tags.append("batch>1")
    if G == C:
        tags.append("depthwise")
    return tuple(tags)


_GROUPED = [  # (N, C, H, W, K, FH, FW, G, S, P); the visible tests' three first
    (2, 4, 7, 6, 6, 3, 2, 2, 2, 1), (1, 6, 5, 8, 3, 1, 3, 3, 1, 0), (2, 3, 6, 5, 3, 3, 3, 3, 1, 1),
    (1, 4, 6, 6, 4, 3, 3, 2, 1, 1), (2, 6, 5, 7, 6, 3, 3, 3, 2, 0), (1, 4, 5, 5, 8, 3, 3, 2, 1, 0),
    (2, 6, 6, 4, 3, 3, 3, 3, 1, 1), (1, 2, 4, 4, 6, 2, 2, 2, 2, 0), (1, 3, 5, 5, 3, 3, 3, 3, 1, 1),
]


def _grouped_probes(rng):
    cases = [dict(x=rng.standard_normal((N, C, H, W)), w=rng.standard_normal((K, C // G, FH, FW)),
                  b=rng.standard_normal(K), groups=G, stride=S, pad=P) for N, C, H, W, K, FH, FW, G, S, P in _GROUPED]
    return _probes(cases, grouped_tags, 3)


GROUPED_CONV = ExerciseProbes(
    cell="grouped_conv_forward",
    call=lambda fn, c: _recording(lambda conv: fn(c.x, c.w, c.b, c.groups, stride=c.stride, pad=c.pad, conv=conv)),
    reference=lambda c: (conv_forward(c.x, c.w, c.b, stride=c.stride, pad=c.pad, groups=c.groups)[0],
                         (c.x.shape[1] // c.groups,) * c.groups),
    probes=_grouped_probes,
    tags=grouped_tags,
    components=("out", "depths"),
    kinds={"filters!=channels": "only when the number of filters K differs from the input depth C",
           "depthwise": "only for depthwise layers (G = C)"},
    hints={
        "filters!=channels": "group g reads channels g*C/G to (g+1)*C/G of x but owns filters g*K/G to "
                             "(g+1)*K/G of w and b: two different slices",
        "wrong:depths": "call the conv argument once per group, each time on that group's C/G channels "
                        "(not one call with groups=G)",
        "stride>1": "hand stride and pad on to every conv call",
        "pad>0": "hand stride and pad on to every conv call",
        "shape": "concatenate the G group outputs along the channel axis (axis 1)",
    },
)


def _separable_reference(c):
    C = c.x.shape[1]
    depthwise = conv_forward(c.x, c.w_depth, c.b_depth, stride=c.stride, pad=c.pad, groups=C)[0]
    return conv_forward(depthwise, c.w_point, c.b_point)[0], (1,) * C + (C,)


def _no_depthwise_bias(entries, got, want):
    return np.allclose(got[0], _separable_reference(_View(dict(entries, b_depth=0 * entries["b_depth"])))[0])


class _View(dict):
    """Attribute access to a dict of entries (a Case's reading side, for the references)."""

    __getattr__ = dict.__getitem__


def separable_tags(entries):
    x, w, S, P = entries["x"], entries["w_depth"], entries["stride"], entries["pad"]
    return ("stride>1" if S > 1 else "stride1", "pad>0" if P else "pad0",
            "square" if x.shape[2] == x.shape[3] and w.shape[2] == w.shape[3] else "nonsquare",
            *(("batch>1",) if x.shape[0] > 1 else ()))


def _separable_probes(rng):
    cases = []
    for N, C, H, W, K, FH, FW, S, P in [(2, 3, 7, 5, 5, 3, 3, 2, 1), (1, 2, 5, 5, 3, 3, 3, 1, 1),
                                         (2, 4, 6, 8, 2, 3, 3, 1, 0), (1, 3, 7, 7, 4, 3, 3, 2, 0),
                                         (1, 5, 4, 6, 6, 1, 3, 1, 1)]:
        cases.append(dict(x=rng.standard_normal((N, C, H, W)), w_depth=rng.standard_normal((C, 1, FH, FW)),
                          b_depth=rng.standard_normal(C), w_point=rng.standard_normal((K, C, 1, 1)),
                          b_point=rng.standard_normal(K), stride=S, pad=P))
    return _probes(cases, separable_tags, 1)


SEPARABLE = ExerciseProbes(
    cell="depthwise_separable_forward",
    call=lambda fn, c: _recording(lambda conv: fn(c.x, c.w_depth, c.b_depth, c.w_point, c.b_point, stride=c.stride,
                                                  pad=c.pad, conv=conv)),
    reference=_separable_reference,
    probes=_separable_probes,
    tags=separable_tags,
    components=("out", "depths"),
    symptoms=(Symptom("no-depthwise-bias", _no_depthwise_bias),),
    hints={
        "no-depthwise-bias": "the depthwise step has its own biases, one per channel: pass b_depth on",
        "wrong:depths": "the depthwise step is grouped_conv_forward with C groups (C calls of depth 1), then "
                        "one pointwise call of depth C, all through the conv argument",
        "stride>1": "stride and pad belong to the depthwise step; the pointwise 1x1 step uses stride 1, no pad",
    },
    stand_ins={"grouped_conv_forward": _grouped},
)


def _costs(kernel, in_depth, out_depth, groups, out_h, out_w):
    depths = kernel, in_depth, out_depth
    counts = (shapes.conv_param_count(*depths, bias=False),
              shapes.grouped_conv_param_count(*depths, groups, bias=False),
              shapes.depthwise_separable_param_count(*depths, bias=False))
    return np.outer(counts, (1, out_h * out_w)).astype(np.int64)  # (weights, multiply-adds) per row


def costs_tags(entries):
    return (("grouped",) if entries["groups"] > 1 else ()) + (
        ("nonsquare",) if entries["out_h"] != entries["out_w"] else ())


CONV_COSTS = ExerciseProbes(
    cell="conv_costs",
    call=lambda fn, c: fn(c.kernel, c.in_depth, c.out_depth, c.groups, c.out_h, c.out_w),
    reference=lambda c: _costs(c.kernel, c.in_depth, c.out_depth, c.groups, c.out_h, c.out_w),
    probes=lambda rng: _probes([dict(kernel=k, in_depth=c1, out_depth=c2, groups=g, out_h=h, out_w=w)
                                for k, c1, c2, g, h, w in [(3, 64, 128, 4, 10, 20), (1, 6, 6, 1, 1, 1),
                                                           (3, 8, 12, 2, 5, 5), (5, 6, 6, 3, 4, 7),
                                                           (1, 16, 8, 8, 3, 3), (3, 4, 10, 1, 6, 6),
                                                           (7, 2, 3, 1, 2, 5)]], costs_tags, 2),
    tags=costs_tags,
    kinds={"grouped": "only with more than one group"},
    hints={"grouped": "each of the G groups has K/G filters spanning C/G channels: F*F*(C/G)*(K/G) weights "
                      "per group, and there are G groups",
           "withheld": "multiply the counts out yourself; the shapes param counts are not in the grader's copy "
                       "of the library"},
    withhold=("convlab.shapes.conv_param_count", "convlab.shapes.grouped_conv_param_count",
              "convlab.shapes.depthwise_separable_param_count"),
)


# --- exercise 5: dilated_receptive_fields --------------------------------------------------------

def _fields(kernels, dilations):
    return np.array([shapes.receptive_field(kernels[:i + 1], dilations=dilations[:i + 1])
                     for i in range(len(kernels))], dtype=np.int64)


def dilated_tags(entries):
    return ("dilation>1",) if max(entries["dilations"]) > 1 else ("dilation1",)


DILATED = ExerciseProbes(
    cell="dilated_receptive_fields",
    call=lambda fn, c: fn(c.kernels, c.dilations),
    reference=lambda c: _fields(c.kernels, c.dilations),
    probes=lambda rng: _probes([dict(kernels=k, dilations=d) for k, d in [
        ((3, 3, 3), (1, 1, 1)), ((3, 3, 3), (1, 2, 4)), ((2, 5), (3, 1)), ((5, 3), (1, 1)), ((3, 2, 3), (1, 3, 1)),
        ((2, 2, 2, 2), (1, 1, 1, 1)), ((3, 5), (2, 2)), ((5,), (4,))]], dilated_tags, 3),
    tags=dilated_tags,
    hints={"dilation>1": "a filter of F taps r pixels apart spans F + (F - 1)(r - 1) pixels, so it adds "
                         "(F - 1) r to the field, not F r",
           "offset": "the field starts at 1 pixel (the neuron itself) before the first layer",
           "withheld": "add up the fields yourself; receptive_field is not in the grader's copy of the library"},
    withhold=("convlab.shapes.receptive_field",),
)


# --- exercise 6: residual_forward and residual_backward ------------------------------------------

_RESIDUAL = [(2, 3, 5, 4, 3, 3), (1, 2, 4, 6, 4, 3), (1, 3, 4, 4, 3, 1), (2, 4, 5, 5, 2, 1), (1, 2, 6, 5, 2, 3),
             (1, 3, 5, 5, 5, 3)]  # (N, C, H, W, K, F): the identity skip when C == K; the visible test's first


def residual_tags(entries):
    return ("projection",) if "wp" in entries else ("identity",)


def _residual_cases(rng, dout):
    cases = []
    for N, C, H, W, K, F in _RESIDUAL:
        case = dict(x=rng.standard_normal((N, C, H, W)), w1=rng.standard_normal((K, C, F, F)),
                    b1=rng.standard_normal(K), w2=rng.standard_normal((K, K, F, F)), b2=rng.standard_normal(K))
        if C != K:
            case.update(wp=rng.standard_normal((K, C, 1, 1)), bp=rng.standard_normal(K))
        if dout:
            case["dout"] = rng.standard_normal((N, K, H, W))
        cases.append(case)
    return _probes(cases, residual_tags, 1)


def _residual_caches(c):
    """The documented cache (cache1, cache_relu, cache2, cache_skip), built with the library's layers."""
    pad = (c.w1.shape[2] - 1) // 2
    h, cache1 = conv_forward(c.x, c.w1, c.b1, pad=pad)
    r, cache_relu = relu_forward(h)
    branch, cache2 = conv_forward(r, c.w2, c.b2, pad=pad)
    skip, cache_skip = conv_forward(c.x, c.wp, c.bp) if "wp" in c else (c.x, None)
    return branch + skip, (cache1, cache_relu, cache2, cache_skip)


_KINDS_SKIP = {"identity": "only with the identity skip (C = K)", "projection": "only with the 1x1 projection skip"}

RESIDUAL_FORWARD = ExerciseProbes(
    cell="residual_forward",
    call=lambda fn, c: fn(c.x, c.w1, c.b1, c.w2, c.b2, c.wp if "wp" in c else None, c.bp if "bp" in c else None)[0],
    reference=lambda c: _residual_caches(c)[0],
    probes=lambda rng: _residual_cases(rng, dout=False),
    tags=residual_tags,
    kinds=_KINDS_SKIP,
    symptoms=(Symptom("relu-after-sum", lambda e, got, want: np.allclose(got, np.maximum(want, 0))),),
    hints={"relu-after-sum": "this block ends with the sum: out = conv2(relu(conv1(x))) + skip(x), no RELU after it",
           "projection": "when C != K the skip path is the 1x1 convolution with wp and bp, not x itself",
           "identity": "when wp is None the skip path is x itself"},
)


def _relu_skipped(entries, got, want):
    c = _View(entries)
    _, (cache1, _, cache2, _) = _residual_caches(c)
    return np.allclose(got[1], conv_backward(conv_backward(c.dout, cache2)[0], cache1)[1])


def _residual_backward_reference(c):
    cache1, cache_relu, cache2, cache_skip = _residual_caches(c)[1]
    dr, dw2, db2 = conv_backward(c.dout, cache2)
    dx, dw1, db1 = conv_backward(relu_backward(dr, cache_relu), cache1)
    if cache_skip is None:
        return dx + c.dout, dw1, db1, dw2, db2, None, None
    dx_skip, dwp, dbp = conv_backward(c.dout, cache_skip)
    return dx + dx_skip, dw1, db1, dw2, db2, dwp, dbp


RESIDUAL_BACKWARD = ExerciseProbes(
    cell="residual_backward",
    call=lambda fn, c: fn(c.dout, _residual_caches(c)[1]),
    reference=_residual_backward_reference,
    probes=lambda rng: _residual_cases(rng, dout=True),
    tags=residual_tags,
    components=("dx", "dw1", "db1", "dw2", "db2", "dwp", "dbp"),
    kinds=_KINDS_SKIP,
    symptoms=(Symptom("relu-skipped", _relu_skipped),),
    hints={"identity": "the sum sends dout down both paths: with the identity skip dx gets dout added, "
                       "on top of the branch's gradient",
           "projection": "with a projection the skip path's share of dx comes back through its 1x1 "
                         "convolution (conv_backward with cache_skip)",
           "relu-skipped": "between the two convolutions sits a RELU: pass the gradient through relu_backward "
                           "before conv1's backward",
           "wrong:dx": "dx is the branch's gradient plus the skip path's"},
    rtol=1e-6, atol=1e-8,
)


# --- exercise 7: inception_params and resnet_params ----------------------------------------------

_INCEPTION_NAMES = ("in_depth", "n1x1", "n3x3_reduce", "n3x3", "n5x5_reduce", "n5x5", "pool_proj")


def _inception(in_depth, n1x1, n3x3_reduce, n3x3, n5x5_reduce, n5x5, pool_proj):
    convs = [(1, in_depth, n1x1), (1, in_depth, n3x3_reduce), (3, n3x3_reduce, n3x3), (1, in_depth, n5x5_reduce),
             (5, n5x5_reduce, n5x5), (1, in_depth, pool_proj)]
    return (n1x1 + n3x3 + n5x5 + pool_proj, sum(shapes.conv_param_count(*v, bias=False) for v in convs),
            sum(k for *_, k in convs))


def _no_reductions(entries, got, want):
    d, n1, _, n3, _, n5, pp = (entries[k] for k in _INCEPTION_NAMES)
    return int(got[1]) == d * (n1 + 9 * n3 + 25 * n5 + pp)


INCEPTION = ExerciseProbes(
    cell="inception_params",
    call=lambda fn, c: fn(*(c[k] for k in _INCEPTION_NAMES)),
    reference=lambda c: _inception(*(c[k] for k in _INCEPTION_NAMES)),
    probes=lambda rng: _probes([dict(zip(_INCEPTION_NAMES, v)) for v in [
        (192, 64, 96, 128, 16, 32, 32), (10, 1, 1, 1, 1, 1, 1), (32, 8, 12, 16, 4, 8, 8), (7, 3, 5, 2, 9, 4, 1),
        (100, 20, 30, 40, 10, 15, 5)]], lambda e: (), 2),
    tags=lambda e: (),
    components=("out_depth", "weights", "biases"),
    symptoms=(Symptom("no-reductions", _no_reductions),),
    hints={"no-reductions": "the 3x3 and 5x5 branches first reduce the depth with their own 1x1 convolutions: "
                            "count those, and the 3x3 and 5x5 filters span the reduced depth",
           "wrong:out_depth": "the module stacks the four branches' outputs: the 1x1, 3x3, 5x5 and pool "
                              "projection depths",
           "withheld": "multiply the counts out yourself; conv_param_count is not in the grader's copy of the "
                       "library"},
    withhold=("convlab.shapes.conv_param_count",),
)


def _resnet(blocks_per_stage, widths, in_depth, num_classes):
    convs = [(7, in_depth, widths[0])]
    depth = widths[0]
    for stage, (blocks, width) in enumerate(zip(blocks_per_stage, widths)):
        for block in range(blocks):
            convs += [(3, depth, width), (3, width, width)]
            if (stage > 0 and block == 0) or depth != width:
                convs.append((1, depth, width))
            depth = width
    return (sum(shapes.conv_param_count(*v, bias=False) for v in convs), 2 * sum(k for *_, k in convs),
            shapes.fc_param_count(depth, num_classes))


def resnet_tags(entries):
    return ("projection",) if len(entries["widths"]) > 1 else ()


RESNET = ExerciseProbes(
    cell="resnet_params",
    call=lambda fn, c: fn(c.blocks_per_stage, c.widths, c.in_depth, c.num_classes),
    reference=lambda c: _resnet(c.blocks_per_stage, c.widths, c.in_depth, c.num_classes),
    probes=lambda rng: _probes([dict(blocks_per_stage=b, widths=w, in_depth=d, num_classes=n) for b, w, d, n in [
        ((1,), (4,), 3, 10), ((1, 1), (4, 8), 3, 10), ((2,), (6,), 1, 5), ((3,), (5,), 2, 7),
        ((1, 2), (3, 6), 2, 4), ((2, 1, 1), (4, 4, 8), 3, 3)]], resnet_tags, 2),
    tags=resnet_tags,
    components=("conv_weights", "batchnorm", "fc"),
    kinds={"projection": "only for nets with more than one stage (where 1x1 projections appear)"},
    hints={"projection": "every stage after the first starts with a stride-2 block whose skip is a 1x1 "
                         "projection: count its weights, and the batchnorm (scale and shift) after it",
           "wrong:fc": "global average pooling leaves one value per channel of the last stage: the FC layer "
                       "has depth * classes weights and classes biases",
           "withheld": "multiply the counts out yourself; the shapes param counts are not in the grader's copy "
                       "of the library"},
    withhold=("convlab.shapes.conv_param_count", "convlab.shapes.fc_param_count"),
)


# --- exercise 8: depth_answers -------------------------------------------------------------------

def _depths(layers, input_shape):
    steps = [(kind, G, K, before[0]) for (kind, _, K, _, _, G), before, _ in _volumes(layers, input_shape)]
    return (np.array([c // G for kind, G, _, c in steps if kind == "conv"], dtype=np.int64),
            np.array([K for kind, _, K, _ in steps if kind == "conv"], dtype=np.int64),
            sum(kind != "pool" for kind, *_ in steps))


_DEPTH_VISIBLE = [
    (_net((0, 5, 12, 1, 2, 1), (1, 2, 0, 2, 0, 1), (0, 3, 20, 1, 1, 1), (2, 0, 10, 1, 0, 1)), (3, 32, 32)),
    (_net((0, 3, 8, 1, 1, 4)), (8, 5, 5)),
]


def _filter_depth_is_k(entries, got, want):
    return np.array_equal(np.asarray(got[0]), want[1]) and not np.array_equal(want[0], want[1])


DEPTH_ANSWERS = ExerciseProbes(
    cell="depth_answers",
    call=lambda fn, c: fn(_layers(c.layers), c.input_shape),
    reference=lambda c: _depths(c.layers, c.input_shape),
    probes=lambda rng: _net_probes(_DEPTH_VISIBLE, _NETS + _TABLE_VISIBLE),
    tags=table_tags,
    components=("filter_depths", "output_depths", "network_depth"),
    symptoms=(Symptom("filter-depth-is-K", _filter_depth_is_k),),
    kinds=_NET_KINDS,
    hints={"filter-depth-is-K": "a filter is as deep as its input volume (divided by the groups); K is the "
                                "depth of the layer's output",
           "pool": "only layers with weights (CONV and FC) count towards the depth of a net; POOL has none",
           "grouped": "in a grouped layer each filter spans C/G of the input channels",
           "withheld": "read the depths off your own layer_table; summarize is not in the grader's copy of the "
                       "library"},
    stand_ins={"layer_table": _table},
    withhold=("convlab.models.summarize",),
)

EXERCISES = [LAYER_TABLE, MEMORY_ESTIMATE, MAX_BATCH_SIZE, STACK_VS_SINGLE, GROUPED_CONV, SEPARABLE, CONV_COSTS,
             DILATED, RESIDUAL_FORWARD, RESIDUAL_BACKWARD, INCEPTION, RESNET, DEPTH_ANSWERS]
