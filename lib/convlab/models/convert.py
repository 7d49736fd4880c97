"""FC -> CONV: rewrite a trained net's fully-connected layers as equivalent convolutions.

An FC layer looking at a (C, H, W) volume computes, for each output k, the dot
product of the whole volume with a weight volume of the same size: that is a CONV
layer with K filters of size H x W, stride 1 and no padding, producing 1x1xK. An FC
layer after it looks at a 1x1xD volume: a 1x1 CONV. The converted net gives the
same scores on the original input size (as a 1x1 map) and, on a larger image, a map
of scores, one per crop of the original size taken every ``total_stride`` pixels.

The map equals the crops' scores exactly when no layer before the first FC pads
(``p0``); with 'same' padding, crops see zeros at their borders where the large
image has real pixels, and only the interior agrees.
"""

from __future__ import annotations

from convlab.models.blocks import FC, Conv
from convlab.models.convnet import ConvNet

__all__ = ["fc_to_conv"]


def fc_to_conv(net: ConvNet) -> ConvNet:
    """Return a new, fully-convolutional :class:`ConvNet` computing the same function as ``net``.

    The first FC layer (input (C, H, W)) becomes ``conv{H}x{W}-{K}p0``, with weights
    ``W.T.reshape(K, C, H, W)``; each later FC layer (input (D,)) becomes ``conv1-{K}``
    with weights ``W.T.reshape(K, D, 1, 1)``. Other layers, all biases and the batchnorm
    running statistics are copied.
    Parameters keep their names, dtype and device; ``net`` is not modified.
    """
    blocks, params = [], {}
    shape_in = net.input_shape
    if len(shape_in) != 3:
        raise ValueError("fc_to_conv needs a net whose input is an image volume (C, H, W)")
    for block, in_shape, names in zip(net.blocks, [net.input_shape, *net.shapes[:-1]], net.param_names):
        if isinstance(block, FC):
            if len(in_shape) == 3:
                C, H, W = in_shape
            else:  # the output of an FC layer, now a 1x1xD volume
                C, H, W = in_shape[0], 1, 1
            blocks.append(Conv(H, W, block.k, 1, (0, 0)))
            w = net.params[names["W"]]  # (C*H*W, K)
            params[names["W"]] = w.T.reshape(block.k, C, H, W)  # (K, C*H*W) -> (K, C, H, W)
            params[names["b"]] = net.params[names["b"]]
        else:
            blocks.append(block)
            for key in names.values():
                params[key] = net.params[key]
    spec = " ".join(b.token for b in blocks)
    return ConvNet(spec, net.input_shape, reg=net.reg, dtype=net.dtype, params=params, state=net.state)
