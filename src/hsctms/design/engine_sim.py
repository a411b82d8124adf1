"""Faithful disease-model trials: the demo generator's arm simulator plus the endpoint engine.

For a :class:`~hsctms.design.simulate.Scenario` with disease-model arms and ``definition`` set
(an endpoint-definition preset such as ``"halt_ms"``), each arm of ``n_trials`` trials is
simulated in one call of :func:`hsctms.datasets.course.simulate_arm` (visits, EDSS, relapses,
MRI scans, deaths, loss to follow-up), the endpoints are derived with
:func:`hsctms.endpoints.derive_frames` under that definition, and the patients are split back
into trials for the vectorised analyses. It is slower than the closed-form latent-process
path (about 0.1 ms per patient) but applies the real endpoint definition: scheduled MRI,
re-baselining, confirmation of worsening.

Per-patient outcomes (``H`` = ``horizon`` years, fixed follow-up per patient):

* proportion: success = no ``{model_endpoint}`` event by ``H`` (default ``neda3_loss``);
  a treatment-related death by ``H`` is a failure when ``death_as_failure``; patients
  censored before ``H`` without an event are missing (excluded);
* counts: relapses with onset within follow-up (capped at ``H``), exposure = follow-up;
* survival: time to the ``{model_endpoint}`` event (or treatment-related death when
  ``death_as_failure``), censored at the end of follow-up.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from hsctms.design._analysis import analyse_arms
from hsctms.errors import DesignError

if TYPE_CHECKING:  # pragma: no cover
    from hsctms.design.simulate import Scenario

DAYS = 365.25
_CONFIRM_EXTRA = 0.6  # years simulated beyond the horizon so late worsening can be confirmed


def _arm_tables(sc: Scenario, arm: Any, n: int, n_trials: int, rng: np.random.Generator,
                prefix: str) -> dict[str, pd.DataFrame]:
    """The generator's tables of ``n * n_trials`` patients of one arm."""
    from hsctms.datasets.course import Enrolment, simulate_arm

    follow = sc.horizon + (_CONFIRM_EXTRA if sc.endpoint == "proportion" else 0.0)
    return simulate_arm(n * n_trials, arm, rng, followup_years=follow,
                        enrolment=Enrolment(id_prefix=prefix))


def _derive(sc: Scenario, arms: list[dict[str, pd.DataFrame]]) -> pd.DataFrame:
    """Endpoints of the patients of all ``arms`` in one engine run, indexed by patient id.

    The tables come from :func:`~hsctms.datasets.course.simulate_arm` (canonical schema, ids
    distinct across arms by their prefix), so they are not re-validated; every patient's
    endpoints depend on that patient's rows only, so one run over all arms equals one per arm.
    """
    from hsctms.endpoints.derive import _derive as derive_trusted  # no public skip switch

    # arms in the order of their identifiers (each arm's tables are sorted by patient and
    # date), so the concatenated tables are in the engine's sorted patient order and it
    # neither re-sorts them nor looks every identifier up; the results do not depend on it
    arms = sorted(arms, key=lambda t: str(t["follow_up"]["patient_id"].iloc[0])
                  if len(t["follow_up"]) else "")
    def cat(name: str) -> pd.DataFrame:
        return pd.concat([t[name] for t in arms], ignore_index=True) if len(arms) > 1 \
            else arms[0][name]

    fu = cat("follow_up")
    res = derive_trusted(cat("edss"), cat("relapses"), cat("mri"),
                         fu[["patient_id", "origin_date"]], cat("deaths"),
                         sc.definition or "halt_ms", patients=fu[["patient_id"]],
                         validate=False)
    ep = sc.model_endpoint
    wanted = ["patient_id", "followup_days", f"{ep}_time", f"{ep}_event"]
    return res.frame[[c for c in wanted if c in res.frame.columns]].set_index("patient_id")


def _arm_outcomes(sc: Scenario, arm: Any, n: int, n_trials: int, rng: np.random.Generator,
                  prefix: str) -> dict[str, np.ndarray]:
    tabs = _arm_tables(sc, arm, n, n_trials, rng, prefix)
    return _outcomes(sc, tabs, _derive(sc, [tabs]), n, n_trials)


def _outcomes(sc: Scenario, tabs: dict[str, pd.DataFrame], derived: pd.DataFrame, n: int,
              n_trials: int) -> dict[str, np.ndarray]:
    """Per-patient trial outcomes of one arm, shape ``(n_trials, n)``."""
    fu = tabs["follow_up"]
    frame = _rows(derived, fu["patient_id"])
    ep = sc.model_endpoint
    if f"{ep}_time" not in frame.columns:
        raise DesignError(f"The endpoint engine has no endpoint {ep!r}.",
                          hint="Use e.g. neda3_loss, worsening, relapse, mri_activity, efs.")
    t_ev = frame[f"{ep}_time"].to_numpy(float) / DAYS
    ev = frame[f"{ep}_event"].to_numpy(float) == 1
    follow_years = frame["followup_days"].to_numpy(float) / DAYS
    trm = _trm_years(tabs, fu)
    shape = (n_trials, n)
    h = sc.horizon
    if sc.endpoint == "proportion":
        fail = ev & (t_ev <= h)
        died = np.isfinite(trm) & (trm <= h)
        y = np.where(fail, 0.0, 1.0)
        if sc.death_as_failure:
            y[died] = 0.0
        known = fail | (follow_years >= h - 1 / 12) | (died & sc.death_as_failure)
        y[~known] = np.nan
        return {"y": y.reshape(shape)}
    if sc.endpoint == "counts":
        exposure = np.minimum(np.maximum(follow_years, 0.0), h)
        counts = _relapse_counts(tabs, fu, exposure)
        return {"count": counts.reshape(shape), "exposure": np.maximum(exposure, 1e-6)
                .reshape(shape)}
    end = np.minimum(np.where(ev, t_ev, follow_years), h)
    event = ev & (t_ev <= h)
    if sc.death_as_failure:
        dies_first = np.isfinite(trm) & (trm < np.where(event, end, np.inf)) & (trm <= h)
        end = np.where(dies_first, trm, end)
        event = event | dies_first
    return {"time": end.reshape(shape), "event": event.astype(float).reshape(shape)}


