"""Icon arrays (pictographs) for risk communication, as accessible inline SVG.

An icon array shows 100 people in rows of 10. Icons ``0 .. low`` are drawn in the outcome
colour, ``low .. high`` in a lighter, hatched version of it (the uncertainty: the range between
studies or a confidence interval), and the rest in outlined grey. Fractions of an icon are drawn
as partly filled icons, so 2.1 out of 100 looks different from 2.

The SVG has ``role="img"``, a ``<title>`` and a ``<desc>`` giving the same information in words
(the text alternative), and scales with its container (``viewBox``; no fixed pixel size), so it
stays readable at 200% zoom and on a phone.

Colours: Okabe-Ito (:data:`hsctms.plots._style.PALETTE`), distinguishable with common
colour-vision deficiencies; the uncertain band also differs by hatching, so it survives printing
in grey.
"""

from __future__ import annotations

import html
import itertools
from dataclasses import dataclass
from numbers import Real
from typing import TYPE_CHECKING

from hsctms.errors import ConfigurationError
from hsctms.plots._style import PALETTE

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

#: Named colour schemes: (solid, light) per meaning.
SCHEMES: dict[str, tuple[str, str]] = {
    "benefit": (PALETTE[0], "#9cc9e8"),   # blue
    "harm": (PALETTE[1], "#f2b48c"),      # vermillion
    "neutral": ("#4d4d4d", "#bdbdbd"),
}
EMPTY_FILL = "#ececec"
EMPTY_STROKE = "#6b6b6b"

_ids = itertools.count(1)

# A person: head (circle) and body (rounded trapezoid), in a 10 x 20 box.
_PERSON = ("M5 0.6a2.6 2.6 0 1 1 0 5.2a2.6 2.6 0 1 1 0-5.2z"
           "M1.4 7.4h7.2a1.3 1.3 0 0 1 1.3 1.3v5.2h-1.6v5.8h-2.6v-5h-1.4v5h-2.6v-5.8h-1.6"
           "v-5.2a1.3 1.3 0 0 1 1.3-1.3z")
_W, _H, _GAP_X, _GAP_Y = 10.0, 20.0, 3.0, 3.0


