"""Hidden checks of assignment 6 (a complete ConvNet): fresh random inputs, references from convlab.

Trusted: this file stays in solutions/ and never enters the grading sandbox. The references are the
library's ConvNet (``convlab.models``) and spatial batch normalisation, which the grading build
withholds from the student's kernel. Every array input is continuous float64 (standard normals, so no
max-pool ties and no ReLU kinks); networks are small (a handful of filters and hidden units).

- the net's loss and gradients are judged like a gradient check: max-normalised relative error
  (``convlab.gradcheck.rel_error``) below 1e-6 per array;
- the trained nets are judged on their own predictions: fresh random subsets of the 50 images they
  memorised (every one right) and of the digits test split (at least 97% right).
"""

import functools
import math

import numpy as np

from autograder.checks import Check
from autograder.questions import question
from convlab.data import load_digits
from convlab.gradcheck import rel_error
from convlab.layers import spatial_batchnorm_backward, spatial_batchnorm_forward
from convlab.models import ConvNet as LibraryConvNet

__all__ = ["CHECKS"]

PARAM_NAMES = ("W1", "b1", "W2", "b2", "W3", "b3")
BN_PARAM_NAMES = ("W1", "b1", "gamma1", "beta1", "W2", "b2", "W3", "b3")
# the student's names -> the library's ("conv bn relu pool fc relu fc": blocks 1, 2, 5 and 7 hold parameters)
BN_LIBRARY_NAMES = {"W1": "W1", "b1": "b1", "gamma1": "gamma2", "beta1": "beta2",
                    "W2": "W3", "b2": "b3", "W3": "W4", "b3": "b4"}

# ConvNet.forward/backward/loss compute through these; the build strips them, so no library ConvNet runs
MODELS_WITHHELD = ["convlab.models.convnet.net_forward", "convlab.models.convnet.net_backward",
                   "convlab.models.convnet.net_loss"]
BN_WITHHELD = ["convlab.layers.spatial_batchnorm_forward", "convlab.layers.spatial_batchnorm_backward"]

# (N, C, H, W, K, F, hidden, classes): H != W, F = 1, 3, 5 ('same' padding 0, 1, 2), even H and W
NET_GEOMETRIES = [
    (3, 1, 8, 6, 4, 3, 7, 5),
    (2, 3, 6, 10, 3, 5, 6, 4),
    (4, 2, 4, 4, 5, 1, 3, 10),
    (2, 2, 10, 8, 2, 3, 9, 3),
]
GRAD_TOL = 1e-6  # the whole-net float64 gradient check of the notebook
GRAD_FLOOR = 1e-10  # arrays that are zero up to rounding (the conv bias under batchnorm) pass on this


# --- comparisons ----------------------------------------------------------------------------------

def _arrays_agree(names):
    """Compare an array, or tuples of arrays and numbers element by element: relative error below GRAD_TOL."""

    def compare(student, reference):
        if not isinstance(reference, tuple):  # a single array
            student, reference = (student,), (reference,)
        if not isinstance(student, (tuple, list)) or len(student) != len(reference):
            got = f"{len(student)} values" if isinstance(student, (tuple, list)) else f"a {type(student).__name__}"
            return False, f"returned {got}, expected {len(reference)} ({', '.join(names)})"
        for name, s, r in zip(names, student, reference):
            try:
                s = np.asarray(s, dtype=np.float64)
            except (TypeError, ValueError):
                return False, f"{name}: not a numeric array"
            r = np.asarray(r, dtype=np.float64)
            if s.shape != r.shape:
                return False, f"{name}: shape {s.shape}, expected {r.shape}"
            if s.size and float(np.max(np.abs(s - r), initial=0.0)) <= GRAD_FLOOR:
                continue
            err = rel_error(s, r)
            if not err < GRAD_TOL:
                return False, f"{name}: relative error {err:.1e} (needs < {GRAD_TOL:.0e})"
        return True, ""

    return compare


