"""A test double for a GPU array library: NumPy underneath, CuPy's manners on top.

CuPy arrays refuse to turn into NumPy arrays implicitly: ``np.asarray(gpu)``,
``np.add(host, gpu)`` and ``host + gpu`` raise ``TypeError``, and the only ways
across are explicit (``gpu.get()``, ``cupy.asarray(host)``). Code that mixes the
two by accident therefore works on a laptop and breaks on the GPU machine. This
module lets the test suite catch that on a machine with no GPU:

    from convlab.devicedouble import xp            # the namespace, like ``cupy``
    x = xp.asarray(np.ones((2, 3)))                # explicit host -> "device"
    y = xp.exp(x).sum(axis=1)                      # DeviceArray, shape (2,)
    y.get()                                        # explicit "device" -> host
    np.asarray(y)                                  # TypeError, as with CuPy

:class:`DeviceArray` supports operators, indexing, the common methods and
Python scalars / 0-d values as operands; any NumPy array with ``ndim > 0``
meeting a DeviceArray raises ``TypeError``. The namespace :data:`xp` covers the
part of the NumPy API a layer library uses; anything else raises
``AttributeError`` naming the missing function instead of quietly handing back
NumPy arrays.
"""

from __future__ import annotations

import numbers

import numpy as np
from numpy.lib import stride_tricks as _np_stride_tricks

__all__ = ["DeviceArray", "DeviceNamespace", "xp"]

_MIX_MESSAGE = (
    "a NumPy (host) array of shape {shape} met a device array; move it explicitly "
    "(xp.asarray(host) or convlab.backend.to_device) first"
)


def _refuse_host(a):
    raise TypeError(_MIX_MESSAGE.format(shape=a.shape))


def _unwrap(value):
    """Replace DeviceArrays by their NumPy buffers, recursively; refuse host arrays.

    Python scalars, NumPy scalars, 0-d NumPy arrays, None, slices, dtypes and
    strings pass through unchanged, as CuPy accepts them.
    """
    if isinstance(value, DeviceArray):
        return value._a
    if isinstance(value, np.ndarray):
        if value.ndim > 0:
            _refuse_host(value)
        return value
    if isinstance(value, tuple):
        return tuple(_unwrap(v) for v in value)
    if isinstance(value, list):
        return [_unwrap(v) for v in value]
    if isinstance(value, dict):
        return {k: _unwrap(v) for k, v in value.items()}
    return value


def _wrap(value):
    """Wrap NumPy results (arrays and scalars, also inside tuples/lists) as DeviceArrays."""
    if isinstance(value, np.ndarray):
        return DeviceArray(value)
    if isinstance(value, np.generic):
        return DeviceArray(np.asarray(value))  # CuPy returns 0-d arrays, not scalars
    if isinstance(value, tuple):
        return tuple(_wrap(v) for v in value)
    if isinstance(value, list):
        return [_wrap(v) for v in value]
    return value


def _operand(other):
    """An operand of a binary operator: a DeviceArray or a scalar; ``None`` if unsupported."""
    if isinstance(other, DeviceArray):
        return other._a
    if isinstance(other, np.ndarray):
        if other.ndim > 0:
            _refuse_host(other)
        return other
    if isinstance(other, (numbers.Number, np.generic)):
        return other
    return None


def _binary(op):
    def forward(self, other):
        o = _operand(other)
        if o is None:
            return NotImplemented
        return _wrap(op(self._a, o))

    def reflected(self, other):
        o = _operand(other)
        if o is None:
            return NotImplemented
        return _wrap(op(o, self._a))

    def inplace(self, other):
        o = _operand(other)
        if o is None:
            return NotImplemented
        op(self._a, o, out=self._a)
        return self

    return forward, reflected, inplace


def _method(name):
    def call(self, *args, **kwargs):
        return _wrap(getattr(self._a, name)(*_unwrap(args), **_unwrap(kwargs)))

    call.__name__ = name
    call.__doc__ = f"Like ``numpy.ndarray.{name}``; returns DeviceArrays."
    return call