@dataclass(frozen=True)
class IconArray:
    """An icon array of ``total`` people with ``low`` (solid) and up to ``high`` (uncertain).

    Parameters
    ----------
    low, high
        Counts out of ``total``; ``high >= low``. Use ``high = low`` when there is no range.
    total
        Number of icons (100 for "out of 100 people").
    scheme
        ``"benefit"``, ``"harm"`` or ``"neutral"`` (see :data:`SCHEMES`).
    title, description
        Accessible name and text alternative. The description should state the numbers.
    per_row
        Icons per row.
    """

    low: float
    high: float
    total: int = 100
    scheme: str = "benefit"
    title: str = ""
    description: str = ""
    per_row: int = 10

    def __post_init__(self) -> None:
        for name in ("low", "high"):
            value = getattr(self, name)
            if not isinstance(value, Real) or isinstance(value, bool):
                raise ConfigurationError(f"Icon array {name} must be a number, got {value!r}.",
                                         hint="Give counts out of total, e.g. low=12.5.")
        for name in ("total", "per_row"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < (
                    0 if name == "total" else 1):
                raise ConfigurationError(
                    f"Icon array {name} must be a whole number >= "
                    f"{0 if name == 'total' else 1}, got {value!r}.",
                    hint="The defaults are total=100 and per_row=10.")
        if not 0 <= self.low <= self.high <= self.total:
            raise ConfigurationError(
                f"Icon array needs 0 <= low <= high <= total, got {self.low}, {self.high}, "
                f"{self.total}.", hint="low and high are counts out of total (NaN is not "
                "allowed); use high = low when there is no range.")
        if self.scheme not in SCHEMES:
            raise ConfigurationError(f"Unknown icon scheme {self.scheme!r}.",
                                     hint=f"Use one of {', '.join(SCHEMES)}.")

    def states(self) -> list[tuple[float, float]]:
        """Per icon: (solid fraction, uncertain fraction), each in [0, 1].

        Returns
        -------
        list of tuple of float
            ``total`` pairs in reading order; icon ``i`` is solid for ``low - i`` (clipped
            to [0, 1]) and uncertain for the part of ``high - i`` beyond that.
        """
        out = []
        for i in range(self.total):
            solid = min(max(self.low - i, 0.0), 1.0)
            upto = min(max(self.high - i, 0.0), 1.0)
            out.append((solid, upto - solid))
        return out

    def svg(self) -> str:
        """The array as standalone inline SVG markup.

        Returns
        -------
        str
            An ``<svg>`` element with ``role="img"``, ``<title>`` and ``<desc>`` and a
            ``viewBox`` (no fixed size); its ids are unique within the process, so several
            arrays can share one HTML page.
        """
        uid = next(_ids)
        solid_c, light_c = SCHEMES[self.scheme]
        rows = -(-self.total // self.per_row)
        width = self.per_row * _W + (self.per_row - 1) * _GAP_X
        height = rows * _H + (rows - 1) * _GAP_Y
        tid, did = f"ia{uid}-t", f"ia{uid}-d"
        parts = [
            f'<svg xmlns="http://www.w3.org/2000/svg" class="icon-array" role="img" '
            f'viewBox="0 0 {width:g} {height:g}" preserveAspectRatio="xMinYMin meet" '
            f'aria-labelledby="{tid} {did}">',
            f'<title id="{tid}">{html.escape(self.title)}</title>',
            f'<desc id="{did}">{html.escape(self.description)}</desc>',
            "<defs>",
            f'<clipPath id="ia{uid}-c"><path d="{_PERSON}"/></clipPath>',
            f'<pattern id="ia{uid}-h" width="3" height="3" patternUnits="userSpaceOnUse" '
            f'patternTransform="rotate(45)"><rect width="3" height="3" fill="{light_c}"/>'
            f'<rect width="1.2" height="3" fill="{solid_c}" fill-opacity="0.55"/></pattern>',
            "</defs>",
        ]
        for i, (solid, unc) in enumerate(self.states()):
            x = (i % self.per_row) * (_W + _GAP_X)
            y = (i // self.per_row) * (_H + _GAP_Y)
            parts.append(self._icon(uid, x, y, solid, unc, solid_c))
        parts.append("</svg>")
        return "".join(parts)

    @staticmethod
    def _icon(uid: int, x: float, y: float, solid: float, unc: float, colour: str) -> str:
        """One person. Whole icons are single paths (fast to render in WeasyPrint PDFs);
        only partly filled icons use the clip path."""
        at = f'transform="translate({x:g} {y:g})"'
        if solid >= 1.0:
            return f'<path {at} d="{_PERSON}" fill="{colour}"/>'
        if solid == 0.0 and unc >= 1.0:
            return (f'<path {at} d="{_PERSON}" fill="url(#ia{uid}-h)" stroke="{colour}" '
                    'stroke-width="0.5"/>')
        empty = (f'<path {at} d="{_PERSON}" fill="{EMPTY_FILL}" stroke="{EMPTY_STROKE}" '
                 'stroke-width="0.5"/>')
        if solid == 0.0 and unc == 0.0:
            return empty
        g = [f"<g {at}>", f'<path d="{_PERSON}" fill="{EMPTY_FILL}"/>']
        if solid > 0:
            g.append(f'<rect clip-path="url(#ia{uid}-c)" width="{_W * solid:.3g}" '
                     f'height="{_H:g}" fill="{colour}"/>')
        if unc > 0:
            g.append(f'<rect clip-path="url(#ia{uid}-c)" x="{_W * solid:.3g}" '
                     f'width="{_W * unc:.3g}" height="{_H:g}" fill="url(#ia{uid}-h)"/>')
        g.append(f'<path d="{_PERSON}" fill="none" stroke="{colour}" stroke-width="0.5"/>')
        g.append("</g>")
        return "".join(g)

    def plot(self, ax: Axes | None = None) -> Axes:
        """Draw the array with matplotlib (squares instead of people), for static figures.

        Parameters
        ----------
        ax
            Axes to draw on; None (default) creates a new square figure.

        Returns
        -------
        matplotlib.axes.Axes
            The Axes drawn on (axis hidden, titled with :attr:`title` if given).
        """
        from matplotlib.patches import Rectangle

        from hsctms.plots._style import new_axes

        ax = new_axes(ax, figsize=(3.2, 3.2))
        solid_c, light_c = SCHEMES[self.scheme]
        for i, (solid, unc) in enumerate(self.states()):
            x, y = i % self.per_row, -(i // self.per_row)
            ax.add_patch(Rectangle((x, y), 0.85, 0.85, facecolor=EMPTY_FILL,
                                   edgecolor=EMPTY_STROKE, linewidth=0.4))
            if solid:
                ax.add_patch(Rectangle((x, y), 0.85 * solid, 0.85, facecolor=solid_c))
            if unc:
                ax.add_patch(Rectangle((x + 0.85 * solid, y), 0.85 * unc, 0.85,
                                       facecolor=light_c, hatch="///", edgecolor=solid_c,
                                       linewidth=0))
        rows = -(-self.total // self.per_row)
        ax.set_xlim(-0.2, self.per_row)
        ax.set_ylim(-rows + 0.8, 1.0)
        ax.set_aspect("equal")
        ax.axis("off")
        if self.title:
            ax.set_title(self.title)
        return ax


def icon_array_svg(low: float, high: float | None = None, *, scheme: str = "benefit",
                   title: str = "", description: str = "", total: int = 100) -> str:
    """Shortcut: inline SVG of an :class:`IconArray` (``high`` defaults to ``low``).

    Parameters
    ----------
    low
        Count out of ``total`` drawn solid (may be fractional, e.g. 2.1).
    high
        Upper end of the uncertain range, ``low <= high <= total``; default None, ``low``
        (no range).
    scheme
        ``"benefit"`` (default), ``"harm"`` or ``"neutral"`` (see :data:`SCHEMES`).
    title
        Accessible name of the image.
    description
        Text alternative; it should state the numbers.
    total
        Number of icons; default 100 (in rows of 10).

    Returns
    -------
    str
        The SVG markup (see :meth:`IconArray.svg`).

    Raises
    ------
    ConfigurationError
        When the counts are not numbers with ``0 <= low <= high <= total`` or the scheme is
        unknown.

    Examples
    --------
    >>> svg = icon_array_svg(2.1, 4, description="2 to 4 in 100 people")
    >>> svg.startswith("<svg"), "<desc" in svg and "2 to 4 in 100 people" in svg
    (True, True)
    """
    return IconArray(low, low if high is None else high, total, scheme, title,
                     description).svg()


#: Colours of the competing-outcomes array (Okabe-Ito): died, relapse or worsening, free.
COMPETING_COLOURS: dict[str, str] = {"died": "#000000", "activity": PALETTE[1],
                                     "uncertain": "#bdbdbd", "free": PALETTE[0]}


def stacked_icon_array_svg(segments: list[tuple[float, str, bool]], *, title: str = "",
                           description: str = "", total: int = 100) -> str:
    """Inline SVG of 100 people split into consecutive groups (competing outcomes).

    Parameters
    ----------
    segments
        ``(count, colour, hatched)`` per group, in reading order; counts may be fractional
        and must add up to at most ``total`` (the rest is drawn empty). A hatched group shows
        uncertainty (people who may belong to the group before or after it).
    title
        Accessible name of the image.
    description
        Text alternative; it should state the numbers.
    total
        Number of icons, in rows of 10.

    Returns
    -------
    str
        An ``<svg>`` element with ``role="img"``, ``<title>`` and ``<desc>``.

    Raises
    ------
    ConfigurationError
        When a count is negative or not a number, or the counts exceed ``total``.

    Examples
    --------
    >>> svg = stacked_icon_array_svg([(1.5, "#000000", False), (20, "#D55E00", False),
    ...                               (10, "#bdbdbd", True)], description="1.5, 20, 10")
    >>> svg.count("<path") >= 100
    True
    """
    for count, _, _ in segments:
        if not isinstance(count, Real) or isinstance(count, bool) or not count >= 0:
            raise ConfigurationError(f"Icon counts must be numbers >= 0, got {count!r}.",
                                     hint="Give counts out of total, e.g. 2.1.")
    if sum(c for c, _, _ in segments) > total + 1e-6:
        raise ConfigurationError(f"The groups add up to more than {total} people.",
                                 hint="Each person belongs to one group only.")
    uid = next(_ids)
    per_row = 10
    rows = -(-total // per_row)
    width = per_row * _W + (per_row - 1) * _GAP_X
    height = rows * _H + (rows - 1) * _GAP_Y
    tid, did = f"ia{uid}-t", f"ia{uid}-d"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="icon-array" role="img" '
        f'viewBox="0 0 {width:g} {height:g}" preserveAspectRatio="xMinYMin meet" '
        f'aria-labelledby="{tid} {did}">',
        f'<title id="{tid}">{html.escape(title)}</title>',
        f'<desc id="{did}">{html.escape(description)}</desc>',
        f'<defs><clipPath id="ia{uid}-c"><path d="{_PERSON}"/></clipPath>',
        f'<pattern id="ia{uid}-h" width="3" height="3" patternUnits="userSpaceOnUse" '
        f'patternTransform="rotate(45)"><rect width="3" height="3" fill="#e0e0e0"/>'
        f'<rect width="1.2" height="3" fill="#4d4d4d" fill-opacity="0.6"/></pattern></defs>',
    ]
    spans, start = [], 0.0
    for count, colour, hatched in segments:
        spans.append((start, start + float(count), colour, hatched))
        start += float(count)
    for i in range(total):
        x = (i % per_row) * (_W + _GAP_X)
        y = (i // per_row) * (_H + _GAP_Y)
        pieces = [(max(a, i) - i, min(b, i + 1) - i, colour, hatched)
                  for a, b, colour, hatched in spans if min(b, i + 1) > max(a, i)]
        at = f'transform="translate({x:g} {y:g})"'
        whole = [p for p in pieces if p[1] - p[0] >= 1.0 - 1e-9]
        if whole:
            fill = f"url(#ia{uid}-h)" if whole[0][3] else whole[0][2]
            parts.append(f'<path {at} d="{_PERSON}" fill="{fill}" stroke="{EMPTY_STROKE}" '
                         'stroke-width="0.4"/>')
            continue
        g = [f"<g {at}>", f'<path d="{_PERSON}" fill="{EMPTY_FILL}"/>']
        for a, b, colour, hatched in pieces:
            fill = f"url(#ia{uid}-h)" if hatched else colour
            g.append(f'<rect clip-path="url(#ia{uid}-c)" x="{_W * a:.3g}" '
                     f'width="{_W * (b - a):.3g}" height="{_H:g}" fill="{fill}"/>')
        g.append(f'<path d="{_PERSON}" fill="none" stroke="{EMPTY_STROKE}" '
                 'stroke-width="0.5"/></g>')
        parts.append("".join(g))
    parts.append("</svg>")
    return "".join(parts)
