"""Spreadsheet exports: diagnosed in one message per file or column, read only when asked.

A European spreadsheet writes ``;`` between fields, decimal commas and day-first dates. The
reader never reinterprets such a file by itself: it says what it found and how to fix it
(one issue per file or column, not one per row). With an explicit :class:`CsvDialect` the
same file is read exactly as the standard bundle would be.
"""

from __future__ import annotations

import csv
import datetime as dt
import importlib.util
import io
import shutil
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from hsctms.cli import app
from hsctms.datasets import demo_bundle_path
from hsctms.errors import ConfigurationError
from hsctms.io import read_bundle, validate_bundle
from hsctms.io.csvtext import CsvDialect, dates_to_iso, decimal_to_point
from hsctms.model.schema import SCHEMA

_spec = importlib.util.spec_from_file_location(
    "hsctms_tests_io_conftest_dialect", Path(__file__).resolve().parent / "conftest.py")
assert _spec is not None and _spec.loader is not None
_io = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_io)

TODAY = _io.TODAY
EURO = CsvDialect(";", ",", "dayfirst")


def europeanise(text: str, filename: str, *, delimiter: str = ";", decimal: str = ",",
                dates: str = "dayfirst") -> str:
    """The CSV text as a European spreadsheet would export it."""
    spec = next(s for s in SCHEMA.values() if s.filename == filename)
    rows = list(csv.reader(io.StringIO(text, newline="")))
    header, body = rows[0], rows[1:]
    types = {c.name: c.type for c in spec.columns}
    for row in body:
        for j, name in enumerate(header):
            value, kind = row[j], types.get(name)
            if not value:
                continue
            if kind in ("float", "edss") and decimal == ",":
                row[j] = value.replace(".", ",")
            elif kind == "date" and dates != "iso":
                y, m, d = value.split("-")
                row[j] = f"{d}/{m}/{y}" if dates == "dayfirst" else f"{m}/{d}/{y}"
    out = io.StringIO(newline="")
    csv.writer(out, delimiter=delimiter, lineterminator="\n").writerows([header, *body])
    return out.getvalue()


def european_bundle(source: Path, target: Path, **kw: str) -> Path:
    target.mkdir(parents=True)
    for spec in SCHEMA.values():
        src = source / spec.filename
        if src.exists():
            (target / spec.filename).write_text(
                europeanise(src.read_text(encoding="utf-8"), spec.filename, **kw),
                encoding="utf-8")
    if (source / "bundle.json").exists():
        shutil.copyfile(source / "bundle.json", target / "bundle.json")
    return target


def _cohort_tables(path: Path, dialect: CsvDialect | None = None, *,
                   today: dt.date | None = TODAY) -> dict[str, pd.DataFrame]:
    cohort, report = read_bundle(path, today=today, dialect=dialect)
    assert report.ok, [i.to_line() for i in report.errors]
    return {name: cohort.table(name) for name in SCHEMA}


# -- diagnosis: one message per file or column ------------------------------------------------


def test_semicolon_file_is_one_message_naming_the_option(make_bundle: _io.BundleFactory
                                                         ) -> None:
    edss = europeanise(_io.VALID["edss.csv"], "edss.csv", decimal=".", dates="iso")
    report = validate_bundle(make_bundle({"edss.csv": edss}), today=TODAY)
    issues = [i for i in report if i.file == "edss.csv"]
    assert len(issues) == 1
    (issue,) = issues
    assert issue.rule == "file-unreadable" and issue.row == 1
    assert "edss.csv uses ';' between fields (a European spreadsheet export)" in issue.message
    assert "save it as CSV (comma delimited" in issue.message
    assert "--delimiter ';'" in issue.message


def test_tab_file_names_the_tab_option(make_bundle: _io.BundleFactory) -> None:
    edss = europeanise(_io.VALID["edss.csv"], "edss.csv", delimiter="\t", decimal=".",
                       dates="iso")
    report = validate_bundle(make_bundle({"edss.csv": edss}), today=TODAY)
    (issue,) = [i for i in report if i.file == "edss.csv"]
    assert "uses tab between fields" in issue.message and "--delimiter tab" in issue.message


def test_comma_file_read_with_another_delimiter_says_so(make_bundle: _io.BundleFactory) -> None:
    report = validate_bundle(make_bundle(), today=TODAY, dialect=CsvDialect(";"))
    unreadable = [i for i in report if i.rule == "file-unreadable"]
    assert len(unreadable) == len([f for f in _io.VALID if f.endswith(".csv")])
    assert all("uses ',' between fields, not ';'" in i.message for i in unreadable)
    assert all("run without --delimiter" in i.message for i in unreadable)