class DeviceArray:
    """An array "on the device": a NumPy buffer that refuses implicit conversion to NumPy.

    Build one with ``xp.asarray(host_array)``; read it back with :meth:`get`.
    Indexing returns views (as NumPy and CuPy do), so in-place updates of a
    slice change the parent array.
    """

    __slots__ = ("_a",)
    __array_ufunc__ = None  # NumPy ufuncs and ndarray operators refuse DeviceArrays
    __hash__ = None
    device = "double"

    def __init__(self, buffer: np.ndarray):
        if not isinstance(buffer, np.ndarray):
            raise TypeError("DeviceArray wraps a NumPy array; use xp.asarray() to create one")
        self._a = buffer

    # --- refusing implicit conversion (the point of the double) -------------
    def __array__(self, dtype=None, copy=None):
        raise TypeError(
            "Implicit conversion to a NumPy array is not allowed for a DeviceArray. "
            "Please use `.get()` (or convlab.backend.to_numpy) to construct a NumPy array explicitly."
        )

    def __array_function__(self, func, types, args, kwargs):
        return NotImplemented  # NumPy then raises TypeError naming the function

    def __array_namespace__(self, api_version=None):
        return xp

    # --- explicit transfer and Python scalars ------------------------------
    def get(self) -> np.ndarray:
        """A NumPy copy of the data (CuPy's device -> host transfer)."""
        return self._a.copy()

    def _scalar(self, kind):
        if self._a.size != 1:
            raise TypeError(f"only size-1 arrays can be converted to Python {kind}, got shape {self._a.shape}")
        return self._a.reshape(()).item()

    def item(self, *args):
        if args:
            return self._a.item(*args)
        if self._a.size != 1:
            raise ValueError(f"can only convert an array of size 1 to a Python scalar, got shape {self._a.shape}")
        return self._a.item()

    def __float__(self):
        return float(self._scalar("float"))

    def __int__(self):
        return int(self._scalar("int"))

    def __complex__(self):
        return complex(self._scalar("complex"))

    def __bool__(self):
        if self._a.size != 1:
            raise ValueError(
                f"the truth value of an array with {self._a.size} elements is ambiguous; use .any() or .all()"
            )
        return bool(self._a.reshape(()).item())

    def tolist(self):
        return self._a.tolist()

    # --- attributes ---------------------------------------------------------
    @property
    def shape(self) -> tuple:
        return self._a.shape

    @property
    def ndim(self) -> int:
        return self._a.ndim

    @property
    def dtype(self) -> np.dtype:
        return self._a.dtype

    @property
    def size(self) -> int:
        return self._a.size

    @property
    def strides(self) -> tuple:
        return self._a.strides

    @property
    def itemsize(self) -> int:
        return self._a.itemsize

    @property
    def nbytes(self) -> int:
        return self._a.nbytes

    @property
    def T(self) -> DeviceArray:
        return DeviceArray(self._a.T)

    @property
    def flags(self):
        return self._a.flags

    @property
    def real(self) -> DeviceArray:
        return DeviceArray(self._a.real)

    @property
    def imag(self) -> DeviceArray:
        return DeviceArray(self._a.imag)

    # --- container protocol ------------------------------------------------
    def __len__(self) -> int:
        return len(self._a)

    def __iter__(self):
        if self._a.ndim == 0:
            raise TypeError("iteration over a 0-d array")
        for i in range(self._a.shape[0]):
            yield DeviceArray(self._a[i])

    def __getitem__(self, key):
        return _wrap(self._a[_unwrap(key)])

    def __setitem__(self, key, value):
        v = _operand(value)
        if v is None:
            v = _unwrap(value)  # e.g. a list of numbers
        self._a[_unwrap(key)] = v

    def __repr__(self) -> str:
        body = np.array2string(self._a, separator=", ", prefix="DeviceArray(")
        return f"DeviceArray({body}, dtype={self._a.dtype})"

    def __format__(self, spec) -> str:
        return format(self._a, spec)

    def __copy__(self) -> DeviceArray:
        return DeviceArray(self._a.copy())

    def __deepcopy__(self, memo) -> DeviceArray:
        return DeviceArray(self._a.copy())

    def __reduce__(self):
        return (DeviceArray, (self._a.copy(),))

    # --- unary operators -----------------------------------------------------
    def __neg__(self):
        return _wrap(np.negative(self._a))

    def __pos__(self):
        return _wrap(np.positive(self._a))

    def __abs__(self):
        return _wrap(np.abs(self._a))

    def __invert__(self):
        return _wrap(np.invert(self._a))

    # --- binary operators (defined below the class) ---------------------------
    # --- comparisons ------------------------------------------------------------
    def _compare(self, other, op):
        o = _operand(other)
        if o is None:
            return NotImplemented
        return _wrap(op(self._a, o))

    def __eq__(self, other):
        return self._compare(other, np.equal)

    def __ne__(self, other):
        return self._compare(other, np.not_equal)

    def __lt__(self, other):
        return self._compare(other, np.less)

    def __le__(self, other):
        return self._compare(other, np.less_equal)

    def __gt__(self, other):
        return self._compare(other, np.greater)

    def __ge__(self, other):
        return self._compare(other, np.greater_equal)

    # --- methods that can change the shape or dtype --------------------------
    def reshape(self, *shape, order="C"):
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return DeviceArray(self._a.reshape(shape, order=order))

    def transpose(self, *axes):
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        return DeviceArray(self._a.transpose(*axes))

    def fill(self, value):
        v = _operand(value)
        if v is None:
            raise TypeError(f"fill needs a scalar, got {type(value).__name__}")
        self._a.fill(v)


