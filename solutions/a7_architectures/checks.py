"""Hidden checks of assignment 7 (architectures and sizing).

Trusted: this file stays in solutions/ and never enters the grading sandbox. Fresh cases come from
the grader's ``rng``: random layer lists that tile (CONV with strides 1-3, padding 0-2, grouped
filters; POOL; FC), random optimisers, dtypes, budgets and widths; float64 arrays where arrays are
inputs. The lecture notes' fixed examples (VGG-16, the three 3x3x64 layers, inception 3a,
ResNet-18) are extra cases that count only together with fresh ones. No case must raise.

A layer list reaches the student's kernel as an int array, one row per layer,
``(kind, F, K, S, P, G)`` with kind 0 = CONV, 1 = POOL, 2 = FC (the notebook's ``layers_from_rows``
turns it back into ``Layer`` tuples).
"""

import numpy as np

from autograder.checks import Check
from autograder.questions import question
from convlab import shapes
from convlab.layers import conv_backward, conv_forward, relu_backward, relu_forward

__all__ = ["CHECKS"]

CONV, POOL, FC = 0, 1, 2
STATE_COPIES = {"sgd": 0, "sgd_momentum": 1, "rmsprop": 1, "adam": 2}
OPTIMIZERS = tuple(STATE_COPIES)


# --- the lecture notes' nets -------------------------------------------------------------------

def _vgg16_rows():
    rows = []
    for n, k in [(2, 64), (2, 128), (3, 256), (3, 512), (3, 512)]:
        rows += [(CONV, 3, k, 1, 1, 1)] * n + [(POOL, 2, 0, 2, 0, 1)]
    rows += [(FC, 0, 4096, 1, 0, 1), (FC, 0, 4096, 1, 0, 1), (FC, 0, 1000, 1, 0, 1)]
    return np.array(rows, dtype=np.int64)


def _alexnet_rows():
    """The two-tower AlexNet on 227x227x3 (conv2, conv4 and conv5 in two groups)."""
    return np.array([(CONV, 11, 96, 4, 0, 1), (POOL, 3, 0, 2, 0, 1), (CONV, 5, 256, 1, 2, 2),
                     (POOL, 3, 0, 2, 0, 1), (CONV, 3, 384, 1, 1, 1), (CONV, 3, 384, 1, 1, 2),
                     (CONV, 3, 256, 1, 1, 2), (POOL, 3, 0, 2, 0, 1), (FC, 0, 4096, 1, 0, 1),
                     (FC, 0, 4096, 1, 0, 1), (FC, 0, 1000, 1, 0, 1)], dtype=np.int64)


def _three_conv_rows():
    """The notes' memory example: three 3x3 CONV layers with 64 filters, stride 1, pad 1."""
    return np.array([(CONV, 3, 64, 1, 1, 1)] * 3, dtype=np.int64)


# --- random layer lists ------------------------------------------------------------------------

def _tiles(size, F, S, P):
    span = size - F + 2 * P
    return span >= 0 and span % S == 0


def _random_net(rng, *, grouped=False, fc_layers=None):
    """A random layer list (int rows) and the input shape (C, H, W) it tiles, H != W.

    ``grouped`` forces at least one grouped CONV layer; ``fc_layers`` fixes the number of FC layers.
    """
    C = int(rng.integers(1, 7))
    H = int(rng.integers(8, 40))
    W = H + int(rng.integers(1, 13))
    c, h, w = C, H, W
    rows = []
    n_spatial = int(rng.integers(2, 6))
    want_group = grouped
    for i in range(n_spatial):
        if i == 0 or rng.random() < 0.7:
            for _ in range(100):
                F, S, P = int(rng.choice([1, 2, 3, 5])), int(rng.integers(1, 4)), int(rng.integers(0, 3))
                if _tiles(h, F, S, P) and _tiles(w, F, S, P):
                    break
            else:
                F, S, P = 1, 1, 0
            divisors = [g for g in (2, 3, 4) if c % g == 0]
            G = 1
            if divisors and (want_group or rng.random() < 0.3):
                G = int(rng.choice(divisors))
                want_group = False
            K = G * int(rng.integers(1, 9))
            rows.append((CONV, F, K, S, P, G))
            c, h, w = K, (h - F + 2 * P) // S + 1, (w - F + 2 * P) // S + 1
        else:
            options = [(F, S) for F in (2, 3) for S in (1, 2, 3) if F <= min(h, w)
                       and _tiles(h, F, S, 0) and _tiles(w, F, S, 0)]
            if not options:
                continue
            F, S = options[int(rng.integers(len(options)))]
            rows.append((POOL, F, 0, S, 0, 1))
            h, w = (h - F) // S + 1, (w - F) // S + 1
    if want_group:  # no depth so far had a divisor: an even-depth 1x1 layer, then a grouped 1x1 layer
        rows.append((CONV, 1, 2 * int(rng.integers(1, 5)), 1, 0, 1))
        rows.append((CONV, 1, 2 * int(rng.integers(1, 5)), 1, 0, 2))
    n_fc = int(rng.integers(0, 4)) if fc_layers is None else fc_layers
    for _ in range(n_fc):
        rows.append((FC, 0, int(rng.integers(2, 60)), 1, 0, 1))
    return np.array(rows, dtype=np.int64), (C, H, W)