def test_many_decimal_commas_are_one_column_issue(make_bundle: _io.BundleFactory) -> None:
    rows = "".join(f'P1,2015-{m:02d}-10,"3,5",\n' for m in range(1, 13))
    report = validate_bundle(make_bundle({"edss.csv": "patient_id,date,edss,fs_pyramidal\n"
                                          + rows}), today=TODAY)
    edss = [i for i in report if i.file == "edss.csv" and i.severity == "error"]
    assert [(i.rule, i.row, i.field) for i in edss] == [("column-decimal-comma", None, "edss")]
    message = edss[0].message
    assert "column edss uses ',' as decimal mark ('3,5') in 12 rows" in message
    assert "lines 2, 3, 4, 5, 6 and 7 more" in message
    assert "write numbers with '.' (3.5), or pass --decimal ','" in message
    assert not report.ok  # the values were not read: nothing is silently taken


def test_one_decimal_comma_keeps_its_cell_message(make_bundle: _io.BundleFactory) -> None:
    text = _io.VALID["edss.csv"].replace("3.5,2", '"3,5",2')
    report = validate_bundle(make_bundle({"edss.csv": text}), today=TODAY)
    (issue,) = report.errors
    assert (issue.rule, issue.row, issue.field) == ("value-unparseable", 2, "edss")
    assert "(use '.' as decimal mark)" in issue.message


@pytest.mark.parametrize(("dates", "found", "option"), [
    (["10/01/2015", "31/03/2016", "01.04.2016"], "looks day-first (31/03/2016)",
     "or pass --date-format dayfirst"),
    (["01/10/2015", "03/31/2016"], "looks month-first (03/31/2016)",
     "or pass --date-format monthfirst"),
    (["01/02/2015", "03/04/2016"], "has dates such as 01/02/2015 (day-first or month-first "
     "cannot be told",
     "--date-format dayfirst or monthfirst if you know which"),
    (["31/01/2015", "01/31/2016"], "mixes day-first and month-first dates",
     "no option reads a mixture"),
    (["31/01/15", "30/03/16"], "has dates with two-digit years (31/01/15)",
     "no option reads two-digit years"),
])
def test_numeric_dates_are_one_column_issue(make_bundle: _io.BundleFactory, dates: list[str],
                                            found: str, option: str) -> None:
    rows = "".join(f"P1,{d},3.0,\n" for d in dates)
    report = validate_bundle(make_bundle({"edss.csv": "patient_id,date,edss,fs_pyramidal\n"
                                          + rows}), today=TODAY)
    edss = [i for i in report if i.file == "edss.csv" and i.severity == "error"]
    assert [(i.rule, i.row, i.field) for i in edss] == [("column-date-format", None, "date")]
    assert f"column date {found}" in edss[0].message
    assert "write dates as YYYY-MM-DD" in edss[0].message
    assert option in edss[0].message
    assert f"in {len(dates)} rows" in edss[0].message


def test_other_bad_dates_keep_their_cell_messages(make_bundle: _io.BundleFactory) -> None:
    rows = "P1,31/12/2015,3.0,\nP1,31/11/2016,3.0,\nP1,2016-02-30,3.0,\n"
    report = validate_bundle(make_bundle({"edss.csv": "patient_id,date,edss,fs_pyramidal\n"
                                          + rows}), today=TODAY)
    got = sorted((i.rule, i.row) for i in report.errors)
    assert got == [("column-date-format", None), ("value-unparseable", 4)]


# -- explicit reading --------------------------------------------------------------------------


def test_european_export_read_explicitly_equals_the_bundle(tmp_path: Path) -> None:
    """The demo bundle exported as a European spreadsheet and read with --delimiter ';'
    --decimal ',' --date-format dayfirst gives exactly the same tables."""
    demo = demo_bundle_path()
    euro = european_bundle(demo, tmp_path / "euro")
    assert ";" in (euro / "edss.csv").read_text(encoding="utf-8").splitlines()[0]
    today = dt.date(2100, 1, 1)  # the demo's follow-up runs past the tests' pinned today
    want = _cohort_tables(demo, today=today)
    got = _cohort_tables(euro, EURO, today=today)
    for name in SCHEMA:
        pd.testing.assert_frame_equal(got[name], want[name], obj=name)
    # and the report is the same (same rules, lines, fields, patients)
    key = [(i.rule, i.file, i.row, i.field, i.patient) for i in
           validate_bundle(demo, today=today)]
    assert key == [(i.rule, i.file, i.row, i.field, i.patient) for i in
                   validate_bundle(euro, today=today, dialect=EURO)]