_BINARY_OPS = {
    "add": np.add,
    "sub": np.subtract,
    "mul": np.multiply,
    "truediv": np.true_divide,
    "floordiv": np.floor_divide,
    "mod": np.remainder,
    "pow": np.power,
    "matmul": np.matmul,
    "and": np.bitwise_and,
    "or": np.bitwise_or,
    "xor": np.bitwise_xor,
    "lshift": np.left_shift,
    "rshift": np.right_shift,
}
for _name, _op in _BINARY_OPS.items():
    _fwd, _ref, _inp = _binary(_op)
    setattr(DeviceArray, f"__{_name}__", _fwd)
    setattr(DeviceArray, f"__r{_name}__", _ref)
    setattr(DeviceArray, f"__i{_name}__", _inp)

_ARRAY_METHODS = (
    "astype", "copy", "ravel", "flatten", "squeeze", "swapaxes", "sum", "prod", "max", "min", "mean",
    "var", "std", "argmax", "argmin", "any", "all", "cumsum", "cumprod", "clip", "round", "dot",
    "nonzero", "repeat", "take", "sort", "argsort", "conj", "diagonal", "trace", "view",
)
for _name in _ARRAY_METHODS:
    setattr(DeviceArray, _name, _method(_name))
del _name, _op, _fwd, _ref, _inp


def _lift(func, name):
    """A namespace function: unwrap DeviceArrays (refusing host arrays), call ``func``, wrap the result."""

    def call(*args, **kwargs):
        return _wrap(func(*_unwrap(args), **_unwrap(kwargs)))

    call.__name__ = name
    call.__qualname__ = name
    call.__doc__ = f"``numpy.{name}`` on DeviceArrays (host arrays are refused)."
    return call


def _lift_creation_like(func, name):
    """``*_like`` functions: the prototype must be a DeviceArray (not a host array)."""

    def call(prototype, *args, **kwargs):
        if not isinstance(prototype, DeviceArray):
            raise TypeError(f"{name} needs a DeviceArray prototype, got {type(prototype).__name__}")
        return _wrap(func(prototype._a, *_unwrap(args), **_unwrap(kwargs)))

    call.__name__ = name
    return call


class _UFunc:
    """A NumPy ufunc on DeviceArrays: callable, plus ``at``, ``reduce``, ``accumulate``, ``outer``."""

    __slots__ = ("_ufunc", "__name__")

    def __init__(self, ufunc):
        self._ufunc = ufunc
        self.__name__ = ufunc.__name__

    def __call__(self, *args, **kwargs):
        return _wrap(self._ufunc(*_unwrap(args), **_unwrap(kwargs)))

    def at(self, target, indices, values=None):
        """Unbuffered in-place ``target[indices] op= values``: repeated indices accumulate."""
        if not isinstance(target, DeviceArray):
            raise TypeError(f"{self.__name__}.at needs a DeviceArray target, got {type(target).__name__}")
        args = (_unwrap(indices),) if values is None else (_unwrap(indices), _unwrap(values))
        self._ufunc.at(target._a, *args)

    def reduce(self, *args, **kwargs):
        return _wrap(self._ufunc.reduce(*_unwrap(args), **_unwrap(kwargs)))

    def accumulate(self, *args, **kwargs):
        return _wrap(self._ufunc.accumulate(*_unwrap(args), **_unwrap(kwargs)))

    def outer(self, *args, **kwargs):
        return _wrap(self._ufunc.outer(*_unwrap(args), **_unwrap(kwargs)))

    def __repr__(self) -> str:
        return f"<devicedouble ufunc {self.__name__}>"


