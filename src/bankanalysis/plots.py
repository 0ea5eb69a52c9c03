"""One chart theme for every report, with a CJK-capable font so Chinese names render."""

from __future__ import annotations

import logging
from functools import lru_cache

__all__ = ["set_theme", "cjk_font_family", "PALETTE", "TIER_COLORS"]

logger = logging.getLogger(__name__)

#: Font families known to carry Chinese glyphs, most preferred first.
CJK_CANDIDATES = (
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "WenQuanYi Micro Hei",
    "WenQuanYi Zen Hei",
    "Microsoft YaHei",
    "SimHei",
    "PingFang SC",
    "Heiti SC",
    "AR PL UMing CN",
)

PALETTE = "colorblind"
TIER_COLORS = {
    "mass": "#9ecae1",
    "quality": "#4292c6",
    "vip": "#08519c",
    "private": "#08306b",
}


@lru_cache(maxsize=1)
def cjk_font_family() -> str | None:
    """Return the first installed CJK-capable font family, or ``None``."""
    from matplotlib import font_manager

    names = {f.name for f in font_manager.fontManager.ttflist}
    for cand in CJK_CANDIDATES:
        if cand in names:
            return cand
    return None


def _has_bold(family: str | None) -> bool:
    """Whether ``family`` (or DejaVu Sans when ``None``) has a bold face installed."""
    from matplotlib import font_manager

    name = family or "DejaVu Sans"
    return any(
        f.name == name and font_manager.weight_dict.get(f.weight, f.weight) >= 600
        if isinstance(font_manager.weight_dict.get(f.weight, f.weight), int)
        else f.name == name and str(f.weight).lower() in ("bold", "heavy", "black")
        for f in font_manager.fontManager.ttflist
    )


def set_theme(context: str = "notebook") -> None:
    """Apply the project's seaborn theme and a CJK font fallback.

    Parameters
    ----------
    context : str
        seaborn context (``"notebook"``, ``"talk"``, ...).
    """
    import matplotlib as mpl
    import pandas as pd
    import seaborn as sns

    sns.set_theme(context=context, style="whitegrid", palette=PALETTE)
    # Styler tables do not escape by default: a name like "<img onerror=...>" would run
    pd.set_option("styler.format.escape", "html")
    family = cjk_font_family()
    fonts = ["DejaVu Sans"]
    if family:
        fonts = [family, "DejaVu Sans"]
    else:
        logger.warning(
            "no CJK font found: Chinese names will not render (install fonts-wqy-microhei)"
        )
    mpl.rcParams["font.family"] = "sans-serif"
    mpl.rcParams["font.sans-serif"] = fonts + list(mpl.rcParams["font.sans-serif"])
    mpl.rcParams["axes.unicode_minus"] = False
    mpl.rcParams["figure.dpi"] = 96
    mpl.rcParams["savefig.dpi"] = 96
    mpl.rcParams["figure.figsize"] = (8.0, 4.5)
    # bold titles only where the font has a bold face (WenQuanYi Micro Hei has none, and
    # matplotlib would print a findfont warning into every report cell)
    mpl.rcParams["axes.titleweight"] = "bold" if _has_bold(family) else "normal"
    # deterministic SVG/PNG output: no timestamps in metadata, fixed hash salt
    mpl.rcParams["svg.hashsalt"] = "bankanalysis"
    mpl.rcParams["path.simplify"] = True