def test_month_first_export_read_explicitly(tmp_path: Path) -> None:
    source = _io.write_files(tmp_path / "b", {})
    us = european_bundle(source, tmp_path / "us", delimiter=",", decimal=".",
                         dates="monthfirst")
    got = _cohort_tables(us, CsvDialect(date_format="monthfirst"))
    want = _cohort_tables(source)
    for name in SCHEMA:
        pd.testing.assert_frame_equal(got[name], want[name], obj=name)


def test_the_fast_reader_reads_semicolon_files(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """A semicolon file without quotes is read by pyarrow, not the line-by-line reader."""
    from hsctms.io import _parse

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the exact reader was used")

    euro = european_bundle(_io.write_files(tmp_path / "b", {}), tmp_path / "euro")
    monkeypatch.setattr(_parse, "_slow_rows", refuse)
    assert validate_bundle(euro, today=TODAY, dialect=EURO).ok


def test_decimal_comma_dialect_refuses_a_point(make_bundle: _io.BundleFactory) -> None:
    """With --decimal ',' a '.' may be a thousands separator: an error, never read as a point."""
    text = "patient_id;date;edss;fs_pyramidal\nP1;2015-01-10;3,5;2\nP1;2016-03-10;3.0;\n"
    mri = "patient_id;date;new_t2;gd_lesions;brain_volume\nP1;2015-02-01;3;1;1.450\n"
    files = {f: europeanise(t, f, dates="iso") for f, t in _io.VALID.items()
             if f.endswith(".csv")}
    files.update({"edss.csv": text, "mri.csv": mri})
    cohort, report = read_bundle(make_bundle(files), today=TODAY,
                                 dialect=CsvDialect(";", ","))
    got = sorted((i.rule, i.file, i.row, i.field) for i in report.errors)
    assert got == [("value-unparseable", "edss.csv", 3, "edss"),
                   ("value-unparseable", "mri.csv", 2, "brain_volume")]
    (mri_issue,) = [i for i in report.errors if i.file == "mri.csv"]
    assert "'1.450' holds '.'" in mri_issue.message and "thousands separator" in mri_issue.message
    assert cohort.edss["edss"].tolist()[0] == 3.5
    assert pd.isna(cohort.mri["brain_volume"].iat[0])


def test_dayfirst_dialect_reports_impossible_dates(make_bundle: _io.BundleFactory) -> None:
    text = "patient_id,date,edss,fs_pyramidal\nP1,10/01/2015,3.5,2\nP1,31/02/2016,3.0,\n" \
           "P1,2016-05-01,3.0,\nP1,1/6/16,3.0,\n"
    report = validate_bundle(make_bundle({"edss.csv": text}), today=TODAY,
                             dialect=CsvDialect(date_format="dayfirst"))
    got = sorted((i.rule, i.row) for i in report.errors)
    assert got == [("value-unparseable", 3), ("value-unparseable", 5)]
    assert all("is not a date DD/MM/YYYY (as --date-format dayfirst declares" in i.message
               for i in report.errors)


def test_dialect_values_are_checked() -> None:
    with pytest.raises(ConfigurationError, match="delimiter"):
        CsvDialect(":")
    with pytest.raises(ConfigurationError, match="decimal"):
        CsvDialect(decimal="'")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="date format"):
        CsvDialect(date_format="yearfirst")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="both ','"):
        CsvDialect(",", ",")


def test_conversions_touch_only_their_notation() -> None:
    text, dotted = decimal_to_point(pd.Series(["3,5", "-0,25", "1.234", "x", ""]))
    assert text.tolist() == ["3.5", "-0.25", "1.234", "x", ""]
    assert dotted.tolist() == [False, False, True, False, False]
    dates = pd.Series(["31/12/2019", "1.2.2020", "12-31-2019", "2020-01-02", "31/12/19", "x"])
    assert dates_to_iso(dates, "dayfirst").tolist() == [
        "2019-12-31", "2020-02-01", "2019-31-12", "2020-01-02", "31/12/19", "x"]
    assert dates_to_iso(dates, "monthfirst").tolist()[:3] == [
        "2019-31-12", "2020-01-02", "2019-12-31"]
    assert dates_to_iso(dates, "iso").tolist() == dates.tolist()


