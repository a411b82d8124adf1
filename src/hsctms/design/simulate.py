"""Simulation of whole two-arm trials, vectorised across trials.

A :class:`Scenario` describes the trial: endpoint (``"proportion"`` such as NEDA at a
horizon, ``"counts"`` such as relapses, ``"survival"`` such as time to NEDA failure), arm
sizes, the assumed effect, the analysis (null value, alpha, sidedness) and complications:
loss to follow-up (``dropout_rate``, hazard per year), crossover of control patients to the
transplant arm (``crossover``, fraction crossing at a uniform time during follow-up) and early
treatment-related death in the transplant arm (``early_death``, within the first 100 days).

Arms come either from user parameters (``p_*``, ``rate_*``, ``hr``/``control_rate``) or from
the disease model of the demo generator (``treatment_arm`` / ``control_arm`` =
:class:`hsctms.datasets.disease_model.ArmParameters`, e.g. ``ahsct()`` and
``alemtuzumab()``): gamma-frailty relapse and MRI-activity processes, a constant worsening
hazard, early and background deaths and dropout, all in years.

:func:`simulate_trials` returns power (rejection in the direction of benefit), type I error
(same design with the effect set to the null value; both tails when two-sided), the mean,
bias and empirical SE of the effect estimate and the distribution of trial outcomes, each
with its Monte Carlo standard error. :func:`run_grid` runs many scenarios, optionally on a
``dask.distributed`` client.

Conventions for the complications (stated in every report):

* proportions: a treatment-related death counts as failure (``death_as_failure``); a
  crossover patient has the transplant-arm success probability (contamination model);
  dropouts are missing and excluded (``missing="exclude"``) or counted as failures;
* counts: exposure ends at dropout or death; after crossover the transplant-arm rate applies;
* survival: piecewise-exponential hazard switching to the transplant-arm hazard at crossover;
  a treatment-related death is an event if ``death_as_failure`` else a censoring.
"""

from __future__ import annotations

import dataclasses
import math
import multiprocessing
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from hsctms._provenance import Provenance
from hsctms.design._analysis import analyse_arms
from hsctms.design._base import jsonable
from hsctms.errors import DesignError

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

ENDPOINTS = ("proportion", "counts", "survival")
_TRM_WINDOW = 100 / 365.25
#: Simulated patients (trials x patients) from which the null-scenario half of a latent-path
#: simulation runs in a second process; engine-path simulations always do (when possible).
_PARALLEL_PATIENTS = 1_000_000

