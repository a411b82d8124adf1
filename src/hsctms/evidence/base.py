"""The evidence base as typed tables with a query API.

>>> from hsctms.evidence import load_evidence
>>> ev = load_evidence()
>>> ev.study("atkins2016")["intensity"]
'high'
>>> rows = ev.outcomes(outcome="neda", phenotype="relapsing", time_years=5)
>>> sorted(rows["study_id"].unique())[:2]
['burt2019_mist', 'silfverberg2024']
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from hsctms.errors import ConfigurationError, EvidenceError, NotFoundError
from hsctms.evidence.changes import ChangeLog
from hsctms.evidence.loader import paired_ahsct_rows
from hsctms.evidence.schema import ARMS, DESIGN_BY_KIND, EVIDENCE_DESIGNS
from hsctms.evidence.selection import RowInclusion
from hsctms.model.regimens import RegimenMap, default_regimen_map

#: Default cut (publication year) between the early and the recent era.
ERA_CUT = 2005

_RELAPSING_POPS = {"rrms", "relapsing"}
_PROGRESSIVE_POPS = {"progressive", "spms", "ppms"}
PHENOTYPES: tuple[str, ...] = ("relapsing", "progressive", "mixed")

#: Study columns joined onto outcome / harm query results.
_JOIN = ("label", "kind", "pub_year", "phenotype_group", "intensity", "era", "superseded_by",
         "evidence_design")

#: Confidence level of the exact (Clopper-Pearson) intervals added to the harms table.
EXACT_LEVEL = 0.95


def _listify(value: str | Iterable[str] | None) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return [value]
    return list(value)


def era_label(year: float | None, cut: int = ERA_CUT) -> str | None:
    """The era of a publication year.

    Parameters
    ----------
    year : float or None
        Publication year; ``None`` or NaN when unknown.
    cut : int, default ERA_CUT (2005)
        First year of the recent era.

    Returns
    -------
    str or None
        ``"before {cut}"`` or ``"{cut} or later"``; ``None`` for a missing year.
    """
    if year is None or pd.isna(year):
        return None
    return f"before {cut}" if year < cut else f"{cut} or later"


def phenotype_group(pct_rrms: float | None, pct_progressive: float | None = None) -> str | None:
    """The phenotype group of a cohort from its composition.

    Parameters
    ----------
    pct_rrms : float or None
        Percentage (0-100) of patients with relapsing-remitting MS; ``None``/NaN if unknown.
    pct_progressive : float or None, optional
        Percentage with progressive MS, used when ``pct_rrms`` is unknown.

    Returns
    -------
    str or None
        ``"relapsing"`` (all RRMS, >= 99.5%), ``"progressive"`` (no RRMS, <= 0.5%),
        ``"mixed"``, or ``None`` when neither percentage is known.
    """
    if pct_rrms is not None and not pd.isna(pct_rrms):
        if pct_rrms >= 99.5:
            return "relapsing"
        if pct_rrms <= 0.5:
            return "progressive"
        return "mixed"
    if pct_progressive is not None and not pd.isna(pct_progressive):
        if pct_progressive >= 99.5:
            return "progressive"
        return "mixed" if pct_progressive > 0.5 else "relapsing"
    return None


@dataclass
class EvidenceBase:
    """The loaded, validated evidence base.

    Build it with :func:`hsctms.evidence.load_evidence` (or :meth:`from_tables`), which
    validates the files and adds the derived columns.

    Parameters
    ----------
    studies : pandas.DataFrame
        One row per source, with derived columns ``intensity`` (from ``regimen_code`` through
        the regimen map, else ``intensity_published``), ``phenotype_group``, ``era``
        (publication year before / from :data:`ERA_CUT`), ``year_mid`` (midpoint of the
        transplant years, when both are known) and ``verified_trm``.
    outcome_table : pandas.DataFrame
        Long outcomes table, plus TRM rows derived from the studies' ``trm_deaths``/``trm_n``.
    harm_table : pandas.DataFrame
        Long harms table.
    regimen_map : str, default "ebmt"
        Name of the regimen map used to derive ``intensity``.
    changelog : ChangeLog, optional
        Evidence date and change log (``data/changes.yaml``); ``None`` for a data directory
        without one.
    """

    studies: pd.DataFrame
    outcome_table: pd.DataFrame
    harm_table: pd.DataFrame
    regimen_map: str = "ebmt"
    changelog: ChangeLog | None = None

    # ------------------------------------------------------------------ construction

    @classmethod
    def from_tables(
        cls,
        studies: pd.DataFrame,
        outcomes: pd.DataFrame,
        harms: pd.DataFrame,
        regimen_map: RegimenMap | None = None,
        era_cut: int = ERA_CUT,
    ) -> EvidenceBase:
        """Add derived columns and the TRM outcome rows to validated raw tables.

        Parameters
        ----------
        studies, outcomes, harms : pandas.DataFrame
            The three tables as read and validated by :func:`hsctms.evidence.loader.read_all`.
        regimen_map : hsctms.model.regimens.RegimenMap, optional
            Map deriving each study's ``intensity`` from ``regimen_code`` (default EBMT).
        era_cut : int, default ERA_CUT (2005)
            First publication year of the recent era.

        Returns
        -------
        EvidenceBase
            With the derived study columns (``intensity``, ``phenotype_group``, ``era``,
            ``year_mid``, ``verified_trm``) and the TRM rows in the outcomes table.
        """
        rmap = regimen_map or default_regimen_map()
        st = studies.copy()
        derived = [
            (rmap.classify(code) if isinstance(code, str) and code != "mixed" else None)
            for code in st["regimen_code"]
        ]
        st["intensity"] = [
            d if d is not None else pub for d, pub in zip(derived, st["intensity_published"],
                                                          strict=True)
        ]
        st["phenotype_group"] = [phenotype_group(r, p) for r, p in
                                 zip(st["pct_rrms"], st["pct_progressive"], strict=True)]
        st["era"] = [era_label(y, era_cut) for y in st["pub_year"]]
        st["year_mid"] = [
            (a + b) / 2 if a is not None and b is not None and not (pd.isna(a) or pd.isna(b))
            else np.nan for a, b in zip(st["transplant_year_start"], st["transplant_year_end"],
                                        strict=True)
        ]
        st["verified_trm"] = [not ({"trm_deaths", "trm_n"} & set(u)) for u in st["unverified"]]
        st["evidence_design"] = [
            d if isinstance(d, str) and d else DESIGN_BY_KIND[k]
            for d, k in zip(st["evidence_design"], st["kind"], strict=True)
        ]
        for col in ("pub_year", "transplant_year_start", "transplant_year_end", "n",
                    "trm_deaths", "trm_n"):
            st[col] = pd.array(st[col].tolist(), dtype="Int64")
        for col in ("pct_rrms", "pct_spms", "pct_ppms", "pct_progressive", "age", "edss",
                    "disease_duration_years", "followup_years"):
            st[col] = pd.to_numeric(st[col], errors="coerce").astype(float)
        out = pd.concat([outcomes, _trm_rows(st)], ignore_index=True)
        return cls(st.reset_index(drop=True), out.reset_index(drop=True),
                   _with_exact(harms).reset_index(drop=True), rmap.name)

    @property
    def evidence_date(self) -> str | None:
        """The evidence date (``YYYY-MM-DD``) of this version, ``None`` without a change log."""
        return None if self.changelog is None else self.changelog.evidence_date.isoformat()

    # ------------------------------------------------------------------------ lookups

    @property
    def study_ids(self) -> list[str]:
        """All study ids, in file order."""
        return [str(s) for s in self.studies["study_id"]]

    def study(self, study_id: str) -> dict[str, Any]:
        """One study as a dict.

        Parameters
        ----------
        study_id : str
            Study id, e.g. ``"atkins2016"``.

        Returns
        -------
        dict
            The study's fields (plain Python values; missing values as ``None``).

        Raises
        ------
        hsctms.errors.NotFoundError
            For an unknown id; the hint suggests close ids.
        """
        hit = self.studies[self.studies["study_id"] == study_id]
        if hit.empty:
            close = difflib.get_close_matches(study_id, self.study_ids, n=3, cutoff=0.5)
            raise NotFoundError(
                f"No study {study_id!r} in the evidence base.",
                hint=(f"Did you mean {', '.join(close)}? " if close else "")
                + "List ids with `hsctms evidence list`.",
            )
        rec = hit.iloc[0].to_dict()
        return {k: _py(v) for k, v in rec.items()}

    def is_verified(self, study_id: str, field: str) -> bool:
        """Whether a study field is verified.

        Parameters
        ----------
        study_id : str
            Study id.
        field : str
            Field of ``studies.yaml``, e.g. ``"trm_deaths"``.

        Returns
        -------
        bool
            False when ``field`` of ``study_id`` is flagged *(unverified)*.
        """
        return field not in self.study(study_id)["unverified"]

    def _check_ids(self, ids: list[str] | None) -> None:
        for sid in ids or []:
            self.study(sid)

    # ------------------------------------------------------------------------ queries

    def outcomes(
        self,
        study: str | Iterable[str] | None = None,
        outcome: str | Iterable[str] | None = None,
        *,
        arm: str | Iterable[str] | None = None,
        phenotype: str | None = None,
        population: str | Iterable[str] | None = None,
        time_years: float | None = None,
        measure: str | Iterable[str] | None = None,
        rows: RowInclusion | None = None,
    ) -> pd.DataFrame:
        """Filter the outcomes table.

        Parameters
        ----------
        study : str or iterable of str, optional
            Study id(s) to keep; an unknown id raises :class:`NotFoundError` with
            suggestions.
        outcome : str or iterable of str, optional
            Outcome name(s) (``trm``, ``neda``, ``progression_free``, ...; see
            :data:`hsctms.evidence.OUTCOMES`).
        arm : str or iterable of str, optional
            Arm(s): ``"ahsct"``, a comparator such as ``"dmt"`` or ``"alemtuzumab"``, or
            ``"pooled"`` (published pooled figures; needs ``rows.include_pooled``).
        phenotype : str, optional
            ``"relapsing"`` / ``"progressive"`` / ``"mixed"``: rows for that population, or
            whole-cohort rows of studies whose cohort is entirely that phenotype; also an exact
            population label such as ``"RRMS"`` or ``"SPMS"``.
        population : str or iterable of str, optional
            Exact population label(s): ``"all"`` (whole cohorts) or a subgroup.
        time_years : float, optional
            Keep rows at this time point, in years (within 0.05 y).
        measure : str or iterable of str, optional
            Measure(s) of the figure, e.g. ``"percent"`` or ``"hazard_ratio"`` (see
            :data:`hsctms.evidence.MEASURES`).
        rows : RowInclusion, optional
            Which kinds of rows to keep (default ``RowInclusion()``: unverified and
            superseded rows kept, published pooled figures left out).

        Returns
        -------
        pandas.DataFrame
            Outcome rows joined with study ``label``, ``kind``, ``pub_year``,
            ``phenotype_group``, ``intensity``, ``era`` and ``superseded_by``.
        """
        inc = rows or RowInclusion()
        df = self._join(self.outcome_table)
        df = self._filter(df, study, "study_id")
        df = self._filter(df, outcome, "outcome")
        df = self._filter(df, arm, "arm")
        df = self._filter(df, population, "population")
        df = self._filter(df, measure, "measure")
        if phenotype is not None:
            df = df[_phenotype_mask(df, phenotype)]
        if time_years is not None:
            t = pd.to_numeric(df["time_years"], errors="coerce")
            df = df[(t - float(time_years)).abs() <= 0.05]
        if inc.verified_only:
            df = df[df["verified"].astype(bool)]
        if not inc.include_pooled:
            df = df[df["arm"] != "pooled"]
        if not inc.include_superseded:
            df = df[df["superseded_by"].isna()]
        return df.reset_index(drop=True)

    def harms(
        self,
        study: str | Iterable[str] | None = None,
        harm: str | Iterable[str] | None = None,
        *,
        arm: str | Iterable[str] | None = None,
        population: str | Iterable[str] | None = None,
        verified_only: bool = False,
    ) -> pd.DataFrame:
        """Filter the harms table (comparator arms included; see ``arm``).

        Parameters
        ----------
        study : str or iterable of str, optional
            Study id(s) to keep.
        harm : str or iterable of str, optional
            Harm name(s), e.g. ``"thyroid"``, ``"itp"`` (see :data:`hsctms.evidence.HARMS`).
        arm : str or iterable of str, optional
            Arm(s): ``"ahsct"`` or a comparator such as ``"alemtuzumab"``.
        population : str or iterable of str, optional
            Exact population label(s).
        verified_only : bool, default False
            Drop rows flagged *(unverified)*.

        Returns
        -------
        pandas.DataFrame
            Harm rows joined with the study columns (as :meth:`outcomes`).
        """
        df = self._join(self.harm_table)
        df = self._filter(df, study, "study_id")
        df = self._filter(df, harm, "harm")
        df = self._filter(df, arm, "arm")
        df = self._filter(df, population, "population")
        if verified_only:
            df = df[df["verified"].astype(bool)]
        return df.reset_index(drop=True)

    def published_pooled(self, outcome: str | Iterable[str] | None = None) -> pd.DataFrame:
        """Figures of published meta-analyses and appraisals (e.g. Sormani 2017).

        Parameters
        ----------
        outcome : str or iterable of str, optional
            Outcome(s) to keep (default all).

        Returns
        -------
        pandas.DataFrame
            Outcome rows with ``arm == "pooled"`` (estimates in percent).
        """
        df = self.outcomes(outcome=outcome, arm="pooled", rows=RowInclusion(include_pooled=True))
        return df.reset_index(drop=True)

    def trm_data(
        self,
        *,
        include_superseded: bool = False,
        verified_only: bool = False,
        studies: Sequence[str] | None = None,
    ) -> pd.DataFrame:
        """Per-study transplant-related deaths for pooling (one row per primary study).

        Meta-analyses and reviews are never included.

        Parameters
        ----------
        include_superseded : bool, default False
            Also include reports superseded by a later report of the same cohort.
        verified_only : bool, default False
            Keep only studies whose ``trm_deaths`` and ``trm_n`` are verified.
        studies : sequence of str, optional
            Exactly these study ids (superseded ones included); unknown ids raise
            :class:`NotFoundError`.

        Returns
        -------
        pandas.DataFrame
            Columns ``study``, ``label``, ``events``, ``n``, ``pub_year``, ``year``
            (transplant midpoint, NaN if unknown), ``edss``, ``pct_rrms``, ``intensity``,
            ``era``, ``phenotype``, ``verified``.
        """
        st = self.studies
        keep = st["trm_deaths"].notna() & (st["kind"] != "meta_analysis") & (st["kind"] != "review")
        if studies is not None:
            self._check_ids(list(studies))
            keep &= st["study_id"].isin(list(studies))
        elif not include_superseded:
            keep &= st["superseded_by"].isna()
        if verified_only:
            keep &= st["verified_trm"]
        sel = st[keep]
        return pd.DataFrame({
            "study": sel["study_id"].astype(str).to_numpy(),
            "label": sel["label"].astype(str).to_numpy(),
            "events": sel["trm_deaths"].astype(int).to_numpy(),
            "n": sel["trm_n"].astype(int).to_numpy(),
            "pub_year": sel["pub_year"].astype("float").to_numpy(),
            "year": sel["year_mid"].to_numpy(dtype=float),
            "edss": sel["edss"].to_numpy(dtype=float),
            "pct_rrms": sel["pct_rrms"].to_numpy(dtype=float),
            "intensity": sel["intensity"].to_numpy(dtype=object),
            "era": sel["era"].to_numpy(dtype=object),
            "phenotype": sel["phenotype_group"].to_numpy(dtype=object),
            "verified": sel["verified_trm"].to_numpy(dtype=bool),
        })

    def proportion_data(
        self,
        outcome: str,
        time_years: float,
        *,
        arm: str = "ahsct",
        population: str = "all",
        verified_only: bool = False,
        include_superseded: bool = False,
    ) -> pd.DataFrame:
        """Per-study events and n for pooling a percentage outcome at one time point.

        Where a study reports only a Kaplan-Meier percentage and its n, events are
        *reconstructed* as ``round(estimate/100 * n)`` and flagged in ``events_reconstructed``:
        an approximation that ignores censoring (documented in docs/meta-analysis.md).
        Rows without n are dropped.

        Parameters
        ----------
        outcome : str
            A percentage outcome, e.g. ``"progression_free"`` or ``"neda"``.
        time_years : float
            Time point in years (matched within 0.05 y).
        arm : str, default "ahsct"
            Arm whose figures are pooled.
        population : str, default "all"
            Population label of the rows (``"all"``: whole cohorts).
        verified_only : bool, default False
            Drop rows flagged *(unverified)*.
        include_superseded : bool, default False
            Also include reports superseded by a later report of the same cohort.

        Returns
        -------
        pandas.DataFrame
            Columns ``study``, ``label``, ``events``, ``n``, ``estimate_pct``,
            ``events_reconstructed``, ``pub_year``, ``year``, ``edss``, ``pct_rrms``,
            ``intensity``, ``era``, ``phenotype``, ``verified``.

        Raises
        ------
        hsctms.errors.EvidenceError
            When no row matches; the hint says how to list the time points.
        """
        rows = self.outcomes(outcome=outcome, arm=arm, population=population,
                             time_years=time_years, measure="percent",
                             rows=RowInclusion(verified_only=verified_only,
                                               include_superseded=include_superseded))
        if rows.empty:
            raise EvidenceError(
                f"No {outcome!r} figures at {time_years:g} y for arm {arm!r} and population "
                f"{population!r} in the evidence base.",
                hint="See which time points exist with `hsctms evidence list --outcome "
                f"{outcome}`.",
            )
        st = self.studies.set_index("study_id")
        out = []
        for rec in rows.to_dict("records"):
            n = rec["n"]
            if n is None or pd.isna(n):
                n = st.loc[rec["study_id"], "n"]
            if n is None or pd.isna(n):
                continue
            ev = rec["events"]
            recon = ev is None or pd.isna(ev)
            if recon:
                ev = round(float(rec["estimate"]) / 100.0 * float(n))
            s = st.loc[rec["study_id"]]
            out.append({
                "study": rec["study_id"], "label": rec["label"], "events": int(ev), "n": int(n),
                "estimate_pct": float(rec["estimate"]), "events_reconstructed": bool(recon),
                "pub_year": float(s["pub_year"]) if not pd.isna(s["pub_year"]) else np.nan,
                "year": float(s["year_mid"]), "edss": float(s["edss"]),
                "pct_rrms": float(s["pct_rrms"]), "intensity": s["intensity"], "era": s["era"],
                "phenotype": s["phenotype_group"], "verified": bool(rec["verified"]),
            })
        return pd.DataFrame(out)

    def comparisons(
        self,
        table: str = "outcome",
        name: str | Iterable[str] | None = None,
        *,
        comparator: str | Iterable[str] | None = None,
        verified_only: bool = False,
    ) -> pd.DataFrame:
        """aHSCT beside a comparator arm: the pairs of rows with the same study, outcome (or
        harm), measure, population and time point.

        Parameters
        ----------
        table : str, default "outcome"
            ``"outcome"`` (benefits) or ``"harm"``.
        name : str or iterable of str, optional
            Outcome(s) or harm(s) to keep (default all).
        comparator : str or iterable of str, optional
            Comparator arm(s), e.g. ``"alemtuzumab"`` (see :data:`hsctms.evidence.ARMS`);
            default every arm other than aHSCT and pooled figures.
        verified_only : bool, default False
            Keep only pairs whose two rows are both verified.

        Returns
        -------
        pandas.DataFrame
            One row per pair: ``study_id``, ``label``, ``evidence_design``, ``design_label``
            (plain words), ``name``, ``measure``, ``population``, ``time_years``,
            ``time_label``, ``comparator``, ``comparator_label``, and for each side
            (``ahsct_`` and ``other_`` prefixes) ``estimate``, ``ci_low``, ``ci_high``,
            ``events``, ``n``, ``verified``, ``source_type``.

        Raises
        ------
        hsctms.errors.ConfigurationError
            For a ``table`` other than ``"outcome"`` or ``"harm"``.
        """
        if table not in ("outcome", "harm"):
            raise ConfigurationError(f"Unknown table {table!r}.", hint="Use outcome or harm.")
        df = (self.outcomes(outcome=name) if table == "outcome"
              else self.harms(harm=name))
        df = df[df["estimate"].notna()]
        ours = df[df["arm"] == "ahsct"]
        wanted = _listify(comparator)
        others = df[~df["arm"].isin(["ahsct", "pooled"])]
        if wanted is not None:
            others = others[others["arm"].isin(wanted)]
        side = ("estimate", "ci_low", "ci_high", "events", "n", "verified", "source_type")
        rows = []
        for rec in others.to_dict("records"):
            same = paired_ahsct_rows(ours, rec, table)
            if same.empty:
                continue
            mine = same.iloc[0].to_dict()
            if verified_only and not (bool(mine["verified"]) and bool(rec["verified"])):
                continue
            row: dict[str, Any] = {
                "study_id": rec["study_id"], "label": rec["label"],
                "evidence_design": rec["evidence_design"],
                "design_label": EVIDENCE_DESIGNS.get(str(rec["evidence_design"]), ""),
                "name": rec[table], "measure": rec["measure"], "population": rec["population"],
                "time_years": rec["time_years"], "time_label": rec["time_label"],
                "comparator": rec["arm"], "comparator_label": ARMS.get(str(rec["arm"]),
                                                                       str(rec["arm"])),
            }
            for key in side:
                row[f"ahsct_{key}"] = mine[key]
                row[f"other_{key}"] = rec[key]
            rows.append(row)
        columns = ["study_id", "label", "evidence_design", "design_label", "name", "measure",
                   "population", "time_years", "time_label", "comparator", "comparator_label",
                   *[f"{p}_{k}" for p in ("ahsct", "other") for k in side]]
        return pd.DataFrame(rows, columns=columns)

    # ------------------------------------------------------------------------ helpers

    def _join(self, table: pd.DataFrame) -> pd.DataFrame:
        st = self.studies[["study_id", *_JOIN]]
        return table.merge(st, on="study_id", how="left")

    def _filter(self, df: pd.DataFrame, value: str | Iterable[str] | None,
                column: str) -> pd.DataFrame:
        values = _listify(value)
        if values is None:
            return df
        if column == "study_id":
            self._check_ids(values)
        return df[df[column].isin(values)]

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable dump of the three tables.

        Returns
        -------
        dict
            ``regimen_map`` and the ``studies``, ``outcomes`` and ``harms`` rows as lists of
            dicts (missing values as ``None``).
        """
        def records(df: pd.DataFrame) -> list[dict[str, Any]]:
            return [{k: _py(v) for k, v in r.items()} for r in df.to_dict("records")]
        return {"regimen_map": self.regimen_map, "studies": records(self.studies),
                "outcomes": records(self.outcome_table), "harms": records(self.harm_table)}


