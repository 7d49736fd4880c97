"""ConvLab: convolutional networks from the ground up, on NumPy or CuPy.

Import the submodules you need::

    from convlab import layers, shapes, gradcheck
    from convlab.backend import get_array_module

Importing ``convlab`` itself is cheap: it loads no plotting or GPU code.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