def _accuracy_at_least(threshold):
    def compare(student, reference):
        s = np.asarray(student)
        if s.shape != reference.shape:
            return False, f"{s.shape[0] if s.ndim == 1 else s.shape} predicted labels, expected {reference.shape[0]}"
        if s.dtype.kind not in "iu":
            return False, f"predicted labels must be integers, got dtype {s.dtype}"
        accuracy = float(np.mean(s == reference))
        if accuracy >= threshold:
            return True, ""
        return False, f"accuracy {accuracy:.2%} on these {s.size} images, needs {threshold:.0%}"

    return compare


def _init_agrees(student, reference):
    """Same shapes and dtypes; biases zero; weights with mean ~0 and standard deviation ~weight_scale.

    The reference holds, per parameter, an array of the expected shape and dtype filled with the
    expected standard deviation (0 for the biases).
    """
    if not isinstance(student, (tuple, list)) or len(student) != len(reference):
        return False, f"expected the {len(reference)} arrays {', '.join(PARAM_NAMES)}"
    for name, s, r in zip(PARAM_NAMES, student, reference):
        if not isinstance(s, np.ndarray):
            return False, f"{name}: a {type(s).__name__}, expected a NumPy array"
        if s.shape != r.shape:
            return False, f"{name}: shape {s.shape}, expected {r.shape}"
        if s.dtype != r.dtype:
            return False, f"{name}: dtype {s.dtype}, expected {r.dtype}"
        scale = float(r.flat[0])
        values = s.astype(np.float64)
        if scale == 0.0:
            if np.any(values != 0):
                return False, f"{name}: biases must start at 0"
            continue
        std, mean = float(values.std()), float(values.mean())
        if not 0.7 < std / scale < 1.3:
            return False, f"{name}: standard deviation {std:.3g}, expected about weight_scale = {scale:.3g}"
        if abs(mean) > 5 * scale / math.sqrt(values.size):
            return False, f"{name}: mean {mean:.3g}, expected about 0"
    return True, ""


def _sanity_agrees(student, reference):
    """(initial loss, increase by reg, sum of squared weights): log(C) at small weights, +0.5 reg sum W^2."""
    log_c, reg = reference
    if not isinstance(student, (tuple, list)) or len(student) != 3:
        return False, "expected (loss, loss with reg - loss, sum of squared weights)"
    loss, increase, squares = (float(v) for v in student)
    if not abs(loss - log_c) < 1e-2:
        return False, f"initial loss {loss:.4f} with small weights, expected about log(C) = {log_c:.4f}"
    if not increase > 0:
        return False, f"regularisation changed the loss by {increase:.3g}; it must raise it"
    expected = 0.5 * reg * squares
    if not abs(increase - expected) <= 1e-6 * expected:
        return False, f"regularisation raised the loss by {increase:.6g}, expected 0.5 * reg * sum(W**2) = {expected:.6g}"
    return True, ""


# --- case generators ------------------------------------------------------------------------------

