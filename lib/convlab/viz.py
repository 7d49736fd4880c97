"""Pictures of ConvNets: filter grids, activation maps, image panels on one colour scale,
convolution windows on an input grid, training curves, volume diagrams.

Every function builds a :class:`matplotlib.figure.Figure` directly (no pyplot), so
it works headless and leaves no global figure state behind; in JupyterLab the
returned figure displays itself. Figures use matplotlib's constrained layout, so
titles, colorbars and legends get their own room instead of overlapping the
pictures. Pass ``save="path.png"`` to also write the figure (parent folders are
created). Arrays may live on any device; they are copied to the host for drawing.
"""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib
import numpy as np
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.patches import Polygon, Rectangle
from matplotlib.ticker import MaxNLocator

from convlab.backend import to_numpy

__all__ = ["tile_images", "filter_grid", "image_panels", "activation_maps", "conv_windows", "training_curves",
           "volume_diagram", "save_figure"]


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


def tile_images(images, ncols=None, padding: int = 1, normalise: str | None = "each"):
    """Lay out n images (n, H, W) or (n, H, W, 3) in a grid with ``padding`` pixels of gap.

    ``normalise``: ``"each"`` scales every image to [0, 1] separately, ``"all"`` scales them
    together, ``None`` keeps the values (for a plot with a colour scale).
    Returns the grid (rows*(H+p)-p, cols*(W+p)-p[, 3]); gaps are 1 (white) when scaled,
    NaN (drawn in the colour map's "bad" colour) when the values are kept.
    """
    images = np.asarray(images, dtype=np.float64)
    n, H, W = images.shape[:3]
    if n == 0:
        raise ValueError("no images to tile")
    if normalise not in ("each", "all", None):
        raise ValueError(f"normalise must be 'each', 'all' or None, got {normalise!r}")
    ncols = ncols or math.ceil(math.sqrt(n))
    nrows = math.ceil(n / ncols)
    if normalise == "each":
        images = np.stack([_normalise(im) for im in images])
    elif normalise == "all":
        images = _normalise(images)
    grid = np.full((nrows * (H + padding) - padding, ncols * (W + padding) - padding) + images.shape[3:],
                   1.0 if normalise else np.nan)
    for i, im in enumerate(images):
        r, c = divmod(i, ncols)
        grid[r * (H + padding):r * (H + padding) + H, c * (W + padding):c * (W + padding) + W] = im
    return grid


