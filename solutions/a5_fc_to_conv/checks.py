"""Hidden checks of assignment 5 (FC -> CONV): fresh random inputs, references from convlab.

Trusted: this file stays in solutions/ and never enters the grading sandbox. Every array is
continuous float64 (standard normals, weights scaled by 1/sqrt(fan-in) so scores stay near 1).
Nets are drawn at random from the notes' pattern ``[CONV -> RELU -> POOL?]*M -> [FC -> RELU]*K -> FC``
on non-square inputs, with at least two FC layers, an FC input of depth >= 2 whose height and width
differ and one of them odd (>= 3): so flattening in the wrong order, a W x H filter, or 'same'
padding on the converted layer all change the answer. The score-map checks draw nets without
padding before the first FC layer (only those agree with their crops everywhere) and images whose
extra size is not always a multiple of the stride. No check has must-raise cases.

A net travels in a case as its spec (``spec``), its input shape (``input_shape``) and one array per
parameter (``W1, b1, W2, ...``, the keys of ``ConvNet.params``).

``fc_backward`` is judged with the documented cache ``(x, w)`` built from the case. The conversion and
the score maps run the student's earlier functions (their answers are nets and score maps, too
close to what the later exercise returns to hand over), so those verdicts name the earlier
exercise when it failed too (``depends_on``).
"""

import math

import numpy as np

from autograder.checks import Check
from autograder.questions import question
from convlab.layers import affine_backward, affine_forward
from convlab.models import FC, Conv, ConvNet, Pool, fc_to_conv, format_spec, parse_spec, summarize

__all__ = ["CHECKS"]

FC_WITHHELD = ["convlab.layers.affine_forward", "convlab.layers.affine_backward"]
CONVERT_WITHHELD = ["convlab.models.fc_to_conv"]

# float64 equality of a converted net with the original, up to summation order
NET_RTOL, NET_ATOL = 1e-9, 1e-10


# --- random nets ----------------------------------------------------------------------------------

def _conv_token(rng, *, pad_ok):
    fh, fw = (int(v) for v in rng.integers(1, 4, size=2))
    token = f"conv{fh}-" if fh == fw else f"conv{fh}x{fw}-"
    token += str(int(rng.integers(2, 5)))
    if rng.random() < 0.3:
        token += "s2"
    if not pad_ok or rng.random() < 0.4:
        token += "p0"
    elif rng.random() < 0.5:
        token += "p1"  # else the spec's default: 'same' for odd filters
    return token


def random_net_spec(rng, *, pad_ok=True, min_stride=1, max_fc=3, max_size=12):
    """``(spec, (C, H, W))``: a valid random net whose first FC layer sees a telling volume."""
    while True:
        C, H, W = int(rng.integers(1, 4)), int(rng.integers(4, max_size)), int(rng.integers(4, max_size))
        if H == W:
            continue
        tokens = []
        for _ in range(int(rng.choice([0, 1, 1, 2, 2]))):  # CONV -> RELU -> POOL? stages
            tokens += [_conv_token(rng, pad_ok=pad_ok), "relu"]
            if rng.random() < 0.6:
                tokens.append(str(rng.choice(["pool2", "pool2", "pool3s2", "avgpool2"])))
        num_fc = int(rng.integers(2, max_fc + 1))
        for i in range(num_fc):
            tokens.append(f"fc{int(rng.integers(2, 7))}")
            if i < num_fc - 1:
                tokens.append("relu")
        spec = " ".join(tokens)
        try:
            rows = summarize(spec, (C, H, W))
        except ValueError:
            continue
        first_fc = next(i for i, b in enumerate(parse_spec(spec)) if isinstance(b, FC))
        depth, fh, fw = rows[first_fc].shape  # the volume the first FC layer looks at
        stride = _total_stride(spec)
        if depth >= 2 and fh != fw and any(d % 2 and d >= 3 for d in (fh, fw)) and stride >= min_stride:
            return spec, (C, H, W)


def random_params(rng, spec, input_shape):
    """Parameters of ``spec`` as float64 standard normals, weights scaled by 1/sqrt(fan-in)."""
    shapes = {k: v.shape for k, v in ConvNet(spec, input_shape, dtype=np.float64).params.items()}
    params = {}
    for key, shape in shapes.items():
        scale = 1.0 if key.startswith("b") else 1.0 / math.sqrt(math.prod(shape[1:]) if len(shape) == 4 else shape[0])
        params[key] = scale * rng.standard_normal(shape)
    return params


