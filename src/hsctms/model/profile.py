"""The patient profile: what a person with MS (or their neurologist) tells the report.

A :class:`PatientProfile` is a validated pydantic model. Every field except ``age_years`` (or
``date_of_birth``), ``phenotype`` and ``edss`` may be left out; a missing value means *unknown*,
and the eligibility engine never counts an unknown as met. Durations can be given directly
(``years_since_onset``) or as dates (``onset_date`` with ``assessment_date``).

Bad or missing values raise :class:`hsctms.errors.ProfileError` with one line per problem,
naming the field and saying how to fix it. The JSON schema (``PatientProfile.model_json_schema``)
is published in ``docs/profile-schema.md`` (see :func:`profile_schema_markdown`).
"""

from __future__ import annotations

import datetime as _dt
import difflib
import itertools
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from hsctms._files import read_regular_file
from hsctms.errors import ProfileError
from hsctms.model.scales import EDSS_VALUES, is_valid_edss
from hsctms.model.vocabularies import dmt_catalogue

Phenotype = Literal["RRMS", "SPMS", "PPMS", "PRMS"]
Intensity = Literal["low", "intermediate", "high"]

#: Human-readable phenotype names (used in the report).
PHENOTYPE_NAMES: dict[str, str] = {
    "RRMS": "relapsing-remitting MS",
    "SPMS": "secondary progressive MS",
    "PPMS": "primary progressive MS",
    "PRMS": "progressive-relapsing MS",
}


def _not_a_flag(value: Any) -> Any:
    """Reject true/false where a number is expected (pydantic would read it as 1 or 0)."""
    if isinstance(value, bool):
        raise ValueError(f"a number is needed, got {str(value).lower()}")
    return value


def _raise_profile_error(exc: ValidationError) -> ProfileError:
    lines = _format_errors(exc)
    return ProfileError(
        "The profile has invalid or missing values:\n  - " + "\n  - ".join(lines),
        hint="See docs/profile-schema.md for every field, its unit and allowed values.",
    )


class DMTExposure(BaseModel):
    """One disease-modifying therapy the person has taken.

    Parameters
    ----------
    name : str
        Drug name or brand (case-insensitive; e.g. ``"natalizumab"``, ``"Ocrevus"``), from the
        DMT catalogue (``hsctms/model/dmts.yaml``). A name not in the catalogue is an error
        that names the closest known drugs, so that a misspelling never silently changes a
        criterion; a drug the catalogue does not list yet is accepted when ``high_efficacy``
        states its class.
    months : float, optional
        Months on the drug (0 to 600), if known.
    failed : bool, optional
        True when the MS was active (relapse, new or enhancing MRI lesions, or confirmed
        disability worsening) while on this drug, or it was stopped for lack of effect; False
        when it was not; omit if unknown.
    high_efficacy : bool, optional
        Override of the catalogue's high-efficacy class for this drug.
    """

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    name: str = Field(min_length=1, description="Drug or brand name, e.g. 'natalizumab'.")
    months: float | None = Field(default=None, ge=0, le=600, description="Months on the drug.")
    failed: bool | None = Field(
        default=None,
        description="MS active while on it (relapse, new/enhancing lesions or worsening), or "
        "stopped for lack of effect. Omit if unknown.",
    )
    high_efficacy: bool | None = Field(
        default=None, description="Override of the catalogue's high-efficacy class."
    )

    _months_not_a_flag = field_validator("months", mode="before")(_not_a_flag)

    @model_validator(mode="after")
    def _known_or_classified(self) -> DMTExposure:
        """A name outside the catalogue must come with its class (else it is a typo)."""
        key = self.name.lower().strip()
        if key in dmt_catalogue() or self.high_efficacy is not None:
            return self
        names = sorted({str(e["name"]) for e in dmt_catalogue().values()})
        close = difflib.get_close_matches(key, list(dmt_catalogue()), n=3, cutoff=0.6)
        guess = sorted({str(dmt_catalogue()[c]["name"]) for c in close})
        did_you_mean = f"did you mean {' or '.join(guess)}? " if guess else ""
        raise ValueError(
            f"unknown drug {self.name!r}: {did_you_mean}Known drugs: {', '.join(names)} "
            "(or their brand names, e.g. Tysabri). For a drug not listed, add "
            "\"high_efficacy\": true or false.")

    @property
    def canonical_name(self) -> str:
        """Catalogue name (lower case) or the given name, lower-cased."""
        entry = dmt_catalogue().get(self.name.lower().strip())
        return str(entry["name"]) if entry else self.name.lower().strip()

    @property
    def is_high_efficacy(self) -> bool | None:
        """High-efficacy class: the override, else the catalogue, else unknown (None)."""
        if self.high_efficacy is not None:
            return self.high_efficacy
        entry = dmt_catalogue().get(self.name.lower().strip())
        return None if entry is None else bool(entry["high_efficacy"])

    @property
    def is_cytotoxic(self) -> bool | None:
        """Cytotoxic class (catalogue), else unknown (None)."""
        entry = dmt_catalogue().get(self.name.lower().strip())
        return None if entry is None else bool(entry["cytotoxic"])


