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

Examples
--------
>>> import pandas as pd
>>> csv_text(pd.DataFrame({"term": ["a\rb", "x,y", "=1+1"], "n": ["1", "2", "3"]}))
'term,n\n"a\rb",1\n"x,y",2\n=1+1,3\n'
>>> csv_text(pd.DataFrame({"term": ["=1+1", "-2", "ok"]}), neutralise_formulas=True)
"term\n'=1+1\n'-2\nok\n"
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

__all__ = [
    "FORMULA_PREFIXES",
    "csv_text",
    "neutralise_formula",
    "neutralise_frame",
    "write_csv",
]

#: First characters that make a spreadsheet treat a cell as a formula.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


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