def _net(spec, input_shape, params):
    return ConvNet(spec, tuple(input_shape), dtype=np.float64, params=params)


def crop_scores(net, image, step):
    """Scores of ``net`` on every crop of ``image`` taken every ``step`` pixels: (N, K, rows, cols)."""
    _, H, W = net.input_shape
    rows, cols = (image.shape[2] - H) // step + 1, (image.shape[3] - W) // step + 1
    out = np.empty((image.shape[0], net.num_classes, rows, cols))
    for i in range(rows):
        for j in range(cols):
            out[:, :, i, j] = net.loss(image[:, :, i * step:i * step + H, j * step:j * step + W])
    return out


# --- exercise 1: the FC layer on a volume ---------------------------------------------------------

# (N, C, H, W, M): H != W throughout
FC_GEOMETRIES = [(2, 3, 4, 5, 6), (3, 2, 5, 3, 4), (1, 4, 3, 2, 7), (4, 1, 6, 7, 3), (2, 5, 2, 3, 8)]


def fc_forward_cases(rng):
    for N, C, H, W, M in FC_GEOMETRIES:
        yield dict(x=rng.standard_normal((N, C, H, W)), w=rng.standard_normal((C * H * W, M)),
                   b=rng.standard_normal(M))


def fc_backward_cases(rng):
    for case in fc_forward_cases(rng):
        case["dout"] = rng.standard_normal((case["x"].shape[0], case["w"].shape[1]))
        yield case


def fc_forward_ref(x, w, b):
    return affine_forward(x, w, b)[0]


def fc_backward_ref(x, w, b, dout):
    return affine_backward(dout, affine_forward(x, w, b)[1])


# --- exercise 2: the conversion -------------------------------------------------------------------

# (in_shape, K): volumes with H != W (one with H = 1), and flat vectors (an FC layer after an FC layer)
AS_CONV_GEOMETRIES = [((3, 4, 5), 6), ((2, 5, 3), 4), ((4, 3, 2), 5), ((3, 1, 4), 2), ((12,), 5), ((7,), 3)]


def fc_as_conv_cases(rng):
    for in_shape, K in AS_CONV_GEOMETRIES:
        yield dict(w=rng.standard_normal((math.prod(in_shape), K)), b=rng.standard_normal(K), in_shape=in_shape)


def fc_as_conv_ref(w, b, in_shape):
    if len(in_shape) == 3:  # the library's conversion of a one-layer net
        net = ConvNet(f"fc{w.shape[1]}", in_shape, dtype=np.float64, params={"W1": w, "b1": b})
        conv = fc_to_conv(net)
        return conv.params["W1"], conv.params["b1"]
    # from the definition: filter k, channel d of a 1x1 filter multiplies input feature d
    wc = np.empty((w.shape[1], in_shape[0], 1, 1))
    for k in range(w.shape[1]):
        for d in range(in_shape[0]):
            wc[k, d, 0, 0] = w[d, k]
    return wc, b.copy()


def conv_spec_cases(rng):
    for _ in range(5):
        spec, input_shape = random_net_spec(rng)
        yield dict(spec=spec, input_shape=input_shape)


def conv_spec_ref(spec, input_shape):
    net = ConvNet(spec, input_shape, dtype=np.float64)  # parameters do not matter for the spec
    return fc_to_conv(net).spec


def same_spec(student, reference):
    """Specs are equal when they describe the same layers (``conv7x7-8p0`` is ``conv7-8p0``)."""
    if not isinstance(student, str):
        return False, f"returned a {type(student).__name__}, expected a spec string"
    try:
        got = format_spec(parse_spec(student))
    except ValueError as exc:
        return False, f"not a valid spec ({str(exc)[:120]})"
    want = format_spec(parse_spec(reference))
    if got == want:
        return True, ""
    gb, wb = parse_spec(got), parse_spec(want)
    if len(gb) != len(wb):
        return False, f"{len(gb)} layers, expected {len(wb)}"
    i = next(i for i, (g, w) in enumerate(zip(gb, wb)) if g != w)
    return False, f"layer {i + 1} is {gb[i].token}, expected a different layer"