def _count(desc: str) -> Any:
    return Field(default=None, ge=0, le=200, description=desc)



class PatientProfile(BaseModel):
    """What the report needs to know about one person. Missing values mean *unknown*.

    Only ``phenotype``, ``edss`` and the age (``age_years`` or ``date_of_birth``) are required.
    Counts are whole numbers from 0 to 200; a longer window must hold at least as many
    relapses (or lesions) as a shorter one. Bad or missing values raise
    :class:`~hsctms.errors.ProfileError` with one line per problem.

    Parameters
    ----------
    schema_version : {"1"}, default "1"
        Profile schema version.
    label : str, optional
        Label shown on the report (at most 120 characters; no names).
    assessment_date : datetime.date, optional
        Date the profile describes; durations given as dates are counted to it. Default:
        today.
    age_years : float, optional
        Age in years (0 to 110); give this or ``date_of_birth``.
    date_of_birth : datetime.date, optional
        Date of birth (not after the assessment date); used when ``age_years`` is not given.
    sex : {"F", "M", "X"}, optional
        Sex.
    phenotype : {"RRMS", "SPMS", "PPMS", "PRMS"}
        MS course (PRMS: progressive-relapsing, the pre-2013 classification). Required.
    edss : float
        Current Kurtzke EDSS, on the grid 0, 1.0, 1.5, ..., 9.5, 10 (0.5 does not exist).
        Required.
    edss_raised_by_recent_relapse : bool, optional
        True when the current EDSS is raised by a relapse in the last few months
        (ECTRIMS/EBMT 2025 then accepts a higher EDSS).
    onset_date : datetime.date, optional
        Date of first symptoms (not after the assessment date).
    diagnosis_date : datetime.date, optional
        Date of MS diagnosis (not before ``onset_date``, not after the assessment date).
    years_since_onset : float, optional
        Disease duration from first symptoms, in years (0 to 90, at most the age); overrides
        ``onset_date``.
    years_since_diagnosis : float, optional
        Years since MS was diagnosed (0 to 90, at most the age); overrides
        ``diagnosis_date``.
    relapses_12m, relapses_18m, relapses_24m, relapses_36m : int, optional
        Relapses in the 12, 18, 24 and 36 months before the assessment date.
    gd_lesions_12m, gd_lesions_24m : int, optional
        Gadolinium-enhancing lesions seen on MRI in the last 12 and 24 months (0 if none).
    new_t2_lesions_12m, new_t2_lesions_24m : int, optional
        New or enlarging T2 lesions on MRI in the last 12 and 24 months (0 if none).
    dmts : list of DMTExposure, optional
        Every disease-modifying therapy taken so far; ``[]`` if never treated; omit if
        unknown.
    hedmt_contraindicated : bool, optional
        High-efficacy DMTs cannot be used (contraindication).
    rapidly_evolving_severe : bool, optional
        Neurologist's judgement: severe, rapidly evolving ("aggressive" or "malignant") MS.
    csf_oligoclonal_bands : bool, optional
        Oligoclonal bands found in the spinal fluid.
    significant_comorbidity : bool, optional
        Another illness that raises transplant risk (heart, lung, liver or kidney disease,
        active infection, cancer, ...).
    comorbidities : list of str, default []
        Other conditions, free text.
    prior_ahsct : bool, optional
        Had aHSCT before.
    pregnant : bool, optional
        Currently pregnant (True is refused with ``sex="M"``).
    nmosd : bool, optional
        Diagnosis of NMO / NMO spectrum disorder.
    planned_intensity : {"low", "intermediate", "high"}, optional
        Conditioning intensity under discussion (EBMT class).
    wants_children : bool, optional
        Would like children in future (fertility section of the report).
    """

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, allow_inf_nan=False)

    schema_version: Literal["1"] = Field(default="1", description="Profile schema version.")
    label: str | None = Field(default=None, max_length=120,
                              description="Optional label shown on the report (no names).")
    assessment_date: _dt.date | None = Field(
        default=None, description="Date the profile describes (ISO date). Default: today.")

    age_years: float | None = Field(default=None, ge=0, le=110,
                                    description="Age in years (give this or date_of_birth).")
    date_of_birth: _dt.date | None = Field(default=None, description="ISO date of birth.")
    sex: Literal["F", "M", "X"] | None = Field(default=None, description="F, M or X.")

    phenotype: Phenotype = Field(
        description="MS course: RRMS, SPMS, PPMS or PRMS (progressive-relapsing, pre-2013).")
    edss: float = Field(description="Current Kurtzke EDSS: 0, 1.0, 1.5, ..., 9.5, 10.")
    edss_raised_by_recent_relapse: bool | None = Field(
        default=None, description="True when the current EDSS is raised by a relapse in the "
        "last few months (ECTRIMS/EBMT 2025 then accepts a higher EDSS).")

    onset_date: _dt.date | None = Field(default=None, description="Date of first symptoms.")
    diagnosis_date: _dt.date | None = Field(default=None, description="Date of MS diagnosis.")
    years_since_onset: float | None = Field(
        default=None, ge=0, le=90, description="Disease duration from first symptoms, years.")
    years_since_diagnosis: float | None = Field(
        default=None, ge=0, le=90, description="Years since MS was diagnosed.")

    relapses_12m: int | None = _count("Relapses in the last 12 months.")
    relapses_18m: int | None = _count("Relapses in the last 18 months.")
    relapses_24m: int | None = _count("Relapses in the last 24 months.")
    relapses_36m: int | None = _count("Relapses in the last 36 months.")
    gd_lesions_12m: int | None = _count(
        "Gadolinium-enhancing lesions seen on MRI in the last 12 months (0 if none).")
    new_t2_lesions_12m: int | None = _count(
        "New or enlarging T2 lesions on MRI in the last 12 months (0 if none).")
    gd_lesions_24m: int | None = _count("Gadolinium-enhancing lesions in the last 24 months.")
    new_t2_lesions_24m: int | None = _count("New or enlarging T2 lesions in the last 24 months.")

    dmts: list[DMTExposure] | None = Field(
        default=None, description="Every DMT taken so far; [] if never treated; omit if "
        "unknown.")
    hedmt_contraindicated: bool | None = Field(
        default=None, description="High-efficacy DMTs cannot be used (contraindication).")
    rapidly_evolving_severe: bool | None = Field(
        default=None, description="Neurologist's judgement: severe, rapidly evolving "
        "('aggressive' or 'malignant') MS.")
    csf_oligoclonal_bands: bool | None = Field(
        default=None, description="Oligoclonal bands found in the spinal fluid.")
    significant_comorbidity: bool | None = Field(
        default=None, description="Another illness that raises transplant risk (heart, lung, "
        "liver, kidney disease, active infection, cancer...).")
    comorbidities: list[str] = Field(default_factory=list,
                                     description="Other conditions, free text.")
    prior_ahsct: bool | None = Field(default=None, description="Had aHSCT before.")
    pregnant: bool | None = Field(default=None, description="Currently pregnant.")
    nmosd: bool | None = Field(default=None,
                               description="Diagnosis of NMO / NMO spectrum disorder.")
    planned_intensity: Intensity | None = Field(
        default=None, description="Conditioning intensity under discussion (EBMT class).")
    wants_children: bool | None = Field(
        default=None, description="Would like children in future (fertility section).")

    def __init__(self, **data: Any) -> None:
        """Validate ``data``; bad or missing values raise :class:`~hsctms.errors.ProfileError`
        with one line per problem (as :func:`parse_profile` does), not pydantic's
        ValidationError."""
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise _raise_profile_error(exc) from None

    # ------------------------------------------------------------------ validators
    _numbers_not_flags = field_validator(
        "age_years", "edss", "years_since_onset", "years_since_diagnosis", "relapses_12m",
        "relapses_18m", "relapses_24m", "relapses_36m", "gd_lesions_12m", "new_t2_lesions_12m",
        "gd_lesions_24m", "new_t2_lesions_24m", mode="before")(_not_a_flag)

    @field_validator("edss")
    @classmethod
    def _edss_on_grid(cls, v: float) -> float:
        if not bool(is_valid_edss([v])[0]):
            grid = ", ".join(f"{x:g}" for x in EDSS_VALUES[:4])
            raise ValueError(
                f"{v:g} is not on the Kurtzke EDSS scale ({grid}, ..., 9.5, 10; 0.5 does not "
                "exist)")
        return float(v)

    # Complexity > 10: a validator: one flat list of cross-field rules.
    @model_validator(mode="after")
    def _consistent(self) -> PatientProfile:  # noqa: C901
        problems: list[str] = []
        if self.age_years is None and self.date_of_birth is None:
            problems.append("age_years: give the age in years or date_of_birth")
        windows = [("relapses_12m", self.relapses_12m), ("relapses_18m", self.relapses_18m),
                   ("relapses_24m", self.relapses_24m), ("relapses_36m", self.relapses_36m)]
        known = [(k, v) for k, v in windows if v is not None]
        for (k1, v1), (k2, v2) in itertools.pairwise(known):
            if v2 < v1:
                problems.append(f"{k2}: {v2} is fewer than {k1} = {v1}; a longer window "
                                "includes the shorter one")
        for short, long in (("gd_lesions_12m", "gd_lesions_24m"),
                            ("new_t2_lesions_12m", "new_t2_lesions_24m")):
            a, b = getattr(self, short), getattr(self, long)
            if a is not None and b is not None and b < a:
                problems.append(f"{long}: {b} is fewer than {short} = {a}")
        ref = self.reference_date
        for name in ("date_of_birth", "onset_date", "diagnosis_date"):
            d = getattr(self, name)
            if d is not None and d > ref:
                problems.append(f"{name}: {d} is after the assessment date {ref}")
        if self.onset_date and self.diagnosis_date and self.diagnosis_date < self.onset_date:
            problems.append("diagnosis_date: before onset_date")
        age = self.age
        if age is not None and not 0 <= age <= 110:
            problems.append(f"age: {age:.1f} years is impossible; check date_of_birth")
        for name, dur in (("years_since_onset", self.disease_duration),
                          ("years_since_diagnosis", self.duration_since_diagnosis)):
            if age is not None and dur is not None and dur > age:
                problems.append(f"{name}: {dur:.1f} years is longer than the age ({age:.1f})")
        if self.pregnant and self.sex == "M":
            problems.append("pregnant: true but sex is M")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    # ------------------------------------------------------------------ derived values
    @property
    def reference_date(self) -> _dt.date:
        """The assessment date, or today."""
        return self.assessment_date or _dt.date.today()

    @property
    def age(self) -> float | None:
        """Age in years (given, or from date_of_birth and the assessment date)."""
        if self.age_years is not None:
            return float(self.age_years)
        if self.date_of_birth is not None:
            return _years(self.date_of_birth, self.reference_date)
        return None

    @property
    def disease_duration(self) -> float | None:
        """Years since first symptoms (given, or from onset_date)."""
        if self.years_since_onset is not None:
            return float(self.years_since_onset)
        if self.onset_date is not None:
            return _years(self.onset_date, self.reference_date)
        return None

    @property
    def duration_since_diagnosis(self) -> float | None:
        """Years since diagnosis (given, or from diagnosis_date)."""
        if self.years_since_diagnosis is not None:
            return float(self.years_since_diagnosis)
        if self.diagnosis_date is not None:
            return _years(self.diagnosis_date, self.reference_date)
        return None

    def facts(self) -> dict[str, Any]:
        """Flat mapping of every value the eligibility rules may reference (None = unknown).

        Derived facts: ``age``, ``disease_duration`` (years since onset),
        ``years_since_diagnosis``, ``mri_activity_12m`` / ``_24m`` (any enhancing or new T2
        lesion), ``dmts`` (list of ``{name, high_efficacy, cytotoxic, failed, months}``),
        ``dmt_count`` and ``treatment_naive``. ``pregnant`` is False for a man
        (``sex="M"``) who did not give it, so a man is never asked about pregnancy.

        Returns
        -------
        dict of str to Any
            The facts by name: the profile's own values (None when unknown) and the derived
            ones; ages and durations are in years, ``mri_activity_*`` are True, False or
            None (unknown).
        """
        out: dict[str, Any] = {
            "age": self.age,
            "sex": self.sex,
            "phenotype": self.phenotype,
            "edss": self.edss,
            "edss_raised_by_recent_relapse": self.edss_raised_by_recent_relapse,
            "disease_duration": self.disease_duration,
            "years_since_diagnosis": self.duration_since_diagnosis,
        }
        for key in ("relapses_12m", "relapses_18m", "relapses_24m", "relapses_36m",
                    "gd_lesions_12m", "new_t2_lesions_12m", "gd_lesions_24m",
                    "new_t2_lesions_24m", "hedmt_contraindicated", "rapidly_evolving_severe",
                    "csf_oligoclonal_bands", "significant_comorbidity", "prior_ahsct",
                    "pregnant", "nmosd", "planned_intensity"):
            out[key] = getattr(self, key)
        if out["pregnant"] is None and self.sex == "M":
            out["pregnant"] = False
        out["mri_activity_12m"] = _any_positive(self.gd_lesions_12m, self.new_t2_lesions_12m)
        out["mri_activity_24m"] = _any_positive(
            _max(self.gd_lesions_24m, self.gd_lesions_12m),
            _max(self.new_t2_lesions_24m, self.new_t2_lesions_12m))
        if self.dmts is None:
            out["dmts"] = None
            out["dmt_count"] = None
            out["treatment_naive"] = None
        else:
            out["dmts"] = [
                {"name": d.canonical_name, "high_efficacy": d.is_high_efficacy,
                 "cytotoxic": d.is_cytotoxic, "failed": d.failed, "months": d.months}
                for d in self.dmts
            ]
            out["dmt_count"] = len(self.dmts)
            out["treatment_naive"] = len(self.dmts) == 0
        return out


