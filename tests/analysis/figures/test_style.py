"""The figure theme: seaborn's look, set without importing seaborn."""

from __future__ import annotations

import subprocess
import sys

import matplotlib as mpl
import pytest
import seaborn as sns

from analysis.figures.style import OKABE_ITO, THEME_RC, set_theme


def _settings_after(apply) -> dict[str, str]:
    with mpl.rc_context():
        mpl.rcdefaults()
        apply()
        return {key: repr(value) for key, value in mpl.rcParams.items()}


def test_theme_sets_what_seaborn_set_theme_sets_except_its_default_colormap():
    ours = _settings_after(set_theme)
    seaborns = _settings_after(lambda: sns.set_theme(
        context="paper", style="whitegrid", palette=OKABE_ITO, font="DejaVu Sans",
        rc={key: THEME_RC[key] for key in (
            "figure.dpi", "savefig.dpi", "axes.titlesize", "axes.labelsize",
            "xtick.labelsize", "ytick.labelsize", "legend.fontsize", "legend.title_fontsize",
            "svg.hashsalt", "svg.fonttype", "pdf.fonttype")}))
    differing = {k: (ours[k], seaborns[k]) for k in ours if ours[k] != seaborns[k]}
    assert differing == {"image.cmap": ("'viridis'", "'rocket'")}


@pytest.mark.parametrize("module", ["analysis.figures.themes", "analysis.figures.civilized",
                                    "analysis.figures.models", "analysis.figures.robustness"])
def test_figure_rules_without_seaborn_plots_do_not_import_seaborn(module):
    code = (f"import sys, {module}, analysis.figures.style as s; s.set_theme(); "
            "print('seaborn' in sys.modules, 'scipy' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["False", "False"]