def _net_case(rng, N, C, H, W, K, F, hidden, classes, *, bn=False):
    """Input, labels and parameters of one net: He-scaled weights, so the scores are of order 1."""
    D = K * (H // 2) * (W // 2)
    case = dict(X=rng.standard_normal((N, C, H, W)), y=rng.integers(0, classes, N),
                W1=math.sqrt(2.0 / (C * F * F)) * rng.standard_normal((K, C, F, F)), b1=0.5 * rng.standard_normal(K))
    if bn:
        case.update(gamma1=1.0 + 0.3 * rng.standard_normal(K), beta1=0.5 * rng.standard_normal(K))
    case.update(W2=math.sqrt(2.0 / D) * rng.standard_normal((D, hidden)), b2=0.5 * rng.standard_normal(hidden),
                W3=math.sqrt(2.0 / hidden) * rng.standard_normal((hidden, classes)),
                b3=0.5 * rng.standard_normal(classes))
    if bn:
        case.update(running_mean=rng.standard_normal(K), running_var=rng.uniform(0.5, 2.0, K))
    case["reg"] = float(rng.uniform(0.05, 0.5))
    return case


def net_cases(rng):
    for geometry in NET_GEOMETRIES:
        yield _net_case(rng, *geometry)


def bn_net_cases(rng):
    for geometry in NET_GEOMETRIES:
        yield _net_case(rng, *geometry, bn=True)


def init_cases(rng):
    # (input_dim, num_filters, filter_size, hidden_dim, num_classes, dtype): every weight array holds >= 200
    # values, so the spread of a correct draw stays within 6 standard errors of the tolerance
    for input_dim, K, F, hidden, classes, dtype in [((1, 8, 8), 24, 3, 20, 10, "float32"),
                                                    ((3, 6, 10), 10, 5, 24, 10, "float64"),
                                                    ((2, 4, 6), 12, 3, 30, 7, "float64"),
                                                    ((1, 10, 4), 25, 3, 50, 4, "float32")]:
        yield dict(input_dim=input_dim, num_filters=K, filter_size=F, hidden_dim=hidden, num_classes=classes,
                   weight_scale=float(10 ** rng.uniform(-3, 0)), dtype=dtype, seed=int(rng.integers(0, 2**31)))


def sanity_cases(rng):
    for N, C, H, W, K, F, hidden, classes in NET_GEOMETRIES:
        yield dict(X=rng.standard_normal((N, C, H, W)), y=rng.integers(0, classes, N), num_filters=K,
                   filter_size=F, hidden_dim=hidden, num_classes=classes, reg=float(rng.uniform(0.1, 1.0)),
                   seed=int(rng.integers(0, 2**31)))


def overfit_cases(rng):
    """Fresh subsets of the 50 training images the notebook's net memorises."""
    for size in (40, 30, 45):
        yield dict(idx=np.sort(rng.choice(50, size, replace=False)).astype(np.int64))


def digits_cases(rng):
    """Fresh subsets of 300 of the digits test split (359 images)."""
    n = _digits()["y_test"].shape[0]
    for _ in range(3):
        yield dict(idx=np.sort(rng.choice(n, 300, replace=False)).astype(np.int64))


def bn_forward_cases(rng):
    # (N, C, H, W, train): statistics over N*H*W values per channel, shifted and scaled per channel
    for N, C, H, W, train in [(4, 3, 5, 6, True), (2, 5, 3, 4, True), (3, 2, 7, 4, False), (5, 4, 2, 3, True),
                              (2, 3, 4, 5, False)]:
        yield _bn_case(rng, N, C, H, W, train, momentum=float(rng.uniform(0.5, 0.99)))


def bn_backward_cases(rng):
    """Cases carry ``xhat`` and ``std`` for the documented cache ``(xhat, gamma, std, train)``: the
    backward pass is judged without the student's forward pass."""
    for N, C, H, W, train in [(4, 3, 5, 6, True), (2, 5, 3, 4, True), (3, 2, 7, 4, False), (5, 4, 2, 3, True)]:
        case = _bn_case(rng, N, C, H, W, train)
        case["dout"] = rng.standard_normal((N, C, H, W))
        case["xhat"], case["std"] = _normalised(case["x"], train, case["running_mean"], case["running_var"],
                                                case["eps"])
        yield case


def _normalised(x, train, running_mean, running_var, eps):
    """``(xhat, std)`` of the forward pass: the batch's statistics in training, the running ones at test."""
    mean, var = (x.mean(axis=(0, 2, 3)), x.var(axis=(0, 2, 3))) if train else (running_mean, running_var)
    std = np.sqrt(var + eps)  # (C,)
    return (x - mean[None, :, None, None]) / std[None, :, None, None], std


def _bn_case(rng, N, C, H, W, train, **extra):
    shift, scale = rng.standard_normal(C), rng.uniform(0.5, 3.0, C)
    return dict(x=shift[None, :, None, None] + scale[None, :, None, None] * rng.standard_normal((N, C, H, W)),
                gamma=rng.standard_normal(C), beta=rng.standard_normal(C), train=train,
                running_mean=rng.standard_normal(C), running_var=rng.uniform(0.5, 2.0, C),
                eps=float(10 ** rng.uniform(-5, -2)), **extra)


# --- references -----------------------------------------------------------------------------------

@functools.cache
def _digits():
    return load_digits()


def _library_net(X, params, reg, *, bn=False, running_mean=None, running_var=None):
    _, C, H, W = X.shape
    K, _, F, _ = params["W1"].shape
    hidden, classes = params["W3"].shape
    if not bn:
        spec = f"conv{F}-{K} relu pool2 fc{hidden} relu fc{classes}"
        return LibraryConvNet(spec, (C, H, W), reg=reg, dtype=np.float64, params=dict(params))
    spec = f"conv{F}-{K} bn relu pool2 fc{hidden} relu fc{classes}"
    return LibraryConvNet(spec, (C, H, W), reg=reg, dtype=np.float64,
                          params={BN_LIBRARY_NAMES[k]: v for k, v in params.items()},
                          state={"running_mean2": running_mean, "running_var2": running_var})


def init_reference(input_dim, num_filters, filter_size, hidden_dim, num_classes, weight_scale, dtype, seed):
    C, H, W = input_dim
    shapes = [(num_filters, C, filter_size, filter_size), (num_filters,),
              (num_filters * (H // 2) * (W // 2), hidden_dim), (hidden_dim,),
              (hidden_dim, num_classes), (num_classes,)]
    return tuple(np.full(shape, weight_scale if len(shape) > 1 else 0.0, dtype=dtype) for shape in shapes)


def scores_reference(X, y, reg, **params):
    return _library_net(X, params, reg).loss(X)


def loss_reference(X, y, reg, **params):
    loss, grads = _library_net(X, params, reg).loss(X, y)
    return (loss, *(grads[k] for k in PARAM_NAMES))


def sanity_reference(X, y, num_filters, filter_size, hidden_dim, num_classes, reg, seed):
    return math.log(num_classes), reg


def overfit_reference(idx):
    return _digits()["y_train"][:50][idx]


def digits_reference(idx):
    return _digits()["y_test"][idx]


def bn_forward_reference(x, gamma, beta, train, running_mean, running_var, eps, momentum):
    out, _, mean, var = spatial_batchnorm_forward(x, gamma, beta, train=train, running_mean=running_mean,
                                                  running_var=running_var, momentum=momentum, eps=eps)
    return out, mean, var


def bn_backward_reference(x, gamma, beta, train, running_mean, running_var, eps, dout, xhat, std):
    _, cache, _, _ = spatial_batchnorm_forward(x, gamma, beta, train=train, running_mean=running_mean,
                                               running_var=running_var, eps=eps)
    return spatial_batchnorm_backward(dout, cache)


def net_answers_reference(X, y, reg, running_mean=None, running_var=None, **params):
    """Test-mode scores, then one training step: loss, every gradient [, the new running statistics]."""
    bn = running_mean is not None
    net = _library_net(X, params, reg, bn=bn, running_mean=running_mean, running_var=running_var)
    scores = net.loss(X)
    loss, grads = net.loss(X, y)
    names = BN_PARAM_NAMES if bn else PARAM_NAMES
    lib = BN_LIBRARY_NAMES if bn else {k: k for k in names}
    answers = (scores, loss, *(grads[lib[k]] for k in names))
    if bn:
        answers += (net.state["running_mean2"], net.state["running_var2"])
    return answers


_GRADS = tuple("d" + k for k in PARAM_NAMES)
_BN_GRADS = tuple("d" + k for k in BN_PARAM_NAMES)
_NET_ANSWERS = ("scores", "loss") + _GRADS
_BN_NET_ANSWERS = ("scores", "loss") + _BN_GRADS + ("running_mean", "running_var")

# later exercises run the student's earlier classes and layers (a trained net, a net on a device): their
# verdicts name the earlier exercise when it failed too
_CONVNET = {"convnet_loss": "ConvNet.loss (exercise 1)"}
_BATCHNORM = {"convnet_loss": "ConvNet.loss (exercise 1)",
              "spatial_batchnorm_forward": "spatial_batchnorm_forward (exercise 3)",
              "spatial_batchnorm_backward": "spatial_batchnorm_backward (exercise 3)"}

# --- exercise 6: check your understanding (one value per question, judged all or nothing) -----------

QUESTIONS = [
    # K=16, F=5 'same' on 8x8x1, 2x2 pool: 4x4x16 inputs to 64 hidden units, plus their biases
    question("q1_fc_params", "q1_fc_params_hidden", (4 * 4 * 16) * 64 + 64),
    # tiny weights: every class has probability about 1/100; "to two decimals"
    question("q2_initial_loss", "q2_initial_loss_hidden", math.log(100), rel_tol=0.01 / math.log(100)),
    # spatial batchnorm averages over M = N*H*W values per channel
    question("q3_bn_values", "q3_bn_values_hidden", 32 * 8 * 8),
    # test mode: the running averages
    question("q4_bn_test", "q4_bn_test_hidden", "B", choices="ABCD"),
]

CHECKS = [
    Check(name="convnet_init", grade_id="convnet_init_hidden", cases=init_cases, reference=init_reference,
          compare=_init_agrees, withhold=MODELS_WITHHELD),
    Check(name="convnet_scores", grade_id="convnet_scores_hidden", cases=net_cases, reference=scores_reference,
          compare=_arrays_agree(("scores",)), withhold=MODELS_WITHHELD),
    Check(name="convnet_loss", grade_id="convnet_loss_hidden", cases=net_cases, reference=loss_reference,
          compare=_arrays_agree(("loss",) + _GRADS), withhold=MODELS_WITHHELD),
    Check(name="convnet_sanity", grade_id="convnet_sanity_hidden", cases=sanity_cases,
          reference=sanity_reference, compare=_sanity_agrees, withhold=MODELS_WITHHELD),
    Check(name="overfit_small_data", grade_id="overfit_hidden", cases=overfit_cases, reference=overfit_reference,
          compare=_accuracy_at_least(1.0), withhold=MODELS_WITHHELD, depends_on=_CONVNET),
    Check(name="digits_test_accuracy", grade_id="digits_hidden", cases=digits_cases, reference=digits_reference,
          compare=_accuracy_at_least(0.97), withhold=MODELS_WITHHELD, depends_on=_CONVNET),
    Check(name="spatial_batchnorm_forward", grade_id="bn_forward_hidden", cases=bn_forward_cases,
          reference=bn_forward_reference, rtol=1e-7, atol=1e-9, withhold=BN_WITHHELD),
    Check(name="spatial_batchnorm_backward", grade_id="bn_backward_hidden", cases=bn_backward_cases,
          reference=bn_backward_reference, compare=_arrays_agree(("dx", "dgamma", "dbeta")),
          withhold=BN_WITHHELD),
    Check(name="batchnorm_convnet", grade_id="bn_convnet_hidden", cases=bn_net_cases,
          reference=net_answers_reference, compare=_arrays_agree(_BN_NET_ANSWERS),
          withhold=MODELS_WITHHELD + BN_WITHHELD, depends_on=_BATCHNORM),
    Check(name="convnet_on_device", grade_id="device_hidden", cases=net_cases, reference=net_answers_reference,
          compare=_arrays_agree(_NET_ANSWERS), withhold=MODELS_WITHHELD, depends_on=_CONVNET),
    Check(name="batchnorm_convnet_on_device", grade_id="device_hidden", cases=bn_net_cases,
          reference=net_answers_reference, compare=_arrays_agree(_BN_NET_ANSWERS),
          withhold=MODELS_WITHHELD + BN_WITHHELD, depends_on={"batchnorm_convnet": "BatchNormConvNet (exercise 4)"}),
] + QUESTIONS