def fc_to_conv_cases(rng):
    for _ in range(5):
        spec, input_shape = random_net_spec(rng)
        case = dict(spec=spec, input_shape=input_shape,
                    x=rng.standard_normal((int(rng.integers(1, 4)), *input_shape)))
        case.update(random_params(rng, spec, input_shape))
        yield case


def fc_to_conv_ref(spec, input_shape, x, **params):
    scores = _net(spec, input_shape, params).loss(x)  # (N, K): the original net, FC layers and all
    return scores[:, :, None, None]  # the converted net's 1x1 score map


# --- exercise 3: multiply-adds --------------------------------------------------------------------

def _telling_conv(spec, input_shape):
    """True when some CONV layer sees depth >= 2 and changes the spatial size (stride 2 or no padding)."""
    shape = tuple(input_shape)
    for block in parse_spec(spec):
        out = tuple(block.output_shape(shape))
        if isinstance(block, Conv) and shape[0] >= 2 and out[1:] != shape[1:]:
            return True
        shape = out
    return False


def multiply_adds_cases(rng):
    found = 0
    while found < 5:
        spec, input_shape = random_net_spec(rng)
        if _telling_conv(spec, input_shape):
            found += 1
            yield dict(spec=spec, input_shape=input_shape)


def multiply_adds_ref(spec, input_shape):
    """One multiply-add per weight per output position of CONV and FC layers."""
    shape, total = tuple(input_shape), 0
    for block in parse_spec(spec):
        out = tuple(block.output_shape(shape))
        if isinstance(block, Conv):
            K, Ho, Wo = out
            total += Ho * Wo * K * (shape[0] * block.fh * block.fw)
        elif isinstance(block, FC):
            total += math.prod(shape) * block.k
        shape = out
    return int(total)


# --- exercise 4: the score map and its classes ----------------------------------------------------

def _total_stride(spec):
    return math.prod(b.stride for b in parse_spec(spec) if isinstance(b, (Conv, Pool)))


def _image_size(rng, size, stride, steps, *, ragged):
    """``size + stride * steps``, plus (``ragged``) 1 to stride - 1 rows that no crop can use."""
    extra = int(rng.integers(1, stride)) if ragged and stride > 1 else 0
    return size + stride * steps + extra


def score_map_cases(rng):
    for i in range(5):
        # cases 1 and 2: total stride >= 2 and a ragged image, which must be trimmed
        spec, input_shape = random_net_spec(rng, pad_ok=False, min_stride=2 if i in (1, 2) else 1)
        C, H, W = input_shape
        S = _total_stride(spec)
        if i == 0:  # the image holds a single crop: a 1x1 map
            Hi, Wi = (_image_size(rng, n, S, 0, ragged=True) for n in (H, W))
        else:
            Hi = _image_size(rng, H, S, int(rng.integers(1, 4)), ragged=i < 3)
            Wi = _image_size(rng, W, S, int(rng.integers(1, 5)), ragged=i < 3)
        case = dict(spec=spec, input_shape=input_shape,
                    image=rng.standard_normal((int(rng.integers(1, 3)), C, Hi, Wi)))
        case.update(random_params(rng, spec, input_shape))
        yield case


def score_map_ref(spec, input_shape, image, **params):
    net = _net(spec, input_shape, params)
    return crop_scores(net, image, net.total_stride)


def class_confidence_cases(rng):
    # (N, K, H, W, scale, offset): scores near +1000 overflow a naive exponential, near -900 they
    # underflow to 0 (both give NaN probabilities); softmax itself ignores the offset
    for N, K, H, W, scale, offset in [(2, 10, 3, 5, 1.0, 0.0), (1, 4, 6, 2, 3.0, 0.0),
                                      (3, 7, 2, 4, 300.0, 1000.0), (1, 3, 5, 3, 20.0, -900.0)]:
        yield dict(scores=offset + scale * rng.standard_normal((N, K, H, W)))


def class_confidence_ref(scores):
    shifted = scores - scores.max(axis=1, keepdims=True)
    probs = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)  # (N, K, H, W)
    return scores.argmax(axis=1), probs.max(axis=1)


# --- exercise 5: a finer stride -------------------------------------------------------------------