def _years(start: _dt.date, end: _dt.date) -> float:
    return (end - start).days / 365.25


def _max(a: int | None, b: int | None) -> int | None:
    if a is None:
        return None if b is None or b == 0 else b
    return a if b is None else max(a, b)


def _any_positive(*counts: int | None) -> bool | None:
    """Three-valued 'any count > 0': True if one is > 0, False if all are 0, else None."""
    if any(c is not None and c > 0 for c in counts):
        return True
    if all(c is not None for c in counts):
        return False
    return None


def _format_errors(exc: ValidationError) -> list[str]:
    lines = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "profile"
        msg = str(err["msg"]).removeprefix("Value error, ")
        if err["type"] == "missing":
            msg = "required but missing"
        elif err["type"] == "extra_forbidden":
            msg = "unknown field (check the spelling against docs/profile-schema.md)"
        if loc == "profile" or not msg.startswith(loc.split(".")[0]):
            lines.append(f"{loc}: {msg}" if loc != "profile" else msg)
        else:
            lines.append(msg)
    return lines


def parse_profile(data: Mapping[str, Any] | PatientProfile) -> PatientProfile:
    """Validate a mapping (e.g. parsed JSON) into a :class:`PatientProfile`.

    Parameters
    ----------
    data : Mapping or PatientProfile
        Field name to value, as in the profile JSON (see the fields of
        :class:`PatientProfile`); a :class:`PatientProfile` is returned as is.

    Returns
    -------
    PatientProfile
        The validated profile.

    Raises
    ------
    ProfileError
        With one line per invalid or missing value.
    """
    if isinstance(data, PatientProfile):
        return data
    if not isinstance(data, Mapping):
        raise ProfileError("A profile must be a JSON object (a mapping of field to value).",
                           hint="See docs/profile-schema.md and examples/profiles/.")
    bad_keys = [k for k in data if not isinstance(k, str)]
    if bad_keys:
        raise ProfileError(f"Profile field names must be text, got {bad_keys!r}.",
                           hint="See docs/profile-schema.md for the field names.")
    try:
        return PatientProfile.model_validate(dict(data))
    except ValidationError as exc:
        raise _raise_profile_error(exc) from None