class _Generator:
    """``numpy.random.Generator`` producing DeviceArrays (CuPy's ``cupy.random.Generator`` subset)."""

    __slots__ = ("_rng",)
    _METHODS = ("random", "standard_normal", "normal", "uniform", "integers", "choice", "permutation",
                "binomial", "bernoulli", "exponential", "standard_exponential", "poisson")

    def __init__(self, rng: np.random.Generator):
        self._rng = rng

    def shuffle(self, a, axis=0):
        if not isinstance(a, DeviceArray):
            raise TypeError(f"shuffle needs a DeviceArray, got {type(a).__name__}")
        self._rng.shuffle(a._a, axis=axis)

    def __getattr__(self, name):
        if name in _Generator._METHODS and hasattr(self._rng, name):
            return _lift(getattr(self._rng, name), name)
        raise AttributeError(f"convlab.devicedouble: random.Generator has no method {name!r} in the test double")


class _Submodule:
    """A read-only namespace of functions (``xp.random``, ``xp.linalg``, ``xp.lib.stride_tricks``)."""

    def __init__(self, qualname: str, members: dict):
        object.__setattr__(self, "_qualname", qualname)
        object.__setattr__(self, "_members", dict(members))

    def __getattr__(self, name):
        members = object.__getattribute__(self, "_members")
        if name in members:
            return members[name]
        qualname = object.__getattribute__(self, "_qualname")
        raise AttributeError(
            f"{qualname}.{name} is not provided by the device test double (convlab.devicedouble); "
            f"add it there if the library needs it"
        )

    def __setattr__(self, name, value):
        raise AttributeError(f"{self._qualname} is read-only")

    def __dir__(self):
        return sorted(self._members)

    def __repr__(self) -> str:
        return f"<{self._qualname}>"


def _transfer(a):
    """Data given to ``xp.asarray``/``xp.array``: host arrays are welcome here (an explicit transfer)."""
    if isinstance(a, DeviceArray):
        return a._a
    if isinstance(a, (list, tuple)):
        return [_transfer(v) for v in a]
    return a


def _asarray(a, dtype=None, order=None):
    """Explicit host -> device transfer (no copy when ``a`` already is a DeviceArray of that dtype)."""
    if isinstance(a, DeviceArray):
        return a if dtype is None or np.dtype(dtype) == a.dtype else a.astype(dtype)
    return DeviceArray(np.array(_transfer(a), dtype=dtype, order=order or "K", copy=True))


def _array(a, dtype=None, copy=True, order="K", ndmin=0):
    """Host or device data -> a new DeviceArray (a copy unless ``copy=False`` allows otherwise)."""
    return DeviceArray(np.array(_transfer(a), dtype=dtype, copy=copy, order=order, ndmin=ndmin))


def _asnumpy(a):
    """Explicit device -> host transfer (``cupy.asnumpy``)."""
    return a.get() if isinstance(a, DeviceArray) else np.asarray(a)


def _default_rng(seed=None):
    return _Generator(np.random.default_rng(seed))


def _as_strided(x, shape=None, strides=None, **kwargs):
    if not isinstance(x, DeviceArray):
        raise TypeError(f"as_strided needs a DeviceArray, got {type(x).__name__}")
    return DeviceArray(_np_stride_tricks.as_strided(x._a, shape=shape, strides=strides, **kwargs))


_UFUNCS = (
    "add", "subtract", "multiply", "divide", "true_divide", "floor_divide", "power", "remainder", "mod",
    "negative", "maximum", "minimum", "fmax", "fmin", "exp", "expm1", "exp2", "log", "log1p", "log2",
    "log10", "sqrt", "square", "abs", "absolute", "fabs", "sign", "sin", "cos", "tan", "tanh", "arctan",
    "sinh", "cosh", "floor", "ceil", "rint", "trunc", "isfinite", "isnan", "isinf", "logical_and",
    "logical_or", "logical_not", "logical_xor", "equal", "not_equal", "less", "less_equal", "greater",
    "greater_equal", "bitwise_and", "bitwise_or", "bitwise_xor", "invert", "reciprocal", "conjugate",
    "hypot", "arctan2", "copysign", "signbit",
)