def fine_score_map_cases(rng):
    for i in range(4):
        # total stride 4 in half the cases, so that the step may be 1 or 2
        spec, input_shape = random_net_spec(rng, pad_ok=False, min_stride=2 + 2 * (i % 2),
                                            max_size=12 + 6 * (i % 2))
        C, H, W = input_shape
        S = _total_stride(spec)
        divisors = [d for d in range(1, S) if S % d == 0]
        step = divisors[(i // 2) % len(divisors)]
        r = S // step
        # r to r + 2 positions down, 2r to 2r + 3 across: every shifted pass gives a map at least 1x2
        Hi = _image_size(rng, H, step, int(rng.integers(r - 1, r + 2)), ragged=True)
        Wi = _image_size(rng, W, step, int(rng.integers(2 * r - 1, 2 * r + 3)), ragged=True)
        case = dict(spec=spec, input_shape=input_shape, step=step,
                    image=rng.standard_normal((int(rng.integers(1, 3)), C, Hi, Wi)))
        case.update(random_params(rng, spec, input_shape))
        yield case


def fine_score_map_ref(spec, input_shape, step, image, **params):
    return crop_scores(_net(spec, input_shape, params), image, step)


# --- exercise 6: check your understanding (one value per question, judged all or nothing) -----------

QUESTIONS = [
    # 40x28 image, 16x16 crops every 4 pixels: 7 rows and 4 columns of crops
    question("q1_map_entries", "q1_map_entries_hidden", ((40 - 16) // 4 + 1) * ((28 - 16) // 4 + 1)),
    # a 3x3 CONV layer with 4 filters on 2x6x6 makes 4x4x4 numbers, each from 2*3*3 inputs
    question("q2_free_weights", "q2_free_weights_hidden", 4 * 4 * 4 * 2 * 3 * 3),
    # r = 32 / 8 shifts along each axis
    question("q3_shifted_passes", "q3_shifted_passes_hidden", (32 // 8) ** 2),
    # padding: the crop's border features see zeros in its own pass, canvas pixels in the big one
    question("q4_padded_map", "q4_padded_map_hidden", "C", choices="ABCD"),
]

CHECKS = [
    Check(name="fc_forward", grade_id="fc_forward_hidden", cases=fc_forward_cases, reference=fc_forward_ref,
          withhold=FC_WITHHELD),
    Check(name="fc_backward", grade_id="fc_backward_hidden", cases=fc_backward_cases, reference=fc_backward_ref,
          withhold=FC_WITHHELD),
    Check(name="fc_as_conv", grade_id="fc_as_conv_hidden", cases=fc_as_conv_cases, reference=fc_as_conv_ref,
          rtol=0, atol=0, withhold=CONVERT_WITHHELD),
    Check(name="conv_spec", grade_id="conv_spec_hidden", cases=conv_spec_cases, reference=conv_spec_ref,
          compare=same_spec, withhold=CONVERT_WITHHELD),
    Check(name="fc_to_conv", grade_id="fc_to_conv_hidden", cases=fc_to_conv_cases, reference=fc_to_conv_ref,
          rtol=NET_RTOL, atol=NET_ATOL, withhold=CONVERT_WITHHELD,
          depends_on={"fc_as_conv": "fc_as_conv (exercise 2)", "conv_spec": "conv_spec (exercise 2)"}),
    Check(name="multiply_adds", grade_id="multiply_adds_hidden", cases=multiply_adds_cases,
          reference=multiply_adds_ref),
    Check(name="score_map", grade_id="score_map_hidden", cases=score_map_cases, reference=score_map_ref,
          rtol=NET_RTOL, atol=NET_ATOL, withhold=CONVERT_WITHHELD,
          depends_on={"fc_to_conv": "fc_to_conv (exercise 2)"}),
    Check(name="class_confidence", grade_id="class_confidence_hidden", cases=class_confidence_cases,
          reference=class_confidence_ref),
    Check(name="fine_score_map", grade_id="fine_score_map_hidden", cases=fine_score_map_cases,
          reference=fine_score_map_ref, rtol=NET_RTOL, atol=NET_ATOL, withhold=CONVERT_WITHHELD,
          depends_on={"fc_to_conv": "fc_to_conv (exercise 2)", "score_map": "score_map (exercise 4)"}),
] + QUESTIONS
