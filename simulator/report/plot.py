"""What every chart module shares: matplotlib without a display, saving, the colours."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: no display on CI machines
import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure

__all__ = ["FAULT", "OUTAGE", "PARTS", "RINGING", "empty", "plt", "save"]

#: Colours of the latency parts, used alike in every chart.
PARTS = (("uplink", "#4c78a8"), ("server", "#f58518"), ("downlink", "#54a24b"))
#: Faults and outages, alike on the timeline and the load chart.
FAULT = "#b3261e"
OUTAGE = "#9d9d9d"
RINGING = "#e45756"


def save(fig: Figure, path: Path) -> Path:
    """Lay out, write the PNG and free the figure."""
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def empty(ax: Axes, text: str) -> None:
    """Say in the middle of the axes why there is nothing to draw."""
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes)
