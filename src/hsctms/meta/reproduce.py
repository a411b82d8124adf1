"""Reproduction attempt of Sormani et al., Neurology 2017 (meta-analysis of aHSCT in MS).

Published (abstract): 15 studies, 764 patients; pooled TRM 2.1% (95% CI 1.3-3.4%) and
progression 17.1% at 2 y (9.7-24.5%) and 23.3% at 5 y (16.3-31.8%), from a weighted Poisson
meta-regression.

The per-study input table (Sormani's Table 1) was **not** found (research addendum A2); the
candidate list below is the addendum's reconstruction, taken from the evidence base. It does
not sum to 764 patients, so the published figures cannot be reproduced exactly; this module
computes what the available inputs give and reports, input by input, what is missing.
Inputs are never tuned towards the published figures.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from hsctms.meta.regression import PoissonRegression, poisson_regression

#: Candidate studies of addendum A2 (rows 1-16): (addendum row, evidence-base study id or
#: None, addendum status, what is missing for the TRM analysis).
SORMANI2017_CANDIDATES: tuple[tuple[int, str | None, str, str], ...] = (
    (1, "fassas2011", "likely", "deaths not known (>= 1; interim report 1/24)"),
    (2, "saiz2004", "likely", ""),
    (3, "mancardi2012", "likely", ""),
    (4, "mancardi2015_astims", "possible (may overlap #3)", "aHSCT-arm n and deaths unverified"),
    (5, "burt2015", "likely", ""),
    (6, "nash2017", "likely", ""),
    (7, "atkins2016", "likely", ""),
    (8, "shevchenko2015", "likely", ""),
    (9, "burman2014", "likely", ""),
    (10, "curro2015", "likely", ""),
    (11, None, "possible (Casanova 2017, published 2017)", "n and deaths not known"),
    (12, "hamerschlak2010", "likely", ""),
    (13, "kozak2001", "possible", ""),
    (14, "krasulova2010", "likely", ""),
    (15, "nash2003", "likely (as Bowen 2012 long-term update)",
     "later deaths of the 2012 update not known; Nash 2003 count used"),
    (16, "chen2012", "likely", ""),
)

#: Published figures (percent) of Sormani 2017 (abstract).
PUBLISHED: dict[str, Any] = {"n_studies": 15, "n_patients": 764, "trm": (2.1, 1.3, 3.4),
             "progression_2y": (17.1, 9.7, 24.5), "progression_5y": (23.3, 16.3, 31.8)}


@dataclass(frozen=True)
class SormaniReproduction:
    """What the available inputs give, beside the published figures.

    Frozen: built complete by :func:`reproduce_sormani2017`.

    Parameters
    ----------
    candidates : pandas.DataFrame
        The addendum's candidate list joined with the evidence base
        (:func:`sormani2017_candidates`).
    trm_inputs : pandas.DataFrame
        Studies used for TRM: ``study``, ``events`` (deaths), ``n``.
    trm_poisson : PoissonRegression
        Intercept-only Poisson model of the TRM inputs (the published model).
    progression_5y_inputs, progression_2y_inputs : pandas.DataFrame
        Candidates with a 5-year / 2-year progression figure: ``study``,
        ``progression_pct``, ``events``, ``n``, ``source``, ``verified``.
    missing : list of str, default []
        What is missing, input by input, to reproduce the published figures.
    """

    candidates: pd.DataFrame
    trm_inputs: pd.DataFrame
    trm_poisson: PoissonRegression
    progression_5y_inputs: pd.DataFrame
    progression_2y_inputs: pd.DataFrame
    missing: list[str] = field(default_factory=list)

    @property
    def trm(self) -> tuple[float, float, float]:
        """Pooled TRM (percent) from the Poisson model on the available inputs."""
        r = self.trm_poisson.rate
        return 100 * r[0], 100 * r[1], 100 * r[2]

    @property
    def n_patients(self) -> int:
        """Patients in the TRM inputs."""
        return int(self.trm_inputs["n"].sum())

    @property
    def summary(self) -> str:
        """Plain-text comparison."""
        t = self.trm
        pub = PUBLISHED["trm"]
        lines = [
            "Sormani 2017 reproduction (per-study inputs NOT published in an accessible "
            "source; addendum A2 reconstruction):",
            f"  TRM: {len(self.trm_inputs)} studies, {self.n_patients} patients, "
            f"{int(self.trm_inputs['events'].sum())} deaths -> Poisson {t[0]:.2f}% "
            f"({t[1]:.2f}-{t[2]:.2f}); published {pub[0]}% ({pub[1]}-{pub[2]}) from "
            f"{PUBLISHED['n_studies']} studies, {PUBLISHED['n_patients']} patients",
            f"  5-y progression: {len(self.progression_5y_inputs)} of 15 studies have a "
            "5-y figure; 2-y progression: "
            f"{len(self.progression_2y_inputs)} studies have a 2-y figure",
        ]
        lines += [f"  missing: {m}" for m in self.missing]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form.

        Returns
        -------
        dict
            ``published`` figures, the ``trm`` inputs with the pooled percentage and model,
            the progression inputs and ``missing``.
        """
        return {
            "published": PUBLISHED,
            "trm": {"studies": self.trm_inputs["study"].tolist(), "n": self.n_patients,
                    "deaths": int(self.trm_inputs["events"].sum()),
                    "pooled_pct": list(self.trm), "model": self.trm_poisson.to_dict()},
            "progression_5y_inputs": self.progression_5y_inputs.to_dict("records"),
            "progression_2y_inputs": self.progression_2y_inputs.to_dict("records"),
            "missing": list(self.missing),
        }


