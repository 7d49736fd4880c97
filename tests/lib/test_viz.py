"""Tests of convlab.viz: what each figure contains, not how it looks."""

import numpy as np
import pytest
from matplotlib.figure import Figure

from convlab import viz
from convlab.models import ConvNet

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_tile_images_layout_and_gaps():
    ims = np.arange(5 * 2 * 3, dtype=float).reshape(5, 2, 3)
    grid = viz.tile_images(ims, ncols=2, padding=1)
    assert grid.shape == (3 * 3 - 1, 2 * 4 - 1)
    np.testing.assert_allclose(grid[0:2, 4:7], (ims[1] - ims[1].min()) / np.ptp(ims[1]))
    np.testing.assert_allclose(grid[6:8, 0:3], (ims[4] - ims[4].min()) / np.ptp(ims[4]))
    assert np.all(grid[2, :] == 1) and np.all(grid[:, 3] == 1)  # the white gaps
    assert np.all(grid[6:8, 4:7] == 1)  # the unused sixth cell
    together = viz.tile_images(ims, ncols=5, padding=0, normalise_each=False)
    assert together.min() == 0 and together.max() == 1 and together[0, 0] == 0
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


def test_activation_maps_one_panel_per_depth_slice(dev):
    a = dev.put(np.random.default_rng(1).standard_normal((2, 5, 6, 4)))
    fig = viz.activation_maps(a, sample=1)
    shown = [ax for ax in fig.axes if ax.get_images()]
    assert len(shown) == 5 and len(fig.axes) == 6  # 3x2 grid, one empty cell
    np.testing.assert_array_equal(shown[3].get_images()[0].get_array(), dev.get(a)[1, 3])
    assert [ax.get_title() for ax in shown] == [f"depth {d}" for d in range(5)]
    assert len([ax for ax in viz.activation_maps(a, max_maps=2).axes if ax.get_images()]) == 2


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