_FUNCTIONS = (
    "where", "clip", "round", "sum", "prod", "max", "min", "amax", "amin", "argmax", "argmin", "mean",
    "var", "std", "median", "cumsum", "cumprod", "any", "all", "dot", "vdot", "matmul", "tensordot",
    "einsum", "outer", "inner", "kron", "reshape", "transpose", "moveaxis", "swapaxes", "rollaxis",
    "expand_dims", "squeeze", "broadcast_to", "broadcast_arrays", "atleast_1d", "atleast_2d",
    "atleast_3d", "stack", "concatenate", "vstack", "hstack", "dstack", "column_stack", "split",
    "array_split", "flip", "fliplr", "flipud", "rot90", "roll", "pad", "tile", "repeat", "take",
    "take_along_axis", "put_along_axis", "nonzero", "flatnonzero", "argwhere", "argsort", "sort",
    "unique", "allclose", "isclose", "array_equal", "count_nonzero", "diag", "diagonal", "trace",
    "tril", "triu", "ravel", "copy", "ascontiguousarray", "meshgrid", "searchsorted", "bincount",
    "histogram", "nan_to_num", "average", "percentile", "cov", "logaddexp",
)

_CREATION = ("zeros", "ones", "empty", "full", "arange", "linspace", "logspace", "eye", "identity",
             "indices", "tri")

_INDEX_FUNCTIONS = ("unravel_index", "ravel_multi_index")

_CONSTANTS_AND_TYPES = (
    "float16", "float32", "float64", "complex64", "complex128", "int8", "int16", "int32", "int64",
    "uint8", "uint16", "uint32", "uint64", "intp", "bool_", "dtype", "finfo", "iinfo", "floating",
    "integer", "signedinteger", "unsignedinteger", "number", "complexfloating", "inexact", "generic",
    "result_type", "promote_types", "can_cast", "issubdtype", "newaxis", "pi", "e", "inf", "nan",
    "euler_gamma",
)


class DeviceNamespace:
    """The double's array namespace: what ``cupy`` is to CuPy arrays, for :class:`DeviceArray`.

    Attributes are fixed at construction; unknown names raise ``AttributeError``
    naming the missing function. ``xp.ndarray`` is :class:`DeviceArray`.
    """

    __name__ = "convlab.devicedouble.xp"

    def __init__(self):
        members = {name: _UFunc(getattr(np, name)) for name in _UFUNCS}
        members.update({name: _lift(getattr(np, name), name) for name in _FUNCTIONS})
        members.update({name: _lift(getattr(np, name), name) for name in _CREATION})
        members.update({name: _lift(getattr(np, name), name) for name in _INDEX_FUNCTIONS})
        members.update({name: _lift_creation_like(getattr(np, name), name)
                        for name in ("zeros_like", "ones_like", "empty_like", "full_like")})
        members.update({name: getattr(np, name) for name in _CONSTANTS_AND_TYPES})
        members.update(
            ndarray=DeviceArray,
            asarray=_asarray,
            asanyarray=_asarray,
            array=_array,
            asnumpy=_asnumpy,
            float_=np.float64,
            random=_Submodule("convlab.devicedouble.xp.random", {
                "default_rng": _default_rng,
                "Generator": _Generator,
                # the legacy global-state functions, drawing from NumPy's global generator
                **{name: _lift(getattr(np.random, name), name)
                   for name in ("rand", "randn", "random", "random_sample", "randint", "normal",
                                "uniform", "choice", "permutation")},
            }),
            linalg=_Submodule("convlab.devicedouble.xp.linalg", {
                name: _lift(getattr(np.linalg, name), name) for name in ("norm", "inv", "solve", "svd", "det")
            }),
            lib=_Submodule("convlab.devicedouble.xp.lib", {
                "stride_tricks": _Submodule("convlab.devicedouble.xp.lib.stride_tricks", {
                    "as_strided": _as_strided,
                    "sliding_window_view": _lift(_np_stride_tricks.sliding_window_view, "sliding_window_view"),
                }),
            }),
        )
        object.__setattr__(self, "_members", members)

    def __getattr__(self, name):
        members = object.__getattribute__(self, "_members")
        if name in members:
            return members[name]
        raise AttributeError(
            f"convlab.devicedouble.xp.{name} is not provided by the device test double; "
            f"add it to convlab/devicedouble.py if the library needs it"
        )

    def __setattr__(self, name, value):
        raise AttributeError("the devicedouble namespace is read-only")

    def __dir__(self):
        return sorted(object.__getattribute__(self, "_members"))

    def __repr__(self) -> str:
        return "<array namespace convlab.devicedouble.xp>"


xp = DeviceNamespace()
"""The namespace of the double; ``get_array_module(device_array)`` returns it."""

DeviceArray.__array_namespace_owner__ = xp