def load_profile(path: str | Path) -> PatientProfile:
    """Read and validate a profile JSON file.

    Parameters
    ----------
    path : str or os.PathLike
        A UTF-8 JSON file holding one object (e.g.
        ``examples/profiles/young-rrms-high-activity.json``); YAML is not accepted.

    Returns
    -------
    PatientProfile
        The validated profile.

    Raises
    ------
    ProfileError
        When the file is missing, unreadable, not UTF-8 JSON, or has invalid values.
    """
    example = "examples/profiles/young-rrms-high-activity.json"
    if not isinstance(path, str | os.PathLike):
        raise ProfileError(f"load_profile needs the path of a JSON profile, got {path!r}.",
                           hint=f"Give a path such as {example}, or use parse_profile(dict).")
    path = Path(path)
    try:
        data = json.loads(read_regular_file(path).decode("utf-8"))
    except FileNotFoundError:
        raise ProfileError(f"Profile file {path} does not exist.",
                           hint=f"Give the path of a JSON profile, e.g. {example}.") from None
    except UnicodeDecodeError as exc:
        raise ProfileError(f"Profile file {path} is not UTF-8 text ({exc.reason} at byte "
                           f"{exc.start}).",
                           hint="Save the profile as UTF-8 JSON; see examples/profiles/.") from None
    except OSError as exc:
        raise ProfileError(f"Profile file {path} cannot be read: {exc.strerror or exc}.",
                           hint=f"Give the path of a readable JSON file, e.g. {example}.") from None
    except json.JSONDecodeError as exc:
        yaml_hint = (" Profiles are JSON, not YAML." if path.suffix.lower() in (".yaml", ".yml")
                     else "")
        raise ProfileError(f"Profile file {path} is not valid JSON: {exc}.",
                           hint="Check commas and quotes; see examples/profiles/." + yaml_hint
                           ) from None
    return parse_profile(data)


