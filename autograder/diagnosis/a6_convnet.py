"""Diagnosis of assignment 6 (a complete ConvNet): public probes, known mistakes and their hints.

Every probe is public (none is a hidden case of ``solutions/a6_convnet/checks.py``: other geometries,
seeds and training subsets). References are the library's ``ConvNet`` built from a spec and its spatial
batch normalisation. Probes tagged ``"device"`` run on the GPU test double (``convlab.devicedouble``),
which refuses to mix host and device arrays as CuPy does. The training exercise is probed with a
correct network standing in for the learner's, so only the training settings are judged.
"""

import numpy as np

from autograder.diagnosis.engine import ExerciseProbes, Probe, Symptom, withholding
from convlab import devicedouble, layers
from convlab.backend import to_device, to_numpy
from convlab.data import load_digits
from convlab.models import ConvNet as LibraryConvNet
from convlab.train import check_accuracy

__all__ = ["EXERCISES"]

_MODELS = ("convlab.models.convnet.net_forward", "convlab.models.convnet.net_backward",
           "convlab.models.convnet.net_loss")
_BN = ("convlab.layers.spatial_batchnorm_forward", "convlab.layers.spatial_batchnorm_backward")
_PARAMS = ("W1", "b1", "W2", "b2", "W3", "b3")
_BN_PARAMS = ("W1", "b1", "gamma1", "beta1", "W2", "b2", "W3", "b3")
_BN_LIBRARY = {"W1": "W1", "b1": "b1", "gamma1": "gamma2", "beta1": "beta2", "W2": "W3", "b2": "b3", "W3": "W4",
               "b3": "b4"}
_GRAD_TOL = dict(rtol=1e-6, atol=1e-9)
_KINDS = {"device": "only on a device (the GPU test double)",
          "train": "only in training mode (train=True: the batch's statistics)",
          "F!=3": "only with filters other than 3x3",
          "reg>0": "only with regularisation (reg > 0)",
          "float32": "only when dtype=np.float32 is asked for"}


def _to(a, device):
    return to_device(a, devicedouble.xp) if device and isinstance(a, np.ndarray) else a


def _back(a, device):
    """A NumPy copy of ``a``; on a device only a device array counts (a host array left the device)."""
    if device and isinstance(a, np.ndarray):
        raise TypeError("a result came back as a NumPy array: some code path left the device")
    return to_numpy(a) if device else np.asarray(a)


# --- exercise 1: ConvNet (initialisation) ------------------------------------------------------------

_INITS = [  # (input_dim, K, F, hidden, classes, weight_scale, dtype, seed): >= 200 numbers per weight array
    ((1, 6, 8), 25, 3, 30, 10, 0.05, "float32", 11), ((2, 8, 4), 12, 3, 40, 6, 0.3, "float64", 12),
    ((3, 4, 4), 10, 5, 25, 8, 0.01, "float64", 13), ((4, 10, 6), 50, 1, 24, 10, 0.002, "float32", 14),
]


def _init_probes(rng):
    return [Probe(dict(input_dim=dim, num_filters=K, filter_size=F, hidden_dim=h, num_classes=n, weight_scale=s,
                       dtype=dt, seed=seed), (dt,))
            for dim, K, F, h, n, s, dt, seed in _INITS]


def _describe(array, scale):
    """What the grader judges of one initial parameter: shape, dtype, zeros or the spread of its values."""
    if not isinstance(array, np.ndarray):
        return f"a {type(array).__name__}"
    values = array.astype(np.float64)
    if scale == 0:
        spread = "zeros" if not values.any() else "not zeros"
    else:
        ratio = values.std() / scale
        spread = "std ~ weight_scale" if 0.7 < ratio < 1.3 else f"std {ratio:.2g} x weight_scale"
    return f"{array.shape} {array.dtype} {spread}"


def _init_call(fn, c):
    net = fn(input_dim=tuple(c.input_dim), num_filters=c.num_filters, filter_size=c.filter_size,
             hidden_dim=c.hidden_dim, num_classes=c.num_classes, weight_scale=c.weight_scale,
             dtype=getattr(np, c.dtype), seed=c.seed)
    return tuple(_describe(net.params.get(k), c.weight_scale if k[0] == "W" else 0) for k in _PARAMS)


