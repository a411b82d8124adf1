"""Feasibility planner: multicentre accrual by the Poisson-gamma model (Anisimov & Fedorov 2007).

Model
-----
Centre ``i`` opens at time ``o_i`` (years from the network start). Patients are *referred and
screened* as a Poisson process with rate ``lambda_i ~ Gamma(alpha_i, beta_i)`` (shape, rate per
year; mean ``alpha/beta``). A screened patient is randomised with probability
``p_i = (1 - screen_failure_i) * consent_i`` so, by Poisson thinning, centre ``i`` randomises at
rate ``mu_i = p_i lambda_i ~ Gamma(alpha_i, beta_i / p_i)``.

*Capacity.* When ``slots_per_year`` (transplant slots for the aHSCT arm) is given, at most
``slots / allocation_hsct`` patients a year can be randomised there; the planner uses the
capped rate ``min(mu_i, slots / allocation_hsct)`` (patients beyond capacity are not
randomised). Without caps the predictive distribution is in closed form: a centre open for
``t`` years recruits ``NB(size = alpha, prob = beta / (beta + t))`` patients
(:func:`predictive_pmf`, by convolution over centres); with caps it is computed by Monte Carlo.

*Re-fitting.* With ``n_i`` patients randomised in ``tau_i`` years open, the posterior of
``mu_i`` is ``Gamma(alpha_i + n_i, beta_i / p_i + tau_i)``. The observed accrual is treated as
uncapped in the likelihood (a centre that ran at capacity has its rate understated, which makes
the prediction conservative). :func:`fit_gamma_prior` estimates a network prior
``(alpha, beta)`` from centres' counts and exposures by maximum likelihood on the
negative-binomial marginal.

*Time to target.* Given the rates, the number randomised after the data date is a Poisson
process with piecewise-linear cumulative intensity ``L(t)``; the time to the ``r``-th further
patient is ``L^{-1}(G)`` with ``G ~ Gamma(r, 1)``, sampled exactly for each Monte Carlo draw of
the rates. The probability of finishing by a date is ``E[P(Poisson(L(t)) >= r)]`` over the
draws (closed form when uncapped).

Registry eligibility (:func:`registry_eligibility`) applies a packaged criteria set from
:mod:`hsctms.eligibility` to every patient of a registry :class:`~hsctms.model.cohort.Cohort`
at the date of their index transplant, giving the number per centre per year who would have
met the trial's criteria.
"""

from __future__ import annotations

import datetime as _dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import optimize, special, stats

from hsctms._files import read_regular_file, safe_load_yaml
from hsctms._provenance import Provenance
from hsctms.design._base import jsonable
from hsctms.errors import ConfigurationError, DesignError

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

    from hsctms.model.cohort import Cohort

YEAR_DAYS = 365.25
SMALL_COUNT = 5
_SCHEMA = "hsctms.design.feasibility/1"


def _years(a: _dt.date, b: _dt.date) -> float:
    return (b - a).days / YEAR_DAYS


def _date_at(start: _dt.date, years: float) -> _dt.date | None:
    if not math.isfinite(years) or years > 500:
        return None
    return start + _dt.timedelta(days=round(years * YEAR_DAYS))


def _prob(value: Any, name: str, where: str) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise ConfigurationError(f"{where}: {name} must be a number in [0, 1], got {value!r}.",
                                 hint=f"E.g. {name}: 0.3") from None
    if not 0 <= x <= 1:
        raise ConfigurationError(f"{where}: {name} must lie in [0, 1], got {x!r}.",
                                 hint=f"E.g. {name}: 0.3")
    return x


def _positive(value: Any, name: str, where: str, *, allow_none: bool = False) -> float | None:
    if value is None and allow_none:
        return None
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise ConfigurationError(f"{where}: {name} must be a positive number, got {value!r}.",
                                 hint="Rates are per year; Gamma priors are (alpha=shape, "
                                      "beta=rate per year).") from None
    if not (math.isfinite(x) and x > 0):
        raise ConfigurationError(f"{where}: {name} must be positive, got {x!r}.",
                                 hint="Rates are per year; Gamma priors are (alpha=shape, "
                                      "beta=rate per year).")
    return x


def _date(value: Any, name: str, where: str) -> _dt.date:
    if isinstance(value, _dt.datetime):
        return value.date()
    if isinstance(value, _dt.date):
        return value
    try:
        return _dt.date.fromisoformat(str(value))
    except ValueError:
        raise ConfigurationError(f"{where}: {name} must be an ISO date (YYYY-MM-DD), got "
                                 f"{value!r}.", hint=f"E.g. {name}: 2027-03-01") from None


