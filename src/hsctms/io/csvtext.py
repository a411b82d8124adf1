r"""Writing tables as CSV text that every reader (hsctms's, a spreadsheet's) reads back exactly.

Why not ``DataFrame.to_csv``: with ``"\n"`` line endings neither pandas nor Python's ``csv``
module quotes a value holding a bare carriage return, and a reader then splits the row there.
:func:`csv_text` quotes every value that holds a comma, a double quote, a line feed or a
carriage return (doubling inner quotes, RFC 4180), so text survives a write and a read byte for
byte.

Spreadsheet programs run a cell that begins with ``=``, ``+``, ``-`` or ``@`` (or a tab or
carriage return) as a formula ("CSV injection"). Exports meant to be opened in a spreadsheet pass
``neutralise_formulas=True``: such values get a leading single quote (the OWASP advice), which
spreadsheets show as text. That changes the text, so bundles written for hsctms itself (which
must round-trip losslessly) do not neutralise; see ``docs/data-format.md``.

Reading: a bundle is comma-separated with ISO dates and ``.`` decimals. A file exported by a
European spreadsheet (``;`` between fields, decimal commas, ``31/12/2019``) is diagnosed by the
reader in one message per file or column; it is read as such only when the user says so with a
:class:`CsvDialect` (``--delimiter ';' --decimal ',' --date-format dayfirst``). The text
conversions of such a dialect (:func:`decimal_to_point`, :func:`dates_to_iso`) are here;
nothing is ever converted without an explicit dialect.

Examples
--------
>>> import pandas as pd
>>> csv_text(pd.DataFrame({"term": ["a\rb", "x,y", "=1+1"], "n": ["1", "2", "3"]}))
'term,n\n"a\rb",1\n"x,y",2\n=1+1,3\n'
>>> csv_text(pd.DataFrame({"term": ["=1+1", "-2", "ok"]}), neutralise_formulas=True)
"term\n'=1+1\n'-2\nok\n"
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from hsctms.errors import ConfigurationError

__all__ = [
    "DATE_FORMATS",
    "DELIMITERS",
    "FORMULA_PREFIXES",
    "CsvDialect",
    "csv_text",
    "dates_to_iso",
    "decimal_to_point",
    "neutralise_formula",
    "neutralise_frame",
    "write_csv",
]

#: First characters that make a spreadsheet treat a cell as a formula.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")

#: Field separators a :class:`CsvDialect` may name, with their names in messages.
DELIMITERS = {",": "commas", ";": "semicolons", "\t": "tabs", "|": "vertical bars"}
#: Date formats a :class:`CsvDialect` may name (``iso``: YYYY-MM-DD only, the default).
DATE_FORMATS = ("iso", "dayfirst", "monthfirst")
DateFormat = Literal["iso", "dayfirst", "monthfirst"]
#: A date written with its day and month first or month first (``31/12/2019``, ``31.12.2019``,
#: ``12-31-2019``): two numbers, then a year, with one separator used twice.
NUMERIC_DATE_PATTERN = r"([0-9]{1,2})([/.-])([0-9]{1,2})\2([0-9]{4}|[0-9]{2})"
#: A number written with a decimal comma (``3,5``, ``-0,25``).
DECIMAL_COMMA_PATTERN = r"[+-]?[0-9]*,[0-9]+"


@dataclass(frozen=True)
class CsvDialect:
    """How the CSV files of a bundle are written, when they are not standard CSV.

    The default is the bundle format (comma, ``.``, ISO dates); anything else is used only when
    the user asks for it (``--delimiter``, ``--decimal``, ``--date-format``). Even then nothing
    is guessed: with ``decimal=","`` a number holding ``.`` is an error (a thousands
    separator?), and with a day-first format only ``DD/MM/YYYY`` (or ``.``, ``-``) and ISO
    dates are read; two-digit years never are.

    Parameters
    ----------
    delimiter
        Field separator: ``","``, ``";"``, ``"\t"`` or ``"|"``.
    decimal
        Decimal mark of ``float`` and EDSS columns: ``"."`` or ``","``.
    date_format
        ``"iso"`` (YYYY-MM-DD), ``"dayfirst"`` (DD/MM/YYYY) or ``"monthfirst"`` (MM/DD/YYYY).

    Raises
    ------
    ConfigurationError
        An unknown delimiter, decimal mark or date format.

    Examples
    --------
    >>> CsvDialect(";", ",", "dayfirst").is_default
    False
    >>> CsvDialect().describe()
    'comma-separated, decimal point, ISO dates'
    """

    delimiter: str = ","
    decimal: Literal[".", ","] = "."
    date_format: DateFormat = "iso"

    def __post_init__(self) -> None:
        if self.delimiter not in DELIMITERS:
            shown = ", ".join(repr(d) for d in DELIMITERS)
            raise ConfigurationError(f"Unknown delimiter {self.delimiter!r}.",
                                     hint=f"Use one of {shown} ('tab' for a tab).")
        if self.decimal not in (".", ","):
            raise ConfigurationError(f"Unknown decimal mark {self.decimal!r}.",
                                     hint="Use '.' or ','.")
        if self.date_format not in DATE_FORMATS:
            raise ConfigurationError(f"Unknown date format {self.date_format!r}.",
                                     hint=f"Use one of {', '.join(DATE_FORMATS)}.")
        if self.delimiter == self.decimal:
            raise ConfigurationError("The delimiter and the decimal mark are both ','.",
                                     hint="A file with decimal commas is separated by ';'.")

    @property
    def is_default(self) -> bool:
        """True for the bundle format itself (comma, decimal point, ISO dates)."""
        return self == CsvDialect()

    def describe(self) -> str:
        """The dialect in words (for summaries and messages).

        Returns
        -------
        str
            E.g. ``"semicolon-separated, decimal comma, day-first dates"``.
        """
        sep = {",": "comma", ";": "semicolon", "\t": "tab", "|": "vertical-bar"}
        dates = {"iso": "ISO dates", "dayfirst": "day-first dates",
                 "monthfirst": "month-first dates"}
        mark = "decimal point" if self.decimal == "." else "decimal comma"
        return f"{sep[self.delimiter]}-separated, {mark}, {dates[self.date_format]}"


def decimal_to_point(raw: pd.Series) -> tuple[pd.Series, npt.NDArray[np.bool_]]:
    """Numbers written with a decimal comma as the bundle writes them (``3,5`` -> ``3.5``).

    Only for a column the user declared to use decimal commas (``CsvDialect(decimal=",")``).
    A cell that holds ``.`` is left as written and flagged: in such a file it may be a
    thousands separator (``1.234``), so it is not read as a decimal point.

    Parameters
    ----------
    raw
        A column of text.

    Returns
    -------
    (Series, ndarray of bool)
        The text with ``,`` replaced by ``.``, and the mask of cells holding a ``.``.

    Examples
    --------
    >>> text, dotted = decimal_to_point(pd.Series(["3,5", "10", "1.5", ""]))
    >>> text.tolist(), dotted.tolist()
    (['3.5', '10', '1.5', ''], [False, False, True, False])
    """
    text = raw.astype(str)
    dotted = np.asarray(text.str.contains(".", regex=False), dtype=bool)
    converted = text.str.replace(",", ".", regex=False).where(~dotted, text)
    return converted, dotted


def dates_to_iso(raw: pd.Series, date_format: DateFormat) -> pd.Series:
    """Dates written day first (``31/12/2019``, ``31.12.2019``) or month first as ISO text.

    Only for a file the user declared to use that format. Cells already in ISO form are kept
    (they are unambiguous); cells with a two-digit year or any other form are left as written,
    so the date parser reports them. Day and month are not checked here (``31/02/2019``
    becomes ``2019-02-31``, which the parser refuses).

    Parameters
    ----------
    raw
        A column of text.
    date_format
        ``"dayfirst"``, ``"monthfirst"`` or ``"iso"`` (nothing converted).

    Returns
    -------
    Series
        The text, with the numeric dates of ``date_format`` written YYYY-MM-DD.

    Examples
    --------
    >>> dates_to_iso(pd.Series(["31/12/2019", "1.2.2020", "2020-03-04", "31/12/19"]),
    ...              "dayfirst").tolist()
    ['2019-12-31', '2020-02-01', '2020-03-04', '31/12/19']
    """
    text = raw.astype(str)
    if date_format == "iso":
        return text
    parts = text.str.extract(f"^{NUMERIC_DATE_PATTERN}$")
    ok = parts[0].notna() & (parts[3].str.len() == 4)
    if not ok.any():
        return text
    day, month = (parts[0], parts[2]) if date_format == "dayfirst" else (parts[2], parts[0])
    iso = parts[3] + "-" + month.str.zfill(2) + "-" + day.str.zfill(2)
    return iso.where(ok, text)


def neutralise_formula(values: pd.Series) -> pd.Series:
    """Prefix ``'`` to text values a spreadsheet would run as a formula (missing stays missing).

    Parameters
    ----------
    values
        A column of text (or values converted to text).

    Returns
    -------
    pandas.Series
        The column with ``'`` before every value starting with one of :data:`FORMULA_PREFIXES`.
    """
    text = values.astype(object)
    na = np.asarray(values.isna(), dtype=bool)
    as_str = text.where(na, text.astype(str))
    risky = ~na & np.asarray(as_str.astype(str).str.startswith(FORMULA_PREFIXES), dtype=bool)
    out = as_str.copy()
    out[risky] = "'" + as_str[risky].astype(str)
    return out


def neutralise_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` with :func:`neutralise_formula` applied to every non-numeric column.

    For tables written with ``DataFrame.to_csv`` (analysis outputs, never re-imported), so that
    their dates and numbers keep pandas' formatting while text cannot run as a formula.

    Parameters
    ----------
    frame
        The table to write.

    Returns
    -------
    pandas.DataFrame
        The copy; numeric and datetime columns unchanged.
    """
    out = frame.copy()
    for name in out.columns:
        dtype = out[name].dtype
        types = pd.api.types
        if not (types.is_numeric_dtype(dtype) or types.is_datetime64_any_dtype(dtype)):
            out[name] = neutralise_formula(out[name])
    return out


