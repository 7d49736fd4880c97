"""Hidden checks for assignment 2 (naive convolution).

Trusted: this file stays in solutions/ and never enters the grading sandbox.
Forward passes are compared with the library's loop implementation; backward
passes with central-difference numeric gradients (float64) of the library's
forward pass, so a hidden backward test is a numeric gradient check on fresh
random inputs. The hidden backward cells build the documented cache
``(x, w, b, stride, pad, dilation)`` from the case, never with the student's forward
pass. Exercises 3 and 5 run the functions of exercises 1 and 2 (dilation is a
feature of those loops; the flipped-filter pass calls the student's forward pass
by design): their verdicts name the earlier exercise when it failed too.
"""

import numpy as np

from autograder.checks import Check
from autograder.questions import question
from convlab import shapes
from convlab.gradcheck import numeric_gradient
from convlab.layers import conv_backward_naive, conv_forward, conv_forward_naive

__all__ = ["CHECKS"]

# (N, C, H, W, K, FH, FW, stride, pad): H != W, non-square kernels, stride 1/2/3, pad 0/1/2
GEOMETRIES = [
    (2, 3, 7, 9, 4, 3, 3, 1, 0),
    (2, 3, 7, 9, 4, 3, 5, 2, 2),
    (1, 2, 11, 9, 3, 2, 3, 3, 0),
    (2, 1, 5, 6, 2, 4, 1, 1, 2),
    (1, 4, 7, 10, 3, 1, 2, 2, 0),
    (3, 2, 8, 5, 2, 3, 3, 3, 2),
    (2, 2, 6, 6, 3, 3, 3, 1, 1),
]
INVALID = [
    (1, 1, 10, 10, 1, 3, 3, 2, 0),  # (10 - 3) / 2 + 1 = 4.5
    (1, 2, 4, 4, 1, 5, 2, 1, 0),  # filter one taller than the input: floor division would give 0 rows
]
# (N, C, H, W, K, FH, FW, stride, pad, dilation)
DILATED = [
    (1, 2, 9, 11, 3, 3, 2, 1, 0, 2),
    (2, 1, 10, 9, 2, 2, 3, 2, 2, 3),
    (1, 3, 8, 12, 2, 3, 3, 1, 2, 2),
    (1, 2, 10, 7, 2, 2, 2, 3, 1, 2),
]
# stride 1 only (the flipped-filter identity below), pad <= F - 1
FLIP_GEOMETRIES = [
    (2, 3, 6, 8, 4, 3, 2, 0),
    (1, 2, 7, 5, 3, 3, 3, 2),
    (2, 4, 5, 9, 2, 2, 4, 1),
    (1, 1, 8, 6, 3, 4, 3, 2),
]


def _conv_case(rng, N, C, H, W, K, FH, FW, with_dout=False, **settings):
    case = dict(x=rng.standard_normal((N, C, H, W)), w=rng.standard_normal((K, C, FH, FW)),
                b=rng.standard_normal(K), **settings)
    if with_dout:
        Ho = shapes.conv_output_size(H, FH, settings["stride"], settings["pad"], settings.get("dilation", 1))
        Wo = shapes.conv_output_size(W, FW, settings["stride"], settings["pad"], settings.get("dilation", 1))
        case["dout"] = rng.standard_normal((N, K, Ho, Wo))
    return case


# --- forward ------------------------------------------------------------------------------------

def forward_cases(rng):
    for N, C, H, W, K, FH, FW, S, P in GEOMETRIES + INVALID:
        yield _conv_case(rng, N, C, H, W, K, FH, FW, stride=S, pad=P)


def forward_reference(x, w, b, stride, pad, dilation=1):
    return conv_forward_naive(x, w, b, stride=stride, pad=pad, dilation=dilation)[0]


def dilated_forward_cases(rng):
    for N, C, H, W, K, FH, FW, S, P, D in DILATED:
        yield _conv_case(rng, N, C, H, W, K, FH, FW, stride=S, pad=P, dilation=D)


# --- backward: numeric gradients of the (fast) library forward pass -------------------------------

def backward_cases(rng):
    for N, C, H, W, K, FH, FW, S, P in GEOMETRIES:
        yield _conv_case(rng, N, C, H, W, K, FH, FW, with_dout=True, stride=S, pad=P)