@dataclass(frozen=True)
class Centre:
    """One recruiting centre.

    Parameters
    ----------
    id : str
        Centre code.
    opens : datetime.date
        Date the centre starts recruiting.
    alpha : float
        Shape (> 0) of the Gamma prior of the *screened* patients' rate.
    beta : float
        Rate (> 0, per year) of that Gamma prior; the prior mean is ``alpha / beta`` screened
        patients a year.
    screen_failure : float, default 0.0
        Probability a screened patient fails screening, in [0, 1].
    consent : float, default 1.0
        Probability an eligible patient consents, in [0, 1].
    slots_per_year : float, optional
        aHSCT transplant slots a year (None: unlimited).
    recruited : int, default 0
        Patients randomised up to the data date.
    exposure_years : float, default 0.0
        Years open up to the data date (0 if not yet open).
    """

    id: str
    opens: _dt.date
    alpha: float
    beta: float
    screen_failure: float = 0.0
    consent: float = 1.0
    slots_per_year: float | None = None
    recruited: int = 0
    exposure_years: float = 0.0

    @property
    def p_randomised(self) -> float:
        """Probability a screened patient is randomised."""
        return (1 - self.screen_failure) * self.consent

    def posterior(self) -> tuple[float, float]:
        """Gamma (shape, rate) of the randomisation rate given the accrual so far.

        Returns
        -------
        tuple of float
            ``(alpha + recruited, beta / p + exposure_years)`` with ``p`` =
            :attr:`p_randomised`; the rate is infinite when ``p = 0`` (no one randomised).
        """
        p = self.p_randomised
        if p <= 0:
            return (self.alpha + self.recruited, math.inf)
        return (self.alpha + self.recruited, self.beta / p + self.exposure_years)


@dataclass(frozen=True)
class Network:
    """A multicentre network: centres, allocation, and the accrual observed so far.

    Build it with :func:`network` (or :func:`load_network` from YAML).

    Parameters
    ----------
    name : str
        Network name (shown in the report).
    start : datetime.date
        Start of the network; times are counted from it.
    as_of : datetime.date
        Data date: the accrual in ``centres`` is up to this date.
    centres : tuple of Centre
        The centres.
    allocation_hsct : float, default 0.5
        Share of randomised patients allocated to aHSCT, in (0, 1]; transplant-slot caps are
        divided by it.
    synthetic : bool, default False
        True for an invented network (labelled in every output).
    """

    name: str
    start: _dt.date
    as_of: _dt.date
    centres: tuple[Centre, ...]
    allocation_hsct: float = 0.5
    synthetic: bool = False

    @property
    def recruited(self) -> int:
        """Patients randomised up to :attr:`as_of`."""
        return sum(c.recruited for c in self.centres)

    @property
    def capped(self) -> bool:
        """True when any centre has a transplant-slot cap."""
        return any(c.slots_per_year is not None for c in self.centres)

    def caps(self) -> np.ndarray:
        """Maximum randomisations a year per centre (inf when uncapped).

        Returns
        -------
        numpy.ndarray
            ``slots_per_year / allocation_hsct`` per centre, in centre order.
        """
        return np.array([math.inf if c.slots_per_year is None
                         else c.slots_per_year / self.allocation_hsct for c in self.centres])

    def opens_after_as_of(self) -> np.ndarray:
        """Years from :attr:`as_of` to each centre's opening (0 when already open).

        Returns
        -------
        numpy.ndarray
            One value per centre, in centre order.
        """
        return np.array([max(0.0, _years(self.as_of, c.opens)) for c in self.centres])

    def with_accrual(self, recruited: Mapping[str, int], *, as_of: _dt.date | str) -> Network:
        """The network re-fitted to real accrual: ``recruited[centre]`` patients by ``as_of``.

        Every centre's posterior becomes ``Gamma(alpha + n_i, beta/p + tau_i)`` with ``tau_i``
        its years open by ``as_of``.

        Parameters
        ----------
        recruited : mapping of str to int
            Patients randomised so far per centre code (missing centres: 0).
        as_of : datetime.date or str
            The date of the counts (ISO string allowed), not before the current data date.

        Returns
        -------
        Network
            A new network with the counts, exposures and ``as_of`` updated.

        Raises
        ------
        ConfigurationError
            Unknown centre codes, negative or non-integer counts, recruitment before a
            centre opened, or a date before the current data date.
        """
        day = _date(as_of, "as_of", "accrual")
        if day < self.as_of:
            raise ConfigurationError(f"accrual: as_of {day} is before the previous data date "
                                     f"{self.as_of}.", hint="Give counts up to a later date.")
        known = {c.id for c in self.centres}
        unknown = sorted(set(recruited) - known)
        if unknown:
            raise ConfigurationError(f"accrual: unknown centre(s) {', '.join(unknown)}.",
                                     hint=f"Centres are {', '.join(sorted(known))}.")
        out = []
        for c in self.centres:
            n = recruited.get(c.id, 0)
            if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 0:
                raise ConfigurationError(f"accrual: centre {c.id}: recruited must be a "
                                         f"whole number >= 0, got {n!r}.")
            tau = max(0.0, _years(c.opens, day))
            if n > 0 and tau == 0:
                raise ConfigurationError(f"accrual: centre {c.id} recruited {n} but opens "
                                         f"{c.opens}, after {day}.",
                                         hint="Check the opening date or the counts.")
            out.append(Centre(c.id, c.opens, c.alpha, c.beta, c.screen_failure, c.consent,
                              c.slots_per_year, int(n), tau))
        return Network(self.name, self.start, day, tuple(out), self.allocation_hsct,
                       self.synthetic)


