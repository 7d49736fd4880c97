"""Tests of convlab.viz: what each figure contains, not how it looks."""

import numpy as np
import pytest
from matplotlib.figure import Figure
from matplotlib.transforms import Bbox

from convlab import viz
from convlab.models import ConvNet
from convlab.widgets import ConvStepper, ShapeExplorer

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_tile_images_layout_and_gaps():
    ims = np.arange(5 * 2 * 3, dtype=float).reshape(5, 2, 3)
    grid = viz.tile_images(ims, ncols=2, padding=1)
    assert grid.shape == (3 * 3 - 1, 2 * 4 - 1)
    np.testing.assert_allclose(grid[0:2, 4:7], (ims[1] - ims[1].min()) / np.ptp(ims[1]))
    np.testing.assert_allclose(grid[6:8, 0:3], (ims[4] - ims[4].min()) / np.ptp(ims[4]))
    assert np.all(grid[2, :] == 1) and np.all(grid[:, 3] == 1)  # the white gaps
    assert np.all(grid[6:8, 4:7] == 1)  # the unused sixth cell
    together = viz.tile_images(ims, ncols=5, padding=0, normalise="all")
    assert together.min() == 0 and together.max() == 1 and together[0, 0] == 0
    raw = viz.tile_images(ims, ncols=2, normalise=None)
    np.testing.assert_array_equal(raw[6:8, 0:3], ims[4])
    assert np.isnan(raw[2, :]).all() and np.isnan(raw[6:8, 4:7]).all()  # gaps and the unused cell
    with pytest.raises(ValueError, match="normalise"):
        viz.tile_images(ims, normalise="max")
    with pytest.raises(ValueError, match="no images"):
        viz.tile_images(np.zeros((0, 2, 2)))


@pytest.mark.parametrize("C, grid_shape", [(1, (4 * 6 - 1, 4 * 6 - 1)), (3, (4 * 6 - 1, 4 * 6 - 1, 3)),
                                           (2, (16 * 6 - 1, 2 * 6 - 1))])
def test_filter_grid_tiles(dev, C, grid_shape, tmp_path):
    w = dev.put(np.random.default_rng(0).standard_normal((16, C, 5, 5)))
    fig = viz.filter_grid(w, save=tmp_path / "sub" / "f.png")
    assert isinstance(fig, Figure)
    (image,) = fig.axes[0].get_images()
    assert image.get_array().shape == grid_shape
    assert (tmp_path / "sub" / "f.png").read_bytes()[:8] == PNG_MAGIC
    assert f"16 filters of 5x5x{C}" == fig.axes[0].get_title()


def test_filter_grid_rejects_wrong_rank():
    with pytest.raises(ValueError, match=r"\(K, C, FH, FW\)"):
        viz.filter_grid(np.zeros((3, 5, 5)))


def _colorbar_axes(fig):
    return [ax for ax in fig.axes if ax.get_label() == "<colorbar>"]


def test_activation_maps_one_panel_per_depth_slice(dev):
    a = dev.put(np.random.default_rng(1).standard_normal((2, 5, 6, 4)))
    fig = viz.activation_maps(a, sample=1)
    shown = [ax for ax in fig.axes if ax.get_images()]
    (colorbar,) = _colorbar_axes(fig)
    assert len(shown) == 5 and len(fig.axes) == 6 + 1  # 3x2 grid, one empty cell, the colour scale
    np.testing.assert_array_equal(shown[3].get_images()[0].get_array(), dev.get(a)[1, 3])
    assert [ax.get_title() for ax in shown] == [f"depth {d}" for d in range(5)]
    # one colour scale for every map, spanning them all, so strong and weak responses compare
    norms = {(ax.get_images()[0].norm.vmin, ax.get_images()[0].norm.vmax) for ax in shown}
    assert norms == {(dev.get(a)[1].min(), dev.get(a)[1].max())} and colorbar.get_ylabel() == "activation"
    assert len([ax for ax in viz.activation_maps(a, max_maps=2).axes if ax.get_images()]) == 2


def test_activation_maps_show_the_input_first(dev):
    a = dev.put(np.random.default_rng(1).standard_normal((1, 4, 6, 6)))
    digit = np.random.default_rng(2).random((1, 1, 6, 6))[0]  # (1, H, W), as a net's input sample
    fig = viz.activation_maps(a, image=digit)
    shown = [ax for ax in fig.axes if ax.get_images()]
    assert [ax.get_title() for ax in shown] == ["input 6x6"] + [f"depth {d}" for d in range(4)]
    np.testing.assert_array_equal(shown[0].get_images()[0].get_array(), digit[0])
    assert shown[0].get_images()[0].get_cmap().name == "gray"  # its own scale, not the activations'