def dilated_backward_cases(rng):
    for N, C, H, W, K, FH, FW, S, P, D in DILATED:
        yield _conv_case(rng, N, C, H, W, K, FH, FW, with_dout=True, stride=S, pad=P, dilation=D)


def backward_reference(x, w, b, dout, stride, pad, dilation=1):
    def forward(x_, w_, b_):
        return conv_forward(x_, w_, b_, stride=stride, pad=pad, dilation=dilation)[0]

    dx = numeric_gradient(lambda v: forward(v, w, b), x, dout)
    dw = numeric_gradient(lambda v: forward(x, v, b), w, dout)
    db = numeric_gradient(lambda v: forward(x, w, v), b, dout)
    return dx, dw, db


# --- 1x1 convolution as a matrix product ----------------------------------------------------------

def conv1x1_cases(rng):
    for N, C, H, W, K in [(2, 3, 4, 5, 4), (1, 5, 6, 3, 2), (3, 1, 2, 7, 3), (2, 4, 3, 3, 4)]:
        yield _conv_case(rng, N, C, H, W, K, 1, 1)


def conv1x1_reference(x, w, b):
    return conv_forward_naive(x, w, b)[0]


# --- dx as a convolution of dout with flipped filters ------------------------------------------

def flip_cases(rng):
    for N, C, H, W, K, FH, FW, P in FLIP_GEOMETRIES:
        Ho, Wo = H - FH + 2 * P + 1, W - FW + 2 * P + 1
        yield dict(dout=rng.standard_normal((N, K, Ho, Wo)), w=rng.standard_normal((K, C, FH, FW)), pad=P)


def flip_reference(dout, w, pad):
    N, K, Ho, Wo = dout.shape
    _, C, FH, FW = w.shape
    x_shape = (N, C, Ho + FH - 1 - 2 * pad, Wo + FW - 1 - 2 * pad)
    _, cache = conv_forward_naive(np.zeros(x_shape), w, np.zeros(K), stride=1, pad=pad)
    return conv_backward_naive(dout, cache)[0]


_CONV = ["convlab.layers.conv_forward_naive", "convlab.layers.conv_forward"]
_CONV_BACKWARD = ["convlab.layers.conv_backward_naive", "convlab.layers.conv_backward"]
_GRAD_TOL = dict(rtol=1e-6, atol=1e-7)
_FORWARD = {"conv_forward": "conv_forward_naive (exercise 1)"}
_BACKWARD = {"conv_backward": "conv_backward_naive (exercise 2)"}

CHECKS = [
    Check(name="conv_forward", grade_id="conv_forward_hidden", cases=forward_cases,
          reference=forward_reference, rtol=1e-7, atol=1e-9, withhold=_CONV),
    Check(name="conv_backward", grade_id="conv_backward_hidden", cases=backward_cases,
          reference=backward_reference, **_GRAD_TOL, withhold=_CONV + _CONV_BACKWARD),
    Check(name="conv_forward_dilated", grade_id="conv_dilation_hidden", cases=dilated_forward_cases,
          reference=forward_reference, rtol=1e-7, atol=1e-9, withhold=_CONV, depends_on=_FORWARD),
    Check(name="conv_backward_dilated", grade_id="conv_dilation_hidden", cases=dilated_backward_cases,
          reference=backward_reference, **_GRAD_TOL, withhold=_CONV + _CONV_BACKWARD,
          depends_on=_BACKWARD),
    Check(name="conv1x1_matmul", grade_id="conv1x1_hidden", cases=conv1x1_cases,
          reference=conv1x1_reference, rtol=1e-7, atol=1e-9, withhold=_CONV),
    Check(name="conv_backward_x_via_conv", grade_id="flipped_filters_hidden", cases=flip_cases,
          reference=flip_reference, rtol=1e-7, atol=1e-9, withhold=_CONV + _CONV_BACKWARD,
          depends_on=_FORWARD),
]

# Exercise 6: check your understanding (autograder.questions: one fixed case each)
CHECKS += [
    question("q_multiplies", "q_multiplies_hidden", 13_824),
    question("q_backward_data", "q_backward_data_hidden", "B", choices="ABCD"),
    question("q_1x1_params", "q_1x1_params_hidden", 1_040),
]