def profile_schema_markdown() -> str:
    """Markdown reference of the profile schema (the body of ``docs/profile-schema.md``)."""
    schema = PatientProfile.model_json_schema()
    lines = ["| field | type | allowed values / unit | description |", "|---|---|---|---|"]
    required = set(schema.get("required", []))
    for name, spec in schema["properties"].items():
        typ, allowed = _describe(spec, schema.get("$defs", {}))
        req = " (required)" if name in required else ""
        lines.append(f"| `{name}`{req} | {typ} | {allowed} | {spec.get('description', '')} |")
    dmt = schema["$defs"]["DMTExposure"]
    lines += ["", "Each entry of `dmts`:", "",
              "| field | type | allowed values / unit | description |", "|---|---|---|---|"]
    for name, spec in dmt["properties"].items():
        typ, allowed = _describe(spec, {})
        req = " (required)" if name in dmt.get("required", []) else ""
        lines.append(f"| `{name}`{req} | {typ} | {allowed} | {spec.get('description', '')} |")
    body = "\n".join(lines)
    return body + "\n\n```json\n" + json.dumps(schema, indent=2) + "\n```\n"


def _describe(spec: dict[str, Any], defs: dict[str, Any]) -> tuple[str, str]:
    options = spec.get("anyOf", [spec])
    types, allowed = [], []
    for opt in options:
        if "$ref" in opt:
            types.append(opt["$ref"].rsplit("/", 1)[-1])
            continue
        t = opt.get("type", "")
        if t == "array" and "$ref" in opt.get("items", {}):
            t = "list of " + opt["items"]["$ref"].rsplit("/", 1)[-1]
        elif t == "array":
            t = "list of " + opt.get("items", {}).get("type", "")
        if opt.get("format"):
            t = f"{t} ({opt['format']})"
        if t:
            types.append(t)
        if "enum" in opt:
            allowed.append(", ".join(str(e) for e in opt["enum"]))
        if "const" in opt:
            allowed.append(str(opt["const"]))
        bounds = [f"{sym} {opt[k]:g}" for k, sym in (("minimum", ">="), ("maximum", "<="))
                  if k in opt]
        if bounds:
            allowed.append(", ".join(bounds))
    return " or ".join(types), "; ".join(allowed)