def test_image_panels_share_one_labelled_scale(drawn):
    covers = [np.full((9, 9), 9.0), np.arange(81.0).reshape(9, 9) % 5, np.ones((9, 9))]
    fig = viz.image_panels(covers, [f"S={s}, P=0\n1 to 9, mean 5.44" for s in (1, 2, 3)], cmap="magma",
                           vmin=0, vmax=9, colorbar_label="copies", title="copies of each pixel")
    shown = [ax for ax in fig.axes if ax.get_images()]
    assert len(shown) == 3
    assert {(ax.get_images()[0].norm.vmin, ax.get_images()[0].norm.vmax) for ax in shown} == {(0, 9)}
    (colorbar,) = _colorbar_axes(fig)
    assert colorbar.get_ylabel() == "copies"
    drawn(fig)
    ticks = colorbar.get_yticks()
    assert np.array_equal(ticks, np.round(ticks))  # whole numbers: the images count things
    with pytest.raises(ValueError, match="2 titles"):
        viz.image_panels(covers, ["a", "b"])


def test_filter_grid_is_legible_and_has_a_scale(drawn):
    w = np.random.default_rng(0).standard_normal((32, 1, 3, 3))
    fig = viz.filter_grid(w, title="learned first-layer filters (3x3x1)")
    ax, colorbar = fig.axes
    (image,) = ax.get_images()
    # the weights themselves on a scale symmetric about 0, told by a labelled colorbar
    np.testing.assert_array_equal(image.get_array()[:3, 4:7], w[1, 0])
    assert image.norm.vmin == -np.abs(w).max() and image.norm.vmax == np.abs(w).max()
    assert colorbar.get_label() == "<colorbar>" and colorbar.get_ylabel() == "weight value"
    # each filter pixel at least 0.14 inch on screen (the old 3x3 grid drew them ~0.11 inch)
    grid_cols = image.get_array().shape[1]
    assert drawn(fig).box(ax.patch).width / fig.dpi / grid_cols >= 0.14
    rgb = viz.filter_grid(np.random.default_rng(0).standard_normal((8, 3, 5, 5)))
    assert not _colorbar_axes(rgb)  # RGB tiles have no single colour scale


def _layered(name):
    rng = np.random.default_rng(0)
    history = {"loss": list(np.linspace(2, 0.1, 100)), "train_acc": [0.5, 0.9], "val_acc": [0.4, 0.8]}
    return {
        "filters gray": lambda: viz.filter_grid(rng.standard_normal((32, 1, 3, 3)), title="learned filters"),
        "filters rgb": lambda: viz.filter_grid(rng.standard_normal((16, 3, 5, 5))),
        "filters per channel": lambda: viz.filter_grid(rng.standard_normal((6, 2, 3, 3))),
        "activations": lambda: viz.activation_maps(rng.standard_normal((32, 8, 8)), image=rng.random((8, 8)),
                                                   title="first CONV layer on a test '4'"),
        "coverage panels": lambda: viz.image_panels(
            [rng.random((9, 9)) for _ in range(3)], [f"copies per pixel, F=3, S={s}, P=0\n1 to 9" for s in (1, 2, 1)],
            colorbar_label="copies", title="copies of each pixel"),
        "training curves": lambda: viz.training_curves(history, title="digits: test accuracy 98.61%"),
        "volumes": lambda: viz.volume_diagram("[conv3-32 relu]x2 pool2 [conv3-64 relu]x2 pool2 fc128 relu fc10",
                                              (1, 8, 8)),
        "windows": lambda: viz.conv_windows((11, 11), 5, 2, [(i, 0) for i in range(4)]),
        "explorer": lambda: ShapeExplorer(W=10, F=3, S=2, P=0).figure(),
        "stepper": lambda: ConvStepper().go(4).figure(),
    }[name]()


@pytest.mark.parametrize("name", ["filters gray", "filters rgb", "filters per channel", "activations",
                                  "coverage panels", "training curves", "volumes", "windows", "explorer", "stepper"])
def test_titles_do_not_overlap_each_other_or_other_plots(drawn, name):
    assert drawn(_layered(name)).title_clashes() == []


def _three_panels_without_layout():
    """The old coverage cell of a3: long titles over three panels and a colorbar, no layout engine."""
    fig = Figure(figsize=(11, 3))
    axes = fig.subplots(1, 3)
    for ax, s in zip(axes, (1, 2, 1)):
        image = ax.imshow(np.ones((9, 9)), vmin=0, vmax=9)
        ax.set_title(f"copies per pixel, F=3, S={s}, P=0\n1 to 9, mean 5.44")
    fig.colorbar(image, ax=list(axes), shrink=0.8)
    return fig


def test_title_check_catches_the_old_overlapping_titles(drawn):
    assert drawn(_three_panels_without_layout()).title_clashes()


