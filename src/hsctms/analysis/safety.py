"""The safety section of the outcomes report: what a paper on aHSCT in MS leads with.

:func:`safety_analysis` computes, from a registry cohort,

* **transplant-related mortality (TRM)** at day 100 and 1 year (the days are settings): the
  share of patients with a transplant-related death (``deaths.transplant_related``) up to
  that day, with an exact (Clopper-Pearson) interval as R's ``binom.test``
  (:func:`hsctms.analysis.tables.share`, the one home of that interval); overall, by era of
  transplant and by conditioning intensity. The denominator is the patients who reached that
  day: transplanted at least that many days before the data date, or dead before it;
* **deaths** by cause and whether they were transplant-related;
* **grade >= 3 adverse events** by category and period after the transplant: the number of
  patients with at least one such event (and the number of events);
* **secondary autoimmunity** (any grade, after day 0): patients with at least one event of
  that category, with an exact interval.

Settings (periods, eras, the grade cut-off and the category of each adverse-event term) are
data: ``hsctms/analysis/data/safety.yaml``, loaded strictly by :func:`load_safety_settings`.
The registry records no mobilisation, conditioning or engraftment dates, so the periods are
day ranges from the transplant; the file says which bounds are conventions.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from typing import Any

import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from hsctms._files import safe_load_yaml
from hsctms._provenance import Provenance
from hsctms.analysis.tables import Share, share
from hsctms.errors import ConfigurationError

__all__ = ["SafetyAnalysis", "SafetySettings", "load_safety_settings", "published_trm",
           "safety_analysis"]


class _Range(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    name: str = Field(min_length=1)
    start: int = Field(alias="from")
    end: int = Field(alias="to")


class SafetySettings(BaseModel):
    """The settings of the safety section (see ``hsctms/analysis/data/safety.yaml``).

    Parameters
    ----------
    id
        Name of the settings.
    version
        Version number of the settings file.
    trm_days
        Days after the transplant at which TRM is reported (e.g. ``[100, 365]``).
    min_grade
        Adverse events of at least this CTCAE grade (1-5) are counted.
    periods
        Named day ranges after the transplant (``from``/``to`` inclusive; first match wins).
    eras
        Named ranges of transplant years (first match wins).
    categories
        Category -> adverse-event terms (matched case-insensitively); other terms are "Other".
    autoimmunity_category
        The category reported as secondary autoimmunity.
    """

    model_config = ConfigDict(extra="forbid")

    id: str
    version: int
    trm_days: list[int] = Field(min_length=1)
    min_grade: int = Field(ge=1, le=5)
    periods: list[_Range] = Field(min_length=1)
    eras: list[_Range] = Field(min_length=1)
    categories: dict[str, list[str]]
    autoimmunity_category: str

    def category_of(self, term: Any) -> str:
        """The category of an adverse-event term.

        Parameters
        ----------
        term
            The ``adverse_events.term`` value.

        Returns
        -------
        str
            Its category, or ``"Other"`` for a term no category lists.
        """
        return _term_index(self).get(str(term).strip().lower(), "Other")


def _term_index(settings: SafetySettings) -> dict[str, str]:
    return {t.strip().lower(): cat for cat, terms in settings.categories.items() for t in terms}


DEFAULT_SETTINGS = Path(str(files("hsctms.analysis").joinpath("data", "safety.yaml")))


def load_safety_settings(path: str | Path | None = None) -> SafetySettings:
    """Read and validate safety settings (default: the bundled ``safety.yaml``).

    Parameters
    ----------
    path
        A YAML file of the shape of ``hsctms/analysis/data/safety.yaml``; None for the bundled
        settings.

    Returns
    -------
    SafetySettings
        The validated settings.

    Raises
    ------
    ConfigurationError
        The file is missing, is not YAML or breaks the schema (the message names the key).
    """
    return _default_settings() if path is None else _load(Path(path))


@lru_cache(maxsize=1)
def _default_settings() -> SafetySettings:
    return _load(DEFAULT_SETTINGS)


def _load(path: Path) -> SafetySettings:
    try:
        raw = safe_load_yaml(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigurationError(f"Cannot read the safety settings {path}: {exc}",
                                 hint="Give a YAML file like hsctms/analysis/data/"
                                      "safety.yaml.") from None
    try:
        settings = SafetySettings.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(x) for x in e['loc'])}: {e['msg']}"
                             for e in exc.errors())
        raise ConfigurationError(f"The safety settings {path} are invalid: {problems}",
                                 hint="Compare with hsctms/analysis/data/safety.yaml.") from None
    seen: dict[str, str] = {}
    for cat, terms in settings.categories.items():
        for t in terms:
            if t.strip().lower() in seen:
                raise ConfigurationError(
                    f"The safety settings {path} list the term {t!r} under both "
                    f"{seen[t.strip().lower()]!r} and {cat!r}.",
                    hint="Give each adverse-event term one category.")
            seen[t.strip().lower()] = cat
    if settings.autoimmunity_category not in settings.categories:
        raise ConfigurationError(
            f"autoimmunity_category {settings.autoimmunity_category!r} is not a category of "
            f"{path}.", hint="Name one of: " + ", ".join(settings.categories) + ".")
    return settings


@dataclass(frozen=True)
class SafetyAnalysis:
    """The safety section of a registry cohort.

    Parameters
    ----------
    trm
        One row per (group variable, group, day): ``by`` (``"all"``, ``"era"`` or
        ``"intensity"``), ``group``, ``day``, ``events``, ``n``, ``estimate``, ``lower``,
        ``upper``.
    deaths
        Deaths by ``cause`` and ``transplant_related``, with ``n``.
    adverse_events
        Grade >= ``min_grade`` events by ``category`` and ``period``: ``patients`` (with at
        least one), ``events``, ``percent`` (of all transplanted patients).
    autoimmunity
        Patients with secondary autoimmunity after day 0, of all transplanted patients.
    n_transplanted
        Patients with a transplant.
    data_date
        The date follow-up is counted to.
    level
        Confidence level of the intervals.
    settings
        The settings used.
    provenance
        How the section was computed.
    """

    trm: pd.DataFrame
    deaths: pd.DataFrame
    adverse_events: pd.DataFrame
    autoimmunity: Share
    n_transplanted: int
    data_date: _dt.date
    level: float
    settings: SafetySettings
    provenance: Provenance

    @property
    def summary(self) -> str:
        """One line: TRM at each day, overall."""
        rows = self.trm[self.trm["by"] == "all"]
        parts = [f"day {int(r.day)}: {r.events}/{r.n}" for r in rows.itertuples()]
        return (f"Transplant-related mortality ({'; '.join(parts)}) among "
                f"{self.n_transplanted} transplanted patients.")

    def to_frame(self) -> pd.DataFrame:
        """The TRM table.

        Returns
        -------
        pandas.DataFrame
            :attr:`trm`.
        """
        return self.trm.copy()

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form of every table.

        Returns
        -------
        dict
            ``trm``, ``deaths``, ``adverse_events`` (records), ``autoimmunity``,
            ``n_transplanted``, ``data_date``, ``level``, ``settings`` and ``provenance``.
        """
        def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
            return [{k: (None if isinstance(v, float) and v != v else v) for k, v in r.items()}
                    for r in frame.to_dict(orient="records")]

        return {"trm": records(self.trm), "deaths": records(self.deaths),
                "adverse_events": records(self.adverse_events),
                "autoimmunity": self.autoimmunity.to_dict(),
                "n_transplanted": self.n_transplanted, "data_date": self.data_date.isoformat(),
                "level": self.level, "settings": self.settings.model_dump(by_alias=True),
                "provenance": self.provenance.to_dict()}


