"""Figure-layout checks for the plot and widget tests: where titles, legends and patches land
once a figure is drawn (with Agg), so tests assert readability, not pixels."""

from __future__ import annotations

import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.transforms import Bbox


class DrawnFigure:
    """A figure drawn once; boxes in display pixels."""

    def __init__(self, fig):
        self.fig = fig
        FigureCanvasAgg(fig).draw()
        self.renderer = fig.canvas.get_renderer()

    @staticmethod
    def overlap(a: Bbox, b: Bbox) -> bool:
        """Whether two boxes share an area (touching edges do not count)."""
        both = Bbox.intersection(a, b)
        return both is not None and both.width > 0 and both.height > 0

    def box(self, artist) -> Bbox:
        return artist.get_window_extent(self.renderer)

    def titles(self) -> list:
        """(owner axes or None, text, box) of the suptitle and every non-empty axes title."""
        found = []
        if self.fig.get_suptitle():
            found.append((None, self.fig.get_suptitle(), self.box(self.fig._suptitle)))
        for ax in self.fig.axes:
            for title in (ax.title, ax._left_title, ax._right_title):
                if title.get_text() and title.get_visible():
                    found.append((ax, title.get_text(), self.box(title)))
        return found

    def title_clashes(self) -> list:
        """Pairs that overlap: two titles, or a title and the plotting area of another axes."""
        clashes = []
        titles = self.titles()
        for n, (owner, text, box) in enumerate(titles):
            clashes += [(text, other) for _, other, other_box in titles[n + 1:] if self.overlap(box, other_box)]
            clashes += [(text, f"axes {ax.get_label() or id(ax)}") for ax in self.fig.axes
                        if ax is not owner and self.overlap(box, self.box(ax.patch))]
        return clashes


@pytest.fixture
def drawn():
    """``drawn(fig)`` draws ``fig`` and returns a :class:`DrawnFigure`."""
    return DrawnFigure
