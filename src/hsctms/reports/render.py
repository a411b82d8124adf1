"""Rendering of HTML reports and their PDF versions.

Every report template extends ``base.html.j2``, which shows the title, a prominent
**SYNTHETIC DATA** banner when the data are synthetic, and a footer stating the data date, the
number of patients, the endpoint/analysis definitions used and the software versions.

Templates live in ``hsctms/reports/templates/<area>/``. PDF output uses WeasyPrint (extra
``pdf``) on the same HTML, so the two never disagree.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2

from hsctms._provenance import package_versions
from hsctms._version import __version__
from hsctms.errors import ConfigurationError

TEMPLATE_DIR = Path(__file__).parent / "templates"


@dataclass(frozen=True)
class ReportMeta:
    """What every report states about itself.

    Parameters
    ----------
    title
        Report title.
    synthetic
        True when any data shown are synthetic; the report then carries a banner on every page.
    data_date
        Date the data were frozen (ISO string) or None.
    n
        Number of patients (or studies) the report is based on.
    definitions
        Human-readable statements of the endpoint / analysis definitions used.
    sources
        Data sources (e.g. the database URL without credentials, or "published evidence").
    """

    title: str
    synthetic: bool = False
    data_date: str | None = None
    n: int | None = None
    subtitle: str | None = None
    definitions: Sequence[str] = ()
    sources: Sequence[str] = ()
    lang: str = "en"
    versions: Mapping[str, str] = field(default_factory=package_versions)
    generated: str = field(
        default_factory=lambda: _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    )

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form (embedded in machine-readable outputs)."""
        return {
            "title": self.title,
            "synthetic": self.synthetic,
            "data_date": self.data_date,
            "n": self.n,
            "definitions": list(self.definitions),
            "sources": list(self.sources),
            "software": {"hsctms": __version__, **dict(self.versions)},
            "generated": self.generated,
        }


def _fmt_pct(value: float | None, digits: int = 1) -> str:
    if value is None or value != value:  # NaN
        return "–"
    return f"{100 * value:.{digits}f}%"


def _fmt_num(value: float | None, digits: int = 2) -> str:
    if value is None or value != value:
        return "–"
    return f"{value:.{digits}f}"


def _fmt_p(value: float | None) -> str:
    if value is None or value != value:
        return "–"
    return "<0.001" if value < 0.001 else f"{value:.3f}"


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    """The Jinja2 environment (autoescaping on, strict undefined, hsctms filters)."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATE_DIR)),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["pct"] = _fmt_pct
    env.filters["num"] = _fmt_num
    env.filters["pval"] = _fmt_p
    return env


def render_html(template: str, context: Mapping[str, Any], meta: ReportMeta) -> str:
    """Render ``template`` (path relative to the templates folder) with ``context``.

    The template receives ``meta`` (a :class:`ReportMeta`) and the keys of ``context``.
    """
    try:
        tmpl = environment().get_template(template)
    except jinja2.TemplateNotFound as exc:
        raise ConfigurationError(
            f"Report template {template!r} not found.",
            hint=f"Templates live under {TEMPLATE_DIR}.",
        ) from exc
    return tmpl.render(meta=meta, **context)


def write_report(html: str, out: str | Path) -> Path:
    """Write an HTML report, or render it to PDF when ``out`` ends in ``.pdf``."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    suffix = out.suffix.lower()
    if suffix in (".html", ".htm"):
        out.write_text(html, encoding="utf-8")
    elif suffix == ".pdf":
        try:
            import weasyprint
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ConfigurationError(
                "PDF output needs WeasyPrint.",
                hint="pip install 'hsctms[pdf]' (and Debian's libpango-1.0-0).",
            ) from exc
        weasyprint.HTML(string=html, base_url=str(TEMPLATE_DIR)).write_pdf(str(out))
    else:
        raise ConfigurationError(
            f"Unknown report format {out.suffix!r}.", hint="Use a .html or .pdf file name."
        )
    return out