# complexity over 10 kept: a flat validation of the network file's entries
def network(config: Mapping[str, Any]) -> Network:  # noqa: C901
    """Build a :class:`Network` from a mapping (the YAML schema of ``hsctms feasibility``).

    Keys: ``name``, ``start`` (ISO date), ``synthetic`` (bool), ``allocation_hsct`` (share of
    patients randomised to aHSCT, default 0.5), network defaults ``prior: {alpha, beta}``,
    ``screen_failure``, ``consent``, ``slots_per_year``; ``centres``: a list of
    ``{id, opens, ...}`` that may override any default; optional
    ``accrual: {as_of: DATE, recruited: {CENTRE: n}}``.

    Parameters
    ----------
    config : mapping
        The parsed network file (see above and examples/feasibility-network.yaml).

    Returns
    -------
    Network
        The network, re-fitted to ``accrual`` when given.

    Raises
    ------
    ConfigurationError
        An unknown key, a missing or out-of-range value (each named with its centre).
    """
    if not isinstance(config, Mapping):
        raise ConfigurationError("The network configuration must be a mapping.",
                                 hint="See examples/feasibility-network.yaml.")
    allowed = {"name", "start", "synthetic", "allocation_hsct", "prior", "screen_failure",
               "consent", "slots_per_year", "centres", "accrual", "note"}
    extra = sorted(set(config) - allowed)
    if extra:
        raise ConfigurationError(f"network: unknown key(s) {', '.join(extra)}.",
                                 hint=f"Allowed keys: {', '.join(sorted(allowed))}.")
    start = _date(config.get("start"), "start", "network")
    alloc = _prob(config.get("allocation_hsct", 0.5), "allocation_hsct", "network")
    if alloc <= 0:
        raise ConfigurationError("network: allocation_hsct must be > 0.")
    prior = config.get("prior") or {}
    raw_centres = config.get("centres")
    if not isinstance(raw_centres, Sequence) or isinstance(raw_centres, str) or not raw_centres:
        raise ConfigurationError("network: centres must be a non-empty list.",
                                 hint="centres: [{id: C01, opens: 2027-03-01}, ...]")
    centres: list[Centre] = []
    seen: set[str] = set()
    c_allowed = {"id", "opens", "prior", "screen_failure", "consent", "slots_per_year"}
    for k, raw in enumerate(raw_centres, start=1):
        where = f"centres[{k}]"
        if not isinstance(raw, Mapping) or "id" not in raw:
            raise ConfigurationError(f"{where}: each centre needs an id.")
        cid = str(raw["id"])
        where = f"centre {cid}"
        bad = sorted(set(raw) - c_allowed)
        if bad:
            raise ConfigurationError(f"{where}: unknown key(s) {', '.join(bad)}.",
                                     hint=f"Allowed keys: {', '.join(sorted(c_allowed))}.")
        if cid in seen:
            raise ConfigurationError(f"{where}: duplicate centre id.")
        seen.add(cid)
        cp = {**prior, **(raw.get("prior") or {})}
        if "alpha" not in cp or "beta" not in cp:
            raise ConfigurationError(f"{where}: no Gamma prior (alpha, beta).",
                                     hint="Give prior: {alpha: 2, beta: 0.5} for the network "
                                          "or per centre.")
        opens = _date(raw.get("opens", config.get("start")), "opens", where)
        if opens < start:
            raise ConfigurationError(f"{where}: opens {opens} before the network start {start}.")
        slots = raw.get("slots_per_year", config.get("slots_per_year"))
        centres.append(Centre(
            id=cid, opens=opens,
            alpha=float(_positive(cp["alpha"], "prior alpha", where) or 0),
            beta=float(_positive(cp["beta"], "prior beta", where) or 0),
            screen_failure=_prob(raw.get("screen_failure", config.get("screen_failure", 0.0)),
                                 "screen_failure", where),
            consent=_prob(raw.get("consent", config.get("consent", 1.0)), "consent", where),
            slots_per_year=_positive(slots, "slots_per_year", where, allow_none=True)))
    net = Network(name=str(config.get("name", "network")), start=start, as_of=start,
                  centres=tuple(centres), allocation_hsct=alloc,
                  synthetic=bool(config.get("synthetic", False)))
    if net.centres and all(c.p_randomised == 0 for c in net.centres):
        raise ConfigurationError("network: no centre can randomise anyone "
                                 "(screen_failure = 1 or consent = 0 everywhere).")
    accrual = config.get("accrual")
    if accrual is not None:
        if not isinstance(accrual, Mapping) or "as_of" not in accrual:
            raise ConfigurationError("network: accrual needs as_of and recruited.",
                                     hint="accrual: {as_of: 2028-01-01, recruited: {C01: 3}}")
        net = net.with_accrual(dict(accrual.get("recruited") or {}), as_of=accrual["as_of"])
    return net


def load_network(path: str | Path) -> Network:
    """Read a network YAML file (see :func:`network`).

    Parameters
    ----------
    path : str or pathlib.Path
        The UTF-8 YAML file.

    Returns
    -------
    Network
        The network it describes.

    Raises
    ------
    ConfigurationError
        When the file is missing, unreadable, not YAML or invalid.
    """
    import yaml

    p = Path(path)
    if not p.exists():
        raise ConfigurationError(f"Network file {p} not found.",
                                 hint="See examples/feasibility-network.yaml.")
    try:
        data = safe_load_yaml(read_regular_file(p).decode("utf-8"))
    except (OSError, UnicodeDecodeError) as exc:  # a directory, FIFO or device: unread
        raise ConfigurationError(f"Network file {p} cannot be read: {exc}.",
                                 hint="Give a UTF-8 YAML file, e.g. "
                                 "examples/feasibility-network.yaml.") from None
    except yaml.YAMLError as exc:
        raise ConfigurationError(f"{p}: not valid YAML ({exc}).") from None
    return network(data)


# --------------------------------------------------------------------------- closed forms