def _phenotype_mask(df: pd.DataFrame, phenotype: str) -> pd.Series:
    want = phenotype.strip().lower()
    pop = df["population"].fillna("all").str.lower()
    if want in ("relapsing", "rrms"):
        pops = _RELAPSING_POPS
    elif want == "progressive":
        pops = _PROGRESSIVE_POPS
    elif want == "mixed":
        return (pop == "all") & (df["phenotype_group"] == "mixed")
    elif want in ("spms", "ppms"):
        return pop == want
    else:
        raise ConfigurationError(
            f"Unknown phenotype {phenotype!r}.",
            hint="Use relapsing, progressive, mixed, RRMS, SPMS or PPMS.",
        )
    whole = (pop == "all") & (df["phenotype_group"] == ("relapsing" if pops is _RELAPSING_POPS
                                                        else "progressive"))
    return pop.isin(pops) | whole


def exact_interval(events: int, n: int, *, level: float = EXACT_LEVEL) -> tuple[float, float]:
    """Exact (Clopper-Pearson) confidence interval of a proportion, in percent.

    Parameters
    ----------
    events : int
        Number of people with the event (0 <= events <= n).
    n : int
        Number of people (> 0).
    level : float, default EXACT_LEVEL (0.95)
        Confidence level.

    Returns
    -------
    tuple of float
        Lower and upper bound in percent (0-100).

    Raises
    ------
    hsctms.errors.ConfigurationError
        When ``n`` is not positive or ``events`` is outside ``[0, n]``.

    Examples
    --------
    >>> [round(x, 1) for x in exact_interval(1, 14)]
    [0.2, 33.9]
    """
    # the beta quantiles as the inverse regularised incomplete beta function (what
    # scipy.stats.beta.ppf evaluates), without importing all of scipy.stats
    from scipy.special import betaincinv

    if n <= 0 or not 0 <= events <= n:
        raise ConfigurationError(f"Cannot compute an interval for {events} of {n}.",
                                 hint="Give 0 <= events <= n and n > 0.")
    alpha = 1.0 - level
    lo = 0.0 if events == 0 else float(betaincinv(events, n - events + 1, alpha / 2))
    hi = 1.0 if events == n else float(betaincinv(events + 1, n - events, 1 - alpha / 2))
    return 100.0 * lo, 100.0 * hi


