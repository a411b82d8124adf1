"""Rendering of HTML reports and their PDF versions.

Every report template extends ``base.html.j2``, which shows the title, a prominent
**SYNTHETIC DATA** banner when the data are synthetic, and a footer stating the data date, the
number of patients, the endpoint/analysis definitions used and the software versions.

Templates live in ``hsctms/reports/templates/<area>/``. PDF output prints the same HTML, so the
two never disagree, with one of two engines (:func:`write_report`, ``engine=``):

``chromium``    headless Chromium (``--print-to-pdf``), found as ``$HSCTMS_CHROMIUM`` or
                ``chromium`` / ``chromium-browser`` / ``google-chrome`` on the ``PATH``; about
                ten times faster than WeasyPrint on the ~45-page patient report. Before
                printing, every ``<details>`` is opened (print shows all content) and the
                SYNTHETIC DATA banner is repeated in the top page margin (Chromium has no
                CSS running elements), with "page n of m" in the bottom margin as in WeasyPrint;
``weasyprint``  WeasyPrint (extra ``pdf``);
``auto``        (default, or ``$HSCTMS_PDF_ENGINE``) Chromium when one is found, else
                WeasyPrint; a Chromium that fails falls back to WeasyPrint.
"""

from __future__ import annotations

import datetime as _dt
import html as _html
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2

from hsctms._provenance import package_versions
from hsctms._version import __version__
from hsctms.errors import ConfigurationError