def predictive_pmf(net: Network, years: float, *, max_count: int | None = None) -> np.ndarray:
    """Exact pmf of the number randomised in the ``years`` after the data date (uncapped).

    Each centre contributes ``NB(size = a_i, prob = b_i / (b_i + t_i))`` with its posterior
    ``(a_i, b_i)`` and ``t_i`` its time open in the window; the network total is their
    convolution.

    Parameters
    ----------
    net : Network
        An uncapped network.
    years : float
        Length (>= 0) of the window after the data date.
    max_count : int, optional
        Largest count kept; by default the support is cut where the omitted upper tail is
        below ``1e-13`` per centre.

    Returns
    -------
    numpy.ndarray
        Index ``k`` holds ``P(count = k)``.

    Raises
    ------
    DesignError
        When the network has transplant-slot caps or ``years`` is negative.
    """
    if net.capped:
        raise DesignError("predictive_pmf is exact only without transplant-slot caps.",
                          hint="Use predict_accrual (Monte Carlo) for capped networks.")
    if years < 0:
        raise DesignError(f"years must be >= 0, got {years!r}.")
    opens = net.opens_after_as_of()
    parts = []
    for c, o in zip(net.centres, opens, strict=True):
        a, b = c.posterior()
        t = max(0.0, years - o)
        if t == 0 or not math.isfinite(b):
            parts.append((0.0, 1.0, 0.0))
        else:
            parts.append((a, b / (b + t), a * t / b))
    if max_count is None:
        # P(sum > sum_i q_i) <= sum_i P(X_i > q_i): the omitted tail is below 1e-13 per centre
        top = int(sum(stats.nbinom.isf(1e-13, a, p) for a, p, m in parts if m > 0))
    else:
        top = max_count
    k = np.arange(top + 1)
    out = np.zeros(top + 1)
    out[0] = 1.0
    for a, p, m in parts:
        if m == 0:
            continue
        pmf = stats.nbinom.pmf(k, a, p)
        out = np.convolve(out, pmf)[: top + 1]
    return out


def _nb_loglik(log_ab: np.ndarray, n: np.ndarray, tau: np.ndarray) -> float:
    a, b = np.exp(log_ab)
    ll = (special.gammaln(a + n) - special.gammaln(a) - special.gammaln(n + 1)
          + a * np.log(b / (b + tau)) + n * np.log(tau / (b + tau)))
    return -float(np.sum(ll))


def fit_gamma_prior(recruited: Sequence[int] | np.ndarray,
                    exposure_years: Sequence[float] | np.ndarray) -> tuple[float, float]:
    """Maximum-likelihood Gamma (shape, rate) of centre rates from counts and exposures.

    The marginal of ``n_i`` given exposure ``tau_i`` is ``NB(alpha, beta/(beta + tau_i))``
    (Anisimov & Fedorov 2007).

    Parameters
    ----------
    recruited : sequence of int
        Patients randomised per centre.
    exposure_years : sequence of float
        Years each centre has been open (centres with 0 are ignored).

    Returns
    -------
    tuple of float
        ``(alpha, beta)``: shape and rate per year.

    Raises
    ------
    DesignError
        With fewer than two open centres or no recruitment, or when the counts show no
        over-dispersion (the shape runs to infinity).
    """
    n = np.asarray(recruited, dtype=float)
    tau = np.asarray(exposure_years, dtype=float)
    keep = tau > 0
    n, tau = n[keep], tau[keep]
    if len(n) < 2 or n.sum() == 0:
        raise DesignError("Fitting a Gamma prior needs at least two open centres and some "
                          "recruitment.", hint="Give the prior (alpha, beta) directly.")
    rate = n.sum() / tau.sum()
    res = optimize.minimize(_nb_loglik, np.log([2.0, 2.0 / rate]), args=(n, tau),
                            method="Nelder-Mead",
                            options={"xatol": 1e-10, "fatol": 1e-12, "maxiter": 20000})
    a, b = np.exp(res.x)
    if not res.success or a > 1e6:
        raise DesignError("The centre counts show no between-centre variation the Gamma "
                          "prior can fit (shape tends to infinity).",
                          hint="Give the prior directly; a large alpha with alpha/beta = "
                               f"{rate:.3g} per year is the Poisson limit.")
    return float(a), float(b)


# --------------------------------------------------------------------------- prediction

def _draw_rates(net: Network, rng: np.random.Generator, draws: int) -> np.ndarray:
    shape = np.array([c.posterior()[0] for c in net.centres])
    rate = np.array([c.posterior()[1] for c in net.centres])
    with np.errstate(divide="ignore"):
        scale = np.where(np.isfinite(rate), 1.0 / rate, 0.0)
    mu = rng.gamma(shape, scale, size=(draws, len(shape)))
    return np.minimum(mu, net.caps())


def _cumulative(mu: np.ndarray, opens: np.ndarray, t: np.ndarray) -> np.ndarray:
    """``L_m(t) = sum_i mu_mi (t - o_i)^+`` for every draw m (rows) and time (columns)."""
    open_for = np.clip(t[None, :] - opens[:, None], 0.0, None)  # centres x times
    return mu @ open_for