def _init_reference(c):
    C, H, W = c.input_dim
    K, F = c.num_filters, c.filter_size
    shapes = [(K, C, F, F), (K,), (K * (H // 2) * (W // 2), c.hidden_dim), (c.hidden_dim,),
              (c.hidden_dim, c.num_classes), (c.num_classes,)]
    return tuple(f"{shape} {c.dtype} {'std ~ weight_scale' if len(shape) > 1 else 'zeros'}" for shape in shapes)


def _nonzero_biases(entries, got, want):
    return any(g.endswith("not zeros") for g, w in zip(got, want) if w.endswith("zeros"))


CONVNET_INIT = ExerciseProbes(
    cell="convnet",
    function="ConvNet",
    call=_init_call,
    reference=_init_reference,
    probes=_init_probes,
    components=_PARAMS,
    symptoms=(Symptom("nonzero-biases", _nonzero_biases),),
    kinds=_KINDS,
    hints={
        "nonzero-biases": "only the weights are drawn (mean 0, standard deviation weight_scale); every bias "
                          "starts at 0",
        "float32": "every parameter must have the dtype asked for: convert the drawn weights and create the "
                   "biases in that dtype",
    },
    withhold=_MODELS,
)


# --- exercise 1: ConvNet (scores, loss and gradients) --------------------------------------------------

_NETS = [  # (N, C, H, W, K, F, hidden, classes, reg, device)
    (2, 1, 6, 4, 3, 3, 5, 4, 0.0, False), (3, 2, 4, 6, 2, 3, 4, 3, 0.2, False),
    (2, 2, 6, 6, 3, 1, 6, 5, 0.0, False), (1, 3, 8, 4, 2, 5, 3, 3, 0.1, False),
    (2, 1, 4, 4, 2, 3, 3, 4, 0.0, True), (2, 2, 6, 4, 3, 3, 4, 3, 0.3, True),
]


def _net_entries(rng, N, C, H, W, K, F, hidden, classes, reg, *, bn=False):
    D = K * (H // 2) * (W // 2)
    entries = dict(X=rng.standard_normal((N, C, H, W)), y=rng.integers(0, classes, N),
                   W1=np.sqrt(2.0 / (C * F * F)) * rng.standard_normal((K, C, F, F)), b1=0.5 * rng.standard_normal(K))
    if bn:
        entries.update(gamma1=1.0 + 0.3 * rng.standard_normal(K), beta1=0.5 * rng.standard_normal(K),
                       running_mean=rng.standard_normal(K), running_var=rng.uniform(0.5, 2.0, K))
    entries.update(W2=np.sqrt(2.0 / D) * rng.standard_normal((D, hidden)), b2=0.5 * rng.standard_normal(hidden),
                   W3=np.sqrt(2.0 / hidden) * rng.standard_normal((hidden, classes)),
                   b3=0.5 * rng.standard_normal(classes), reg=reg)
    return entries


def _net_tags(N, F, reg, device):
    tags = ["F!=3" if F != 3 else "F3", "reg>0" if reg else "reg0", "device" if device else "host"]
    if N > 1:
        tags.append("batch>1")
    return tags


def _net_probes(rng):
    return [Probe(dict(_net_entries(rng, N, C, H, W, K, F, hidden, classes, reg), device=device),
                  tuple(_net_tags(N, F, reg, device)))
            for N, C, H, W, K, F, hidden, classes, reg, device in _NETS]


def _answers(cls, c, names, state=None):
    """Test-mode scores, then one training call's loss, gradients [and running statistics], as NumPy;
    the library's ConvNet is withheld while the learner's net runs."""
    K, _, F, _ = c.W1.shape
    hidden, classes = c.W3.shape
    net = cls(input_dim=c.X.shape[1:], num_filters=K, filter_size=F, hidden_dim=hidden, num_classes=classes,
              reg=c.reg, dtype=np.float64)
    net.params = {k: _to(c[k], c.device) for k in names}
    if state is not None:
        net.state = {k: _to(v, c.device) for k, v in state.items()}
    X, y = _to(c.X, c.device), _to(c.y, c.device)
    with withholding(_MODELS):  # as in the grader's copy of the library: no library ConvNet runs
        scores = _back(net.loss(X), c.device)
        loss, grads = net.loss(X, y)
    answers = (scores, float(loss), *(_back(grads[k], c.device) for k in names))
    if state is not None:
        answers += tuple(_back(net.state[k], c.device) for k in ("running_mean", "running_var"))
    return answers


def _library_net(c, *, relu=True, bn=False):
    K, C, F, _ = c.W1.shape
    hidden, classes = c.W3.shape
    middle = "relu " if relu else ""
    if not bn:
        return LibraryConvNet(f"conv{F}-{K} relu pool2 fc{hidden} {middle}fc{classes}", c.X.shape[1:], reg=c.reg,
                              dtype=np.float64, params={k: c[k] for k in _PARAMS})
    return LibraryConvNet(f"conv{F}-{K} bn relu pool2 fc{hidden} relu fc{classes}", c.X.shape[1:], reg=c.reg,
                          dtype=np.float64, params={_BN_LIBRARY[k]: c[k] for k in _BN_PARAMS},
                          state={"running_mean2": c.running_mean, "running_var2": c.running_var})


def _net_reference(c):
    net = _library_net(c)
    loss, grads = net.loss(c.X, c.y)
    return (net.loss(c.X), loss, *(grads[k] for k in _PARAMS))


class _Entries(dict):
    """A dict whose keys read as attributes, as a probe's ``Case`` does."""

    __getattr__ = dict.__getitem__


def _no_hidden_relu(entries, got, want):
    return np.allclose(got[0], _library_net(_Entries(entries), relu=False).loss(entries["X"]))


def _squares(entries, names):
    return 0.5 * entries["reg"] * sum(float((entries[k] ** 2).sum()) for k in names)


def _reg_on_biases(entries, got, want):
    extra = _squares(entries, ("b1", "b2", "b3"))
    return extra > 0 and np.isclose(got[1], want[1] + extra)


def _reg_without_half(entries, got, want):
    extra = _squares(entries, ("W1", "W2", "W3"))
    return extra > 0 and np.isclose(got[1], want[1] + extra)


CONVNET_LOSS = ExerciseProbes(
    cell="convnet",
    function="ConvNet",
    call=lambda fn, c: _answers(fn, c, _PARAMS),
    reference=_net_reference,
    probes=_net_probes,
    components=("scores", "loss", *(f"d{k}" for k in _PARAMS)),
    symptoms=(Symptom("no-hidden-relu", _no_hidden_relu), Symptom("reg-on-biases", _reg_on_biases),
              Symptom("reg-without-half", _reg_without_half)),
    kinds=_KINDS,
    hints={
        "no-hidden-relu": "the scores are those of a net without the RELU between the two FC layers: "
                          "affine - relu - affine, forward and backward",
        "reg-on-biases": "the L2 penalty covers the weights W1, W2, W3 only, not the biases (in the loss and "
                         "in the gradients)",
        "reg-without-half": "the penalty is 0.5 * reg * sum(W**2), whose gradient is reg * W: the loss lacks "
                            "the 1/2 its gradients assume",
        "F!=3": "'same' padding depends on the filter: P = (F - 1) // 2, 0 for 1x1 and 2 for 5x5 filters",
        "reg>0": "check the L2 penalty: 0.5 * reg * sum(W**2) over W1, W2, W3, and reg * W in each gradient",
        "device": "on a GPU np.sum, np.sqrt, ... refuse device arrays: use the arrays' own methods ((w * w).sum()) "
                  "or xp = get_array_module(x)",
        "withheld": "write the forward and backward passes with the layers; the library's ConvNet is not in "
                    "the grader's copy of the library",
    },
    **_GRAD_TOL,
    withhold=_MODELS,
)


# --- exercise 2: training ----------------------------------------------------------------------------

class _CorrectConvNet(LibraryConvNet):
    """The exercise-1 interface on the library's ConvNet: stands in for the learner's while training is
    probed, so a mistake in ConvNet does not show up as one in the training settings."""

    def __init__(self, input_dim=(1, 8, 8), num_filters=16, filter_size=3, hidden_dim=64, num_classes=10, *,
                 weight_scale=1e-2, reg=0.0, dtype=np.float32, seed=0):
        spec = f"conv{filter_size}-{num_filters} relu pool2 fc{hidden_dim} relu fc{num_classes}"
        super().__init__(spec, tuple(input_dim), reg=reg, dtype=dtype, seed=seed)
        rng = np.random.default_rng(seed)
        self.params = {k: (weight_scale * rng.standard_normal(v.shape) if k[0] == "W" else np.zeros(v.shape))
                       .astype(self.dtype) for k, v in self.params.items()}


def _digits():
    return load_digits()


def _overfit_probes(rng):
    return [Probe(dict(seed=seed), ()) for seed in (1, 2)]


def _overfit_call(fn, c):
    data = _digits()
    small = {"X_train": data["X_train"][:50], "y_train": data["y_train"][:50], "X_val": data["X_train"][:50],
             "y_val": data["y_train"][:50]}
    net, _ = fn(small, seed=c.seed)
    return min(check_accuracy(net, small["X_train"], small["y_train"]), 1.0)


def _digits_call(fn, c):
    data = _digits()
    net, _ = fn(data, seed=c.seed)
    return min(round(check_accuracy(net, data["X_test"], data["y_test"]), 4), 0.97)


def _undertrained(entries, got, want):
    return isinstance(got, float) and got < want


_TRAINING_HINTS = {
    "undertrained": "training stops before the net is good enough: give it more epochs (and check the update "
                    "rule and learning rate: adam at about 1e-3 to 5e-3 suits these nets)",
    "withheld": "build your own ConvNet from exercise 1; the library's ConvNet is not in the grader's copy of "
                "the library",
}

OVERFIT = ExerciseProbes(
    cell="training",
    function="overfit_small_data",
    call=_overfit_call,
    reference=lambda c: 1.0,
    probes=_overfit_probes,
    symptoms=(Symptom("undertrained", _undertrained),),
    hints=_TRAINING_HINTS,
    stand_ins={"ConvNet": _CorrectConvNet},
    withhold=_MODELS,
)

TRAIN_DIGITS = ExerciseProbes(
    cell="training",
    function="train_digits",
    call=_digits_call,
    reference=lambda c: 0.97,
    probes=lambda rng: [Probe(dict(seed=3), ())],
    symptoms=(Symptom("undertrained", _undertrained),),
    hints=_TRAINING_HINTS,
    stand_ins={"ConvNet": _CorrectConvNet},
    withhold=_MODELS,
)


# --- exercise 3: spatial batch normalisation -----------------------------------------------------------

_BN_SHAPES = [  # (N, C, H, W, train, device)
    (3, 2, 4, 5, True, False), (2, 3, 3, 3, False, False), (4, 1, 2, 6, True, False), (2, 4, 3, 2, True, True),
    (3, 2, 2, 4, False, True),
]


def _bn_probes(rng, backward=False):
    probes = []
    for N, C, H, W, train, device in _BN_SHAPES:
        if backward and device:
            continue
        shift, scale = rng.standard_normal(C), rng.uniform(0.5, 2.5, C)
        x = shift[None, :, None, None] + scale[None, :, None, None] * rng.standard_normal((N, C, H, W))
        entries = dict(x=x, gamma=rng.standard_normal(C), beta=rng.standard_normal(C), train=train,
                       running_mean=rng.standard_normal(C), running_var=rng.uniform(0.5, 2.0, C),
                       momentum=float(rng.uniform(0.6, 0.95)), eps=float(10 ** rng.uniform(-5, -3)), device=device)
        if backward:
            out = layers.spatial_batchnorm_forward(x, entries["gamma"], entries["beta"], train=train,
                                                   running_mean=entries["running_mean"],
                                                   running_var=entries["running_var"], eps=entries["eps"])
            xhat, _, inv_std, _ = out[1]
            entries.update(dout=rng.standard_normal((N, C, H, W)), xhat=xhat, std=1.0 / inv_std)
        probes.append(Probe(entries, ("train" if train else "test", "device" if device else "host")))
    return probes


def _bn_forward_call(fn, c):
    d = c.device
    out, _, mean, var = fn(_to(c.x, d), _to(c.gamma, d), _to(c.beta, d), train=c.train,
                           running_mean=_to(c.running_mean, d), running_var=_to(c.running_var, d),
                           momentum=c.momentum, eps=c.eps)
    return _back(out, d), _back(mean, d), _back(var, d)


def _bn_forward_reference(c):
    out, _, mean, var = layers.spatial_batchnorm_forward(c.x, c.gamma, c.beta, train=c.train,
                                                         running_mean=c.running_mean, running_var=c.running_var,
                                                         momentum=c.momentum, eps=c.eps)
    return out, mean, var


def _momentum_swapped(entries, got, want):
    m, x = entries["momentum"], entries["x"]
    mu = x.mean(axis=(0, 2, 3))
    return bool(entries["train"]) and np.allclose(got[1], (1 - m) * entries["running_mean"] + m * mu)


def _unbiased_variance(entries, got, want):
    m, x = entries["momentum"], entries["x"]
    var = x.var(axis=(0, 2, 3), ddof=1)
    return bool(entries["train"]) and np.allclose(got[2], m * entries["running_var"] + (1 - m) * var)


SPATIAL_BN_FORWARD = ExerciseProbes(
    cell="spatial_batchnorm",
    function="spatial_batchnorm_forward",
    call=_bn_forward_call,
    reference=_bn_forward_reference,
    probes=_bn_probes,
    components=("out", "running_mean", "running_var"),
    symptoms=(Symptom("momentum-swapped", _momentum_swapped), Symptom("unbiased-variance", _unbiased_variance)),
    kinds=_KINDS,
    hints={
        "momentum-swapped": "momentum weighs the old running value: new = momentum * running + (1 - momentum) "
                            "* batch statistic",
        "unbiased-variance": "batchnorm's variance is the biased one: divide by M = N*H*W, not M - 1",
        "device": "on a GPU np.sqrt, np.mean, ... refuse device arrays: take xp = get_array_module(x) and use "
                  "xp.sqrt",
        "train": "in training, normalise with this batch's mean and variance over N, H and W, per channel",
        "withheld": "write the normalisation yourself; the library's batchnorm is not in the grader's copy of "
                    "the library",
    },
    withhold=_BN,
)


def _bn_backward_reference(c):
    _, cache, _, _ = layers.spatial_batchnorm_forward(c.x, c.gamma, c.beta, train=c.train,
                                                      running_mean=c.running_mean, running_var=c.running_var,
                                                      eps=c.eps)
    return layers.spatial_batchnorm_backward(c.dout, cache)


SPATIAL_BN_BACKWARD = ExerciseProbes(
    cell="spatial_batchnorm",
    function="spatial_batchnorm_backward",
    call=lambda fn, c: fn(c.dout, (c.xhat, c.gamma, c.std, c.train)),
    reference=_bn_backward_reference,
    probes=lambda rng: _bn_probes(rng, backward=True),
    components=("dx", "dgamma", "dbeta"),
    kinds=_KINDS,
    hints={
        "train": "in training the batch mean and variance depend on x too: dx has two more paths, through the "
                 "mean and through the variance (at test time they are constants)",
        "wrong:dx": "dx is wrong while dgamma and dbeta are right: follow x through xhat, the mean and the "
                    "variance",
    },
    **_GRAD_TOL,
    withhold=_BN,
)


# --- exercise 4: BatchNormConvNet ----------------------------------------------------------------------

_BN_NETS = [  # (N, C, H, W, K, F, hidden, classes, reg, device)
    (3, 1, 6, 4, 3, 3, 5, 4, 0.1, False), (4, 2, 4, 6, 2, 1, 4, 3, 0.0, False), (3, 2, 4, 4, 2, 3, 3, 3, 0.2, True),
]


def _bn_net_probes(rng):
    return [Probe(dict(_net_entries(rng, N, C, H, W, K, F, hidden, classes, reg, bn=True), device=device),
                  tuple(_net_tags(N, F, reg, device)))
            for N, C, H, W, K, F, hidden, classes, reg, device in _BN_NETS]


def _bn_net_call(fn, c):
    return _answers(fn, c, _BN_PARAMS, {"running_mean": c.running_mean, "running_var": c.running_var})


def _bn_net_reference(c):
    net = _library_net(c, bn=True)
    scores = net.loss(c.X)
    loss, grads = net.loss(c.X, c.y)
    return (scores, loss, *(grads[_BN_LIBRARY[k]] for k in _BN_PARAMS), net.state["running_mean2"],
            net.state["running_var2"])


def _state_not_kept(entries, got, want):
    return np.allclose(got[-2], entries["running_mean"]) and np.allclose(got[-1], entries["running_var"])


BN_CONVNET = ExerciseProbes(
    cell="bn_convnet",
    function="BatchNormConvNet",
    call=_bn_net_call,
    reference=_bn_net_reference,
    probes=_bn_net_probes,
    components=("scores", "loss", *(f"d{k}" for k in _BN_PARAMS), "running_mean", "running_var"),
    symptoms=(Symptom("state-not-kept", _state_not_kept),),
    kinds=_KINDS,
    hints={
        "state-not-kept": "a training call must leave the new running statistics in self.state (the Solver "
                          "saves state with the best parameters)",
        "wrong:scores": "the test-mode scores are wrong while the training call is right: loss(X) without "
                        "labels normalises with the running statistics (train=False) and leaves them alone",
        "reg>0": "the L2 penalty stays on W1, W2, W3: not on gamma1, beta1 or the biases",
    },
    stand_ins={"spatial_batchnorm_forward": layers.spatial_batchnorm_forward,
               "spatial_batchnorm_backward": layers.spatial_batchnorm_backward},
    **_GRAD_TOL,
    withhold=_MODELS + _BN,
)

EXERCISES = [CONVNET_INIT, CONVNET_LOSS, OVERFIT, TRAIN_DIGITS, SPATIAL_BN_FORWARD, SPATIAL_BN_BACKWARD, BN_CONVNET]