def _index_transplants(cohort: Any) -> pd.DataFrame:
    """:meth:`Cohort.index_transplant` (each patient's first transplant, whole row) with
    text ids and datetime dates."""
    tx = cohort.index_transplant()
    return tx.assign(patient_id=tx["patient_id"].astype(str),
                     transplant_date=pd.to_datetime(tx["transplant_date"]))


def _named(value: int, ranges: list[_Range]) -> str | None:
    return next((r.name for r in ranges if r.start <= value <= r.end), None)


def _trm(tx: pd.DataFrame, deaths: pd.DataFrame, data_date: _dt.date, settings: SafetySettings,
         level: float) -> pd.DataFrame:
    d = deaths.assign(patient_id=deaths["patient_id"].astype(str),
                      date=pd.to_datetime(deaths["date"]))
    d = d.sort_values("date").groupby("patient_id", as_index=False).first()
    t = tx.merge(d[["patient_id", "date", "transplant_related"]], on="patient_id", how="left")
    death_day = (t["date"] - t["transplant_date"]).dt.days
    followed = (pd.Timestamp(data_date) - t["transplant_date"]).dt.days
    related = t["transplant_related"].astype("boolean").fillna(False).astype(bool)
    t["era"] = t["transplant_date"].dt.year.map(lambda y: _named(int(y), settings.eras))
    t["intensity"] = t["intensity"].astype("string")
    rows = []
    for by in ("all", "era", "intensity"):
        groups = [("all", t.index == t.index)] if by == "all" else [
            (str(g), (t[by] == g).fillna(False).to_numpy(dtype=bool))
            for g in sorted(t[by].dropna().unique())]
        for name, mask in groups:
            for day in settings.trm_days:
                reached = mask & ((followed >= day) | (death_day <= day)).to_numpy()
                events = int((reached & related.to_numpy() & (death_day <= day).to_numpy()).sum())
                p = share(events, int(reached.sum()), level, f"TRM to day {day}")
                rows.append({"by": by, "group": name, "day": day, "events": p.events,
                             "n": p.n, "estimate": p.estimate, "lower": p.lower,
                             "upper": p.upper})
    return pd.DataFrame(rows)


