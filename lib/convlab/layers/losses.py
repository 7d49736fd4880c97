"""Classification losses on class scores: softmax (cross-entropy) and multiclass SVM.

Both take ``scores`` (N, C) and integer labels ``y`` (N,) with ``0 <= y[i] < C``
on the same device, average over the N examples, and return
``(loss, dscores)``: ``loss`` a Python float, ``dscores`` (N, C) the gradient of
the loss with respect to the scores.
"""

from __future__ import annotations

import numpy as np

from convlab.backend import get_array_module
from convlab.layers._checks import check_float_array, check_ndim

__all__ = ["softmax_loss", "svm_loss"]


def _check_scores_and_labels(func: str, scores, y) -> None:
    """Validate shapes, dtypes and the label range (reading two numbers from the device)."""
    check_ndim(func, "scores", scores, 2, "(N, C)")
    check_float_array(func, "scores", scores)
    check_ndim(func, "y", y, 1, "(N,) integer labels")
    if np.dtype(y.dtype).kind not in "iu":
        raise TypeError(f"{func}: y must hold integer class labels, got dtype {np.dtype(y.dtype)}")
    N, C = scores.shape
    if y.shape[0] != N:
        raise ValueError(f"{func}: scores has N={N} rows but y has {y.shape[0]} labels")
    if N == 0:
        raise ValueError(f"{func}: empty batch (N=0); the average loss is undefined")
    lo, hi = int(y.min()), int(y.max())
    if lo < 0 or hi >= C:
        raise ValueError(f"{func}: labels must lie in [0, {C - 1}] for C={C} classes, got values in [{lo}, {hi}]")


def softmax_loss(scores, y):
    """Softmax cross-entropy loss, numerically stable (log-sum-exp with the row max subtracted).

    Inputs
    - scores: (N, C) floating class scores
    - y: (N,) integer labels in [0, C), on the same device as scores

    Returns (loss, dscores): loss = mean_i(-log softmax(scores_i)[y_i]) as a Python
    float; dscores: (N, C) = (softmax(scores) - onehot(y)) / N.
    """
    xp = get_array_module(scores, y)
    _check_scores_and_labels("softmax_loss", scores, y)
    N, C = scores.shape
    shifted = scores - scores.max(axis=1, keepdims=True)  # (N, C), every row's max is 0
    log_probs = shifted - xp.log(xp.exp(shifted).sum(axis=1, keepdims=True))  # (N, C)
    labels = y.reshape(N, 1)  # (N, 1)
    loss = -float(xp.take_along_axis(log_probs, labels, axis=1).sum()) / N
    onehot = xp.arange(C).reshape(1, C) == labels  # (N, C) bool
    dscores = (xp.exp(log_probs) - onehot) / N
    return loss, dscores


def svm_loss(scores, y, *, delta=1.0):
    """Multiclass SVM (hinge) loss: ``mean_i sum_{j != y_i} max(0, s_ij - s_iy_i + delta)``.

    Inputs
    - scores: (N, C) floating class scores
    - y: (N,) integer labels in [0, C), on the same device as scores
    - delta: the margin (keyword-only)

    Returns (loss, dscores): loss a Python float, dscores (N, C). At a hinge
    (margin exactly 0) the gradient taken is 0.
    """
    xp = get_array_module(scores, y)
    _check_scores_and_labels("svm_loss", scores, y)
    N, C = scores.shape
    labels = y.reshape(N, 1)  # (N, 1)
    correct = xp.take_along_axis(scores, labels, axis=1)  # (N, 1)
    onehot = xp.arange(C).reshape(1, C) == labels  # (N, C) bool
    margins = xp.where(onehot, 0, xp.maximum(scores - correct + delta, 0))  # (N, C)
    loss = float(margins.sum()) / N
    active = (margins > 0).astype(scores.dtype)  # (N, C), 1 where the hinge is on
    dscores = (active - onehot * active.sum(axis=1, keepdims=True)) / N
    return loss, dscores
