"""Shared look of hsctms figures and helpers to create and save them.

Colours are the Okabe-Ito palette (distinguishable with the common colour-vision deficiencies).
"""

from __future__ import annotations

import io
import weakref
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hsctms.errors import ConfigurationError

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure, FigureBase

#: Okabe-Ito palette, in the order series are coloured.
PALETTE: tuple[str, ...] = (
    "#0072B2",  # blue
    "#D55E00",  # vermillion
    "#009E73",  # bluish green
    "#CC79A7",  # reddish purple
    "#E69F00",  # orange
    "#56B4E9",  # sky blue
    "#F0E442",  # yellow
    "#000000",  # black
)

RC: dict[Any, Any] = {
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.25,
    "legend.frameon": False,
    "svg.fonttype": "none",
    "figure.dpi": 100,
    "savefig.dpi": 300,
    "savefig.bbox": "tight",
}

#: Journal column widths in millimetres (single and double column, as in Nature, The Lancet
#: and most clinical journals: 89 mm and 183 mm).
COLUMN_WIDTHS_MM: dict[str, float] = {"single": 89.0, "double": 183.0}
#: Resolution of PNG files (journals ask for at least 300 dpi for line art with shading).
PNG_DPI = 300
_MM_PER_INCH = 25.4
#: Figures sized by :func:`journal_size`: saved at exactly that size (no tight bounding box).
_EXACT: weakref.WeakSet[Any] = weakref.WeakSet()


def journal_size(fig: Figure, column: str = "single", *, height_mm: float | None = None
                 ) -> Figure:
    """Size ``fig`` to a journal column width; it is then saved at exactly that size.

    Parameters
    ----------
    fig
        The Figure (best with constrained layout, which then fits its contents to the size).
    column
        ``"single"`` (89 mm) or ``"double"`` (183 mm), see :data:`COLUMN_WIDTHS_MM`.
    height_mm
        Height in millimetres, > 0; default keeps the figure's aspect ratio.

    Returns
    -------
    matplotlib.figure.Figure
        ``fig``, resized in place; :func:`save_figure` and :func:`figure_to_svg` write it
        without a tight bounding box, so the file is exactly that wide (PNG at
        :data:`PNG_DPI`).

    Raises
    ------
    ConfigurationError
        When ``column`` is not a known width or ``height_mm`` is not a positive number.
    """
    _need_figure(fig, "journal_size")
    if column not in COLUMN_WIDTHS_MM:
        raise ConfigurationError(f"Unknown journal column {column!r}.",
                                 hint="Use " + " or ".join(repr(k) for k in COLUMN_WIDTHS_MM)
                                 + ".")
    if height_mm is not None and not (isinstance(height_mm, int | float)
                                      and not isinstance(height_mm, bool)
                                      and 0 < height_mm < float("inf")):
        raise ConfigurationError(f"height_mm must be a positive number, got {height_mm!r}.",
                                 hint="For example height_mm=80.")
    w_in, h_in = fig.get_size_inches()
    width = COLUMN_WIDTHS_MM[column] / _MM_PER_INCH
    height = height_mm / _MM_PER_INCH if height_mm is not None else width * h_in / w_in
    fig.set_size_inches(width, height)
    _EXACT.add(fig)
    return fig


def _bbox(fig: Any) -> Any:
    """``bbox_inches`` for saving: the whole figure for journal-sized ones, else tight."""
    if fig not in _EXACT:
        return "tight"
    from matplotlib.transforms import Bbox

    w, h = fig.get_size_inches()
    return Bbox.from_bounds(0.0, 0.0, float(w), float(h))


def new_axes(ax: Axes | None = None, figsize: tuple[float, float] = (6.4, 4.2)) -> Axes:
    """Return ``ax``, or a new Axes on a new figure styled with :data:`RC`.

    Parameters
    ----------
    ax
        An existing Axes, returned unchanged; None (default) creates a new one.
    figsize
        Size of the new figure, (width, height) in inches, both > 0; ignored when ``ax`` is
        given.

    Returns
    -------
    matplotlib.axes.Axes
        ``ax``, or the new Axes (constrained layout, no top/right spines, light grid).

    Raises
    ------
    ConfigurationError
        When a new figure is needed and ``figsize`` is not two positive finite numbers.
    """
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    if (not isinstance(figsize, tuple | list) or len(figsize) != 2
            or not all(isinstance(v, int | float) and not isinstance(v, bool)
                       and 0 < v < float("inf") for v in figsize)):
        raise ConfigurationError(f"figsize must be (width, height) in inches > 0, got "
                                 f"{figsize!r}.", hint="For example figsize=(6.4, 4.2).")

    with plt.rc_context(RC):
        fig, new = plt.subplots(figsize=figsize)
    fig.set_layout_engine("constrained")
    for key in ("top", "right"):
        new.spines[key].set_visible(False)
    new.grid(True, alpha=0.25)
    return new