def _time_to(mu: np.ndarray, opens: np.ndarray, g: np.ndarray) -> np.ndarray:
    """Invert the piecewise-linear ``L_m`` at ``g_m`` (years after the data date)."""
    knots = np.unique(np.r_[0.0, opens])
    lk = _cumulative(mu, opens, knots)  # draws x knots
    slopes = np.stack([(mu * (opens <= x)).sum(axis=1) for x in knots], axis=1)
    seg = (lk <= g[:, None]).sum(axis=1) - 1
    rows = np.arange(len(g))
    with np.errstate(divide="ignore", invalid="ignore"):
        out = knots[seg] + (g - lk[rows, seg]) / slopes[rows, seg]
    return np.where(slopes[rows, seg] > 0, out, np.inf)


@dataclass(frozen=True)
class FeasibilityResult:
    """Predicted accrual of a multicentre network to a target sample size.

    Parameters
    ----------
    network : Network
        The (re-fitted) network.
    target : int
        Total number of patients to randomise.
    median_years : float
        Median time to the target, in years after the data date ``network.as_of``.
    pi80_years : tuple of float
        Central 80% prediction interval of that time (years).
    pi90_years : tuple of float
        Central 90% prediction interval of that time (years).
    by : datetime.date or None
        Target date (None when none was given).
    prob_by : float or None
        Probability of reaching the target by ``by``.
    prob_by_method : {"closed form", "monte carlo"} or None
        How ``prob_by`` was computed (negative-binomial convolution when uncapped).
    prob_by_mc_se : float or None
        Monte Carlo standard error of ``prob_by`` (None for the closed form).
    curve : pandas.DataFrame
        Predicted cumulative accrual: years, date, mean and the 5/10/50/90/95% quantiles.
    draws : int
        Monte Carlo draws of the centre rates.
    seed : int
        Seed of the draws.
    provenance : Provenance
        What was computed from which inputs.
    """

    network: Network
    target: int
    median_years: float
    pi80_years: tuple[float, float]
    pi90_years: tuple[float, float]
    by: _dt.date | None
    prob_by: float | None
    prob_by_method: str | None
    prob_by_mc_se: float | None
    curve: pd.DataFrame
    draws: int
    seed: int
    provenance: Provenance = field(default_factory=lambda: Provenance("design.feasibility"))

    def date(self, years: float) -> _dt.date | None:
        """Calendar date ``years`` after the data date.

        Parameters
        ----------
        years : float
            Years after ``network.as_of`` (365.25-day years).

        Returns
        -------
        datetime.date or None
            The date, None when ``years`` is not finite.
        """
        return _date_at(self.network.as_of, years)

    @property
    def median_date(self) -> _dt.date | None:
        """Median predicted date of reaching the target."""
        return self.date(self.median_years)

    @property
    def summary(self) -> str:
        """The prediction in words."""
        net = self.network
        lab = " (SYNTHETIC network)" if net.synthetic else ""

        def span(p: tuple[float, float]) -> str:
            return f"{self.date(p[0])} to {self.date(p[1])} ({p[0]:.2f}-{p[1]:.2f} y)"

        text = (f"{net.name}{lab}: {len(net.centres)} centres, {net.recruited} randomised by "
                f"{net.as_of}; target {self.target}. Predicted date of reaching the target: "
                f"median {self.median_date} ({self.median_years:.2f} years after {net.as_of}); "
                f"80% prediction interval {span(self.pi80_years)}; 90% {span(self.pi90_years)}.")
        if self.by is not None and self.prob_by is not None:
            text += (f" Probability of reaching {self.target} by {self.by}: "
                     f"{self.prob_by:.3f} ({self.prob_by_method}).")
        if net.capped:
            text += " Transplant-slot caps applied."
        return text

    def to_frame(self) -> pd.DataFrame:
        """The predicted cumulative accrual curve (one row per time point).

        Returns
        -------
        pandas.DataFrame
            A copy of :attr:`curve`.
        """
        return self.curve.copy()

    def centres_frame(self) -> pd.DataFrame:
        """Per-centre inputs, accrual so far and posterior randomisation rate.

        Returns
        -------
        pandas.DataFrame
            One row per centre: prior, ``p_randomised``, accrual, posterior shape and rate,
            mean rate per year and cap per year.
        """
        rows = []
        for c, cap in zip(self.network.centres, self.network.caps(), strict=True):
            a, b = c.posterior()
            rows.append({"centre": c.id, "opens": c.opens, "alpha": c.alpha, "beta": c.beta,
                         "p_randomised": c.p_randomised, "recruited": c.recruited,
                         "exposure_years": c.exposure_years, "posterior_shape": a,
                         "posterior_rate": b,
                         "mean_rate_per_year": a / b if math.isfinite(b) else 0.0,
                         "cap_per_year": cap})
        return pd.DataFrame(rows)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form (schema ``hsctms.design.feasibility/1``).

        Returns
        -------
        dict
            The prediction (years and dates), the per-centre table, the curve, the Monte
            Carlo settings and the provenance.
        """
        curve = self.curve.assign(date=self.curve["date"].astype(str))
        return jsonable({
            "schema": _SCHEMA, "network": self.network.name,
            "synthetic": self.network.synthetic, "as_of": str(self.network.as_of),
            "recruited": self.network.recruited, "target": self.target,
            "median_years": self.median_years, "median_date": str(self.median_date),
            "pi80_years": list(self.pi80_years), "pi90_years": list(self.pi90_years),
            "pi80_dates": [str(self.date(x)) for x in self.pi80_years],
            "pi90_dates": [str(self.date(x)) for x in self.pi90_years],
            "by": None if self.by is None else str(self.by), "prob_by": self.prob_by,
            "prob_by_method": self.prob_by_method, "prob_by_mc_se": self.prob_by_mc_se,
            "centres": self.centres_frame().assign(
                opens=lambda f: f["opens"].astype(str)).to_dict(orient="records"),
            "curve": curve.to_dict(orient="list"),
            "draws": self.draws, "seed": self.seed, "provenance": self.provenance.to_dict(),
        })

    def plot(self, ax: Axes | None = None) -> Axes:
        """Predicted cumulative accrual with 80% and 90% prediction bands.

        Parameters
        ----------
        ax : matplotlib.axes.Axes, optional
            Axes to draw on; a new figure's axes when None.

        Returns
        -------
        matplotlib.axes.Axes
            The axes drawn on.
        """
        from hsctms.plots._style import PALETTE, new_axes

        ax = new_axes(ax)
        c = self.curve
        x = c["years"] + _years(self.network.start, self.network.as_of)
        ax.fill_between(x, c["q05"], c["q95"], color=PALETTE[0], alpha=0.18,
                        label="90% prediction band")
        ax.fill_between(x, c["q10"], c["q90"], color=PALETTE[0], alpha=0.32,
                        label="80% prediction band")
        ax.plot(x, c["median"], color=PALETTE[0], label="median")
        ax.axhline(self.target, color=PALETTE[1], ls="--", lw=1, label=f"target {self.target}")
        ax.set_xlabel(f"years since network start ({self.network.start})")
        ax.set_ylabel("patients randomised")
        title = "Predicted accrual" + (" (synthetic)" if self.network.synthetic else "")
        ax.set_title(title)
        ax.legend(loc="upper left")
        return ax


def predict_accrual(net: Network, target: int, *, by: _dt.date | str | None = None,
                    draws: int = 20_000, seed: int = 20260, grid: int = 60
                    ) -> FeasibilityResult:
    """Predict when ``net`` reaches ``target`` randomised patients.

    Parameters
    ----------
    net
        The network (priors, opening dates, rates; re-fitted to accrual via
        :meth:`Network.with_accrual`).
    target
        Total patients to randomise (including those already randomised).
    by
        Optional target date: the probability of reaching ``target`` by then is reported.
    draws, seed
        Monte Carlo draws of the centre rates and the random seed (results are reproducible).
    grid
        Number of time points on the predicted accrual curve.

    Returns
    -------
    FeasibilityResult
    """
    if isinstance(target, bool) or not isinstance(target, int | np.integer) or target < 1:
        raise DesignError(f"target must be a whole number >= 1, got {target!r}.")
    if draws < 100:
        raise DesignError(f"draws must be >= 100, got {draws!r}.")
    remaining = int(target) - net.recruited
    if remaining <= 0:
        raise DesignError(f"The target {target} is already reached ({net.recruited} "
                          f"randomised by {net.as_of}).", hint="Give a larger target.")
    by_date = None if by is None else _date(by, "by", "predict_accrual")
    if by_date is not None and by_date <= net.as_of:
        raise DesignError(f"by ({by_date}) must be after the data date {net.as_of}.")
    rng = np.random.default_rng(seed)
    mu = _draw_rates(net, rng, draws)
    opens = net.opens_after_as_of()
    g = rng.gamma(remaining, 1.0, size=draws)
    times = _time_to(mu, opens, g)
    q = np.quantile(times, [0.05, 0.10, 0.5, 0.90, 0.95])
    if not np.isfinite(q[-1]):
        raise DesignError("The target is not reached in at least 5% of the draws (no centre "
                          "can randomise).", hint="Check capacities, consent and priors.")
    prob = se = None
    method = None
    if by_date is not None:
        t_by = _years(net.as_of, by_date)
        if not net.capped:
            pmf = predictive_pmf(net, t_by, max_count=remaining - 1)
            prob = float(max(0.0, 1.0 - pmf.sum()))
            method = "closed form"
        else:
            lam = _cumulative(mu, opens, np.array([t_by]))[:, 0]
            ps = stats.poisson.sf(remaining - 1, lam)
            prob, se = float(ps.mean()), float(ps.std(ddof=1) / math.sqrt(draws))
            method = "monte carlo"
    t_grid = np.linspace(0.0, float(q[-1]) * 1.15, grid)
    lam = _cumulative(mu, opens, t_grid)
    counts = net.recruited + rng.poisson(lam)
    qs = np.quantile(counts, [0.05, 0.10, 0.5, 0.90, 0.95], axis=0)
    curve = pd.DataFrame({
        "years": t_grid, "date": [_date_at(net.as_of, x) for x in t_grid],
        "mean": net.recruited + lam.mean(axis=0),
        "q05": qs[0], "q10": qs[1], "median": qs[2], "q90": qs[3], "q95": qs[4]})
    definition = {"model": "Poisson-gamma (Anisimov & Fedorov 2007)", "target": int(target),
                  "by": None if by_date is None else str(by_date), "draws": draws, "seed": seed,
                  "allocation_hsct": net.allocation_hsct, "capped": net.capped,
                  "centres": len(net.centres)}
    return FeasibilityResult(
        network=net, target=int(target), median_years=float(q[2]),
        pi80_years=(float(q[1]), float(q[3])), pi90_years=(float(q[0]), float(q[4])),
        by=by_date, prob_by=prob, prob_by_method=method, prob_by_mc_se=se, curve=curve,
        draws=draws, seed=seed,
        provenance=Provenance("design.feasibility", definition=definition,
                              n=net.recruited, synthetic=net.synthetic,
                              data_date=str(net.as_of)))


# --------------------------------------------------------------------------- eligibility

_WINDOWS = (12, 18, 24, 36)


# complexity over 10 kept: one flat mapping of registry columns to profile fields
def _patient_profile(pid: str, row: pd.Series, at: pd.Timestamp, tabs: dict[str, pd.DataFrame]  # noqa: C901
                     ) -> tuple[dict[str, Any] | None, str]:
    """Profile facts for one registry patient at date ``at`` (None with a reason if impossible)."""
    edss = tabs["edss"]
    e = edss[(edss["patient_id"] == pid) & (edss["date"] <= at)
             & (edss["date"] > at - pd.Timedelta(days=365))].dropna(subset=["edss"])
    if pd.isna(row["phenotype"]):
        return None, "phenotype missing"
    if e.empty:
        return None, "no EDSS in the 12 months before the index date"
    if pd.isna(row["birth_year"]):
        return None, "birth year missing"
    prof: dict[str, Any] = {
        "assessment_date": at.date(),
        # birth year only: age at 1 July of that year (error at most 0.5 years)
        "age_years": max(0.0, _years(_dt.date(int(row["birth_year"]), 7, 1), at.date())),
        "phenotype": str(row["phenotype"]),
        "edss": float(e.sort_values("date")["edss"].iloc[-1]),
    }
    if not pd.isna(row.get("sex")):
        prof["sex"] = str(row["sex"])
    for key, col in (("onset_date", "onset_date"), ("diagnosis_date", "diagnosis_date")):
        if col in row and not pd.isna(row[col]) and row[col] <= at:
            prof[key] = row[col].date()
    rel = tabs["relapses"]
    r = rel.loc[(rel["patient_id"] == pid) & (rel["onset_date"] <= at), "onset_date"]
    for m in _WINDOWS:
        prof[f"relapses_{m}m"] = int((r > at - pd.DateOffset(months=m)).sum())
    mri = tabs["mri"]
    scans = mri[(mri["patient_id"] == pid) & (mri["date"] <= at)]
    for m in (12, 24):
        s = scans[scans["date"] > at - pd.DateOffset(months=m)]
        if len(s):
            for key, col in (("gd_lesions", "gd_lesions"), ("new_t2_lesions", "new_t2")):
                vals = s[col].dropna()
                if len(vals):
                    prof[f"{key}_{m}m"] = int(vals.sum())
    dmt = tabs["dmt"]
    d = dmt[(dmt["patient_id"] == pid) & (dmt["start_date"] <= at)]
    dmts = []
    for _, x in d.iterrows():
        stop = x["stop_date"] if not pd.isna(x["stop_date"]) and x["stop_date"] <= at else at
        entry: dict[str, Any] = {"name": str(x["drug"]),
                                 "months": max(0.0, (stop - x["start_date"]).days / 30.4375)}
        reason = x.get("stop_reason")
        if not pd.isna(reason) and not pd.isna(x["stop_date"]) and x["stop_date"] <= at:
            entry["failed"] = str(reason) == "inefficacy"
        dmts.append(entry)
    prof["dmts"] = dmts
    tx = tabs["transplants"]
    prior = tx[(tx["patient_id"] == pid) & (tx["transplant_date"] < at)]
    prof["prior_ahsct"] = bool(len(prior))
    return prof, ""


def registry_profiles(cohort: Cohort, *, at: str = "transplant") -> pd.DataFrame:
    """Eligibility profiles of registry patients at their index transplant date.

    For each patient with a transplant, the facts the eligibility engine needs are built from
    the registry tables as they stood on the index (first) transplant date: age (from the birth
    year, at 1 July of that year), phenotype, the last EDSS in the previous 12 months, relapses
    in the last 12/18/24/36 months, enhancing and new T2 lesions on MRI in the last 12/24
    months (summed over scans; left unknown when there was no scan), every DMT started before
    (``failed`` when stopped for inefficacy, unknown while ongoing) and prior aHSCT.

    Parameters
    ----------
    cohort : Cohort
        A registry cohort (:class:`hsctms.model.cohort.Cohort`).
    at : {"transplant"}, default "transplant"
        The index date; only the first transplant is implemented.

    Returns
    -------
    pandas.DataFrame
        One row per transplanted patient: ``patient_id``, ``centre``, ``index_date``,
        ``profile`` (dict, or None) and ``problem`` (why no profile could be built).
    """
    if at != "transplant":
        raise DesignError(f"Unknown index date {at!r}.", hint="Use at='transplant'.")
    tabs = {k: cohort.table(k) for k in ("patients", "edss", "relapses", "mri", "dmt",
                                         "transplants")}
    tx = tabs["transplants"].dropna(subset=["transplant_date"])
    first = tx.groupby("patient_id")["transplant_date"].min()
    pats = tabs["patients"].set_index("patient_id")
    rows = []
    for pid, day in first.items():
        row = pats.loc[pid]
        prof, why = _patient_profile(str(pid), row, pd.Timestamp(day), tabs)
        rows.append({"patient_id": pid, "centre": row["centre"],
                     "index_date": pd.Timestamp(day).date(), "profile": prof,
                     "problem": why or None})
    return pd.DataFrame(rows, columns=["patient_id", "centre", "index_date", "profile",
                                       "problem"])


@dataclass(frozen=True)
class EligibilityYield:
    """How many registry patients per centre and year would have met a trial's criteria.

    Parameters
    ----------
    criteria_set : str
        Id of the eligibility set applied (e.g. ``"starms"``).
    table : pandas.DataFrame
        One row per centre and calendar year with ``eligible``, ``not_eligible``,
        ``cannot_tell`` (a required fact unknown, or no profile could be built) and
        ``total``.
    patients : pandas.DataFrame
        One row per transplanted patient with the verdict and why.
    provenance : Provenance
        What was computed from which cohort.
    """

    criteria_set: str
    table: pd.DataFrame
    patients: pd.DataFrame
    provenance: Provenance

    @property
    def summary(self) -> str:
        """Totals in words."""
        t = self.table[["eligible", "not_eligible", "cannot_tell", "total"]].sum()
        years = self.table["year"].nunique()
        centres = self.table["centre"].nunique()
        lab = " (synthetic data)" if self.provenance.synthetic else ""
        return (f"{self.criteria_set}: of {int(t['total'])} transplanted patients in "
                f"{centres} centres over {years} years{lab}, {int(t['eligible'])} would have "
                f"met the criteria, {int(t['not_eligible'])} not, {int(t['cannot_tell'])} "
                "cannot tell.")

    def to_frame(self, *, suppress_small_counts: bool = False) -> pd.DataFrame:
        """The per-centre, per-year table; with suppression, counts 1-4 become ``"<5"``.

        Parameters
        ----------
        suppress_small_counts : bool, default False
            Replace counts from 1 to 4 by ``"<5"`` (for tables that leave the centre).

        Returns
        -------
        pandas.DataFrame
            A copy of :attr:`table`, suppressed when asked.
        """
        out = self.table.copy()
        if suppress_small_counts:
            for col in ("eligible", "not_eligible", "cannot_tell", "total"):
                out[col] = [("<5" if 0 < int(v) < SMALL_COUNT else int(v)) for v in out[col]]
        return out

    def rates(self) -> pd.DataFrame:
        """Mean eligible patients per year for each centre (over the years it transplanted).

        Returns
        -------
        pandas.DataFrame
            Indexed by centre: ``years``, ``eligible`` and ``per_year``.
        """
        g = self.table.groupby("centre")
        return pd.DataFrame({"years": g["year"].nunique(), "eligible": g["eligible"].sum(),
                             "per_year": g["eligible"].sum() / g["year"].nunique()})

    def to_dict(self, *, suppress_small_counts: bool = True) -> dict[str, Any]:
        """JSON form (small counts suppressed by default: it may leave the centre).

        Parameters
        ----------
        suppress_small_counts : bool, default True
            Replace counts from 1 to 4 by ``"<5"``.

        Returns
        -------
        dict
            Schema tag, criteria set, the table, whether it was suppressed, provenance.
        """
        return jsonable({"schema": "hsctms.design.eligibility_yield/1",
                         "criteria_set": self.criteria_set,
                         "table": self.to_frame(
                             suppress_small_counts=suppress_small_counts).to_dict(
                                 orient="records"),
                         "suppressed": suppress_small_counts,
                         "provenance": self.provenance.to_dict()})


def registry_eligibility(cohort: Cohort, criteria_set: str = "starms") -> EligibilityYield:
    """Apply a packaged eligibility set to every transplanted registry patient.

    Parameters
    ----------
    cohort
        A registry cohort (:class:`hsctms.model.cohort.Cohort`).
    criteria_set
        Id of a set in :mod:`hsctms.eligibility` (e.g. ``"starms"``, ``"mist"``). Sets without
        criteria (such as ``"zeus"``, whose proposal published none) are refused: every patient
        would vacuously "meet" them.

    Returns
    -------
    EligibilityYield
    """
    from hsctms.eligibility import get_set
    from hsctms.errors import ProfileError
    from hsctms.model.profile import parse_profile

    cs = get_set(criteria_set)
    if not cs.criteria:
        raise DesignError(f"Criteria set {criteria_set!r} has no criteria "
                          f"({cs.status_note or 'none published'}).",
                          hint="Choose a set with criteria, e.g. 'starms' or 'mist'.")
    prof = registry_profiles(cohort)
    verdicts, reasons = [], []
    for p, why in zip(prof["profile"], prof["problem"], strict=True):
        if p is None:
            verdicts.append("cannot_tell")
            reasons.append(why)
            continue
        try:
            res = cs.evaluate(parse_profile(p))
        except ProfileError as exc:  # inconsistent registry facts: reported, not dropped
            verdicts.append("cannot_tell")
            reasons.append(f"profile invalid: {exc}")
            continue
        verdicts.append(res.verdict)
        reasons.append(None)
    pats = prof.drop(columns=["profile"]).assign(verdict=verdicts, reason=reasons)
    pats["year"] = [d.year for d in pats["index_date"]]
    counts = (pats.groupby(["centre", "year"])["verdict"].value_counts().unstack(fill_value=0)
              .reindex(columns=["eligible", "not_eligible", "cannot_tell"], fill_value=0))
    counts["total"] = counts.sum(axis=1)
    table = counts.reset_index()
    table.columns.name = None
    prov = Provenance("design.registry_eligibility",
                      definition={"criteria_set": cs.id, "index_date": "first transplant"},
                      n=len(pats), synthetic=bool(cohort.synthetic),
                      data_date=None if cohort.data_date is None else str(cohort.data_date))
    return EligibilityYield(cs.id, table, pats, prov)