def filter_grid(w, *, title: str | None = None, save=None, ncols=None, cmap: str = "RdBu_r") -> Figure:
    """First-layer filters as images: w (K, C, FH, FW).

    C == 3 draws each filter as an RGB tile scaled to its own range (colours have no
    common scale). Other depths draw the weights themselves, one tile per filter (C == 1)
    or per (filter, channel), a row per filter, on one colour scale symmetric about 0
    shared by all tiles, with a colorbar of the weight values; grey gaps separate tiles.
    Each filter is drawn about half an inch wide (a pixel at least 1/8 inch), unless that
    would make the figure wider than about 13 inches.
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
    grid = tile_images(tiles, ncols=ncols, normalise="each" if C == 3 else None)
    inch = min(max(1 / 8, 0.5 / max(FH, FW)), 12 / grid.shape[1])  # per grid pixel, the figure <= ~13 in wide
    fig = Figure(figsize=(max(3.0, grid.shape[1] * inch + (0 if C == 3 else 1.2)), max(2.5, grid.shape[0] * inch + 0.6)),
                 layout="constrained")
    ax = fig.add_subplot()
    if C == 3:
        ax.imshow(grid, interpolation="nearest")
    else:
        limit = float(np.nanmax(np.abs(grid))) or 1.0
        colours = matplotlib.colormaps[cmap].with_extremes(bad="0.72")
        image = ax.imshow(grid, cmap=colours, vmin=-limit, vmax=limit, interpolation="nearest")
        fig.colorbar(image, ax=ax, label="weight value", shrink=0.8)
    ax.set_axis_off()
    ax.set_title(title or f"{K} filters of {FH}x{FW}x{C}")
    return save_figure(fig, save)


def image_panels(images, titles=None, *, ncols=None, cmap: str = "viridis", vmin=None, vmax=None,
                 colorbar_label: str | None = None, title: str | None = None, lead=None,
                 panel_size: float = 1.8, save=None) -> Figure:
    """Images side by side on one colour scale, with one colorbar: images (n, H, W).

    - titles: one per image (may hold a newline), or None
    - ncols: panels per row (default: all in one row)
    - vmin, vmax: ends of the shared colour scale (default: the images' min and max)
    - colorbar_label: what the colours measure; title: above all panels
    - lead: an optional ``(image, title)`` drawn first in grey on its own scale, e.g. the
      input the other panels were computed from
    """
    images = [to_numpy(im) for im in images]
    if not images:
        raise ValueError("no images to draw")
    titles = [None] * len(images) if titles is None else list(titles)
    if len(titles) != len(images):
        raise ValueError(f"{len(images)} images but {len(titles)} titles")
    n = len(images) + (lead is not None)
    ncols = min(ncols or n, n)
    nrows = math.ceil(n / ncols)
    norm = Normalize(min(float(np.min(im)) for im in images) if vmin is None else vmin,
                     max(float(np.max(im)) for im in images) if vmax is None else vmax)
    fig = Figure(figsize=(panel_size * ncols + 1.2, panel_size * nrows + (0.5 if title else 0.2)), layout="constrained")
    axes = list(fig.subplots(nrows, ncols, squeeze=False).flat)
    for ax in axes:
        ax.set_axis_off()
    if lead is not None:
        lead_image, lead_title = lead
        axes[0].imshow(to_numpy(lead_image), cmap="gray", interpolation="nearest")
        axes[0].set_title(lead_title, fontsize=8)
    panels = axes[n - len(images):n]
    for ax, im, text in zip(panels, images, titles):
        mappable = ax.imshow(im, cmap=cmap, norm=norm, interpolation="nearest")
        if text:
            ax.set_title(text, fontsize=8)
    colorbar = fig.colorbar(mappable, ax=axes, label=colorbar_label, shrink=0.85)
    if all(np.array_equal(im, np.round(im)) for im in images):  # counts: no ticks between whole numbers
        colorbar.ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    if title:
        fig.suptitle(title)
    return save_figure(fig, save)


def activation_maps(a, *, sample: int = 0, max_maps: int | None = 32, image=None, title: str | None = None,
                    save=None, cmap: str = "viridis") -> Figure:
    """One panel per depth slice of an activation volume: a (N, C, H, W) (uses ``sample``) or (C, H, W).

    The maps share one colour scale (a colorbar), so strong and weak responses compare.
    ``image``: the input the maps were computed from, (H, W) or (1, H, W), drawn first in grey.
    """
    a = to_numpy(a)
    if a.ndim == 4:
        a = a[sample]
    if a.ndim != 3:
        raise ValueError(f"activations must be (N, C, H, W) or (C, H, W), got shape {a.shape}")
    C = a.shape[0] if max_maps is None else min(a.shape[0], max_maps)
    lead = None
    if image is not None:
        image = to_numpy(image)
        lead = (image.reshape(image.shape[-2:]), f"input {image.shape[-2]}x{image.shape[-1]}")
    n = C + (lead is not None)
    return image_panels(a[:C], [f"depth {d}" for d in range(C)], ncols=math.ceil(math.sqrt(n)), cmap=cmap,
                        colorbar_label="activation", lead=lead, panel_size=1.5, save=save,
                        title=title or f"activation maps ({a.shape[0]} depth slices of {a.shape[1]}x{a.shape[2]})")


def conv_windows(size, kernel: int, stride: int = 1, outputs=((0, 0),), *, labels=None, title: str | None = None,
                 save=None) -> Figure:
    """The input cells each output position of a convolution reads, drawn on the input grid.

    - size: (H, W) of the (unpadded) input; kernel: F; stride: S
    - outputs: output positions (i, j); the window of (i, j) covers rows i*S .. i*S+F-1 and
      columns j*S .. j*S+F-1
    - labels: one legend entry per window (default ``"out[i, j] reads rows a:b, columns c:d"``)

    Overlapping windows are drawn slightly inset from each other so every outline shows;
    the legend sits outside the grid, so it never covers a window.
    """
    H, W = size
    outputs = [tuple(o) for o in outputs]
    for i, j in outputs:  # checked here, not with conv_output_size: assignment 1 withholds that one
        if i < 0 or j < 0 or i * stride + kernel > H or j * stride + kernel > W:
            raise ValueError(f"the window of output ({i}, {j}) (rows {i * stride}:{i * stride + kernel}, columns "
                             f"{j * stride}:{j * stride + kernel}) is not inside the {H}x{W} input")
    if labels is None:
        labels = [f"out[{i}, {j}] reads rows {i * stride}:{i * stride + kernel}, "
                  f"columns {j * stride}:{j * stride + kernel}" for i, j in outputs]
    if len(labels) != len(outputs):
        raise ValueError(f"{len(outputs)} outputs but {len(labels)} labels")
    side = min(6.0, 0.4 * max(H, W) + 0.5)
    fig = Figure(figsize=(side + 3.2, side + 0.4), layout="constrained")
    ax = fig.add_subplot()
    for n, ((i, j), label) in enumerate(zip(outputs, labels)):
        inset = 0.06 + 0.08 * (n % 4)  # keeps overlapping outlines apart, inside their window
        ax.add_patch(Rectangle((j * stride + inset, i * stride + inset), kernel - 2 * inset, kernel - 2 * inset,
                               fill=False, lw=2, edgecolor=f"C{n % 10}", label=label))
    ax.set_xlim(0, W)
    ax.set_ylim(H, 0)  # row 0 at the top, as in an array
    ax.set_xticks(np.arange(W + 1), minor=True)
    ax.set_yticks(np.arange(H + 1), minor=True)
    ax.set_xticks(np.arange(W) + 0.5, [str(c) for c in range(W)], fontsize=7)
    ax.set_yticks(np.arange(H) + 0.5, [str(r) for r in range(H)], fontsize=7)
    ax.tick_params(which="both", length=0)
    ax.grid(True, which="minor", color="0.8")
    ax.set_aspect("equal")
    ax.set(xlabel="column", ylabel="row")
    ax.set_title(title or f"{H}x{W} input, F={kernel}, S={stride}")
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1), borderaxespad=0, fontsize=8)
    return save_figure(fig, save)


def training_curves(history, *, title: str | None = None, save=None) -> Figure:
    """Loss per iteration (with a moving average) and train/val accuracy per epoch.

    ``history`` is a Solver's history dict (keys ``loss``, ``train_acc``, ``val_acc``).
    """
    loss = np.asarray(history.get("loss", []), dtype=np.float64)
    train_acc = list(history.get("train_acc", []))
    val_acc = list(history.get("val_acc", []))
    fig = Figure(figsize=(10, 3.8), layout="constrained")
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
    ax.text(x + depth / 2, -0.6, label, ha="center", va="top", fontsize=9, rotation=45)
    ax.text(x + depth / 2 + dx / 2, height + dy + 0.2, sublabel, ha="center", va="bottom", fontsize=8)
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
    boxes = []  # (depth, height, layer, sublabel, colour) of each volume
    for r in rows:
        if len(r.shape) == 3:
            C, H, W = r.shape
            spatial = max(H, W)
        else:
            C, H, W, spatial = r.shape[0], 1, 1, 1
        boxes.append((0.3 + 0.35 * math.log2(C + 1), 1 + 1.5 * math.log2(spatial + 1), r.layer, f"{H}x{W}x{C}",
                      colors[_layer_kind(r.layer)]))
    # the axes hug the boxes (the slanted top adds a quarter of the height) and the figure
    # takes their proportions, so no part of the canvas is left empty
    width = sum(depth + 0.35 * height + 0.6 for depth, height, *_ in boxes) + 0.4
    top = max(1.25 * height for _, height, *_ in boxes) + 0.9  # room for the HxWxD labels
    inch = min(0.3, 12 / width)  # per data unit
    fig = Figure(figsize=(width * inch + 0.3, top * inch + 1.5), layout="constrained")  # + layer names, title
    ax = fig.add_subplot()
    x = 0.0
    for depth, height, layer, sublabel, colour in boxes:
        x = _box(ax, x, depth, height, layer, sublabel, colour) + 0.6
    ax.set_xlim(-0.2, x - 0.4)
    ax.set_ylim(-0.2, top)
    ax.set_aspect("equal")
    ax.set_axis_off()
    ax.set_title(title or "output volume of each layer (H x W x D)")
    return save_figure(fig, save)