#: ``progress(description, done, total)``: trials simulated so far (for a progress bar).
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class Scenario:
    """One simulated two-arm trial design (times in years, rates per year).

    Parameters
    ----------
    endpoint
        ``"proportion"``, ``"counts"`` or ``"survival"``.
    n_treatment, n_control
        Patients randomised per arm (arm 1 = transplant).
    p_treatment, p_control
        Success probabilities at ``horizon`` (e.g. NEDA at 2 years), proportion endpoint.
    rate_treatment, rate_control, dispersion
        Event rates per year and negative-binomial dispersion ``k`` (variance
        ``mu + k mu^2``), counts endpoint.
    hr, control_rate
        Hazard ratio (treatment/control) and control hazard per year, survival endpoint.
    horizon
        Planned follow-up per patient (proportion and counts endpoints).
    accrual, follow_up
        Uniform accrual and additional follow-up after accrual (survival endpoint).
    null_value
        Null boundary: risk-difference margin (proportion; default 0), or rate ratio /
        hazard ratio (default 1).
    alpha, sided, method
        Analysis; ``method`` is ``"score"`` or ``"wald"`` for proportions.
    dropout_rate, crossover, early_death, death_as_failure, missing
        Complications (see module docstring).
    treatment_arm, control_arm
        Disease-model arms (override the user parameters of the endpoint).
    definition, model_endpoint
        With disease-model arms: an endpoint-definition preset (e.g. ``"halt_ms"``) routes the
        simulation through the demo generator and the endpoint engine
        (:mod:`hsctms.design.engine_sim`), using the engine's ``model_endpoint``
        (``neda3_loss``, ``worsening``, ``relapse``, ``mri_activity``, ``efs``). None uses the
        fast closed-form latent-process path.
    label
        Name shown in reports and grids.
    """

    endpoint: str
    n_treatment: int
    n_control: int
    p_treatment: float | None = None
    p_control: float | None = None
    rate_treatment: float | None = None
    rate_control: float | None = None
    dispersion: float = 0.0
    hr: float | None = None
    control_rate: float | None = None
    horizon: float = 2.0
    accrual: float = 2.0
    follow_up: float = 2.0
    null_value: float | None = None
    alpha: float = 0.05
    sided: int = 2
    method: str = "score"
    dropout_rate: float = 0.0
    crossover: float = 0.0
    early_death: float = 0.0
    death_as_failure: bool = True
    missing: str = "exclude"
    treatment_arm: Any = None
    control_arm: Any = None
    definition: str | None = None
    model_endpoint: str = "neda3_loss"
    label: str = ""

    def __post_init__(self) -> None:
        if self.endpoint not in ENDPOINTS:
            raise DesignError(f"Unknown endpoint {self.endpoint!r}.",
                              hint=f"Use one of {ENDPOINTS}.")
        if self.n_treatment < 1 or self.n_control < 1:
            raise DesignError("Each arm needs at least one patient.")
        for name in ("crossover", "early_death"):
            if not 0 <= getattr(self, name) <= 1:
                raise DesignError(f"{name} is a probability; got {getattr(self, name)!r}.")
        if self.dropout_rate < 0 or self.dispersion < 0:
            raise DesignError("dropout_rate and dispersion must be >= 0.")
        if self.missing not in ("exclude", "failure"):
            raise DesignError("missing must be 'exclude' or 'failure'.")
        if self.definition is not None and not self.from_model:
            raise DesignError("definition= needs disease-model arms (treatment_arm, control_arm).")
        if self.from_model:
            return
        need = {"proportion": ("p_treatment", "p_control"),
                "counts": ("rate_treatment", "rate_control"),
                "survival": ("hr", "control_rate")}[self.endpoint]
        missing = [n for n in need if getattr(self, n) is None]
        if missing:
            raise DesignError(f"The {self.endpoint} endpoint needs {', '.join(missing)}.",
                              hint="Or give treatment_arm and control_arm (disease model).")

    @property
    def from_model(self) -> bool:
        """True when arms come from the disease model."""
        return self.treatment_arm is not None and self.control_arm is not None

    @property
    def null(self) -> float:
        """Null value on the natural scale."""
        if self.null_value is not None:
            return self.null_value
        return 0.0 if self.endpoint == "proportion" else 1.0

    @property
    def n_total(self) -> int:
        """Patients in both arms."""
        return self.n_treatment + self.n_control

    def nominal_effect(self) -> float | None:
        """Effect the trial is designed to detect, without complications (natural scale).

        Risk difference (proportion), rate ratio (counts) or hazard ratio (survival). For
        disease-model arms: the NEDA-3 difference at ``horizon`` in closed form (gamma
        frailty), the relapse-rate ratio, or None for survival (marginal hazards are not
        proportional under frailty). With an endpoint-definition preset (``definition``) the
        success probabilities and rates are those of the endpoint engine on simulated patients.

        Returns
        -------
        float or None
            The design effect on the natural scale (risk difference, rate ratio or hazard
            ratio; not log-transformed), or None when no single effect is defined (a
            disease-model survival endpoint with frailty or with an endpoint-definition
            preset).
        """
        if not self.from_model:
            if self.endpoint == "proportion":
                return float(self.p_treatment) - float(self.p_control)  # type: ignore[arg-type]
            if self.endpoint == "counts":
                return float(self.rate_treatment) / float(self.rate_control)  # type: ignore[arg-type]
            return float(self.hr)  # type: ignore[arg-type]
        t, c = self.treatment_arm, self.control_arm
        if self.endpoint == "proportion":
            if self.definition is not None:
                from hsctms.design.engine_sim import engine_success_probability

                return engine_success_probability(self, t) - engine_success_probability(self, c)
            ep = self.model_endpoint
            return _model_neda(t, self.horizon, ep) - _model_neda(c, self.horizon, ep)
        if self.endpoint == "counts":
            if self.definition is not None:
                from hsctms.design.engine_sim import engine_rate

                return engine_rate(self, t) / engine_rate(self, c)
            return float(t.relapse_rate / c.relapse_rate)
        if not _latent_parts(self.model_endpoint)[0] and self.definition is None:
            return float(t.worsening_hazard / c.worsening_hazard)  # no frailty: proportional
        return None

    def under_null(self) -> Scenario:
        """The same design with the effect set to the null value (for the type I error).

        Returns
        -------
        Scenario
            A copy of this scenario whose transplant arm sits exactly on the null boundary
            :attr:`null`: ``p_treatment = p_control + margin`` (proportion),
            ``rate_treatment = rate_control * null`` (counts) or ``hr = null`` (survival),
            with ``crossover`` and ``early_death`` set to 0. For disease-model arms the
            transplant arm becomes the control arm (with the control arm's early-death
            probability) with its hazards scaled so that the effect equals the null value
            (NEDA at ``horizon`` = control NEDA + margin for proportions; relapse rate times
            the null rate ratio for counts; hazards times the null hazard ratio, conditional
            on the frailty, for survival), and ``crossover`` is set to 0.

        Raises
        ------
        DesignError
            When ``p_control`` (or the control NEDA) plus the margin is not in (0, 1).
        """
        if self.from_model:
            if self.endpoint == "counts":
                arm = self.control_arm.replace(relapse_rate=self.control_arm.relapse_rate
                                               * self.null)
                return dataclasses.replace(self, treatment_arm=arm, crossover=0.0,
                                           early_death=0.0)
            return dataclasses.replace(self, treatment_arm=self._null_arm(), crossover=0.0)
        if self.endpoint == "proportion":
            p = float(self.p_control) + self.null  # type: ignore[arg-type]
            if not 0 < p < 1:
                raise DesignError("p_control + margin must lie in (0, 1) for the null scenario.")
            return dataclasses.replace(self, p_treatment=p, crossover=0.0, early_death=0.0)
        if self.endpoint == "counts":
            return dataclasses.replace(self, rate_treatment=float(self.rate_control) * self.null,  # type: ignore[arg-type]
                                       crossover=0.0, early_death=0.0)
        return dataclasses.replace(self, hr=self.null, crossover=0.0, early_death=0.0)

    def _null_arm(self) -> Any:
        """Control-arm course with all disease-activity hazards scaled to sit on the null.

        Proportions: scaled so that NEDA at the horizon equals control NEDA + margin;
        survival: hazards times ``hr0`` (conditional on the frailty).
        """
        c = self.control_arm
        if self.endpoint == "survival":
            m = self.null
        elif self.null == 0:
            m = 1.0
        else:
            from scipy import optimize

            def success(arm: Any) -> float:
                if self.definition is not None:
                    from hsctms.design.engine_sim import engine_success_probability

                    return engine_success_probability(self, arm)
                return _model_neda(arm, self.horizon, self.model_endpoint)

            target = success(c) + self.null
            if not 0 < target < 1:
                raise DesignError("Control NEDA + margin must lie in (0, 1).")

            def gap(mult: float) -> float:
                arm = c.replace(relapse_rate=c.relapse_rate * mult, mri_rate=c.mri_rate * mult,
                                worsening_hazard=c.worsening_hazard * mult)
                return success(arm) - target

            if self.definition is None:
                m = float(optimize.brentq(gap, 1e-6, 1e3, xtol=1e-12))
            else:  # simulated with common random numbers: monotone step function
                m = float(optimize.brentq(gap, 1e-2, 20.0, xtol=1e-2))
        return c.replace(relapse_rate=c.relapse_rate * m, mri_rate=c.mri_rate * m,
                         worsening_hazard=c.worsening_hazard * m)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form (disease-model arms as their parameter dicts).

        Returns
        -------
        dict
            One entry per field of the scenario, under the field's name; ``treatment_arm``
            and ``control_arm`` are the arms' ``to_dict()`` (their ``repr`` for objects
            without one) or None, and every value is converted to a JSON type.
        """
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name in ("treatment_arm", "control_arm") and value is not None:
                value = value.to_dict() if hasattr(value, "to_dict") else repr(value)
            out[f.name] = value
        return jsonable(out)


#: latent-path event components per engine endpoint name: (frailty rates, worsening?)
_LATENT = {"neda3_loss": (("relapse_rate", "mri_rate"), True),
           "efs": (("relapse_rate", "mri_rate"), True),
           "worsening": ((), True),
           "relapse": (("relapse_rate",), False),
           "mri_activity": (("mri_rate",), False)}


def _latent_parts(endpoint: str) -> tuple[tuple[str, ...], bool]:
    if endpoint not in _LATENT:
        raise DesignError(f"Unknown disease-model endpoint {endpoint!r}.",
                          hint=f"Use one of {', '.join(_LATENT)}.")
    return _LATENT[endpoint]


def _model_neda(arm: Any, horizon: float, endpoint: str = "neda3_loss") -> float:
    """P(no event by ``horizon``) in closed form (gamma frailty on relapse and MRI rates)."""
    rates, worsening = _latent_parts(endpoint)
    k = arm.relapse_shape
    lam = sum(getattr(arm, r) for r in rates)
    w = arm.worsening_hazard if worsening else 0.0
    return float(math.exp(-w * horizon) * (1 + lam * horizon / k) ** (-k))


# ------------------------------------------------------------------ generators
def _uniform_times(rng: np.random.Generator, shape: tuple[int, int], upper: float) -> np.ndarray:
    return rng.uniform(0.0, upper, shape)


def _exp(rng: np.random.Generator, rate: float | np.ndarray, shape: tuple[int, int]
         ) -> np.ndarray:
    rate_arr = np.broadcast_to(np.asarray(rate, dtype=float), shape)
    with np.errstate(divide="ignore"):
        return np.where(rate_arr > 0, rng.standard_exponential(shape) / rate_arr, np.inf)


def _arm_params(sc: Scenario, treated: bool) -> dict[str, Any]:
    """Per-arm hazards in a common form (user parameters or disease model)."""
    if sc.from_model:
        arm = sc.treatment_arm if treated else sc.control_arm
        return {"relapse": arm.relapse_rate, "mri": arm.mri_rate, "worsen": arm.worsening_hazard,
                "shape": arm.relapse_shape, "early_death": arm.early_death_prob if treated else 0.0,
                "other_death": arm.other_death_rate, "dropout": arm.dropout_rate + sc.dropout_rate}
    return {"early_death": sc.early_death if treated else 0.0, "other_death": 0.0,
            "dropout": sc.dropout_rate}


def _frailty(rng: np.random.Generator, shape_k: float, size: tuple[int, int]) -> np.ndarray:
    if shape_k >= 1e6:
        return np.ones(size)
    return rng.gamma(shape_k, 1.0 / shape_k, size)


def _deaths(rng: np.random.Generator, prm: dict[str, Any], size: tuple[int, int]
            ) -> tuple[np.ndarray, np.ndarray]:
    """(time of treatment-related death or inf, time of background death or inf)."""
    trm = np.where(rng.random(size) < prm["early_death"],
                   _uniform_times(rng, size, _TRM_WINDOW), np.inf)
    other = _exp(rng, prm["other_death"], size)
    return trm, other


def _simulate_arm(sc: Scenario, treated: bool, n: int, n_trials: int,
                  rng: np.random.Generator) -> dict[str, np.ndarray]:
    size = (n_trials, n)
    prm = _arm_params(sc, treated)
    trm, other = _deaths(rng, prm, size)
    drop = _exp(rng, prm["dropout"], size)
    cross_frac = 0.0 if treated else sc.crossover
    span = sc.horizon if sc.endpoint != "survival" else sc.accrual + sc.follow_up
    cross = np.where(rng.random(size) < cross_frac, _uniform_times(rng, size, span), np.inf)
    if sc.endpoint == "proportion":
        return _arm_proportion(sc, treated, prm, size, trm, other, drop, cross, rng)
    if sc.endpoint == "counts":
        return _arm_counts(sc, treated, prm, size, trm, other, drop, cross, rng)
    return _arm_survival(sc, treated, prm, size, trm, other, drop, cross, rng)


def _failure_time(sc: Scenario, treated: bool, size: tuple[int, int], cross: np.ndarray,
                  rng: np.random.Generator) -> np.ndarray:
    """Time of the first 'failure' event (NEDA failure / survival event), with crossover."""
    if sc.from_model:
        rates, worsening = _latent_parts(sc.model_endpoint)

        def hazard(arm: Any, g: np.ndarray) -> np.ndarray:
            lam = sum(getattr(arm, r) for r in rates)
            return g * lam + (arm.worsening_hazard if worsening else 0.0)

        own = sc.treatment_arm if treated else sc.control_arm
        g = _frailty(rng, own.relapse_shape, size)
        h_own, h_tx = hazard(own, g), hazard(sc.treatment_arm, g)
    elif sc.endpoint == "survival":
        lam2 = float(sc.control_rate)  # type: ignore[arg-type]
        lam1 = lam2 * float(sc.hr)  # type: ignore[arg-type]
        h_own = np.full(size, lam1 if treated else lam2)
        h_tx = np.full(size, lam1)
    else:  # pragma: no cover - proportions by parameters use Bernoulli draws
        raise AssertionError
    t = _exp(rng, h_own, size)
    if not treated:
        switched = t > cross
        t = np.where(switched, cross + _exp(rng, h_tx, size), t)
    return t


def _arm_proportion(sc: Scenario, treated: bool, prm: dict[str, Any], size: tuple[int, int],
                    trm: np.ndarray, other: np.ndarray, drop: np.ndarray, cross: np.ndarray,
                    rng: np.random.Generator) -> dict[str, np.ndarray]:
    h = sc.horizon
    if sc.from_model:
        success = _failure_time(sc, treated, size, cross, rng) > h
    else:
        p_own = float(sc.p_treatment if treated else sc.p_control)  # type: ignore[arg-type]
        p = np.where(np.isfinite(cross), float(sc.p_treatment), p_own)  # type: ignore[arg-type]
        success = rng.random(size) < p
    y = success.astype(float)
    died_trm = trm <= h
    lost = (np.minimum(drop, other) <= h) & ~died_trm
    if sc.death_as_failure:
        y[died_trm] = 0.0
    else:
        y[died_trm] = np.nan
    y[lost] = 0.0 if sc.missing == "failure" else np.nan
    return {"y": y}


def _arm_counts(sc: Scenario, treated: bool, prm: dict[str, Any], size: tuple[int, int],
                trm: np.ndarray, other: np.ndarray, drop: np.ndarray, cross: np.ndarray,
                rng: np.random.Generator) -> dict[str, np.ndarray]:
    exposure = np.minimum.reduce([np.full(size, sc.horizon), trm, other, drop])
    if sc.from_model:
        own = sc.treatment_arm if treated else sc.control_arm
        g = _frailty(rng, own.relapse_shape, size)
        r_own, r_tx = own.relapse_rate, sc.treatment_arm.relapse_rate
    else:
        k = sc.dispersion
        g = rng.gamma(1.0 / k, k, size) if k > 0 else np.ones(size)
        r_own = float(sc.rate_treatment if treated else sc.rate_control)  # type: ignore[arg-type]
        r_tx = float(sc.rate_treatment)  # type: ignore[arg-type]
    before = np.minimum(exposure, cross)
    mean = g * (r_own * before + r_tx * (exposure - before))
    return {"count": rng.poisson(mean).astype(float), "exposure": exposure}


def _arm_survival(sc: Scenario, treated: bool, prm: dict[str, Any], size: tuple[int, int],
                  trm: np.ndarray, other: np.ndarray, drop: np.ndarray, cross: np.ndarray,
                  rng: np.random.Generator) -> dict[str, np.ndarray]:
    entry = _uniform_times(rng, size, sc.accrual) if sc.accrual > 0 else np.zeros(size)
    admin = sc.accrual + sc.follow_up - entry
    t_event = _failure_time(sc, treated, size, cross, rng)
    if sc.death_as_failure:
        t_event = np.minimum(t_event, trm)
        censor = np.minimum.reduce([admin, other, drop])
    else:
        censor = np.minimum.reduce([admin, other, drop, trm])
    obs = np.minimum(t_event, censor)
    return {"time": obs, "event": (t_event <= censor).astype(float)}


def _simulate_chunk(sc: Scenario, n_trials: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    a1 = _simulate_arm(sc, True, sc.n_treatment, n_trials, rng)
    a2 = _simulate_arm(sc, False, sc.n_control, n_trials, rng)
    return analyse_arms(sc, a1, a2, n_trials)


def _run(sc: Scenario, n_trials: int, rng: np.random.Generator, chunk: int,
         report: Callable[[int], None] | None = None) -> dict[str, np.ndarray]:
    parts: list[dict[str, np.ndarray]] = []
    done = 0
    step = _simulate_chunk
    if sc.definition is not None:
        from hsctms.design.engine_sim import simulate_chunk_engine

        step = simulate_chunk_engine
        chunk = max(1, min(chunk, 50_000 // max(sc.n_total, 1)))
    while done < n_trials:
        m = min(chunk, n_trials - done)
        parts.append(step(sc, m, rng))
        done += m
        if report is not None:
            report(done)
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def _run_null(sc: Scenario, n_trials: int, rng: np.random.Generator, chunk: int
              ) -> dict[str, np.ndarray]:
    """The trials of the null scenario (type I error); run in a worker process."""
    return _run(sc.under_null(), n_trials, rng, chunk)


def _worker() -> Any:
    """A one-process ``multiprocessing`` pool forked from this one, or None when that is not
    possible.

    Needs two usable CPUs, the ``fork`` start method (the worker inherits the loaded modules,
    so it starts in milliseconds), and not to run inside a daemonic process (a Dask or
    multiprocessing worker). ``HSCTMS_SIMULATION_PROCESSES=1`` keeps everything in one process.
    """
    if os.environ.get("HSCTMS_SIMULATION_PROCESSES", "") == "1":
        return None
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    if (cpus or 1) < 2 or multiprocessing.current_process().daemon \
            or "fork" not in multiprocessing.get_all_start_methods():
        return None
    try:
        return multiprocessing.get_context("fork").Pool(1)
    except OSError:  # pragma: no cover - out of processes
        return None


def _both_hypotheses(scenario: Scenario, n_trials: int, rngs: tuple[np.random.Generator, ...],
                     chunk: int, type1: bool, progress: Progress | None
                     ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray] | None, float | None]:
    """Trials under H1 and (``type1``) under the null, and the nominal effect.

    The null half, including the calibration of its arm, runs in a forked worker process while
    this one simulates H1 when the work is large enough (:func:`_worker`); each half draws from
    its own generator, so the results are the same either way.
    """
    rng_h1, rng_h0 = rngs
    label = scenario.label or scenario.endpoint
    total = n_trials * (2 if type1 else 1)
    big = scenario.definition is not None or n_trials * scenario.n_total >= _PARALLEL_PATIENTS
    if type1 and big and scenario.definition is not None:
        # loaded before the fork, so the worker inherits the engine instead of importing it
        # again (about 0.3 s of the ZEUS preset)
        import hsctms.design.engine_sim
        import hsctms.endpoints.derive  # noqa: F401
    pool = _worker() if type1 and big else None
    future = None if pool is None else pool.apply_async(_run_null,
                                                        (scenario, n_trials, rng_h0, chunk))

    def report(done: int, offset: int = 0) -> None:
        if progress is not None:
            progress(f"simulating {label}", offset + done, total)

    try:
        out = _run(scenario, n_trials, rng_h1, chunk, report)
        nominal = scenario.nominal_effect()
        out0 = None
        if type1:
            if future is not None:
                out0 = future.get()
                report(n_trials, n_trials)
            else:
                out0 = _run(scenario.under_null(), n_trials, rng_h0, chunk,
                            lambda d: report(d, n_trials))
    finally:
        if pool is not None:  # done, or this side failed: nothing left to wait for
            pool.terminate()
            pool.join()
    return out, out0, nominal


# --------------------------------------------------------------------- results
def _mcse_prop(p: float, n: int) -> float:
    return math.sqrt(max(p * (1 - p), 0.0) / n)


@dataclass(frozen=True)
class SimulationResult:
    """Operating characteristics of a simulated design.

    ``estimate_scale`` is ``"difference"`` (proportions) or ``"log"`` (log rate ratio / log
    hazard ratio); ``nominal`` is the design effect on that scale (None if undefined).
    Returned by :func:`simulate_trials`; the summary statistics of the estimates use only
    the trials whose estimate is finite.

    Parameters
    ----------
    scenario
        The simulated design.
    n_trials
        Number of simulated trials (under the design, and as many under the null).
    power, power_mcse
        Fraction of trials rejecting the null in the direction of benefit (one tail, at
        ``alpha / sided``), and its Monte Carlo standard error ``sqrt(p (1 - p) / n_trials)``.
    type1, type1_mcse
        Fraction of the trials of :meth:`Scenario.under_null` rejecting the null (either
        tail when two-sided), and its Monte Carlo standard error; None when the type I error
        was not simulated (``type1=False``).
    mean_estimate, empirical_se
        Mean and standard deviation (``ddof=1``) of the effect estimates, on
        ``estimate_scale``; NaN without (two) finite estimates.
    nominal
        Design effect (:meth:`Scenario.nominal_effect`) on ``estimate_scale``, or None when
        undefined.
    bias, bias_mcse
        ``mean_estimate - nominal`` (None when ``nominal`` is None) and its Monte Carlo
        standard error ``empirical_se / sqrt(number of finite estimates)``.
    estimate_scale
        ``"difference"`` (risk difference, proportion endpoint) or ``"log"`` (log rate ratio
        or log hazard ratio).
    quantiles
        The 2.5%, 25%, 50%, 75% and 97.5% quantiles of the finite estimates, keyed
        ``"2.5%"`` ... ``"97.5%"`` (NaN without finite estimates).
    outcomes
        Fractions of trials by outcome: ``reject_benefit`` (= ``power``), ``reject_harm``
        (rejection in the direction of harm only), ``inconclusive`` (no rejection) and
        ``non_finite_estimates``; plus the per-trial means ``mean_events`` (survival),
        ``mean_n_analysed`` (proportion) or ``mean_dispersion`` (counts) when the analysis
        reports them.
    seconds
        Wall-clock time of the simulation, in seconds.
    estimates
        The effect estimate of every trial under the design (``n_trials`` values on
        ``estimate_scale``, non-finite ones included); not shown in the ``repr``.
    provenance
        Where the result came from (the scenario's :meth:`Scenario.to_dict` and
        ``n_trials``).
    """

    scenario: Scenario
    n_trials: int
    power: float
    power_mcse: float
    type1: float | None
    type1_mcse: float | None
    mean_estimate: float
    empirical_se: float
    nominal: float | None
    bias: float | None
    bias_mcse: float
    estimate_scale: str
    quantiles: dict[str, float]
    outcomes: dict[str, float]
    seconds: float
    estimates: np.ndarray = field(repr=False)
    provenance: Provenance = field(default_factory=lambda: Provenance("design.simulate"))

    @property
    def summary(self) -> str:
        """In words, with Monte Carlo standard errors."""
        t1 = (f"type I error {self.type1:.4f} (MC SE {self.type1_mcse:.4f}); "
              if self.type1 is not None else "")
        bias = (f"bias {self.bias:+.4f} (MC SE {self.bias_mcse:.4f}) on the "
                f"{self.estimate_scale} scale" if self.bias is not None else
                f"mean estimate {self.mean_estimate:.4f} ({self.estimate_scale} scale)")
        return (f"{self.scenario.label or self.scenario.endpoint}: {self.n_trials} simulated "
                f"trials of {self.scenario.n_total} patients: power {self.power:.4f} "
                f"(MC SE {self.power_mcse:.4f}); {t1}{bias}.")

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form (schema ``hsctms.design.simulation/1``).

        Returns
        -------
        dict
            ``schema``, the scenario as :meth:`Scenario.to_dict`, every summary field of the
            result and the provenance; the per-trial ``estimates`` are left out.
        """
        return jsonable({
            "schema": "hsctms.design.simulation/1",
            "scenario": self.scenario.to_dict(), "n_trials": self.n_trials,
            "power": self.power, "power_mcse": self.power_mcse, "type1": self.type1,
            "type1_mcse": self.type1_mcse, "mean_estimate": self.mean_estimate,
            "empirical_se": self.empirical_se, "nominal": self.nominal, "bias": self.bias,
            "bias_mcse": self.bias_mcse, "estimate_scale": self.estimate_scale,
            "quantiles": self.quantiles, "outcomes": self.outcomes, "seconds": self.seconds,
            "provenance": self.provenance.to_dict(),
        })

    def plot(self, ax: Axes | None = None) -> Axes:
        """Histogram of the effect estimates with the nominal effect marked.

        Parameters
        ----------
        ax
            Matplotlib Axes to draw on; None (default) creates a new figure.

        Returns
        -------
        matplotlib.axes.Axes
            The Axes drawn on: 50 bins of the finite estimates (x: estimated effect on
            ``estimate_scale``, y: simulated trials) and, when ``nominal`` is defined, a
            dashed line at the design effect.
        """
        from hsctms.plots._style import PALETTE, new_axes

        ax = new_axes(ax)
        est = self.estimates[np.isfinite(self.estimates)]
        ax.hist(est, bins=50, color=PALETTE[0], alpha=0.8)
        if self.nominal is not None:
            ax.axvline(self.nominal, color=PALETTE[1], ls="--", label="design effect")
            ax.legend(loc="best")
        ax.set_xlabel("estimated effect (" + self.estimate_scale + " scale)")
        ax.set_ylabel("simulated trials")
        return ax