# -- the command line ------------------------------------------------------------------------


def test_cli_validate_and_import_with_explicit_options(tmp_path: Path) -> None:
    runner = CliRunner()
    euro = european_bundle(_io.write_files(tmp_path / "b", {}), tmp_path / "euro")
    plain = runner.invoke(app, ["validate", str(euro)])
    assert plain.exit_code == 1 and "--delimiter ';'" in plain.output
    args = ["--delimiter", ";", "--decimal", ",", "--date-format", "dayfirst"]
    ok = runner.invoke(app, ["validate", str(euro), *args])
    assert ok.exit_code == 0, ok.output
    db = tmp_path / "r.sqlite"
    refused = runner.invoke(app, ["import", str(euro), "--db", str(db)])
    assert refused.exit_code == 1
    done = runner.invoke(app, ["import", str(euro), "--db", str(db), *args])
    assert done.exit_code == 0, done.output
    again = runner.invoke(app, ["import", str(tmp_path / "b"), "--db", str(db)])
    assert again.exit_code == 0, again.output
    assert "inserted 0" in again.output.lower() or "unchanged" in again.output.lower()


def test_cli_endpoints_reads_a_spreadsheet_export_with_explicit_options(tmp_path: Path
                                                                        ) -> None:
    """``hsctms endpoints --data`` takes the options validate and import take: the European
    export gives exactly the endpoint table of the bundle it was made from; without them it
    is refused (nothing guessed), and with --db they are refused as meaningless."""
    runner = CliRunner()
    source = _io.write_files(tmp_path / "b", {})
    euro = european_bundle(source, tmp_path / "euro")
    args = ["--delimiter", ";", "--decimal", ",", "--date-format", "dayfirst"]
    plain = runner.invoke(app, ["endpoints", "--data", str(euro),
                                "--out", str(tmp_path / "no.csv")])
    assert plain.exit_code == 1 and "--delimiter ';'" in plain.output
    assert not (tmp_path / "no.csv").exists()
    want = runner.invoke(app, ["endpoints", "--data", str(source),
                               "--out", str(tmp_path / "want.csv")])
    assert want.exit_code == 0, want.output
    got = runner.invoke(app, ["endpoints", "--data", str(euro), *args,
                              "--out", str(tmp_path / "got.csv")])
    assert got.exit_code == 0, got.output
    assert len((tmp_path / "want.csv").read_text(encoding="utf-8").splitlines()) > 1
    assert (tmp_path / "got.csv").read_bytes() == (tmp_path / "want.csv").read_bytes()
    bad = runner.invoke(app, ["endpoints", "--data", str(euro), "--delimiter", ":",
                              "--out", str(tmp_path / "x.csv")])
    assert bad.exit_code == 2 and "Unknown delimiter ':'" in bad.output
    db = runner.invoke(app, ["endpoints", "--db", str(tmp_path / "r.sqlite"), *args,
                             "--out", str(tmp_path / "db.csv")])
    assert db.exit_code == 1 and "--data" in db.output
    assert not (tmp_path / "db.csv").exists()


def test_cli_refuses_an_unknown_delimiter(tmp_path: Path) -> None:
    res = CliRunner().invoke(app, ["validate", str(tmp_path), "--delimiter", ":"])
    assert res.exit_code == 2
    assert "Unknown delimiter ':'" in res.output


# -- properties: a declared notation reads back exactly what the bundle format holds ----------


@given(st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2200, 12, 31)),
       st.sampled_from(["/", ".", "-"]), st.booleans())
def test_numeric_dates_read_back_exactly(day: dt.date, sep: str, pad: bool) -> None:
    d, m = (f"{day.day:02d}", f"{day.month:02d}") if pad else (str(day.day), str(day.month))
    written = pd.Series([f"{d}{sep}{m}{sep}{day.year:04d}", f"{m}{sep}{d}{sep}{day.year:04d}"])
    assert dates_to_iso(written.iloc[:1], "dayfirst").tolist() == [day.isoformat()]
    assert dates_to_iso(written.iloc[1:], "monthfirst").tolist() == [day.isoformat()]


@given(st.floats(allow_nan=False, allow_infinity=False).filter(lambda v: "e" not in repr(v)))
def test_decimal_commas_read_back_exactly(value: float) -> None:
    text, dotted = decimal_to_point(pd.Series([repr(value).replace(".", ",")]))
    assert not dotted[0]
    assert float(text.iat[0]) == value