def _quote(values: pd.Series) -> pd.Series:
    text = values.astype(str)
    needs = np.asarray(text.str.contains(r'[",\r\n]', regex=True), dtype=bool)
    if needs.any():
        text = text.copy()
        text[needs] = '"' + text[needs].str.replace('"', '""', regex=False) + '"'
    return text


def csv_text(frame: pd.DataFrame, *, neutralise_formulas: bool = False) -> str:
    """The CSV text of a table: header row, ``"\\n"`` line endings, blank cell = missing.

    Parameters
    ----------
    frame
        The table; values are written as ``str(value)``, missing values (None, NaN, NA) as an
        empty cell.
    neutralise_formulas
        Prefix ``'`` to values a spreadsheet would run as formulas (exports for spreadsheets).
        Columns of a numeric dtype are left as they are (a negative number is a number).

    Returns
    -------
    str
        The file's text.
    """
    columns: list[pd.Series] = []
    for name in frame.columns:
        col = frame[name]
        na = np.asarray(col.isna(), dtype=bool)
        text = col.astype(object).where(~na, "")
        text = text.astype(str)
        # Numeric columns are numbers to a spreadsheet, never formulas: ``-3650`` (a day
        # offset before the index date) must stay a number, not become the text ``'-3650``.
        if neutralise_formulas and not pd.api.types.is_numeric_dtype(col.dtype):
            text = neutralise_formula(text)
            text[na] = ""
        columns.append(_quote(text.reset_index(drop=True)))
    header = ",".join(_quote(pd.Series([str(c) for c in frame.columns], dtype=object)))
    if not columns or len(frame) == 0:
        return header + "\n"
    lines = columns[0]
    for col in columns[1:]:
        lines = lines + "," + col
    return header + "\n" + "\n".join(lines.tolist()) + "\n"


def write_csv(frame: pd.DataFrame, path: str | Path, *, neutralise_formulas: bool = False) -> Path:
    """Write :func:`csv_text` of ``frame`` to ``path`` as UTF-8 and return the path.

    Parameters
    ----------
    frame
        The table.
    path
        Output file (created or replaced).
    neutralise_formulas
        As for :func:`csv_text`.

    Returns
    -------
    Path
        ``path``.
    """
    out = Path(path)
    with out.open("w", encoding="utf-8", newline="") as fh:
        fh.write(csv_text(frame, neutralise_formulas=neutralise_formulas))
    return out
