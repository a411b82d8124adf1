"""Declarative schema of the registry tables.

One :class:`TableSpec` per table of the CSV interchange bundle. The same specification drives
the CSV reader and validator (``hsctms.io``), the database tables (``hsctms.db``), the REDCap
data dictionary, the web forms and the column reference in ``docs/data-format.md``, so that a
column is described once.

Column types
------------
``id``        pseudonymous identifier (text, no spaces; never a name or hospital number)
``str``       free text
``category``  one of ``choices``
``date``      ISO 8601 calendar date ``YYYY-MM-DD``
``int``       whole number (optionally bounded by ``minimum`` / ``maximum``)
``float``     real number (optionally bounded)
``edss``      EDSS score on the Kurtzke grid (0, 1.0-9.5 by 0.5, 10)
``bool``      ``yes`` / ``no`` (also accepts ``true``/``false``/``1``/``0`` on input)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

ColumnType = Literal["id", "str", "category", "date", "int", "float", "edss", "bool"]

PHENOTYPES: tuple[str, ...] = ("RRMS", "SPMS", "PPMS", "PRMS")
SEXES: tuple[str, ...] = ("F", "M", "X")
INTENSITY_CLASSES: tuple[str, ...] = ("low", "intermediate", "high")
AE_RELATIONS: tuple[str, ...] = (
    "unrelated",
    "unlikely",
    "possible",
    "probable",
    "definite",
    "unknown",
)
DMT_STOP_REASONS: tuple[str, ...] = (
    "inefficacy",
    "intolerance",
    "adverse_event",
    "safety_risk",
    "pregnancy_planning",
    "patient_choice",
    "transplant",
    "other",
)
GRAFT_MANIPULATIONS: tuple[str, ...] = ("none", "cd34_selection", "other")
LAB_TESTS: dict[str, str] = {
    "lymphocytes": "10^9/L",
    "neutrophils": "10^9/L",
    "cd4": "cells/uL",
    "cd8": "cells/uL",
    "cd19": "cells/uL",
    "platelets": "10^9/L",
    "igg": "g/L",
}


@dataclass(frozen=True)
class ColumnSpec:
    """One column of a registry table.

    Parameters
    ----------
    name : str
        Column name, in the CSV header and the database.
    type : {"id", "str", "category", "date", "int", "float", "edss", "bool"}
        Value type (see the module docstring); it fixes the pandas dtype of the column in a
        :class:`~hsctms.model.cohort.Cohort` and the parsing rules of the CSV reader.
    description : str
        What the column holds, in one sentence (shown in the data-format reference, the
        REDCap data dictionary and the web forms).
    required : bool, default False
        The column must be present in the file header.
    nullable : bool, default True
        Blank values are allowed; False makes a blank a ``value-missing`` error (and the web
        form field required).
    choices : tuple of str, default ()
        Allowed values of a ``category`` column (empty for other types).
    minimum, maximum : float, optional
        Inclusive bounds of an ``int`` or ``float`` column (None: unbounded).
    unit : str, optional
        Unit of a numeric column, e.g. ``"mL"`` or ``"10^6/kg"`` (shown next to the form
        field and in the reference).
    free_text : bool, default False
        Free text as typed at the centre (may hold names, dates, places): never leaves the
        registry in a de-identified export.
    quasi_identifier : bool, default False
        Describes the person rather than an event (centre, sex, year of birth, onset and
        diagnosis dates, phenotype): a de-identified export coarsens such columns and checks
        k-anonymity on them.
    vocabulary : str, optional
        Name of the controlled vocabulary (:data:`hsctms.model.vocabularies.VOCABULARIES`) a
        hand-typed code must come from; a de-identified export writes ``other`` for any
        value outside it.
    label : str, optional
        Short human label shown in the web pages, lists and forms instead of the column name
        (e.g. ``"CD34+ dose"`` for ``cd34_dose``); default: the name with spaces.
    """

    name: str
    type: ColumnType
    description: str
    required: bool = False
    nullable: bool = True
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    unit: str | None = None
    #: Free text as typed at the centre (may hold names, dates, places): never leaves the
    #: registry in a de-identified export.
    free_text: bool = False
    #: Describes the person rather than an event (centre, sex, year of birth, onset and
    #: diagnosis dates, phenotype): combined, such values can single a patient out, so a
    #: de-identified export coarsens them and checks k-anonymity on them.
    quasi_identifier: bool = False
    #: Name of the controlled vocabulary a hand-typed code must come from
    #: (:data:`hsctms.model.vocabularies.VOCABULARIES`); a de-identified export writes
    #: ``other`` for any value outside it.
    vocabulary: str | None = None
    #: Short human label of the column (web pages, lists, forms); default: the name with
    #: spaces, first letter capitalised.
    label: str = ""

    def __post_init__(self) -> None:
        if not self.label:
            text = self.name.replace("_", " ")
            object.__setattr__(self, "label", text[:1].upper() + text[1:])

    @property
    def label_with_unit(self) -> str:
        """The label followed by the unit in parentheses, e.g. ``"CD34+ dose (10^6/kg)"``.

        Returns
        -------
        str
            :attr:`label`, with `` (unit)`` appended when the column has a unit.
        """
        return f"{self.label} ({self.unit})" if self.unit else self.label


@dataclass(frozen=True)
class TableSpec:
    """One registry table (one CSV file of the interchange bundle).

    Parameters
    ----------
    name
        Table name, also the database table name.
    columns
        Column specifications in file order.
    key
        Natural key: the columns that identify a row. Duplicate keys are an error.
    description
        What one row means.
    event_date
        The column holding the date the row happened (used by date rules), if any.
    label
        What one row is called in the web pages ("EDSS visit"); default: the name.
    plural
        The heading of a list of rows ("EDSS visits"); default: the label.
    """

    name: str
    columns: tuple[ColumnSpec, ...]
    key: tuple[str, ...]
    description: str
    event_date: str | None = None
    label: str = ""
    plural: str = ""
    _by_name: dict[str, ColumnSpec] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_name", {c.name: c for c in self.columns})
        if not self.label:
            object.__setattr__(self, "label", self.name)
        if not self.plural:
            object.__setattr__(self, "plural", self.label)

    @property
    def filename(self) -> str:
        """File name of this table in a CSV bundle."""
        return f"{self.name}.csv"

    @property
    def column_names(self) -> tuple[str, ...]:
        """All column names in file order."""
        return tuple(c.name for c in self.columns)

    @property
    def required_columns(self) -> tuple[str, ...]:
        """Columns that must be present in the file header."""
        return tuple(c.name for c in self.columns if c.required)

    def column(self, name: str) -> ColumnSpec:
        """The specification of column ``name`` (KeyError if unknown).

        Parameters
        ----------
        name : str
            A column name of this table.

        Returns
        -------
        ColumnSpec
            The column's type, bounds, choices and flags.

        Raises
        ------
        KeyError
            ``name`` is not a column of this table.
        """
        return self._by_name[name]

    def has_column(self, name: str) -> bool:
        """Whether ``name`` is a column of this table.

        Parameters
        ----------
        name : str
            A column name (case-sensitive).

        Returns
        -------
        bool
            True when the table has a column of that name.
        """
        return name in self._by_name

    def columns_of_type(self, *types: ColumnType) -> tuple[str, ...]:
        """Names of the columns of the given types.

        Parameters
        ----------
        *types : {"id", "str", "category", "date", "int", "float", "edss", "bool"}
            One or more column types; a column matching any of them is returned.

        Returns
        -------
        tuple of str
            The matching column names, in file order (empty when none matches).

        Examples
        --------
        >>> SCHEMA["edss"].columns_of_type("date")
        ('date',)
        """
        return tuple(c.name for c in self.columns if c.type in types)


def _pid(description: str = "Pseudonymous patient identifier (see patients.csv).") -> ColumnSpec:
    return ColumnSpec("patient_id", "id", description, required=True, nullable=False,
                      label="Patient ID")


_FS = tuple(
    ColumnSpec(
        name,
        "int",
        f"EDSS functional system score: {label}.",
        minimum=0,
        maximum=maximum,
        label=f"{label[:1].upper()}{label[1:]} FS",
    )
    for name, label, maximum in (
        ("fs_pyramidal", "pyramidal", 6),
        ("fs_cerebellar", "cerebellar", 5),
        ("fs_brainstem", "brainstem", 5),
        ("fs_sensory", "sensory", 6),
        ("fs_bowel_bladder", "bowel and bladder", 6),
        ("fs_visual", "visual", 6),
        ("fs_cerebral", "cerebral", 5),
        ("fs_other", "other", 1),
    )
)

PATIENTS = TableSpec(
    "patients",
    (
        ColumnSpec(
            "patient_id",
            "id",
            "Pseudonymous identifier, unique across the registry. Never a name, date of birth "
            "or hospital number.",
            required=True,
            nullable=False,
            label="Patient ID",
        ),
        ColumnSpec("centre", "id", "Transplant centre code.", required=True, nullable=False,
                   quasi_identifier=True, label="Centre"),
        ColumnSpec(
            "sex", "category", "Sex: F, M or X.", required=True, nullable=False, choices=SEXES,
            quasi_identifier=True,
            label="Sex",
        ),
        ColumnSpec(
            "birth_year",
            "int",
            "Year of birth (year only, for pseudonymity).",
            required=True,
            nullable=False,
            minimum=1900,
            quasi_identifier=True,
            label="Year of birth",
        ),
        ColumnSpec("onset_date", "date", "Date of first MS symptoms.", quasi_identifier=True,
                   label="MS onset"),
        ColumnSpec("diagnosis_date", "date", "Date of MS diagnosis.", quasi_identifier=True,
                   label="MS diagnosis"),
        ColumnSpec(
            "phenotype",
            "category",
            "MS phenotype at transplant (Lublin 2014): RRMS, SPMS, PPMS or PRMS.",
            required=True,
            nullable=False,
            choices=PHENOTYPES,
            quasi_identifier=True,
            label="Phenotype",
        ),
    ),
    key=("patient_id",),
    label="Patient",
    plural="Patients",
    description="One row per person.",
)

DMT = TableSpec(
    "dmt",
    (
        _pid(),
        ColumnSpec("drug", "str", "Disease-modifying therapy (INN, e.g. natalizumab).",
                   required=True, nullable=False, vocabulary="dmt", label="Drug"),
        ColumnSpec("start_date", "date", "Start of treatment.", required=True, nullable=False,
                   label="Started"),
        ColumnSpec("stop_date", "date", "End of treatment; blank if ongoing.", label="Stopped"),
        ColumnSpec("stop_reason", "category", "Why it was stopped.", choices=DMT_STOP_REASONS,
                   label="Reason stopped"),
    ),
    key=("patient_id", "drug", "start_date"),
    label="Disease-modifying therapy",
    plural="Disease-modifying therapies",
    description="Disease-modifying therapy history, one row per course.",
    event_date="start_date",
)

TRANSPLANTS = TableSpec(
    "transplants",
    (
        _pid(),
        ColumnSpec("transplant_date", "date", "Date of stem-cell re-infusion (day 0).",
                   required=True, nullable=False, label="Transplant date (day 0)"),
        ColumnSpec(
            "conditioning",
            "str",
            "Conditioning regimen as recorded, e.g. 'BEAM+ATG', 'Cy200+ATG', 'BU+Cy+ATG'. The "
            "intensity class is derived from it through the regimen map.",
            required=True,
            nullable=False,
            label="Conditioning regimen",
        ),
        ColumnSpec("mobilisation", "str", "Mobilisation regimen, e.g. 'Cy2g+G-CSF'.",
                   free_text=True, label="Mobilisation"),
        ColumnSpec("graft_manipulation", "category", "Ex-vivo graft manipulation.",
                   choices=GRAFT_MANIPULATIONS, label="Graft manipulation"),
        ColumnSpec("cd34_dose", "float", "Infused CD34+ cells.", minimum=0, maximum=100,
                   unit="10^6/kg", label="CD34+ dose"),
    ),
    key=("patient_id", "transplant_date"),
    label="Transplant",
    plural="Transplants",
    description="One row per autologous transplant.",
    event_date="transplant_date",
)

EDSS = TableSpec(
    "edss",
    (
        _pid(),
        ColumnSpec("date", "date", "Date of the assessment.", required=True, nullable=False,
                   label="Visit date"),
        ColumnSpec("edss", "edss", "EDSS score: 0, 1.0-9.5 in 0.5 steps, or 10.",
                   required=True, nullable=False, label="EDSS"),
        *_FS,
    ),
    key=("patient_id", "date"),
    label="EDSS visit",
    plural="EDSS visits",
    description="EDSS assessments, one row per visit.",
    event_date="date",
)

RELAPSES = TableSpec(
    "relapses",
    (
        _pid(),
        ColumnSpec("onset_date", "date", "Date of relapse onset.", required=True,
                   nullable=False, label="Onset"),
        ColumnSpec("end_date", "date", "Date the relapse ended (recovery reached a plateau), "
                   "where recorded; blank when unknown.", label="End"),
    ),
    key=("patient_id", "onset_date"),
    label="Relapse",
    plural="Relapses",
    description="Clinical relapses, one row per relapse.",
    event_date="onset_date",
)

MRI = TableSpec(
    "mri",
    (
        _pid(),
        ColumnSpec("date", "date", "Date of the scan.", required=True, nullable=False,
                   label="Scan date"),
        ColumnSpec("new_t2", "int", "Number of new or enlarging T2 lesions versus the "
                   "previous scan; blank if not assessed.", required=True, minimum=0,
                   label="New or enlarging T2 lesions"),
        ColumnSpec("gd_lesions", "int", "Number of gadolinium-enhancing lesions; blank if no "
                   "contrast was given.", required=True, minimum=0, label="Gd+ lesions"),
        ColumnSpec("brain_volume", "float", "Normalised brain volume.", minimum=0, unit="mL",
                   label="Brain volume"),
    ),
    key=("patient_id", "date"),
    label="MRI scan",
    plural="MRI scans",
    description="Brain MRI scans, one row per scan.",
    event_date="date",
)

LABS = TableSpec(
    "labs",
    (
        _pid(),
        ColumnSpec("date", "date", "Date of the sample.", required=True, nullable=False,
                   label="Sample date"),
        ColumnSpec("test", "str", "Test code: lymphocytes, neutrophils, cd4, cd8, cd19, "
                   "platelets, igg (others allowed).", required=True, nullable=False,
                   vocabulary="lab_test", label="Test"),
        ColumnSpec("value", "float", "Result.", required=True, nullable=False, minimum=0,
                   label="Result"),
        ColumnSpec("unit", "str", "Unit as reported, e.g. 10^9/L or cells/uL.", required=True,
                   nullable=False, vocabulary="lab_unit", label="Unit"),
    ),
    key=("patient_id", "date", "test"),
    label="Laboratory result",
    plural="Laboratory results",
    description="Laboratory results, one row per test and date.",
    event_date="date",
)

ADVERSE_EVENTS = TableSpec(
    "adverse_events",
    (
        _pid(),
        ColumnSpec("onset_date", "date", "Onset of the adverse event.", required=True,
                   nullable=False, label="Onset"),
        ColumnSpec("term", "str", "Adverse event term (CTCAE / MedDRA), e.g. 'Febrile "
                   "neutropenia'.", required=True, nullable=False, free_text=True, label="Term"),
        ColumnSpec("grade", "int", "CTCAE grade 1-5.", required=True, nullable=False,
                   minimum=1, maximum=5, label="CTCAE grade"),
        ColumnSpec("relation", "category", "Relation to the transplant.", choices=AE_RELATIONS,
                   label="Relation to transplant"),
    ),
    key=("patient_id", "onset_date", "term"),
    label="Adverse event",
    plural="Adverse events",
    description="Adverse events, one row per event.",
    event_date="onset_date",
)

DEATHS = TableSpec(
    "deaths",
    (
        _pid(),
        ColumnSpec("date", "date", "Date of death.", required=True, nullable=False,
                   label="Date of death"),
        ColumnSpec("cause", "str", "Cause of death as recorded.", required=True,
                   nullable=False, free_text=True, label="Cause"),
        ColumnSpec("transplant_related", "bool", "Transplant-related death (yes/no).",
                   required=True, nullable=False, label="Transplant-related"),
    ),
    key=("patient_id",),
    label="Death",
    plural="Death",
    description="Deaths, at most one row per person.",
    event_date="date",
)

#: All tables of the bundle, in load order (parents first).
SCHEMA: dict[str, TableSpec] = {
    t.name: t
    for t in (PATIENTS, DMT, TRANSPLANTS, EDSS, RELAPSES, MRI, LABS, ADVERSE_EVENTS, DEATHS)
}

#: Tables whose rows belong to a patient (every table except ``patients``).
CHILD_TABLES: tuple[str, ...] = tuple(n for n in SCHEMA if n != "patients")
