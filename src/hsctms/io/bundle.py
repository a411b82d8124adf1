"""The CSV bundle: reading (with validation), writing, and the ``bundle.json`` manifest.

A bundle is a directory holding one ``<table>.csv`` per table of
:data:`hsctms.model.schema.SCHEMA` (``patients.csv`` required, the others optional) and an
optional manifest ``bundle.json``::

    {"format": "hsctms-bundle", "format_version": 1, "synthetic": true,
     "data_date": "2025-06-30", "generator": {...} | null, "created": "2025-07-01T10:00:00+00:00"}

CSV conventions: UTF-8 (a BOM is tolerated), comma separated, one header row, ISO dates
(``YYYY-MM-DD``), blank cell = missing, booleans ``yes``/``no`` (``true``/``false``/``1``/``0``
accepted on input), decimals with ``.``. See ``docs/data-format.md``.

Examples
--------
>>> cohort, report = read_bundle("my-bundle")          # doctest: +SKIP
>>> report.ok, report.summary                           # doctest: +SKIP
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hsctms.errors import ConfigurationError, DataValidationError
from hsctms.io._issues import Issue, ValidationReport, make_issue, with_patients
from hsctms.io._parse import (
    LINE,
    FileRefused,
    RawTable,
    read_raw,
    read_regular_file,
)
from hsctms.io.csvtext import CsvDialect, write_csv
from hsctms.io.validate import ValidationContext, check_tables, parse_table
from hsctms.model.cohort import Cohort, conform, empty_table
from hsctms.model.regimens import RegimenMap, default_regimen_map
from hsctms.model.schema import SCHEMA, TableSpec

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "MANIFEST",
    "MANIFEST_KEYS",
    "BundleContents",
    "Manifest",
    "bundle_checksum",
    "checked_tables",
    "format_table",
    "load_bundle",
    "read_bundle",
    "read_bundle_contents",
    "read_manifest",
    "refuse_errors",
    "validate_bundle",
    "validate_cohort",
    "write_bundle",
    "write_manifest",
]

MANIFEST = "bundle.json"
FORMAT = "hsctms-bundle"
FORMAT_VERSION = 1
#: bundle.json is a small flat object; larger files are refused before reading.
MANIFEST_MAX_BYTES = 1024 * 1024
#: Longest number (characters) bundle.json may hold.
MANIFEST_NUMBER_CHARS = 40


@dataclass(frozen=True)
class Manifest:
    """Contents of ``bundle.json``.

    Parameters
    ----------
    synthetic
        True for synthetic demo data.
    data_date
        Date the data were extracted or frozen.
    generator
        Free-form description of the program (and its settings) that wrote the bundle.
    created
        ISO timestamp of creation.
    format_version
        Format version of the bundle (1).
    """

    synthetic: bool = False
    data_date: _dt.date | None = None
    generator: dict[str, Any] | None = None
    created: str | None = None
    format_version: int = FORMAT_VERSION

    def to_dict(self) -> dict[str, Any]:
        """The JSON document written as ``bundle.json``.

        Returns
        -------
        dict
            ``format``, ``format_version``, ``synthetic``, ``data_date``, ``generator``,
            ``created``.
        """
        return {
            "format": FORMAT,
            "format_version": self.format_version,
            "synthetic": self.synthetic,
            "data_date": self.data_date.isoformat() if self.data_date else None,
            "generator": self.generator,
            "created": self.created,
        }


#: The keys of ``bundle.json`` (format version 1).
MANIFEST_KEYS = ("format", "format_version", "synthetic", "data_date", "generator", "created")


def _manifest_error(msg: str, key: str | None = None) -> tuple[None, list[Issue]]:
    return None, [make_issue("manifest-invalid", MANIFEST, None, key, msg)]


class _ManifestSyntax(ValueError):
    """A JSON construct the manifest must not use (duplicate key, NaN/Infinity)."""

    def __init__(self, message: str, key: str | None) -> None:
        super().__init__(message)
        self.key = key


def _unique_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise _ManifestSyntax(f"bundle.json names {key!r} more than once; keep one.", key)
        seen[key] = value
    return seen


def _no_constant(name: str) -> Any:
    raise _ManifestSyntax(f"bundle.json holds {name}, which is not JSON; write a number or "
                          "null.", None)


def _number(text: str, kind: type) -> Any:
    """A JSON number of the manifest: at most :data:`MANIFEST_NUMBER_CHARS` characters and,
    for decimals, finite (``1e999999`` would be read as infinity, not JSON on the way out)."""
    if len(text) > MANIFEST_NUMBER_CHARS:
        raise _ManifestSyntax(f"bundle.json holds a number of {len(text):,} characters "
                              f"({text[:12]}...); numbers have at most "
                              f"{MANIFEST_NUMBER_CHARS}.", None)
    value = kind(text)
    if kind is float and not math.isfinite(value):
        raise _ManifestSyntax(f"bundle.json holds the number {text}, which is too large for "
                              "a number; write a smaller one or text.", None)
    return value


def _load_json(path: Path) -> tuple[Any, Issue | None]:
    """The JSON document of ``bundle.json``, or the issue that prevents reading it.

    Refused before reading: anything but a regular file (directory, FIFO, device) and files
    over :data:`MANIFEST_MAX_BYTES`; while parsing: nesting deeper than the parser's limit
    and numbers too long or too large (no RecursionError or ValueError escapes)."""
    try:
        data = read_regular_file(path, max_bytes=MANIFEST_MAX_BYTES)
    except FileRefused as exc:
        return None, _manifest_error(f"bundle.json {exc.reason}; it was not read.")[1][0]
    except OSError as exc:
        return None, _manifest_error(f"bundle.json cannot be opened "
                                     f"({exc.strerror or exc}).")[1][0]
    try:
        return json.loads(data.decode("utf-8-sig"), object_pairs_hook=_unique_object,
                          parse_constant=_no_constant,
                          parse_float=lambda t: _number(t, float),
                          parse_int=lambda t: _number(t, int)), None
    except UnicodeDecodeError as exc:
        msg = (f"bundle.json is not UTF-8 (byte 0x{exc.object[exc.start]:02x} at position "
               f"{exc.start}); re-save it as UTF-8.")
        key = None
    except json.JSONDecodeError as exc:
        msg = f"bundle.json is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})."
        key = None
    except _ManifestSyntax as exc:
        msg, key = str(exc), exc.key
    except RecursionError:
        msg = ("bundle.json is nested too deeply to read (lists or objects inside each other "
               "hundreds of levels deep); a manifest is a flat object.")
        key = None
    return None, _manifest_error(msg, key)[1][0]


# Complexity > 10: a validator: one flat list of manifest checks.
def read_manifest(directory: str | Path) -> tuple[Manifest | None, list[Issue]]:  # noqa: C901
    """Read and check ``bundle.json``; ``(None, issues)`` when absent or invalid.

    Parameters
    ----------
    directory
        The bundle directory.

    Returns
    -------
    (Manifest or None, list of Issue)
        The manifest, or None with a ``manifest-missing`` or ``manifest-invalid`` issue.
    """
    path = Path(directory) / MANIFEST
    if not path.exists():
        return None, [make_issue("manifest-missing", MANIFEST, None, None,
                                 "No bundle.json: data treated as real (not synthetic), no "
                                 "data date.")]
    doc, problem = _load_json(path)
    if problem is not None:
        return None, [problem]
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        return _manifest_error(f"bundle.json must be an object with \"format\": \"{FORMAT}\".",
                               "format")
    version = doc.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        return _manifest_error("bundle.json format_version must be a positive integer.",
                               "format_version")
    if version > FORMAT_VERSION:
        return _manifest_error(f"bundle.json format_version {version} is newer than this "
                               f"hsctms supports ({FORMAT_VERSION}); upgrade hsctms.",
                               "format_version")
    unknown = sorted(set(doc) - set(MANIFEST_KEYS))
    if unknown:
        return _manifest_error(f"bundle.json has key(s) {', '.join(map(repr, unknown))} that "
                               f"format version {FORMAT_VERSION} does not define (known: "
                               f"{', '.join(MANIFEST_KEYS)}); remove them.", unknown[0])
    synthetic = doc.get("synthetic", False)
    if not isinstance(synthetic, bool):
        return _manifest_error(f"bundle.json synthetic must be true or false, not {synthetic!r}.",
                               "synthetic")
    raw_date = doc.get("data_date")
    data_date = None
    if raw_date is not None:
        try:
            if not isinstance(raw_date, str) or len(raw_date) != 10:
                raise ValueError(raw_date)
            data_date = _dt.date.fromisoformat(raw_date)
        except ValueError:
            return _manifest_error(f"bundle.json data_date {raw_date!r} is not an ISO date "
                                   "YYYY-MM-DD.", "data_date")
    generator = doc.get("generator")
    if generator is not None and not isinstance(generator, dict):
        return _manifest_error("bundle.json generator must be an object or null.", "generator")
    created = doc.get("created")
    if created is not None and not isinstance(created, str):
        return _manifest_error(f"bundle.json created must be an ISO timestamp text or null, "
                               f"not {created!r}.", "created")
    return Manifest(synthetic, data_date, generator, None if created is None else str(created),
                    version), []


def write_manifest(directory: str | Path, manifest: Manifest) -> Path:
    """Write ``bundle.json`` into ``directory``.

    Parameters
    ----------
    directory
        The bundle directory.
    manifest
        The contents.

    Returns
    -------
    Path
        The file written.
    """
    path = Path(directory) / MANIFEST
    path.write_text(json.dumps(manifest.to_dict(), indent=2) + "\n", encoding="utf-8")
    return path


@dataclass
class BundleContents:
    """A bundle read from disk: typed frames with line numbers, manifest and report.

    Parameters
    ----------
    tables
        Typed frame of every schema table (failing cells missing), with the line-number
        column ``__line__``.
    manifest
        The manifest, or None.
    report
        The validation report.
    path
        The bundle directory.
    files
        The table files present, by table name.
    present
        The schema columns in each file's header, by table name.
    """

    tables: dict[str, pd.DataFrame]
    manifest: Manifest | None
    report: ValidationReport
    path: Path
    files: dict[str, Path] = field(default_factory=dict)
    present: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def cohort(self, regimen_map: RegimenMap | None = None) -> Cohort:
        """The tables as a :class:`Cohort` (canonical columns only).

        Parameters
        ----------
        regimen_map
            Regimen map of the cohort (default EBMT).

        Returns
        -------
        Cohort
            The tables without line numbers, with the manifest's ``synthetic`` and
            ``data_date``.
        """
        m = self.manifest or Manifest()
        tables = {name: f.drop(columns=[LINE]) for name, f in self.tables.items()}
        return Cohort(tables=tables, synthetic=m.synthetic, data_date=m.data_date,
                      source=str(self.path), regimen_map=regimen_map or default_regimen_map())


def _check_directory(path: Path) -> None:
    if not path.exists():
        raise ConfigurationError(f"Bundle directory {str(path)!r} does not exist.",
                                 hint="Pass the directory that holds patients.csv.")
    if not path.is_dir():
        raise ConfigurationError(f"{str(path)!r} is not a directory.",
                                 hint="A bundle is a directory of CSV files (patients.csv, ...).")


def checked_tables(tables: Iterable[str] | None = None) -> tuple[str, ...]:
    """The tables read and validated to check ``tables`` with every rule that applies to them.

    Besides the tables asked for: ``patients`` (``patient-unknown``, birth year and onset of
    every row), ``deaths`` (``event-after-death``) and, with ``edss``, ``relapses``
    (``edss-near-relapse``).

    Parameters
    ----------
    tables
        Table names of :data:`~hsctms.model.schema.SCHEMA`; None: all of them.

    Returns
    -------
    tuple of str
        The tables, in schema order.

    Raises
    ------
    ConfigurationError
        An unknown table name.
    """
    if tables is None:
        return tuple(SCHEMA)
    wanted = set(tables)
    unknown = sorted(wanted - set(SCHEMA))
    if unknown:
        raise ConfigurationError(f"Unknown table(s) {', '.join(map(repr, unknown))}.",
                                 hint=f"Known tables: {', '.join(SCHEMA)}.")
    wanted |= {"patients", "deaths"}
    if "edss" in wanted:
        wanted.add("relapses")
    return tuple(name for name in SCHEMA if name in wanted)


def _read_table(directory: Path, name: str, spec: TableSpec, issues: list[Issue],
                dialect: CsvDialect | None = None
                ) -> tuple[pd.DataFrame, Path | None, tuple[str, ...] | None]:
    """One table of the bundle: typed frame with line numbers, its file and header columns
    (None when absent); its issues are appended to ``issues``."""
    file = directory / spec.filename
    raw: RawTable | None = None
    if file.exists():
        # refuses a directory, FIFO or device unread
        raw, raw_issues = read_raw(file, spec, delimiter=(dialect or CsvDialect()).delimiter)
        issues += raw_issues
    elif name == "patients":
        issues.append(make_issue("file-missing-patients", spec.filename, None, None,
                                 "The bundle has no patients.csv; every table refers to it."))
    if raw is None:
        return _empty(spec), file if file.exists() else None, None
    frame, cell_issues = parse_table(raw, dialect=dialect)
    issues += cell_issues
    return frame, file, raw.present


def _empty(spec: TableSpec) -> pd.DataFrame:
    frame = empty_table(spec)
    frame[LINE] = np.zeros(0, dtype=np.int64)
    return frame


def read_bundle_contents(path: str | Path, *, regimen_map: RegimenMap | None = None,
                         today: _dt.date | None = None,
                         tables: Iterable[str] | None = None,
                         dialect: CsvDialect | None = None) -> BundleContents:
    """Read and validate a bundle, keeping the line numbers (used by the importer).

    Parameters
    ----------
    path
        Bundle directory.
    regimen_map
        Regimen map for intensity classes and the ``regimen-unknown`` rule (default EBMT).
    today
        Reference date for "in the future" (default: today).
    tables
        Read and validate only these tables and those their rules need
        (:func:`checked_tables`); the others are neither read nor checked and are empty in
        the result. Default: every table.
    dialect
        How the CSV files are written when the user declares they are not standard bundle
        files (``--delimiter``, ``--decimal``, ``--date-format``); default: the bundle
        format. Never guessed: other files are diagnosed, not reinterpreted.

    Returns
    -------
    BundleContents
        Typed tables, manifest and report (check ``report.ok`` before using the tables).
    """
    directory = Path(path)
    _check_directory(directory)
    scope = checked_tables(tables)
    manifest, issues = read_manifest(directory)
    known = {spec.filename for spec in SCHEMA.values()}
    for extra in sorted(p.name for p in directory.glob("*.csv") if p.name not in known):
        issues.append(make_issue("file-unknown", extra, None, None,
                                 f"{extra} is not a table of the bundle ({', '.join(known)}); "
                                 "it is ignored."))
    frames: dict[str, pd.DataFrame] = {}
    files: dict[str, Path] = {}
    present: dict[str, tuple[str, ...]] = {}
    for name, spec in SCHEMA.items():
        if name not in scope:
            frames[name] = _empty(spec)
            continue
        frames[name], file, columns = _read_table(directory, name, spec, issues, dialect)
        if file is not None:
            files[name] = file
        if columns is not None:
            present[name] = columns
    ctx = ValidationContext(data_date=manifest.data_date if manifest else None, today=today,
                            regimen_map=regimen_map or default_regimen_map())
    issues += check_tables(frames, ctx)
    report = ValidationReport(with_patients(issues, frames), source=str(directory),
                              rows={n: len(f) for n, f in frames.items() if n in scope})
    return BundleContents(frames, manifest, report, directory, files, present)


def read_bundle(path: str | Path, *, regimen_map: RegimenMap | None = None,
                today: _dt.date | None = None,
                tables: Iterable[str] | None = None,
                dialect: CsvDialect | None = None) -> tuple[Cohort, ValidationReport]:
    """Read a CSV bundle into a :class:`Cohort` and validate it.

    Parameters
    ----------
    path
        Bundle directory.
    regimen_map
        Regimen map for intensity classes and the ``regimen-unknown`` rule (default EBMT).
    today
        Reference date for "in the future" (default: today).
    tables
        Read and validate only these tables and those their rules need
        (:func:`checked_tables`); the others are empty in the cohort. Default: every table.
    dialect
        How the CSV files are written when the user declares they are not standard bundle
        files (``--delimiter``, ``--decimal``, ``--date-format``); default: the bundle
        format. Never guessed: other files are diagnosed, not reinterpreted.

    Returns
    -------
    (Cohort, ValidationReport)
        When ``report.ok`` is False the cohort holds the rows that could be read with failing
        cells as missing; do not analyse it (use :func:`load_bundle` to fail instead).
    """
    contents = read_bundle_contents(path, regimen_map=regimen_map, today=today, tables=tables,
                                    dialect=dialect)
    return contents.cohort(regimen_map), contents.report


def validate_bundle(path: str | Path, *, regimen_map: RegimenMap | None = None,
                    today: _dt.date | None = None,
                    tables: Iterable[str] | None = None,
                    dialect: CsvDialect | None = None) -> ValidationReport:
    """Validate a bundle and return the report.

    Parameters
    ----------
    path
        Bundle directory.
    regimen_map
        Regimen map for intensity classes and the ``regimen-unknown`` rule (default EBMT).
    today
        Reference date for "in the future" (default: today).
    tables
        Validate only these tables and those their rules need (:func:`checked_tables`).
        Default: every table.
    dialect
        How the CSV files are written when the user declares they are not standard bundle
        files (``--delimiter``, ``--decimal``, ``--date-format``); default: the bundle
        format. Never guessed: other files are diagnosed, not reinterpreted.

    Returns
    -------
    ValidationReport
        Every issue of the tables checked.
    """
    return read_bundle_contents(path, regimen_map=regimen_map, today=today,
                                tables=tables, dialect=dialect).report


def refuse_errors(path: str | Path, report: ValidationReport) -> None:
    """Raise :class:`~hsctms.errors.DataValidationError` when ``report`` holds an error.

    Parameters
    ----------
    path
        The bundle directory (named in the message and the hint).
    report
        Its validation report.

    Raises
    ------
    DataValidationError
        The bundle has a validation error (the report lists them all).
    """
    if not report.ok:
        raise DataValidationError(
            f"Bundle {str(path)!r} has {len(report.errors)} validation error(s).",
            report=report,
            hint=f"Run 'hsctms validate {path}' to list them.",
        )


def load_bundle(path: str | Path, *, regimen_map: RegimenMap | None = None,
                today: _dt.date | None = None,
                tables: Iterable[str] | None = None,
                dialect: CsvDialect | None = None) -> Cohort:
    """Read a bundle, raising :class:`~hsctms.errors.DataValidationError` on any error.

    Parameters
    ----------
    path
        Bundle directory.
    regimen_map
        Regimen map for intensity classes and the ``regimen-unknown`` rule (default EBMT).
    today
        Reference date for "in the future" (default: today).
    tables
        Read and validate only these tables and those their rules need
        (:func:`checked_tables`); the others are empty in the cohort. Default: every table.
    dialect
        How the CSV files are written when the user declares they are not standard bundle
        files (``--delimiter``, ``--decimal``, ``--date-format``); default: the bundle
        format. Never guessed: other files are diagnosed, not reinterpreted.

    Returns
    -------
    Cohort
        The validated cohort (warnings and infos do not block).

    Raises
    ------
    DataValidationError
        The bundle has a validation error (the report lists them all).
    """
    cohort, report = read_bundle(path, regimen_map=regimen_map, today=today, tables=tables,
                                 dialect=dialect)
    refuse_errors(path, report)
    return cohort


# -- writing -------------------------------------------------------------------------------


def format_table(spec: TableSpec, frame: pd.DataFrame) -> pd.DataFrame:
    """Canonical text of a typed table, exactly as written to CSV (blank = missing).

    Parameters
    ----------
    spec
        The table's specification.
    frame
        The typed table (conformed to ``spec`` first).

    Returns
    -------
    DataFrame
        String columns in schema order.
    """
    typed = conform(spec, frame)
    out: dict[str, Any] = {}
    for col in spec.columns:
        s = typed[col.name]
        na = np.asarray(s.isna(), dtype=bool)
        if col.type == "date":
            days = s.to_numpy(dtype="datetime64[ns]").astype("datetime64[D]")
            text = np.datetime_as_string(days, unit="D").astype(object)
        elif col.type == "bool":
            text = np.where(s.fillna(False).to_numpy(dtype=bool), "yes", "no").astype(object)
        elif col.type == "int":
            text = s.fillna(0).to_numpy(dtype=np.int64).astype(str).astype(object)
        elif col.type in ("float", "edss"):
            arr = s.to_numpy(dtype=float, na_value=np.nan)
            text = np.array([repr(float(v)) for v in arr], dtype=object) if len(arr) else \
                np.array([], dtype=object)
        else:
            text = np.array(s.astype(object).to_numpy(), dtype=object)
        text[na] = ""
        out[col.name] = text
    return pd.DataFrame(out, columns=list(spec.column_names))


def write_bundle(cohort: Cohort, path: str | Path, *, generator: dict[str, Any] | None = None,
                 created: str | None = None) -> Path:
    """Write a cohort as a CSV bundle (all nine tables plus ``bundle.json``).

    Parameters
    ----------
    cohort
        The data; ``synthetic`` and ``data_date`` go into the manifest.
    path
        Output directory (created if needed; existing table files are overwritten).
    generator
        Optional description of the program that produced the data (for the manifest).
    created
        Creation timestamp (default: now, UTC).

    Returns
    -------
    Path
        The bundle directory.
    """
    directory = Path(path)
    directory.mkdir(parents=True, exist_ok=True)
    for name, spec in SCHEMA.items():
        text = format_table(spec, cohort.table(name))
        write_csv(text, directory / spec.filename)
    stamp = created or _dt.datetime.now(_dt.UTC).replace(microsecond=0).isoformat()
    write_manifest(directory, Manifest(cohort.synthetic, cohort.data_date, generator, stamp))
    return directory


def validate_cohort(cohort: Cohort, *, today: _dt.date | None = None) -> ValidationReport:
    """Validate an in-memory cohort with the bundle rules (as if written and read back).

    Row numbers are the lines the rows would have in a bundle written by
    :func:`write_bundle`.

    Parameters
    ----------
    cohort
        The data.
    today
        Reference date for "in the future" (default: today).

    Returns
    -------
    ValidationReport
        Every issue of the cohort.
    """
    tables: dict[str, pd.DataFrame] = {}
    issues: list[Issue] = []
    for name, spec in SCHEMA.items():
        text = format_table(spec, cohort.table(name))
        raw = RawTable(spec, text, np.arange(2, len(text) + 2, dtype=np.int64),
                       spec.column_names)
        tables[name], cell_issues = parse_table(raw)
        issues += cell_issues
    ctx = ValidationContext(data_date=cohort.data_date, today=today,
                            regimen_map=cohort.regimen_map)
    issues += check_tables(tables, ctx)
    return ValidationReport(with_patients(issues, tables), source=cohort.source,
                            rows=cohort.row_counts())


def bundle_checksum(path: str | Path) -> str:
    """SHA-256 over the bundle's table files (name and bytes, in schema order) and the
    manifest's ``synthetic``/``data_date`` (not its creation time).

    Parameters
    ----------
    path
        Bundle directory.

    Returns
    -------
    str
        Hexadecimal digest.
    """
    directory = Path(path)
    digest = hashlib.sha256()
    for spec in SCHEMA.values():
        file = directory / spec.filename
        if file.exists():
            digest.update(spec.filename.encode() + b"\0")
            digest.update(file.read_bytes())
            digest.update(b"\0")
    manifest, _ = read_manifest(directory)
    if manifest is not None:
        digest.update(json.dumps({"synthetic": manifest.synthetic,
                                  "data_date": manifest.to_dict()["data_date"]}).encode())
    return digest.hexdigest()