def sormani2017_candidates() -> pd.DataFrame:
    """The addendum's candidate list joined with the evidence base.

    Returns
    -------
    pandas.DataFrame
        One row per candidate (addendum rows 1-16): ``row``, ``study`` (evidence-base id or
        ``None``), ``status``, ``missing`` and, for known studies, ``label``, ``n``,
        ``trm_deaths``, ``trm_n``, ``pub_year``, ``pct_rrms``, ``edss``, ``trm_verified``.
    """
    from hsctms.evidence import load_evidence

    ev = load_evidence()
    rows = []
    for row, sid, status, missing in SORMANI2017_CANDIDATES:
        rec: dict[str, Any] = {"row": row, "study": sid, "status": status, "missing": missing}
        if sid is not None:
            s = ev.study(sid)
            rec.update({"label": s["label"], "n": s["n"], "trm_deaths": s["trm_deaths"],
                        "trm_n": s["trm_n"], "pub_year": s["pub_year"],
                        "pct_rrms": s["pct_rrms"], "edss": s["edss"],
                        "trm_verified": s["verified_trm"]})
        rows.append(rec)
    return pd.DataFrame(rows)


def reproduce_sormani2017(include_possible: bool = False) -> SormaniReproduction:
    """Pool TRM and progression over the reconstructed Sormani 2017 study list.

    Parameters
    ----------
    include_possible
        Also use candidates the addendum marks "possible" (Kozak 2001 is the only one with
        data); default: "likely" candidates only, as the addendum tallies them.

    Returns
    -------
    SormaniReproduction
        The pooled TRM from the inputs found, the progression inputs and what is missing.
    """
    from hsctms.evidence import load_evidence

    ev = load_evidence()
    cand = sormani2017_candidates()
    use = cand[cand["status"].str.startswith("likely")]
    if include_possible:
        use = cand
    have = use[use["trm_deaths"].notna()]
    trm = pd.DataFrame({"study": have["study"].astype(str).to_numpy(),
                        "events": have["trm_deaths"].astype(int).to_numpy(),
                        "n": have["trm_n"].astype(int).to_numpy()})
    model = poisson_regression(trm["events"], trm["n"], studies=trm["study"].tolist())
    missing = [f"addendum row {r['row']} "
               f"({r['study'] if isinstance(r['study'], str) else 'Casanova 2017'}): "
               f"{r['missing']}" for r in cand.to_dict("records") if r["missing"]]
    missing.append(f"{PUBLISHED['n_patients'] - int(use['n'].fillna(0).sum())} of the "
                   f"{PUBLISHED['n_patients']} patients are unaccounted for (the candidates used "
                   "sum to fewer patients than published)")
    ids = [s for s in use["study"].dropna()]
    prog5 = _progression(ev, ids, 5.0)
    prog2 = _progression(ev, ids, 2.0)
    missing.append(f"2-y progression: {len(prog2)} candidate studies report a 2-y figure")
    missing.append(f"5-y progression: {len(prog5)} of 15 studies report a 5-y figure")
    return SormaniReproduction(candidates=cand, trm_inputs=trm, trm_poisson=model,
                               progression_5y_inputs=prog5, progression_2y_inputs=prog2,
                               missing=missing)


def _progression(ev: Any, ids: list[str], t: float) -> pd.DataFrame:
    """Progression (100 - PFS, or cumulative progression) at ``t`` years for the candidates."""
    rows = []
    for sid in ids:
        out = ev.outcomes(study=sid, time_years=t, population="all", measure="percent")
        pfs = out[out["outcome"] == "progression_free"]
        prog = out[out["outcome"] == "progression"]
        n = ev.study(sid)["n"]
        if not prog.empty:
            r = prog.iloc[0]
            events = r["events"] if not pd.isna(r["events"]) else round(r["estimate"] / 100 * n)
            rows.append({"study": sid, "progression_pct": float(r["estimate"]),
                         "events": int(events), "n": int(r["n"] if not pd.isna(r["n"]) else n),
                         "source": "progression", "verified": bool(r["verified"])})
        elif not pfs.empty:
            r = pfs.iloc[0]
            m = int(r["n"] if not pd.isna(r["n"]) else n)
            prog_pct = 100.0 - float(r["estimate"])
            rows.append({"study": sid, "progression_pct": prog_pct,
                         "events": round(prog_pct / 100 * m), "n": m,
                         "source": "100 - progression-free", "verified": bool(r["verified"])})
    return pd.DataFrame(rows, columns=["study", "progression_pct", "events", "n", "source",
                                       "verified"])


__all__ = ["PUBLISHED", "SORMANI2017_CANDIDATES", "SormaniReproduction",
           "reproduce_sormani2017", "sormani2017_candidates"]
