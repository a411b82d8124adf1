"""The registry of validation rules: stable ids, severities and meanings.

Every :class:`~hsctms.io.validate.Issue` names one of these rules. Rule ids are part of the
public interface (they appear in reports, in ``--json`` output and in the web forms) and never
change meaning; a rule that is retired keeps its id reserved. ``docs/validation-rules.md`` is
generated from this table by :func:`hsctms.io.docs.render_validation_rules`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from hsctms.errors import ConfigurationError

__all__ = ["RULES", "SEVERITIES", "Rule", "Severity", "rule"]

Severity = Literal["error", "warning", "info"]

#: Severities from most to least serious (also the sort order of reports).
SEVERITIES: tuple[Severity, ...] = ("error", "warning", "info")


@dataclass(frozen=True)
class Rule:
    """One documented validation rule.

    Parameters
    ----------
    id
        Stable identifier, e.g. ``"edss-off-grid"``.
    severity
        ``"error"`` blocks an import; ``"warning"`` and ``"info"`` do not.
    scope
        ``"file"`` (whole file), ``"column"`` (a header), ``"value"`` (one cell) or
        ``"record"`` (a row checked against other rows or tables).
    title
        Short name.
    description
        What the rule checks and how to fix a violation.
    """

    id: str
    severity: Severity
    scope: Literal["file", "column", "value", "record"]
    title: str
    description: str


_RULE_LIST: tuple[Rule, ...] = (
    # -- files and headers ------------------------------------------------------------------
    Rule("file-missing-patients", "error", "file", "patients.csv missing",
         "A bundle must contain patients.csv; every other table refers to it."),
    Rule("file-encoding", "error", "file", "Not UTF-8",
         "Files must be UTF-8 (a byte-order mark is tolerated). The report gives the line of "
         "the first byte that is not valid UTF-8. Re-save the file as UTF-8 (e.g. in a "
         "spreadsheet: 'CSV UTF-8')."),
    Rule("file-unreadable", "error", "file", "Unreadable CSV",
         "The file is empty, has no header row, is not comma-separated text (e.g. separated "
         "by ';' or tabs: the message names the separator and the --delimiter that reads "
         "it), or has a quoted value that is never closed (a truncated file) or "
         "is followed by other text before the next comma; or it is not a regular file (a "
         "directory, FIFO or device), which is refused before reading. Nothing of the file "
         "is read."),
    Rule("file-unknown", "warning", "file", "Unknown file",
         "A .csv file whose name is not one of the bundle's tables (a typo such as "
         "patient.csv?). It is ignored."),
    Rule("manifest-invalid", "error", "file", "Invalid bundle.json",
         "bundle.json is not valid UTF-8 JSON (NaN and Infinity are not JSON), is not an "
         "hsctms bundle manifest, was written by a newer format version, names a key twice or "
         "a key the format does not define, or has a 'synthetic' that is not true/false, a "
         "'data_date' that is not an ISO date or a 'created' that is not text. The issue's "
         "field names the key."),
    Rule("manifest-missing", "info", "file", "No bundle.json",
         "Without a manifest the data are treated as real (not synthetic) and no data date is "
         "known, so dates are only checked against today."),
    Rule("column-missing-required", "error", "column", "Required column missing",
         "The header lacks a required column of this table (see docs/data-format.md)."),
    Rule("column-duplicate", "error", "column", "Duplicate column",
         "The same column name appears twice in the header."),
    Rule("column-unknown", "warning", "column", "Unknown column",
         "A column that is not part of the format; its values are ignored and not stored."),
    Rule("column-decimal-comma", "error", "column", "Decimal commas",
         "Two or more numbers of the column are written with a decimal comma (3,5), as a "
         "European spreadsheet writes them: one issue for the column (how many rows, the "
         "first lines) instead of one per row. Those values are not read. Write them with "
         "'.', or read the file as written with --decimal ',' (usually with --delimiter ';')."),
    Rule("column-date-format", "error", "column", "Dates not YYYY-MM-DD",
         "Two or more dates of the column are written as numbers with '/', '.' or '-' "
         "(31/12/2019): one issue for the column, saying whether they look day-first, "
         "month-first or cannot be told apart, instead of one per row. Those dates are not "
         "read. Write dates as YYYY-MM-DD, or read the file as written with --date-format "
         "dayfirst (or monthfirst); two-digit years are never read."),
    Rule("row-field-count", "error", "record", "Wrong number of fields",
         "A line has more or fewer comma-separated fields than the header (an unquoted comma "
         "inside a value, or a truncated line). The row is not read."),
    Rule("row-blank", "warning", "record", "Blank line",
         "An empty line inside the file; it holds no data and is skipped."),
    # -- single values ------------------------------------------------------------------------
    Rule("value-missing", "error", "value", "Required value blank",
         "This column must have a value on every row."),
    Rule("value-unparseable", "error", "value", "Value not of the column's type",
         "The text cannot be read as the column's type: dates must be ISO YYYY-MM-DD and "
         "exist (2023-02-30 does not), numbers use '.' as decimal mark (2.5, not 2,5), whole "
         "numbers have no decimals, booleans are yes/no (true/false/1/0 accepted). Digits are "
         "ASCII 0-9; EDSS scores are plain decimals (3.5; no sign, exponent, spaces or more "
         "than 3 decimals). Nothing is guessed, trimmed or converted."),
    Rule("value-invalid-id", "error", "value", "Invalid identifier",
         "Identifiers are 1-64 characters: letters, digits and . _ : / - (starting with a "
         "letter or digit), no spaces."),
    Rule("value-category", "error", "value", "Value not allowed",
         "The value is not one of the column's allowed codes (case-sensitive)."),
    Rule("value-range", "error", "value", "Value out of range",
         "A number below the column's minimum or above its maximum (e.g. CTCAE grade 6), a "
         "whole number outside the 32-bit range every database stores, or a date outside "
         "1900-2200."),
    Rule("value-text-invalid", "error", "value", "Text that cannot be stored",
         "A text value longer than 500 characters, or containing a control character other "
         "than tab, line feed and carriage return (e.g. NUL, which PostgreSQL cannot store). "
         "The same limit applies on every database engine; nothing is trimmed or removed."),
    Rule("edss-off-grid", "error", "value", "EDSS not on the Kurtzke grid",
         "Valid EDSS scores are 0, 1.0 to 9.5 in steps of 0.5, and 10. 0.5 is not a valid "
         "score."),
    # -- keys and references ------------------------------------------------------------------
    Rule("key-duplicate", "error", "record", "Duplicate natural key",
         "Two rows share the table's natural key (e.g. two EDSS rows for one patient on one "
         "date, or a patient id listed twice). The message names the first line."),
    Rule("patient-unknown", "error", "record", "Unknown patient id",
         "A row of a child table refers to a patient_id that is not in patients.csv."),
    Rule("centre-dag-mismatch", "error", "record", "Centre and data access group disagree",
         "REDCap import: the record's centre field differs from its data access group (a "
         "blank centre is taken from the group). Fix one of them in REDCap."),
    # -- dates --------------------------------------------------------------------------------
    Rule("date-before-birth", "error", "record", "Date before birth",
         "The date lies in a year before the patient's birth year."),
    Rule("date-in-future", "error", "record", "Date in the future",
         "The date is after today."),
    Rule("date-after-data-date", "error", "record", "Date after the data date",
         "The date is after the data date declared in bundle.json (data cannot describe "
         "events after they were extracted)."),
    Rule("event-after-death", "error", "record", "Event after death",
         "A visit, event, treatment or result dated after the patient's date of death."),
    Rule("transplant-before-diagnosis", "error", "record", "Transplant before diagnosis",
         "The transplant is dated before the MS diagnosis."),
    Rule("transplant-before-onset", "error", "record", "Transplant before onset",
         "The transplant is dated before the first MS symptoms."),
    Rule("diagnosis-before-onset", "warning", "record", "Diagnosis before onset",
         "The diagnosis date precedes the onset date; check both."),
    Rule("date-before-onset", "warning", "record", "Visit or relapse before MS onset",
         "An EDSS assessment or a relapse is dated before the patient's MS onset "
         "(onset_date in patients.csv). A relapse before the first symptoms is impossible and "
         "an EDSS before them is not an MS assessment; usually one of the dates is wrong. "
         "Endpoint definitions would otherwise use such a visit (e.g. as the baseline and "
         "origin of msprog_default): correct the date, or exclude pre-onset data."),
    Rule("date-before-diagnosis", "info", "record", "Visit or relapse before diagnosis",
         "An EDSS assessment or a relapse is dated before the MS diagnosis (diagnosis_date in "
         "patients.csv). Common (the first relapses precede the diagnosis); reported so that "
         "pre-diagnosis data are not used unknowingly."),
    Rule("dmt-stop-before-start", "error", "record", "DMT stopped before it started",
         "A treatment course ends before it starts."),
    Rule("relapse-end-before-onset", "error", "record", "Relapse ends before its onset",
         "A relapse's end_date is before its onset_date: correct one of the dates, or leave "
         "end_date blank when it is not known."),
    # -- clinical plausibility flags ----------------------------------------------------------
    Rule("regimen-unknown", "warning", "record", "Unknown conditioning regimen",
         "The conditioning regimen is not recognised by the configured regimen map, so its "
         "intensity class is unknown. Add it to the map or use a standard spelling "
         "(e.g. BEAM+ATG, Cy200+ATG, BU+Cy+ATG)."),
    Rule("transplant-multiple", "warning", "record", "More than one transplant",
         "The patient has more than one transplant; analyses use the first as the index "
         "transplant."),
    Rule("edss-near-relapse", "info", "record", "EDSS within 30 days after a relapse",
         "The assessment lies 0-30 days after a relapse onset. It is kept, but endpoint "
         "definitions usually exclude such scores from baselines and confirmations."),
    Rule("mri-counts-missing", "warning", "record", "MRI without lesion counts",
         "Both new_t2 and gd_lesions are blank, so the scan cannot show or exclude activity."),
    Rule("lab-unit-unexpected", "warning", "record", "Unexpected laboratory unit",
         "The unit differs from the usual unit of this test (e.g. lymphocytes in 10^9/L); "
         "values are never converted, so check the figures."),
    Rule("lab-test-unknown", "info", "record", "Unlisted laboratory test",
         "A test code outside the documented list; it is stored but not used by analyses."),
    # -- endpoint derivation ----------------------------------------------------------------
    Rule("edss-empty", "error", "file", "No EDSS visits",
         "Endpoints are derived from EDSS visits, but the edss table is missing, has only a "
         "header, or has no rows. Checked when deriving endpoints (hsctms endpoints, "
         "derive, derive_frames); a bundle without edss.csv can still be validated and "
         "imported."),
)

#: All rules by id, in documentation order.
RULES: dict[str, Rule] = {r.id: r for r in _RULE_LIST}


def rule(rule_id: str) -> Rule:
    """The rule with id ``rule_id``.

    Parameters
    ----------
    rule_id
        A rule id, e.g. ``"edss-off-grid"``.

    Returns
    -------
    Rule
        The registered rule.

    Raises
    ------
    ConfigurationError
        If no rule has that id.
    """
    try:
        return RULES[rule_id]
    except KeyError:
        raise ConfigurationError(
            f"Unknown validation rule {rule_id!r}.",
            hint=f"Known rules: {', '.join(RULES)}.",
        ) from None
