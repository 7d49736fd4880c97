"""Pictures of ConvNets: filter grids, activation maps, training curves, volume diagrams.

Every function builds a :class:`matplotlib.figure.Figure` directly (no pyplot), so
it works headless and leaves no global figure state behind; in JupyterLab the
returned figure displays itself. Pass ``save="path.png"`` to also write the figure
(parent folders are created). Arrays may live on any device; they are copied to
the host for drawing.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Polygon
from matplotlib.ticker import MaxNLocator

from convlab.backend import to_numpy

__all__ = ["tile_images", "filter_grid", "activation_maps", "training_curves", "volume_diagram", "save_figure"]


def save_figure(fig: Figure, save, dpi: int = 100) -> Figure:
    """Write ``fig`` to ``save`` (if not None), creating parent folders; returns ``fig``."""
    if save is not None:
        path = Path(save)
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=dpi, bbox_inches="tight")
    return fig


def _normalise(a):
    """Scale to [0, 1] (a constant array becomes 0.5)."""
    lo, hi = float(a.min()), float(a.max())
    return np.full_like(a, 0.5) if hi == lo else (a - lo) / (hi - lo)


def tile_images(images, ncols=None, padding: int = 1, normalise_each: bool = True):
    """Lay out n images (n, H, W) or (n, H, W, 3) in a grid with ``padding`` pixels of gap.

    Each image is scaled to [0, 1] separately (``normalise_each``) or all together.
    Returns the grid (rows*(H+p)-p, cols*(W+p)-p[, 3]); gaps are set to 1 (white).
    """
    images = np.asarray(images, dtype=np.float64)
    n, H, W = images.shape[:3]
    if n == 0:
        raise ValueError("no images to tile")
    ncols = ncols or math.ceil(math.sqrt(n))
    nrows = math.ceil(n / ncols)
    images = np.stack([_normalise(im) for im in images]) if normalise_each else _normalise(images)
    grid = np.ones((nrows * (H + padding) - padding, ncols * (W + padding) - padding) + images.shape[3:])
    for i, im in enumerate(images):
        r, c = divmod(i, ncols)
        grid[r * (H + padding):r * (H + padding) + H, c * (W + padding):c * (W + padding) + W] = im
    return grid


def filter_grid(w, *, title: str | None = None, save=None, ncols=None, cmap: str = "gray") -> Figure:
    """First-layer filters as images: w (K, C, FH, FW).

    C == 3 draws each filter as an RGB tile; C == 1 as a grey tile; other depths
    draw one grey tile per (filter, channel), a row per filter.
    """
    w = to_numpy(w)
    if w.ndim != 4:
        raise ValueError(f"filters must be (K, C, FH, FW), got shape {w.shape}")
    K, C, FH, FW = w.shape
    if C == 3:
        tiles, ncols = w.transpose(0, 2, 3, 1), ncols  # (K, FH, FW, 3)
    elif C == 1:
        tiles = w[:, 0]  # (K, FH, FW)
    else:
        tiles, ncols = w.reshape(K * C, FH, FW), C  # (K*C, FH, FW), one row per filter
    grid = tile_images(tiles, ncols=ncols)
    fig = Figure(figsize=(max(3, grid.shape[1] / 8), max(3, grid.shape[0] / 8)))
    ax = fig.add_subplot()
    ax.imshow(grid, cmap=None if C == 3 else cmap, interpolation="nearest")
    ax.set_axis_off()
    ax.set_title(title or f"{K} filters of {FH}x{FW}x{C}")
    return save_figure(fig, save)


def activation_maps(a, *, sample: int = 0, max_maps: int | None = 32, title: str | None = None,
                    save=None, cmap: str = "viridis") -> Figure:
    """One panel per depth slice of an activation volume: a (N, C, H, W) (uses ``sample``) or (C, H, W)."""
    a = to_numpy(a)
    if a.ndim == 4:
        a = a[sample]
    if a.ndim != 3:
        raise ValueError(f"activations must be (N, C, H, W) or (C, H, W), got shape {a.shape}")
    C = a.shape[0] if max_maps is None else min(a.shape[0], max_maps)
    ncols = math.ceil(math.sqrt(C))
    nrows = math.ceil(C / ncols)
    fig = Figure(figsize=(1.6 * ncols, 1.6 * nrows + 0.4))
    axes = fig.subplots(nrows, ncols, squeeze=False)
    for d, ax in enumerate(axes.flat):
        ax.set_axis_off()
        if d < C:
            ax.imshow(a[d], cmap=cmap, interpolation="nearest")
            ax.set_title(f"depth {d}", fontsize=8)
    fig.suptitle(title or f"activation maps ({a.shape[0]} depth slices of {a.shape[1]}x{a.shape[2]})")
    return save_figure(fig, save)


def training_curves(history, *, title: str | None = None, save=None) -> Figure:
    """Loss per iteration (with a moving average) and train/val accuracy per epoch.

    ``history`` is a Solver's history dict (keys ``loss``, ``train_acc``, ``val_acc``).
    """
    loss = np.asarray(history.get("loss", []), dtype=np.float64)
    train_acc = list(history.get("train_acc", []))
    val_acc = list(history.get("val_acc", []))
    fig = Figure(figsize=(10, 3.8))
    ax_loss, ax_acc = fig.subplots(1, 2)
    if loss.size:
        ax_loss.plot(np.arange(1, loss.size + 1), loss, ".", ms=2, alpha=0.4, label="batch loss")
        window = max(1, loss.size // 25)
        if window > 1:
            smooth = np.convolve(loss, np.ones(window) / window, mode="valid")
            ax_loss.plot(np.arange(window, loss.size + 1), smooth, "-", label=f"mean of {window}")
        ax_loss.legend()
    ax_loss.set(xlabel="iteration", ylabel="loss", title="training loss")
    epochs = np.arange(1, len(train_acc) + 1)
    if train_acc:
        ax_acc.plot(epochs, train_acc, "o-", label="train")
    if val_acc:
        ax_acc.plot(np.arange(1, len(val_acc) + 1), val_acc, "s-", label="val")
    if train_acc or val_acc:
        ax_acc.legend()
    ax_acc.set(xlabel="epoch", ylabel="accuracy", title="accuracy")
    ax_acc.xaxis.set_major_locator(MaxNLocator(integer=True))
    if title:
        fig.suptitle(title)
    return save_figure(fig, save)


def _box(ax, x, depth, height, label, sublabel, color):
    """A volume drawn as a box: front face ``depth`` wide and ``height`` tall, with a slanted top/side."""
    dx, dy = 0.35 * height, 0.25 * height
    front = [(x, 0), (x + depth, 0), (x + depth, height), (x, height)]
    top = [(x, height), (x + depth, height), (x + depth + dx, height + dy), (x + dx, height + dy)]
    side = [(x + depth, 0), (x + depth + dx, dy), (x + depth + dx, height + dy), (x + depth, height)]
    for poly, shade in ((front, 1.0), (top, 0.85), (side, 0.7)):
        rgb = tuple(min(1.0, c * shade) for c in color)
        ax.add_patch(Polygon(poly, closed=True, facecolor=rgb, edgecolor="black", linewidth=0.6))
    ax.text(x + depth / 2, -0.6, label, ha="center", va="top", fontsize=8, rotation=45)
    ax.text(x + depth / 2 + dx / 2, height + dy + 0.2, sublabel, ha="center", va="bottom", fontsize=7)
    return x + depth + dx


def _layer_kind(token: str) -> str:
    """'input', 'conv', 'pool', 'fc', 'res', 'relu', 'bn' or 'dropout' for a spec token (avgpool3 -> pool)."""
    if "pool" in token:
        return "pool"
    for kind in ("input", "conv", "fc", "res", "relu", "bn", "dropout"):
        if token.startswith(kind):
            return kind
    return "conv"


def volume_diagram(net, input_shape=None, *, skip_elementwise: bool = True, title: str | None = None,
                   save=None) -> Figure:
    """Boxes for the output volume of every layer, the way the notes draw a ConvNet.

    ``net`` is a ConvNet, a spec string (then give ``input_shape``) or a list of
    summary rows. A box's height grows with the spatial size and its width with the
    depth (both on a log scale, so 224x224x3 and 7x7x512 fit on one page).
    ``skip_elementwise`` leaves out layers that keep their input volume (relu, bn, dropout).
    """
    from convlab.models import ConvNet, summarize  # noqa: PLC0415 - viz sits above models

    if isinstance(net, ConvNet):
        rows = net.summary(show=False)
    elif isinstance(net, str):
        if input_shape is None:
            raise ValueError("a spec string needs input_shape")
        rows = summarize(net, input_shape)
    else:
        rows = list(net)
    if skip_elementwise:
        rows = [r for r in rows if _layer_kind(r.layer) not in ("relu", "bn", "dropout")]
    colors = {"input": (0.75, 0.75, 0.75), "conv": (0.55, 0.75, 0.95), "pool": (0.95, 0.75, 0.45),
              "fc": (0.6, 0.85, 0.6), "res": (0.8, 0.65, 0.9), "relu": (0.95, 0.6, 0.6),
              "bn": (0.95, 0.9, 0.5), "dropout": (0.85, 0.85, 0.85)}
    fig = Figure(figsize=(max(6, 1.3 * len(rows)), 4))
    ax = fig.add_subplot()
    x = 0.0
    for r in rows:
        if len(r.shape) == 3:
            C, H, W = r.shape
            spatial = max(H, W)
        else:
            C, H, W, spatial = r.shape[0], 1, 1, 1
        height = 1 + 1.5 * math.log2(spatial + 1)
        depth = 0.3 + 0.35 * math.log2(C + 1)
        kind = _layer_kind(r.layer)
        x = _box(ax, x, depth, height, r.layer, f"{H}x{W}x{C}", colors[kind]) + 0.6
    ax.set_xlim(-0.5, x + 0.5)
    ax.set_ylim(-4, 16)
    ax.set_aspect("equal")
    ax.set_axis_off()
    ax.set_title(title or "output volume of each layer (H x W x D)")
    return save_figure(fig, save)