# --- exercise 1: the layer table ---------------------------------------------------------------

def _table(layers, input_shape):
    """Rows (C, H, W, activations, weights, biases), the input first; FC outputs are (K, 1, 1)."""
    C, H, W = (int(v) for v in input_shape)
    out = [(C, H, W, C * H * W, 0, 0)]
    for kind, F, K, S, P, G in (tuple(int(v) for v in row) for row in layers):
        if kind == CONV:
            weights = shapes.grouped_conv_param_count(F, C, K, G, bias=False)
            C, H, W = K, shapes.conv_output_size(H, F, S, P), shapes.conv_output_size(W, F, S, P)
            biases = K
        elif kind == POOL:
            H, W = shapes.pool_output_size(H, F, S), shapes.pool_output_size(W, F, S)
            weights = biases = 0
        else:
            weights = shapes.fc_param_count(C * H * W, K, bias=False)
            C, H, W, biases = K, 1, 1, K
        out.append((C, H, W, C * H * W, weights, biases))
    return np.array(out, dtype=np.int64)


def layer_table_cases(rng):
    yield dict(layers=_vgg16_rows(), input_shape=(3, 224, 224))
    yield dict(layers=_alexnet_rows(), input_shape=(3, 227, 227))
    for i in range(6):
        layers, shape = _random_net(rng, grouped=i < 2, fc_layers=(None if i > 1 else i + 1))
        yield dict(layers=layers, input_shape=shape)


def layer_table_reference(layers, input_shape):
    return _table(layers, input_shape)


# --- exercise 2: training memory and the batch that fits ----------------------------------------

def _memory(layers, input_shape, batch_size, optimizer, dtype):
    itemsize = np.dtype(dtype).itemsize
    table = _table(layers, input_shape)
    activations = int(table[1:, 3].sum()) * batch_size * itemsize
    params = int(table[:, 4:].sum()) * itemsize
    inputs = int(table[0, 3]) * batch_size * itemsize
    return activations, activations, params, params, STATE_COPIES[optimizer] * params, inputs


def _memory_nets(rng):
    yield dict(layers=_three_conv_rows(), input_shape=(3, 224, 224), batch_size=1, optimizer="sgd",
               dtype="float32")
    yield dict(layers=_vgg16_rows(), input_shape=(3, 224, 224), batch_size=64, optimizer="adam",
               dtype="float32")
    offset = int(rng.integers(4))
    for i in range(6):
        layers, shape = _random_net(rng, grouped=i < 3)
        yield dict(layers=layers, input_shape=shape, batch_size=int(rng.integers(1, 129)),
                   optimizer=OPTIMIZERS[(i + offset) % 4], dtype=("float32", "float64")[i % 2])


def memory_reference(layers, input_shape, batch_size, optimizer, dtype, table=None):
    return _memory(layers, input_shape, batch_size, optimizer, dtype)


def _fixed_and_per_example(layers, input_shape, optimizer, dtype):
    one = _memory(layers, input_shape, 1, optimizer, dtype)
    fixed = one[2] + one[3] + one[4]
    return fixed, one[0] + one[1] + one[5]