def simulate_trials(scenario: Scenario, n_trials: int = 10_000, *, seed: int | None = None,
                    type1: bool = True, chunk: int = 2_500,
                    progress: Progress | None = None) -> SimulationResult:
    """Simulate ``n_trials`` trials of ``scenario`` (and of its null version for type I error).

    Large simulations (endpoint-engine scenarios, or a million simulated patients or
    more) run the null half in a second process on a machine with two or more CPUs; the
    results do not depend on it. ``progress(description, done, total)`` is called as trials
    are simulated (``total`` counts the null trials too).

    Parameters
    ----------
    scenario
        The trial design to simulate.
    n_trials
        Number of trials to simulate under the design, and as many under the null
        (default 10,000; at least 10).
    seed
        Seed of the random numbers; the design and null trials draw from two independent
        streams spawned from it. None (default) uses fresh operating-system entropy, so
        results are not reproducible.
    type1
        Also simulate :meth:`Scenario.under_null` for the type I error (default True);
        False halves the work and leaves ``type1`` and ``type1_mcse`` None.
    chunk
        Trials simulated per vectorised block (default 2,500; bounds memory use). For
        endpoint-engine scenarios (``definition``) it is capped at
        ``50_000 // n_total``. Results are reproducible for a given ``seed`` and ``chunk``;
        another ``chunk`` draws the random numbers in another order.
    progress
        ``progress(description, done, total)``, called after every block; None (default)
        reports nothing.

    Returns
    -------
    SimulationResult
        Power, type I error, mean, bias and empirical SE of the estimates and the
        distribution of trial outcomes, each with its Monte Carlo standard error.

    Raises
    ------
    DesignError
        With fewer than 10 trials, or when the null scenario cannot be built
        (:meth:`Scenario.under_null`).

    Examples
    --------
    >>> sc = Scenario("proportion", 60, 60, p_treatment=0.8, p_control=0.55)
    >>> res = simulate_trials(sc, 2000, seed=1)
    >>> 0.7 < res.power < 0.9
    True
    """
    if n_trials < 10:
        raise DesignError("Simulate at least 10 trials.")
    start = time.perf_counter()
    ss = np.random.SeedSequence(seed)
    rng_h1, rng_h0 = (np.random.default_rng(s) for s in ss.spawn(2))
    out, out0, nominal = _both_hypotheses(scenario, n_trials, (rng_h1, rng_h0), chunk, type1,
                                          progress)
    t1 = t1_se = None
    if out0 is not None:
        t1 = float(out0["reject_any"].mean())
        t1_se = _mcse_prop(t1, n_trials)
    power = float(out["reject_benefit"].mean())
    est = out["estimate"].astype(float)
    finite = est[np.isfinite(est)]
    scale = "difference" if scenario.endpoint == "proportion" else "log"
    if nominal is not None and scale == "log":
        nominal = math.log(nominal)
    mean = float(finite.mean()) if finite.size else float("nan")
    sd = float(finite.std(ddof=1)) if finite.size > 1 else float("nan")
    qs = np.quantile(finite, [0.025, 0.25, 0.5, 0.75, 0.975]) if finite.size else [np.nan] * 5
    outcomes = {"reject_benefit": power,
                "reject_harm": float((out["reject_any"] & ~out["reject_benefit"]).mean()),
                "inconclusive": float(1 - out["reject_any"].mean()),
                "non_finite_estimates": float(1 - finite.size / est.size)}
    for key in ("events", "n_analysed", "dispersion"):
        if key in out:
            outcomes[f"mean_{key}"] = float(np.mean(out[key]))
    return SimulationResult(
        scenario=scenario, n_trials=n_trials, power=power,
        power_mcse=_mcse_prop(power, n_trials), type1=t1, type1_mcse=t1_se,
        mean_estimate=mean, empirical_se=sd, nominal=nominal,
        bias=None if nominal is None else mean - nominal,
        bias_mcse=sd / math.sqrt(max(finite.size, 1)), estimate_scale=scale,
        quantiles=dict(zip(("2.5%", "25%", "50%", "75%", "97.5%"),
                           (float(q) for q in qs), strict=True)),
        outcomes=outcomes, seconds=time.perf_counter() - start, estimates=est,
        provenance=Provenance("design.simulate", definition=scenario.to_dict(), n=n_trials),
    )