def _windows_clash_with_legend(drawn, fig) -> bool:
    ax = fig.axes[0]
    layout = drawn(fig)
    legend = layout.box(ax.get_legend())
    return any(layout.overlap(legend, layout.box(patch)) for patch in ax.patches)


def test_conv_windows_cover_the_right_cells_and_keep_the_legend_off_them(drawn):
    fig = viz.conv_windows((11, 11), 5, 2, [(i, 0) for i in range(4)] + [(1, 3)])
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_legend().get_texts()][:2] == [
        "out[0, 0] reads rows 0:5, columns 0:5", "out[1, 0] reads rows 2:7, columns 0:5"]
    for patch, (i, j) in zip(ax.patches, [(0, 0), (1, 0), (2, 0), (3, 0), (1, 3)]):
        (x0, y0), (x1, y1) = patch.get_bbox().get_points()
        assert 2 * j <= x0 < x1 <= 2 * j + 5 and 2 * i <= y0 < y1 <= 2 * i + 5  # inside its window
        assert x1 - x0 > 4 and y1 - y0 > 4  # and close to its full size
    layout = drawn(fig)
    inside = layout.box(ax.patch)
    assert all(Bbox.intersection(layout.box(p), inside).bounds == layout.box(p).bounds for p in ax.patches)  # none clipped
    assert not _windows_clash_with_legend(drawn, fig)
    with pytest.raises(ValueError, match=r"output \(4, 0\) \(rows 8:13, columns 0:5\) is not inside the 11x11"):
        viz.conv_windows((11, 11), 5, 2, [(4, 0)])
    with pytest.raises(ValueError, match="not inside"):
        viz.conv_windows((11, 11), 5, 2, [(0, -1)])


def test_legend_check_catches_a_legend_inside_the_grid(drawn):
    fig = viz.conv_windows((11, 11), 5, 2, [(i, 0) for i in range(4)])
    fig.axes[0].legend(loc="lower left", fontsize=7)  # where the old a1 picture had it (lower right) hit no window
    assert _windows_clash_with_legend(drawn, fig)


def test_volume_diagram_uses_its_canvas(drawn):
    fig = viz.volume_diagram("[conv3-32 relu]x2 pool2 [conv3-64 relu]x2 pool2 fc128 relu fc10", (1, 8, 8))
    layout = drawn(fig)
    whole = fig.get_tightbbox(layout.renderer).transformed(fig.dpi_scale_trans)  # what savefig keeps, in pixels
    boxes = Bbox.union([layout.box(p) for p in fig.axes[0].patches])
    assert boxes.width / whole.width > 0.9 and boxes.height / whole.height > 0.6


def test_training_curves_plot_the_history():
    history = {"loss": list(np.linspace(2, 0.1, 100)), "train_acc": [0.5, 0.9, 0.95], "val_acc": [0.4, 0.8, 0.9]}
    fig = viz.training_curves(history, title="run")
    ax_loss, ax_acc = fig.axes
    np.testing.assert_allclose(ax_loss.lines[0].get_ydata(), history["loss"])
    assert len(ax_loss.lines) == 2  # raw and moving average
    np.testing.assert_allclose(ax_acc.lines[0].get_ydata(), history["train_acc"])
    np.testing.assert_allclose(ax_acc.lines[1].get_ydata(), history["val_acc"])
    np.testing.assert_allclose(ax_acc.lines[1].get_xdata(), [1, 2, 3])
    assert fig.get_suptitle() == "run"
    empty = viz.training_curves({})
    assert all(not ax.lines for ax in empty.axes)


def test_volume_diagram_draws_each_volume(tmp_path):
    net = ConvNet("[conv3-4 relu]x2 pool2 fc10", (1, 8, 8))
    fig = viz.volume_diagram(net, save=tmp_path / "arch.png")
    ax = fig.axes[0]
    assert len(ax.patches) == 3 * 5  # input, conv, conv, pool, fc: three faces each
    texts = [t.get_text() for t in ax.texts]
    assert texts[0::2] == ["input", "conv3-4", "conv3-4", "pool2", "fc10"]
    assert texts[1::2] == ["8x8x1", "8x8x4", "8x8x4", "4x4x4", "1x1x10"]
    assert (tmp_path / "arch.png").read_bytes()[:8] == PNG_MAGIC
    spec_fig = viz.volume_diagram("conv3-4 relu pool2 fc10", (1, 8, 8), skip_elementwise=False)
    assert len(spec_fig.axes[0].patches) == 3 * 5
    bn_fig = viz.volume_diagram("conv3-4 bn relu pool2 dropout0.5 fc10", (1, 8, 8))
    assert [t.get_text() for t in bn_fig.axes[0].texts][0::2] == ["input", "conv3-4", "pool2", "fc10"]
    with pytest.raises(ValueError, match="input_shape"):
        viz.volume_diagram("conv3-4 fc2")