TEMPLATE_DIR = Path(__file__).parent / "templates"
PDF_ENGINES = ("auto", "chromium", "weasyprint")
_CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
_CHROMIUM_ARGS = ("--headless", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-extensions", "--no-first-run", "--mute-audio")
_CHROMIUM_TIMEOUT = 300.0
_BANNER = re.compile(r'<div class="synthetic-banner"[^>]*>(.*?)</div>', re.S)
_DETAILS = re.compile(r"<details(?=[\s>])(?![^>]*\bopen\b)")
#: Print rules for Chromium only: backgrounds printed as on screen (WeasyPrint always does).
_CHROMIUM_CSS = "* { -webkit-print-color-adjust: exact; print-color-adjust: exact; }"


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
        Number of patients (or studies) the report is based on; None when not applicable.
    subtitle
        Line shown under the title (e.g. the patient's phenotype and EDSS); None shows none.
    definitions
        Human-readable statements of the endpoint / analysis definitions used.
    sources
        Data sources (e.g. the database URL without credentials, or "published evidence").
    lang
        Language of the document, the ``lang`` attribute of its ``<html>`` element
        (default ``"en"``).
    versions
        Software versions shown in the footer, distribution name -> version (default:
        :func:`hsctms._provenance.package_versions` at construction).
    generated
        When the report was made, shown in the header (default: now, as
        ``"YYYY-MM-DD HH:MM UTC"``).
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
        """JSON-serialisable form (embedded in machine-readable outputs).

        Returns
        -------
        dict
            ``title``, ``synthetic``, ``data_date``, ``n``, ``definitions`` and ``sources``
            (as lists), ``software`` (the installed hsctms version, then ``versions``) and
            ``generated``; ``subtitle`` and ``lang`` are presentation only and left out.
        """
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

    Parameters
    ----------
    template
        Template path relative to ``hsctms/reports/templates`` (e.g.
        ``"patient/report.html.j2"``).
    context
        Template variables; must not contain the key ``meta``. The environment is strict: a
        variable the template uses but ``context`` lacks raises ``jinja2.UndefinedError``.
    meta
        What the report states about itself (title, synthetic-data banner, footer).

    Returns
    -------
    str
        The rendered HTML document (values autoescaped).

    Raises
    ------
    ConfigurationError
        When the template does not exist.
    """
    try:
        tmpl = environment().get_template(template)
    except jinja2.TemplateNotFound as exc:
        raise ConfigurationError(
            f"Report template {template!r} not found.",
            hint=f"Templates live under {TEMPLATE_DIR}.",
        ) from exc
    return tmpl.render(meta=meta, **context)


def find_chromium() -> str | None:
    """Path of a Chromium for PDF output: ``$HSCTMS_CHROMIUM``, else one on the ``PATH``."""
    env = os.environ.get("HSCTMS_CHROMIUM")
    if env:
        return env if Path(env).exists() else None
    for name in _CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def _pdf_engine(engine: str | None) -> str:
    name = (engine or os.environ.get("HSCTMS_PDF_ENGINE") or "auto").lower()
    if name not in PDF_ENGINES:
        raise ConfigurationError(f"Unknown PDF engine {name!r}.",
                                 hint=f"Use one of {', '.join(PDF_ENGINES)} (engine= or "
                                      "$HSCTMS_PDF_ENGINE).")
    return name


def chromium_print_html(html: str) -> str:
    """The HTML Chromium prints: disclosures open, the synthetic banner as running header.

    WeasyPrint moves the banner into the top margin of every page (``position:
    running(banner)``); Chromium ignores running elements, so the banner's text is placed in
    the ``@top-center`` page-margin box instead (and the banner stays at the top of page 1).
    """
    css = [_CHROMIUM_CSS]
    banner = _BANNER.search(html)
    if banner is not None:
        text = _html.unescape(re.sub(r"<[^>]+>", "", banner.group(1))).strip()
        quoted = text.replace("\\", "\\\\").replace('"', '\\"')
        css.append(f'@page {{ @top-center {{ content: "{quoted}"; font: bold 8pt "DejaVu Sans", '
                   'Arial, sans-serif; color: #5c3b00; background: #fff3cd; '
                   "border: 1px solid #b07d00; padding: 1mm 3mm; vertical-align: middle; } }")
    style = "<style>" + "\n".join(css) + "</style>"
    out = _DETAILS.sub("<details open", html)
    return out.replace("</head>", style + "\n</head>", 1) if "</head>" in out else style + out


def _chromium_pdf(html: str, out: Path, chromium: str) -> bool:
    """Print ``html`` to ``out`` with headless Chromium; False when Chromium fails."""
    with tempfile.TemporaryDirectory(prefix="hsctms-pdf-") as tmp:
        src = Path(tmp) / "report.html"
        src.write_text(chromium_print_html(html), encoding="utf-8")
        pdf = Path(tmp) / "report.pdf"
        cmd = [chromium, *_CHROMIUM_ARGS, f"--user-data-dir={Path(tmp) / 'profile'}",
               f"--print-to-pdf={pdf}", src.as_uri()]
        try:
            subprocess.run(cmd, capture_output=True, timeout=_CHROMIUM_TIMEOUT, check=False,
                           cwd=tmp)
        except (OSError, subprocess.TimeoutExpired):
            return False
        if not pdf.exists() or pdf.read_bytes()[:5] != b"%PDF-":
            return False
        shutil.copyfile(pdf, out)
    return True


def _weasyprint_pdf(html: str, out: Path) -> None:
    try:
        import weasyprint
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ConfigurationError(
            "PDF output needs WeasyPrint or Chromium.",
            hint="pip install 'hsctms[pdf]' (and Debian's libpango-1.0-0), or install "
                 "Chromium (apt install chromium) or set HSCTMS_CHROMIUM.",
        ) from exc
    weasyprint.HTML(string=html, base_url=str(TEMPLATE_DIR)).write_pdf(str(out))


def write_pdf(html: str, out: str | Path, *, engine: str | None = None,
              progress: Callable[[str], None] | None = None) -> str:
    """Print ``html`` to the PDF file ``out``; returns the engine used.

    Parameters
    ----------
    html
        The report (from :func:`render_html`).
    out
        The PDF file.
    engine
        ``"auto"``, ``"chromium"`` or ``"weasyprint"`` (default ``$HSCTMS_PDF_ENGINE`` or
        ``"auto"``; see the module docstring).
    progress
        Called with a short description of each step (for a progress display).

    Returns
    -------
    str
        ``"chromium"`` or ``"weasyprint"``.

    Raises
    ------
    ConfigurationError
        Unknown engine, ``chromium`` asked for but missing or failing, or no engine at all.
    """
    out = Path(out)
    name = _pdf_engine(engine)
    if name in ("auto", "chromium"):
        chromium = find_chromium()
        if chromium is None and name == "chromium":
            raise ConfigurationError("PDF engine 'chromium' asked for but no Chromium found.",
                                     hint="Install Chromium or set HSCTMS_CHROMIUM to its path.")
        if chromium is not None:
            if progress is not None:
                progress("printing the PDF with Chromium")
            if _chromium_pdf(html, out, chromium):
                return "chromium"
            if name == "chromium":
                raise ConfigurationError(f"Chromium ({chromium}) did not print the PDF.",
                                         hint="Check that it runs headless, or use "
                                              "engine='weasyprint'.")
    if progress is not None:
        progress("laying out the PDF with WeasyPrint")
    _weasyprint_pdf(html, out)
    return "weasyprint"


def write_report(html: str, out: str | Path, *, engine: str | None = None,
                 progress: Callable[[str], None] | None = None) -> Path:
    """Write an HTML report, or print it to PDF when ``out`` ends in ``.pdf``.

    Parameters
    ----------
    html
        The report (from :func:`render_html`).
    out
        ``.html`` / ``.htm`` or ``.pdf`` file.
    engine, progress
        PDF engine and progress callback (see :func:`write_pdf`).

    Returns
    -------
    Path
        ``out``.
    """
    out = Path(out)
    suffix = out.suffix.lower()
    if suffix not in (".html", ".htm", ".pdf"):
        raise ConfigurationError(
            f"Unknown report format {out.suffix!r}.", hint="Use a .html or .pdf file name."
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".pdf":
        write_pdf(html, out, engine=engine, progress=progress)
    else:
        out.write_text(html, encoding="utf-8")
    return out