def _adverse(tx: pd.DataFrame, ae: pd.DataFrame,
             settings: SafetySettings) -> tuple[pd.DataFrame, pd.DataFrame]:
    a = ae.assign(patient_id=ae["patient_id"].astype(str))
    a = a.merge(tx[["patient_id", "transplant_date"]], on="patient_id", how="inner")
    a["day"] = (pd.to_datetime(a["onset_date"]) - a["transplant_date"]).dt.days
    # each distinct term classified once (the same values and dtype as mapping every row)
    codes, uniques = pd.factorize(a["term"], use_na_sentinel=False)
    cats = pd.Series(uniques, dtype=a["term"].dtype).map(settings.category_of)
    a["category"] = cats.iloc[codes].set_axis(a.index)
    d_codes, d_uniques = pd.factorize(a["day"], use_na_sentinel=False)  # each day once
    periods = pd.Series(d_uniques, dtype=a["day"].dtype).map(
        lambda x: _named(int(x), settings.periods))
    a["period"] = periods.iloc[d_codes].set_axis(a.index)
    severe = a[pd.to_numeric(a["grade"], errors="coerce") >= settings.min_grade]
    severe = severe[severe["period"].notna()]
    order = [p.name for p in settings.periods]
    table = (severe.groupby(["category", "period"])
             .agg(patients=("patient_id", "nunique"), events=("patient_id", "size"))
             .reset_index())
    table["period"] = pd.Categorical(table["period"], categories=order, ordered=True)
    table = table.sort_values(["category", "period"]).reset_index(drop=True)
    table["period"] = table["period"].astype(str)
    table["percent"] = 100 * table["patients"] / max(len(tx), 1)
    auto = a[(a["category"] == settings.autoimmunity_category) & (a["day"] >= 0)]
    return table, auto


def safety_analysis(cohort: Any, *, level: float = 0.95,
                    settings: SafetySettings | str | Path | None = None) -> SafetyAnalysis:
    """Transplant-related mortality, deaths, severe adverse events and autoimmunity.

    Parameters
    ----------
    cohort
        A :class:`hsctms.model.Cohort`. Only patients with a transplant are counted; each
        patient's first transplant is the index.
    level
        Confidence level of the exact intervals.
    settings
        :class:`SafetySettings`, a YAML file of that shape, or None for the bundled
        ``safety.yaml``.

    Returns
    -------
    SafetyAnalysis
        The tables of the safety section.
    """
    s = settings if isinstance(settings, SafetySettings) else load_safety_settings(settings)
    data_date = cohort.data_date or _dt.date.today()
    with cohort.data_source():
        tx = _index_transplants(cohort)
        trm = _trm(tx, cohort.deaths, data_date, s, level)
        deaths = cohort.deaths.assign(
            transplant_related=cohort.deaths["transplant_related"].astype("boolean"))
        by_cause = (deaths.groupby(["cause", "transplant_related"], dropna=False)
                    .size().rename("n").reset_index()
                    .sort_values(["transplant_related", "n"], ascending=[False, False])
                    .reset_index(drop=True))
        table, auto = _adverse(tx, cohort.table("adverse_events"), s)
        autoimmunity = share(int(auto["patient_id"].nunique()), len(tx), level,
                             f"{s.autoimmunity_category} after day 0")
        prov = Provenance("safety_analysis", {"settings": s.id, "level": level,
                                              "interval": "exact (Clopper-Pearson)",
                                              "trm_days": list(s.trm_days)}, n=len(tx))
    return SafetyAnalysis(trm, by_cause, table, autoimmunity, len(tx), data_date, level, s,
                          prov)


def published_trm(evidence: Any = None) -> pd.DataFrame:
    """The pooled transplant-related mortality figures of the evidence base, for comparison.

    Parameters
    ----------
    evidence
        An :class:`hsctms.evidence.EvidenceBase`; None loads the bundled one.

    Returns
    -------
    pandas.DataFrame
        One row per pooled TRM figure: ``study_id``, ``label``, ``citation``,
        ``population``, ``percent``, ``ci_low``, ``ci_high`` (percent; NA when not
        published), ``ci_level``, ``n`` and ``verified``.
    """
    from hsctms.evidence import RowInclusion, load_evidence

    ev = evidence if evidence is not None else load_evidence()
    rows = ev.outcomes(outcome="trm", rows=RowInclusion(include_pooled=True))
    rows = rows[rows["estimator"] == "pooled"]
    out = pd.DataFrame({
        "study_id": rows["study_id"], "label": rows["label"],
        "citation": [str(ev.study(s).get("citation") or "") for s in rows["study_id"]],
        "population": rows["population"], "percent": rows["estimate"],
        "ci_low": rows["ci_low"], "ci_high": rows["ci_high"], "ci_level": rows["ci_level"],
        "n": rows["n"], "verified": rows["verified"].astype(bool)})
    return out.reset_index(drop=True)