_DOC_HEADER = """# Patient profile schema

The input of `hsctms expect PROFILE.json` and of `hsctms.patient.build_report(profile)`: one
JSON object describing one person. Only `phenotype`, `edss` and the age (`age_years` or
`date_of_birth`) are required. **Leave out whatever is not known**: a missing value means
*unknown*, and the eligibility engine never counts an unknown as met; the report then says which
information would settle the question.

Units and conventions:

- Ages and durations are in years (decimals allowed). Dates are ISO (`YYYY-MM-DD`); durations
  given as dates are counted to `assessment_date` (default: today).
- `edss` must lie on the Kurtzke grid: 0, 1.0, 1.5, ..., 9.5, 10 (0.5 does not exist).
- Relapse counts are per window ending at the assessment date; a longer window must hold at
  least as many relapses as a shorter one. Lesion counts are lesions seen on MRI scans in that
  window (0 when scans showed none).
- `dmts` lists every DMT taken (`[]` = never treated; omit when unknown). A DMT has "failed"
  when the MS was active on it (relapse, new/enhancing lesions, confirmed worsening) or it was
  stopped for lack of effect. Names are matched case-insensitively against a catalogue of
  generic and brand names (`hsctms/model/dmts.yaml`); the catalogue says which are
  high-efficacy. A name not in the catalogue is an error that suggests the closest known
  drugs (a misspelling must never change a criterion silently); a drug not listed yet is
  accepted when `high_efficacy` states its class.

Errors: a bad or missing value raises `hsctms.errors.ProfileError` with one line per problem,
for example `edss: 0.5 is not on the Kurtzke EDSS scale (0, 1, 1.5, 2, ..., 9.5, 10; 0.5 does
not exist)` or `relapses_24m: 2 is fewer than relapses_12m = 3; a longer window includes the
shorter one`.

Examples: `examples/profiles/*.json`.

This page is generated: `python -m hsctms.model.profile > docs/profile-schema.md`.

## Fields

"""


def profile_schema_doc() -> str:
    """The full text of ``docs/profile-schema.md``."""
    return _DOC_HEADER + profile_schema_markdown()


if __name__ == "__main__":  # pragma: no cover
    print(profile_schema_doc(), end="")
