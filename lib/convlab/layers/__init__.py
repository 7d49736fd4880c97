"""Layers of a ConvNet as pure forward/backward function pairs (NCHW, NumPy or CuPy).

Every ``*_forward`` returns ``(out, cache)`` and every ``*_backward(dout, cache)``
returns the gradients in the order of the forward pass's array arguments.
Settings are keyword-only; caches are small NamedTuples; nothing is mutated.

- convolution: :mod:`.conv` (im2col + matmul, groups), :mod:`.winograd` (F(2x2, 3x3), which
  ``conv_forward`` uses for 3x3 stride-1 layers with many channels), :mod:`.conv_naive` (loops,
  the oracle), :mod:`.im2col` (the column transform and its adjoint)
- pooling: :mod:`.pool` (max, average, L2)
- :mod:`.basic` (affine, ReLU), :mod:`.losses` (softmax, SVM),
  :mod:`.norm` (spatial batchnorm), :mod:`.dropout` (inverted dropout)
"""

from convlab.layers.basic import AffineCache, ReluCache, affine_backward, affine_forward, relu_backward, relu_forward
from convlab.layers.conv import ConvCache, conv_backward, conv_forward
from convlab.layers.conv_naive import NaiveConvCache, conv_backward_naive, conv_forward_naive
from convlab.layers.dropout import DropoutCache, dropout_backward, dropout_forward
from convlab.layers.im2col import col2im, im2col
from convlab.layers.losses import softmax_loss, svm_loss
from convlab.layers.norm import BatchNormCache, BatchNormResult, spatial_batchnorm_backward, spatial_batchnorm_forward
from convlab.layers.pool import (
    L2PoolCache,
    MaxPoolCache,
    PoolCache,
    avg_pool_backward,
    avg_pool_forward,
    l2_pool_backward,
    l2_pool_forward,
    max_pool_backward,
    max_pool_forward,
)

__all__ = [
    # convolution
    "conv_forward",
    "conv_backward",
    "conv_forward_naive",
    "conv_backward_naive",
    "im2col",
    "col2im",
    # pooling
    "max_pool_forward",
    "max_pool_backward",
    "avg_pool_forward",
    "avg_pool_backward",
    "l2_pool_forward",
    "l2_pool_backward",
    # fully connected, nonlinearity, losses
    "affine_forward",
    "affine_backward",
    "relu_forward",
    "relu_backward",
    "softmax_loss",
    "svm_loss",
    # normalisation and regularisation
    "spatial_batchnorm_forward",
    "spatial_batchnorm_backward",
    "dropout_forward",
    "dropout_backward",
    # caches and results
    "ConvCache",
    "NaiveConvCache",
    "PoolCache",
    "MaxPoolCache",
    "L2PoolCache",
    "AffineCache",
    "ReluCache",
    "BatchNormCache",
    "BatchNormResult",
    "DropoutCache",
]
