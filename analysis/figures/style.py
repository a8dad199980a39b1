"""One visual theme for every figure of the paper, and deterministic saving.

Figures are sized for a journal column (about 8.5 cm single, 17.5 cm double),
use the Okabe-Ito colour-blind-safe palette, and are saved as PNG only: the paper's
notebooks display the PNG, and every output (HTML, PDF, DOCX, JATS) embeds what the
notebooks display, so a vector copy would be drawn (and, for PDF, its fonts subset and
embedded) for no reader. ``save_figure(..., formats=...)`` still writes PDF or SVG for
whoever needs them. Metadata that would change between builds (creation dates, software
version strings, SVG ids) is fixed so that two builds of the same commit give identical
bytes.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
from cycler import cycler  # noqa: E402
from matplotlib.colors import to_rgb  # noqa: E402

from paperkit.io import atomic_path  # noqa: E402

OKABE_ITO = [
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # bluish green
    "#CC79A7",  # reddish purple
    "#56B4E9",  # sky blue
    "#D55E00",  # vermillion
    "#F0E442",  # yellow
    "#000000",  # black
]
SINGLE_COLUMN_IN = 3.35
DOUBLE_COLUMN_IN = 6.9
#: What the outputs use (see the module docstring); each extra format is one more layout
#: and drawing of the figure (``bbox_inches="tight"``) in the slowest stage of the build.
FIGURE_FORMATS = ("png",)


# seaborn's "paper" context is its "notebook" context scaled by 0.8.
_PAPER_SCALE = 0.8
_NOTEBOOK_CONTEXT = {
    "axes.linewidth": 1.25, "grid.linewidth": 1, "lines.linewidth": 1.5,
    "lines.markersize": 6, "patch.linewidth": 1, "xtick.major.width": 1.25,
    "ytick.major.width": 1.25, "xtick.minor.width": 1, "ytick.minor.width": 1,
    "xtick.major.size": 6, "ytick.major.size": 6, "xtick.minor.size": 4,
    "ytick.minor.size": 4, "font.size": 12,
}
#: The theme as matplotlib settings: seaborn's ``set_theme(context="paper",
#: style="whitegrid", palette=OKABE_ITO, font="DejaVu Sans")`` plus the project's sizes,
#: written out so that a figure rule does not import seaborn (with scipy.stats, about
#: three times the import cost of pandas and matplotlib together) only to set them. A test
#: holds it equal to what seaborn sets (seaborn's default colormap "rocket" aside: every
#: image here names its colormap).
THEME_RC = {
    # seaborn's "whitegrid" style
    "figure.facecolor": "white", "axes.facecolor": "white", "axes.edgecolor": ".8",
    "axes.labelcolor": ".15", "axes.axisbelow": True, "axes.grid": True,
    "axes.spines.left": True, "axes.spines.bottom": True, "axes.spines.right": True,
    "axes.spines.top": True, "grid.color": ".8", "grid.linestyle": "-", "text.color": ".15",
    "xtick.direction": "out", "ytick.direction": "out", "xtick.color": ".15",
    "ytick.color": ".15", "xtick.top": False, "ytick.right": False, "xtick.bottom": False,
    "ytick.left": False, "lines.solid_capstyle": "round", "patch.edgecolor": "w",
    "patch.force_edgecolor": True,
    "font.family": ["DejaVu Sans"],
    "font.sans-serif": ["Arial", "DejaVu Sans", "Liberation Sans", "Bitstream Vera Sans",
                        "sans-serif"],
    # seaborn's "paper" context
    **{key: value * _PAPER_SCALE for key, value in _NOTEBOOK_CONTEXT.items()},
    # the palette
    "axes.prop_cycle": cycler("color", [to_rgb(c) for c in OKABE_ITO]),
    # the project's own
    "figure.dpi": 100,
    "savefig.dpi": 300,
    "axes.titlesize": 9,
    "axes.labelsize": 8,
    "xtick.labelsize": 7,
    "ytick.labelsize": 7,
    "legend.fontsize": 7,
    "legend.title_fontsize": 7,
    "svg.hashsalt": "scs-paper",
    "svg.fonttype": "none",
    "pdf.fonttype": 42,
}


def set_theme() -> None:
    """Apply the project theme; call before drawing any figure."""
    matplotlib.rcParams.update(THEME_RC)


def note(fig: plt.Figure, text: str) -> None:
    """Add the small note under a figure (e.g. 'Weighted. N = 2,209. Simulated data.')."""
    fig.text(0.01, 0.005, text, ha="left", va="bottom", fontsize=6, color="#444444")


def save_figure(
    fig: plt.Figure, stem: str | Path, formats: Iterable[str] = FIGURE_FORMATS
) -> list[Path]:
    """Save ``fig`` as ``stem.<format>`` for each of ``formats``, atomically, fixed metadata."""
    stem = Path(stem)
    written = []
    for fmt in formats:
        target = stem.with_suffix(f".{fmt}")
        metadata = {
            "png": {"Software": None},
            "pdf": {"Creator": None, "Producer": None, "CreationDate": None},
            "svg": {"Creator": None, "Date": None},
        }[fmt]
        with atomic_path(target) as tmp:
            fig.savefig(tmp, format=fmt, metadata=metadata, bbox_inches="tight")
        written.append(target)
    plt.close(fig)
    return written