def _max_batch_nets(rng):
    gib = 1024 ** 3
    yield dict(layers=_vgg16_rows(), input_shape=(3, 224, 224), budget_bytes=12 * gib, optimizer="adam",
               dtype="float32")
    offset = int(rng.integers(4))
    for i in range(6):
        layers, shape = _random_net(rng, grouped=i < 4)
        optimizer, dtype = OPTIMIZERS[(i + offset) % 4], ("float32", "float64")[i % 2]
        fixed, per = _fixed_and_per_example(layers, shape, optimizer, dtype)
        batch = int(rng.integers(1, 400))
        if i in (0, 2):  # exactly the memory of `batch` examples: any overestimate fits one example less
            budget = fixed + per * batch
        elif i in (1, 3):  # one byte short of one more example: any underestimate fits one more
            budget = fixed + per * (batch + 1) - 1
        elif i == 4:
            budget = fixed + per * batch + int(rng.integers(0, per))
        else:  # not even the parameters fit: no batch at all
            budget = int(fixed * rng.uniform(0.3, 0.99))
        yield dict(layers=layers, input_shape=shape, budget_bytes=budget, optimizer=optimizer, dtype=dtype)


def max_batch_reference(layers, input_shape, budget_bytes, optimizer, dtype, table=None):
    fixed, per = _fixed_and_per_example(layers, input_shape, optimizer, dtype)
    return max(0, (budget_bytes - fixed) // per)


# --- exercise 3: a stack of small filters against one large one ---------------------------------

def stack_cases(rng):
    yield dict(num_layers=3, kernel=3, depth=64, height=224, width=224)
    yield dict(num_layers=2, kernel=3, depth=64, height=56, width=56)
    for _ in range(5):
        yield dict(num_layers=int(rng.integers(2, 6)), kernel=int(rng.choice([3, 5, 7])),
                   depth=int(rng.integers(1, 513)), height=int(rng.integers(4, 129)),
                   width=int(rng.integers(4, 129)))


def stack_reference(num_layers, kernel, depth, height, width):
    reach = shapes.receptive_field([kernel] * num_layers)
    stack_weights = num_layers * shapes.conv_param_count(kernel, depth, depth, bias=False)
    single_weights = shapes.conv_param_count(reach, depth, depth, bias=False)
    volume = depth * height * width
    return np.array([
        [reach, stack_weights, stack_weights * height * width, num_layers, num_layers * volume],
        [reach, single_weights, single_weights * height * width, 1, volume],
    ], dtype=np.int64)


# --- exercise 4: grouped and depthwise-separable convolution ------------------------------------

# (N, C, Ho, Wo, K, FH, FW, S, P, G): H = (Ho - 1) S + FH - 2P, likewise W
GROUPED_GEOMETRIES = [
    (2, 4, 4, 5, 6, 3, 2, 2, 2, 2),
    (1, 6, 5, 3, 6, 3, 3, 1, 0, 3),
    (2, 3, 3, 4, 3, 2, 3, 3, 1, 3),   # depthwise: one filter per channel
    (2, 4, 4, 4, 8, 1, 3, 1, 1, 4),
    (1, 6, 3, 5, 4, 3, 3, 2, 1, 2),
    (2, 2, 5, 3, 4, 2, 2, 1, 0, 1),   # one group: an ordinary convolution
    (1, 8, 2, 3, 8, 3, 2, 3, 2, 8),
]
# (N, C, Ho, Wo, K, FH, FW, S, P): the depthwise step's geometry; the pointwise step is 1x1
SEPARABLE_GEOMETRIES = [
    (2, 3, 4, 5, 5, 3, 3, 1, 1),
    (1, 4, 3, 4, 2, 3, 2, 2, 2),
    (2, 2, 3, 2, 6, 5, 3, 3, 0),
    (1, 5, 4, 3, 3, 3, 3, 1, 0),
]


def _input_size(out, F, S, P):
    return (out - 1) * S + F - 2 * P


def grouped_cases(rng):
    for N, C, Ho, Wo, K, FH, FW, S, P, G in GROUPED_GEOMETRIES:
        H, W = _input_size(Ho, FH, S, P), _input_size(Wo, FW, S, P)
        yield dict(x=rng.standard_normal((N, C, H, W)), w=rng.standard_normal((K, C // G, FH, FW)),
                   b=rng.standard_normal(K), groups=G, stride=S, pad=P)


def grouped_reference(x, w, b, groups, stride, pad):
    """The output, and the input depth of each call of ``conv`` (one call per group)."""
    out = conv_forward(x, w, b, stride=stride, pad=pad, groups=groups)[0]
    return out, (x.shape[1] // groups,) * groups


def separable_cases(rng):
    for N, C, Ho, Wo, K, FH, FW, S, P in SEPARABLE_GEOMETRIES:
        H, W = _input_size(Ho, FH, S, P), _input_size(Wo, FW, S, P)
        yield dict(x=rng.standard_normal((N, C, H, W)), w_depth=rng.standard_normal((C, 1, FH, FW)),
                   b_depth=rng.standard_normal(C), w_point=rng.standard_normal((K, C, 1, 1)),
                   b_point=rng.standard_normal(K), stride=S, pad=P)


def separable_reference(x, w_depth, b_depth, w_point, b_point, stride, pad):
    C = x.shape[1]
    depthwise = conv_forward(x, w_depth, b_depth, stride=stride, pad=pad, groups=C)[0]
    return conv_forward(depthwise, w_point, b_point)[0], (1,) * C + (C,)


def costs_cases(rng):
    yield dict(kernel=3, in_depth=64, out_depth=128, groups=4, out_h=56, out_w=56)
    for _ in range(5):
        g = int(rng.choice([1, 2, 4, 8, 16]))
        yield dict(kernel=int(rng.choice([1, 3, 5, 7])), in_depth=g * int(rng.integers(1, 33)),
                   out_depth=g * int(rng.integers(1, 33)), groups=g, out_h=int(rng.integers(1, 113)),
                   out_w=int(rng.integers(1, 113)))


def costs_reference(kernel, in_depth, out_depth, groups, out_h, out_w):
    weights = [shapes.conv_param_count(kernel, in_depth, out_depth, bias=False),
               shapes.grouped_conv_param_count(kernel, in_depth, out_depth, groups, bias=False),
               shapes.depthwise_separable_param_count(kernel, in_depth, out_depth, bias=False)]
    return np.array([(n, n * out_h * out_w) for n in weights], dtype=np.int64)


# --- exercise 5: dilated stacks -----------------------------------------------------------------

def dilated_cases(rng):
    yield dict(kernels=(3, 3, 3, 3), dilations=(1, 2, 4, 8))
    for _ in range(5):
        n = int(rng.integers(2, 7))
        yield dict(kernels=tuple(int(k) for k in rng.choice([2, 3, 5], size=n)),
                   dilations=tuple(int(d) for d in rng.integers(1, 9, size=n)))


def dilated_reference(kernels, dilations):
    return np.array([shapes.receptive_field(kernels[:i + 1], dilations=dilations[:i + 1])
                     for i in range(len(kernels))], dtype=np.int64)


# --- exercise 6: the residual block -------------------------------------------------------------

# (N, C, H, W, K, F): identity skip when C == K, else a 1x1 projection
RESIDUAL_GEOMETRIES = [(2, 3, 5, 6, 3, 3), (1, 2, 6, 4, 4, 3), (2, 4, 4, 5, 4, 1), (1, 3, 5, 7, 2, 5),
                       (2, 2, 4, 3, 2, 3)]


def _residual_params(rng, C, K, F):
    p = dict(w1=rng.standard_normal((K, C, F, F)), b1=rng.standard_normal(K),
             w2=rng.standard_normal((K, K, F, F)), b2=rng.standard_normal(K))
    if C != K:
        p.update(wp=rng.standard_normal((K, C, 1, 1)), bp=rng.standard_normal(K))
    return p


def residual_forward_cases(rng):
    for N, C, H, W, K, F in RESIDUAL_GEOMETRIES:
        yield dict(x=rng.standard_normal((N, C, H, W)), **_residual_params(rng, C, K, F))


def residual_backward_cases(rng):
    for N, C, H, W, K, F in RESIDUAL_GEOMETRIES:
        case = dict(x=rng.standard_normal((N, C, H, W)), **_residual_params(rng, C, K, F))
        case["dout"] = rng.standard_normal((N, K, H, W))
        yield case


def _residual(x, w1, b1, w2, b2, wp=None, bp=None):
    pad = (w1.shape[2] - 1) // 2
    h1, cache1 = conv_forward(x, w1, b1, pad=pad)
    r1, cache_relu = relu_forward(h1)
    h2, cache2 = conv_forward(r1, w2, b2, pad=pad)
    if wp is None:
        skip, cache_p = x, None
    else:
        skip, cache_p = conv_forward(x, wp, bp)
    return h2 + skip, (cache1, cache_relu, cache2, cache_p)


def residual_forward_reference(x, w1, b1, w2, b2, wp=None, bp=None):
    return _residual(x, w1, b1, w2, b2, wp, bp)[0]


def residual_backward_reference(x, w1, b1, w2, b2, dout, wp=None, bp=None):
    cache1, cache_relu, cache2, cache_p = _residual(x, w1, b1, w2, b2, wp, bp)[1]
    dr1, dw2, db2 = conv_backward(dout, cache2)
    dx, dw1, db1 = conv_backward(relu_backward(dr1, cache_relu), cache1)
    if cache_p is None:
        return dx + dout, dw1, db1, dw2, db2, None, None
    dx_skip, dwp, dbp = conv_backward(dout, cache_p)
    return dx + dx_skip, dw1, db1, dw2, db2, dwp, dbp


# --- exercise 7: case studies (inception module, ResNet) ------------------------------------------

def inception_cases(rng):
    yield dict(in_depth=192, n1x1=64, n3x3_reduce=96, n3x3=128, n5x5_reduce=16, n5x5=32, pool_proj=32)
    for _ in range(5):
        widths = [int(v) for v in rng.integers(1, 400, size=7)]
        yield dict(in_depth=widths[0], n1x1=widths[1], n3x3_reduce=widths[2], n3x3=widths[3],
                   n5x5_reduce=widths[4], n5x5=widths[5], pool_proj=widths[6])


def inception_reference(in_depth, n1x1, n3x3_reduce, n3x3, n5x5_reduce, n5x5, pool_proj):
    convs = [(1, in_depth, n1x1), (1, in_depth, n3x3_reduce), (3, n3x3_reduce, n3x3),
             (1, in_depth, n5x5_reduce), (5, n5x5_reduce, n5x5), (1, in_depth, pool_proj)]
    weights = sum(shapes.conv_param_count(F, c, k, bias=False) for F, c, k in convs)
    return n1x1 + n3x3 + n5x5 + pool_proj, weights, sum(k for _, _, k in convs)


def resnet_cases(rng):
    yield dict(blocks_per_stage=(2, 2, 2, 2), widths=(64, 128, 256, 512), in_depth=3, num_classes=1000)
    for _ in range(5):
        n = int(rng.integers(1, 5))
        yield dict(blocks_per_stage=tuple(int(v) for v in rng.integers(1, 5, size=n)),
                   widths=tuple(int(v) for v in np.sort(rng.integers(4, 300, size=n))),
                   in_depth=int(rng.integers(1, 5)), num_classes=int(rng.integers(2, 1001)))


def resnet_reference(blocks_per_stage, widths, in_depth, num_classes):
    """Basic-block ResNet: 7x7/2 stem, 3x3 convs, 1x1 projections where stride or depth change,
    batchnorm (scale and shift) after every conv, no conv biases, global average pool, one FC."""
    conv_weights = shapes.conv_param_count(7, in_depth, widths[0], bias=False)
    bn = 2 * widths[0]
    depth = widths[0]
    for stage, (blocks, width) in enumerate(zip(blocks_per_stage, widths)):
        for block in range(blocks):
            stride = 2 if stage > 0 and block == 0 else 1
            conv_weights += shapes.conv_param_count(3, depth, width, bias=False)
            conv_weights += shapes.conv_param_count(3, width, width, bias=False)
            bn += 4 * width
            if stride != 1 or depth != width:
                conv_weights += shapes.conv_param_count(1, depth, width, bias=False)
                bn += 2 * width
            depth = width
    return conv_weights, bn, shapes.fc_param_count(depth, num_classes)


# --- exercise 8: which depth is which -----------------------------------------------------------

def _depth_nets(rng):
    yield dict(layers=_vgg16_rows(), input_shape=(3, 224, 224))
    for i in range(5):
        layers, shape = _random_net(rng, grouped=i < 3)
        yield dict(layers=layers, input_shape=shape)


def depth_reference(layers, input_shape, table=None):
    table = _table(layers, input_shape)
    filter_depths, output_depths = [], []
    for i, (kind, _, K, _, _, G) in enumerate(layers):
        if kind == CONV:
            filter_depths.append(int(table[i, 0]) // int(G))
            output_depths.append(int(K))
    network_depth = int(sum(1 for row in layers if row[0] in (CONV, FC)))
    return np.array(filter_depths, dtype=np.int64), np.array(output_depths, dtype=np.int64), network_depth


# --- the checks ---------------------------------------------------------------------------------

# --- what stands in for exercise 1 ---------------------------------------------------------------
# Exercises 2 and 8 call the student's layer_table; their cases carry the right table of their net
# (``table``), which the hidden cells let stand in for it (autograder.kernel.stand_in): a mistake in
# exercise 1 costs exercise 1's points only.

def _with_table(case):
    return dict(case, table=_table(case["layers"], case["input_shape"]))


def memory_cases(rng):
    yield from map(_with_table, _memory_nets(rng))


def max_batch_cases(rng):
    yield from map(_with_table, _max_batch_nets(rng))


def depth_cases(rng):
    yield from map(_with_table, _depth_nets(rng))


TABLE_WITHHELD = ["convlab.models.summarize", "convlab.models.format_summary", "convlab.shapes.conv_param_count",
                  "convlab.shapes.grouped_conv_param_count", "convlab.shapes.fc_param_count"]
MEMORY_WITHHELD = TABLE_WITHHELD + ["convlab.shapes.activation_bytes"]
COST_WITHHELD = ["convlab.shapes.conv_param_count", "convlab.shapes.grouped_conv_param_count",
                 "convlab.shapes.depthwise_separable_param_count"]

# --- exercise 9: check your understanding (one value per question, judged all or nothing) -----------

QUESTIONS = [
    # dilated filters reach F + (F - 1)(r - 1) pixels: 3, 5 and 13; stride-1 fields add up minus one each
    question("q1_dilated_field", "q1_dilated_field_hidden", 1 + (3 - 1) + (5 - 1) + (13 - 1)),
    # depthwise 3x3 per channel, then 1x1 pointwise
    question("q2_separable_weights", "q2_separable_weights_hidden", 3 * 3 * 32 + 32 * 64),
    # activations in the early CONV layers, parameters in the FC layers
    question("q3_where_vgg", "q3_where_vgg_hidden", "D", choices="ABCD"),
    # activations and gradients, float32, 16 images, in MiB; "to one decimal"
    question("q4_training_mib", "q4_training_mib_hidden", 10_000_000 * 2 * 4 * 16 / 2**20,
             rel_tol=0.06 / 1220.7),
]

CHECKS = [
    Check(name="layer_table", grade_id="layer_table_hidden", cases=layer_table_cases,
          reference=layer_table_reference, rtol=0, atol=0, withhold=TABLE_WITHHELD),
    Check(name="memory_estimate", grade_id="memory_estimate_hidden", cases=memory_cases,
          reference=memory_reference, rtol=0, atol=0, withhold=MEMORY_WITHHELD),
    Check(name="max_batch_size", grade_id="max_batch_size_hidden", cases=max_batch_cases,
          reference=max_batch_reference, rtol=0, atol=0, withhold=MEMORY_WITHHELD,
          depends_on={"memory_estimate": "memory_estimate (exercise 2)"}),
    Check(name="stack_vs_single", grade_id="stack_vs_single_hidden", cases=stack_cases,
          reference=stack_reference, rtol=0, atol=0,
          withhold=["convlab.shapes.receptive_field", "convlab.shapes.conv_param_count"]),
    Check(name="grouped_conv_forward", grade_id="grouped_conv_hidden", cases=grouped_cases,
          reference=grouped_reference, rtol=1e-7, atol=1e-9),
    Check(name="depthwise_separable_forward", grade_id="separable_hidden", cases=separable_cases,
          reference=separable_reference, rtol=1e-7, atol=1e-9,
          depends_on={"grouped_conv_forward": "grouped_conv_forward (exercise 4)"}),
    Check(name="conv_costs", grade_id="conv_costs_hidden", cases=costs_cases, reference=costs_reference,
          rtol=0, atol=0, withhold=COST_WITHHELD),
    Check(name="dilated_receptive_fields", grade_id="dilated_hidden", cases=dilated_cases,
          reference=dilated_reference, rtol=0, atol=0, withhold=["convlab.shapes.receptive_field"]),
    Check(name="residual_forward", grade_id="residual_forward_hidden", cases=residual_forward_cases,
          reference=residual_forward_reference, rtol=1e-7, atol=1e-9),
    Check(name="residual_backward", grade_id="residual_backward_hidden", cases=residual_backward_cases,
          reference=residual_backward_reference, rtol=1e-7, atol=1e-9),
    Check(name="inception_params", grade_id="inception_hidden", cases=inception_cases,
          reference=inception_reference, rtol=0, atol=0, withhold=["convlab.shapes.conv_param_count"]),
    Check(name="resnet_params", grade_id="resnet_hidden", cases=resnet_cases, reference=resnet_reference,
          rtol=0, atol=0, withhold=["convlab.shapes.conv_param_count", "convlab.shapes.fc_param_count"]),
    Check(name="depth_answers", grade_id="depth_hidden", cases=depth_cases, reference=depth_reference,
          rtol=0, atol=0, withhold=["convlab.models.summarize"]),
] + QUESTIONS
