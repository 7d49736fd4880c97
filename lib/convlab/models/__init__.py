"""ConvNets built from the lecture notes' pattern, their FC -> CONV conversion, and sizing.

- :class:`ConvNet`: a net from a spec string such as ``"[conv3-16 relu]x2 pool2 fc64 relu fc10"``
  (grammar in :mod:`convlab.models.spec`), with ``params``, ``loss(X, y=None)`` and ``summary()``
- :func:`fc_to_conv`: the same net with its FC layers turned into CONV layers
- :mod:`convlab.models.blocks`: the CONV / RELU / POOL / FC / residual / batchnorm / dropout blocks
"""

from convlab.models.blocks import FC, BatchNorm, Conv, Dropout, Pool, ReLU, Residual
from convlab.models.convert import fc_to_conv
from convlab.models.convnet import ConvNet, SummaryRow, format_summary, summarize
from convlab.models.spec import SpecError, format_spec, parse_spec

__all__ = [
    "ConvNet",
    "SummaryRow",
    "format_summary",
    "summarize",
    "fc_to_conv",
    "parse_spec",
    "format_spec",
    "SpecError",
    "Conv",
    "ReLU",
    "Pool",
    "FC",
    "Residual",
    "BatchNorm",
    "Dropout",
]