def _grid_task(scenario: Scenario, n_trials: int, seed: int,
               progress: Progress | None = None) -> SimulationResult:
    return simulate_trials(scenario, n_trials, seed=seed, progress=progress)


def _numbered(progress: Progress | None, i: int, n: int) -> Progress | None:
    if progress is None:
        return None
    report = progress

    def step(text: str, done: int, total: int) -> None:
        report(f"scenario {i + 1}/{n}: {text}", done, total)

    return step


def run_grid(scenarios: Sequence[Scenario], n_trials: int = 10_000, *, seed: int = 0,
             client: Any = None, progress: Progress | None = None) -> list[SimulationResult]:
    """Simulate every scenario; on a ``dask.distributed.Client`` when one is given.

    Each scenario gets its own seed spawned from ``seed``, so results do not depend on
    whether or where the grid runs in parallel. ``progress(description, done, total)``
    follows the trials of each scenario in turn (with a client: scenarios done).

    Parameters
    ----------
    scenarios
        The designs to simulate, in order.
    n_trials
        Trials per scenario under the design, and as many under its null (default 10,000).
    seed
        Seed from which one independent seed per scenario is spawned (default 0).
    client
        A ``dask.distributed.Client`` to run the scenarios on, one task per scenario; None
        (default) runs them one after the other in this process.
    progress
        ``progress(description, done, total)``; None (default) reports nothing. Without a
        client it follows the trials of each scenario, its description prefixed
        ``"scenario i/n: "``; with a client it is called before and after the gather, with
        scenarios as the unit.

    Returns
    -------
    list of SimulationResult
        One result per scenario, in the order of ``scenarios``.
    """
    seeds = [int(s.generate_state(1)[0]) for s in np.random.SeedSequence(seed).spawn(
        len(scenarios))]
    n = len(scenarios)
    if client is None:
        return [_grid_task(sc, n_trials, s, _numbered(progress, i, n))
                for i, (sc, s) in enumerate(zip(scenarios, seeds, strict=True))]
    futures = client.map(_grid_task, list(scenarios), [n_trials] * n, seeds, pure=False)
    if progress is not None:
        progress(f"{n} scenarios on the Dask cluster", 0, n)
    results = list(client.gather(futures))
    if progress is not None:
        progress(f"{n} scenarios on the Dask cluster", n, n)
    return results


def grid_table(results: Sequence[SimulationResult]) -> list[dict[str, Any]]:
    """One row per scenario: the operating-characteristics table of a report."""
    rows = []
    for r in results:
        sc = r.scenario
        rows.append({"label": sc.label or sc.endpoint, "n": sc.n_total, "trials": r.n_trials,
                     "engine": sc.definition,
                     "dropout_rate": sc.dropout_rate, "crossover": sc.crossover,
                     "early_death": sc.early_death, "power": r.power,
                     "power_mcse": r.power_mcse, "type1": r.type1, "type1_mcse": r.type1_mcse,
                     "bias": r.bias, "bias_mcse": r.bias_mcse,
                     "estimate_scale": r.estimate_scale})
    return rows