def _rows(derived: pd.DataFrame, ids: pd.Series) -> pd.DataFrame:
    """``derived.reindex(ids)``, as a slice when ``ids`` are a block of the sorted index (an
    arm's patients in the engine's order), without looking every identifier up."""
    idx = derived.index
    n = len(ids)
    if n and idx.is_unique and idx.is_monotonic_increasing:
        want = ids.to_numpy(dtype=object)
        start = int(idx.searchsorted(want[0]))
        if start + n <= len(idx) and np.array_equal(
                idx[start:start + n].to_numpy(dtype=object), want):
            return derived.iloc[start:start + n]
    return derived.reindex(ids)


def _trm_years(tabs: dict[str, pd.DataFrame], fu: pd.DataFrame) -> np.ndarray:
    deaths = tabs["deaths"]
    out = pd.Series(np.inf, index=fu["patient_id"])
    if len(deaths) and "transplant_related" in deaths.columns:
        d = deaths[deaths["transplant_related"].fillna(False).astype(bool)]
        origin = fu.set_index("patient_id")["origin_date"]
        days = (pd.to_datetime(d["date"]).to_numpy()
                - pd.to_datetime(origin.reindex(d["patient_id"])).to_numpy())
        out.loc[d["patient_id"].to_numpy()] = days / np.timedelta64(1, "D") / DAYS
    return out.to_numpy(float)


def _relapse_counts(tabs: dict[str, pd.DataFrame], fu: pd.DataFrame, exposure: np.ndarray
                    ) -> np.ndarray:
    rel = tabs["relapses"]
    origin = fu.set_index("patient_id")["origin_date"]
    if not len(rel):
        return np.zeros(len(fu))
    days = ((pd.to_datetime(rel["onset_date"]).to_numpy()
             - pd.to_datetime(origin.reindex(rel["patient_id"])).to_numpy())
            / np.timedelta64(1, "D") / DAYS)
    limit = pd.Series(exposure, index=fu["patient_id"]).reindex(rel["patient_id"]).to_numpy()
    inside = rel.loc[(days > 0) & (days <= limit), "patient_id"]
    return inside.value_counts().reindex(fu["patient_id"], fill_value=0).to_numpy(float)


def simulate_chunk_engine(sc: Scenario, n_trials: int, rng: np.random.Generator
                          ) -> dict[str, np.ndarray]:
    """Simulate and analyse ``n_trials`` trials through the generator and endpoint engine."""
    if sc.crossover > 0:
        raise DesignError("Crossover is not available with the endpoint-engine path.",
                          hint="Use definition=None (latent-process path) to model crossover.")
    t1 = _arm_tables(sc, sc.treatment_arm, sc.n_treatment, n_trials, rng, "T")
    t2 = _arm_tables(sc, sc.control_arm, sc.n_control, n_trials, rng, "C")
    derived = _derive(sc, [t1, t2])
    a1 = _outcomes(sc, t1, derived, sc.n_treatment, n_trials)
    a2 = _outcomes(sc, t2, derived, sc.n_control, n_trials)
    # exact ties (visit-day resolution) are broken deterministically for the survival analysis
    return analyse_arms(sc, a1, a2, n_trials, tie_rng=rng)


def engine_success_probability(sc: Scenario, arm: Any, n: int = 10_000, seed: int = 12345
                               ) -> float:
    """Success (no event by the horizon) probability of one arm through the engine.

    Common random numbers (fixed ``seed``) make it a deterministic step function of the
    arm's parameters; results are cached per (arm, horizon, definition, endpoint).
    """
    return _cached_arm_mean(arm, sc.horizon, str(sc.definition), sc.model_endpoint,
                            sc.death_as_failure, "proportion", n, seed)


def engine_rate(sc: Scenario, arm: Any, n: int = 10_000, seed: int = 12345) -> float:
    """Relapse rate per year of one arm through the generator (total / exposure)."""
    return _cached_arm_mean(arm, sc.horizon, str(sc.definition), sc.model_endpoint,
                            sc.death_as_failure, "counts", n, seed)


@lru_cache(maxsize=256)
def _cached_arm_mean(arm: Any, horizon: float, definition: str, model_endpoint: str,
                     death_as_failure: bool, endpoint: str, n: int, seed: int) -> float:
    from hsctms.design.simulate import Scenario

    probe = Scenario(endpoint, n, n, treatment_arm=arm, control_arm=arm, horizon=horizon,
                     definition=definition, model_endpoint=model_endpoint,
                     death_as_failure=death_as_failure)
    out = _arm_outcomes(probe, arm, n, 1, np.random.default_rng(seed), "P")
    if endpoint == "counts":
        return float(out["count"].sum() / out["exposure"].sum())
    return float(np.nanmean(out["y"]))