def mark_synthetic(fig: FigureBase) -> None:
    """Label a figure as showing SYNTHETIC data (top-right corner, on every copy of it).

    The label is the figure's suptitle when it has none (constrained layout then reserves a
    row for it above the axes), else a text in the corner.

    Parameters
    ----------
    fig
        The Figure (or SubFigure) to label; it is changed in place.
    """
    style: dict[str, Any] = {
        "ha": "right", "va": "top", "fontsize": 8, "fontweight": "bold", "color": "#8a4b00",
        "bbox": {"boxstyle": "round,pad=0.25", "facecolor": "#fff3cd", "edgecolor": "#b07d00"}}
    if getattr(fig, "_suptitle", None) is None:
        # as the figure's suptitle, a layout engine keeps a row above the axes for the label,
        # so it never covers a title, legend or axis label
        fig.suptitle("SYNTHETIC DATA", x=0.99, **style)
    else:
        fig.text(0.995, 0.995, "SYNTHETIC DATA", **style)


def save_figure(fig: Figure, path: str | Path) -> Path:
    """Write ``fig`` to ``path``; the suffix (.svg, .png, .pdf) selects the format.

    SVG and PDF files carry no creation date, so the same figure gives the same file.

    Parameters
    ----------
    fig
        The matplotlib Figure to write.
    path
        File to write (missing parent directories are created; an existing file is
        overwritten).

    Returns
    -------
    pathlib.Path
        ``path`` as a Path.

    Raises
    ------
    ConfigurationError
        When ``fig`` is not a matplotlib Figure, or the path has no suffix or one that is not
        an image format matplotlib can write (the hint lists them).
    """
    _need_figure(fig, "save_figure")
    path = Path(path)
    formats = _formats(fig)
    suffix = path.suffix.lower().lstrip(".")
    if not suffix:  # matplotlib would write path.png, not the file named
        raise ConfigurationError(f"The figure file {path.name!r} has no suffix.",
                                 hint="Name the format: " + ", ".join(f".{f}" for f in formats)
                                 + ".")
    if suffix not in formats:
        raise ConfigurationError(f"Cannot save a figure as {path.suffix!r} ({path.name}).",
                                 hint="Use one of " + ", ".join(f".{f}" for f in formats)
                                 + ".")
    path.parent.mkdir(parents=True, exist_ok=True)
    import matplotlib.pyplot as plt

    with plt.rc_context(RC):
        fig.savefig(path, metadata=_metadata(path.suffix), bbox_inches=_bbox(fig),
                    dpi=PNG_DPI)
    return path


def figure_to_svg(fig: FigureBase, *, close: bool = True) -> str:
    """The figure as inline SVG markup (for embedding in HTML reports).

    Parameters
    ----------
    fig
        A matplotlib Figure or SubFigure (the whole root figure is rendered).
    close
        Close the figure afterwards (frees its memory in pyplot); default True.

    Returns
    -------
    str
        The ``<svg>`` element (the XML header and doctype stripped), without a date.

    Raises
    ------
    ConfigurationError
        When ``fig`` is not a matplotlib Figure or SubFigure.
    """
    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure as _Figure

    _need_figure(fig, "figure_to_svg")
    root = fig.get_figure(root=True)
    if not isinstance(root, _Figure):  # pragma: no cover - defensive
        raise ConfigurationError("figure_to_svg needs a matplotlib Figure or SubFigure.",
                                 hint="Pass ax.figure.")
    buf = io.StringIO()
    with plt.rc_context(RC):
        root.savefig(buf, format="svg", metadata={"Date": None}, bbox_inches=_bbox(root))
    if close:
        plt.close(root)
    text = buf.getvalue()
    return text[text.index("<svg"):]


def _need_figure(fig: Any, where: str) -> None:
    from matplotlib.figure import FigureBase

    if not isinstance(fig, FigureBase):
        raise ConfigurationError(f"{where} needs a matplotlib Figure, got {type(fig).__name__}.",
                                 hint="Pass ax.figure, or the Figure a *_figure function "
                                 "returned.")


def _formats(fig: Any) -> list[str]:
    root = fig.get_figure(root=True)
    return sorted(root.canvas.get_supported_filetypes())


def _metadata(suffix: str) -> dict[str, Any]:
    # Reproducible files: no creation timestamp in SVG/PDF metadata.
    if suffix.lower() in (".svg", ".pdf"):
        return {"Date": None} if suffix.lower() == ".svg" else {"CreationDate": None}
    return {}