def _with_exact(harms: pd.DataFrame) -> pd.DataFrame:
    """Harms with ``context`` as text and ``exact_low``/``exact_high`` (95% Clopper-Pearson,
    percent) on percentage rows that give events and n."""
    df = harms.copy()
    if "context" not in df.columns:
        df["context"] = ""
    df["context"] = df["context"].fillna("").astype(str)
    lows: list[float] = []
    highs: list[float] = []
    for rec in df.to_dict("records"):
        ev, n = rec.get("events"), rec.get("n")
        if (rec.get("measure") == "percent" and ev is not None and n is not None
                and not pd.isna(ev) and not pd.isna(n)):
            lo, hi = exact_interval(int(ev), int(n))
        else:
            lo = hi = np.nan
        lows.append(lo)
        highs.append(hi)
    df["exact_low"] = lows
    df["exact_high"] = highs
    return df


def _trm_rows(st: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for rec in st.to_dict("records"):
        d, n = rec["trm_deaths"], rec["trm_n"]
        if d is None or pd.isna(d) or rec["kind"] in ("meta_analysis", "review"):
            continue
        rows.append({
            "study_id": rec["study_id"], "arm": "ahsct", "comparator": "", "population": "all",
            "outcome": "trm", "measure": "percent", "time_years": None,
            "time_label": "transplant-related (as defined by the study)",
            "estimate": 100.0 * float(d) / float(n), "ci_low": None, "ci_high": None,
            "ci_level": None, "spread_low": None, "spread_high": None, "spread_type": "",
            "events": float(d), "n": float(n), "estimator": "crude",
            "definition": "transplant-related deaths / transplanted patients"
            + (f" ({rec['trm_note']})" if rec.get("trm_note") else ""),
            "source_type": rec["source_type"], "verified": bool(rec["verified_trm"]),
            "notes": "derived from studies.yaml trm_deaths/trm_n", "row": "studies.yaml",
            "estimate_derived": True,
        })
    return pd.DataFrame(rows)


def _py(value: Any) -> Any:
    """numpy / pandas scalars -> plain Python (NaN/NA -> None)."""
    if isinstance(value, list | tuple):
        return list(value)
    if value is None or value is pd.NA:
        return None
    if isinstance(value, float | np.floating) and np.isnan(value):
        return None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value
