"""The trial file and the statistician's seed of concealed randomisation (``hsctms trial``).

The trial file (JSON) says how patients are randomised; it is checked strictly (an unknown or
misspelt key is an error, never ignored) and builds the randomiser of
:mod:`hsctms.design.randomisation`::

    {"arms": ["aHSCT", "alemtuzumab"], "method": "permuted_blocks",
     "factors": ["centre", "edss_band"], "ratio": [1, 1], "block_multiples": [1, 2, 3],
     "levels": {"centre": ["LON", "UPP"], "edss_band": ["0-3.5", "4.0-6.0"]}}

    {"arms": ["aHSCT", "alemtuzumab"], "method": "minimisation",
     "factors": ["centre", "edss_band", "prior_dmt"], "weights": [1, 1, 2],
     "imbalance": "range", "p_best": 0.8, "max_imbalance": 4}

``levels`` is the controlled vocabulary of each factor: a registration must give every factor
(registrations are immutable, so one lacking a factor could never be randomised) with one of
its levels; a typo is an error listing the allowed levels, never a new stratum
(:meth:`TrialConfig.check_factors`).

The seed file holds the statistician's secret (at least 16 characters); only its fingerprint
is stored with the allocations.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from hsctms._files import read_regular_file
from hsctms.errors import ConfigurationError

if TYPE_CHECKING:
    from hsctms.design.randomisation import AllocationStore, Randomiser

#: The shortest accepted seed.
MIN_SEED_LENGTH = 16

_EXAMPLE = ('E.g. {"arms": ["aHSCT", "alemtuzumab"], "method": "permuted_blocks", '
            '"factors": ["centre", "edss_band"], "block_multiples": [1, 2, 3], '
            '"levels": {"centre": ["LON", "UPP"], "edss_band": ["0-3.5", "4.0-6.0"]}}')


class TrialConfig(BaseModel):
    """A trial file (see the module docstring); unknown keys are errors.

    Parameters
    ----------
    arms : tuple of str
        Arm labels, at least two and distinct.
    factors : tuple of str, default ()
        Stratification factors (permuted blocks) or minimisation factors.
    method : {"permuted_blocks", "minimisation"}, default "permuted_blocks"
        Randomisation method.
    ratio : tuple of int, optional
        Allocation ratio, one whole number >= 1 per arm (permuted blocks only; default
        equal allocation).
    block_multiples : tuple of int, default (1, 2, 3)
        Block sizes are these multiples of ``sum(ratio)`` (whole numbers >= 1).
    weights : tuple of float, optional
        One weight per factor (minimisation only; default 1 each).
    imbalance : {"range", "variance"}, default "range"
        Imbalance measure of minimisation.
    p_best : float, default 0.8
        Probability of the least-imbalancing arm, in (0, 1] (minimisation).
    max_imbalance : int, optional
        Cap (>= 1) on the overall imbalance of arm totals (minimisation only).
    levels : dict of str to tuple of str, default {}
        The allowed levels of each factor (controlled vocabulary); required for every factor
        before patients are registered.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    arms: tuple[str, ...] = Field(min_length=2)
    factors: tuple[str, ...] = ()
    method: Literal["permuted_blocks", "minimisation"] = "permuted_blocks"
    ratio: tuple[int, ...] | None = None
    block_multiples: tuple[int, ...] = (1, 2, 3)
    weights: tuple[float, ...] | None = None
    imbalance: Literal["range", "variance"] = "range"
    p_best: float = Field(0.8, gt=0.0, le=1.0)
    max_imbalance: int | None = Field(None, ge=1)
    levels: dict[str, tuple[str, ...]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _consistent(self) -> TrialConfig:
        if len(set(self.arms)) != len(self.arms):
            raise ValueError("arms must be different")
        if self.ratio is not None and (len(self.ratio) != len(self.arms)
                                       or min(self.ratio) < 1):
            raise ValueError("ratio needs one whole number >= 1 per arm")
        if not self.block_multiples or min(self.block_multiples) < 1:
            raise ValueError("block_multiples must be whole numbers >= 1")
        if self.weights is not None and len(self.weights) != len(self.factors):
            raise ValueError("weights needs one weight per factor")
        if self.method == "permuted_blocks" and (self.weights is not None
                                                 or self.max_imbalance is not None):
            raise ValueError("weights and max_imbalance apply to minimisation only")
        if self.method == "minimisation" and self.ratio is not None:
            raise ValueError("minimisation allocates equally: leave out ratio")
        unknown = sorted(set(self.levels) - set(self.factors))
        if unknown:
            raise ValueError(f"levels names {', '.join(unknown)}, which is not among the "
                             f"factors ({', '.join(self.factors) or 'none'})")
        for name, values in self.levels.items():
            if not values or len(set(values)) != len(values) or any(not v for v in values):
                raise ValueError(f"levels of {name} must be distinct, non-empty texts")
        return self

    def check_factors(self, factors: Mapping[str, str], *, eligible: bool = True
                      ) -> dict[str, str]:
        """The factors of a registration, checked against the trial's controlled vocabulary.

        Parameters
        ----------
        factors : mapping of str to str
            Factor name -> level, as given at registration.
        eligible : bool, default True
            An eligible patient must give every factor (a registration is immutable: one
            lacking a factor could never be randomised); a screening failure may leave
            factors out, but those given are checked too.

        Returns
        -------
        dict of str to str
            The factors, in the trial file's order.

        Raises
        ------
        ConfigurationError
            A factor the trial does not have, a missing factor, a level that is not one of
            the allowed levels (listed), or a factor without levels in the trial file.

        Examples
        --------
        >>> cfg = TrialConfig(arms=("A", "B"), factors=("centre",),
        ...                   levels={"centre": ("LON", "UPP")})
        >>> cfg.check_factors({"centre": "LON"})
        {'centre': 'LON'}
        """
        unknown = sorted(set(factors) - set(self.factors))
        if unknown:
            raise ConfigurationError(
                f"{', '.join(map(repr, unknown))} is not a factor of this trial (its factors: "
                f"{', '.join(self.factors) or 'none'}).", hint="Check the spelling of NAME in "
                "--factor NAME=LEVEL.")
        missing = [f for f in self.factors if f not in factors]
        if missing and eligible:
            raise ConfigurationError(
                f"The registration lacks factor(s) {', '.join(missing)}; the trial stratifies "
                f"by {', '.join(self.factors)}. Registrations cannot be changed, and one "
                "without every factor could never be randomised.",
                hint=" ".join(f"--factor {f}=LEVEL" for f in missing))
        undefined = [f for f in self.factors if f in factors and f not in self.levels]
        if undefined:
            raise ConfigurationError(
                f"The trial file lists no levels for factor(s) {', '.join(undefined)}: levels "
                "are a controlled vocabulary, so a typo cannot create a new stratum.",
                hint=f'Add e.g. "levels": {{"{undefined[0]}": ["LEVEL1", "LEVEL2"]}} to the '
                "trial file.")
        for name in self.factors:
            if name in factors and factors[name] not in self.levels[name]:
                raise ConfigurationError(
                    f"{factors[name]!r} is not a level of factor {name}; allowed: "
                    f"{', '.join(self.levels[name])}.",
                    hint="Levels are case-sensitive; a new level is added to the trial file "
                    "by the trial statistician.")
        return {name: factors[name] for name in self.factors if name in factors}

    def randomiser(self, seed: str, store: AllocationStore) -> Randomiser:
        """The randomiser this file describes, writing to ``store``.

        Parameters
        ----------
        seed : str
            The statistician's secret seed (see :func:`read_seed`).
        store : AllocationStore
            The allocation log the randomiser reads and appends to.

        Returns
        -------
        Randomiser
            A :class:`~hsctms.design.randomisation.PermutedBlockRandomiser` or
            :class:`~hsctms.design.randomisation.MinimisationRandomiser`.
        """
        from hsctms.design.randomisation import MinimisationRandomiser, PermutedBlockRandomiser

        if self.method == "permuted_blocks":
            return PermutedBlockRandomiser(
                self.arms, seed, store=store, strata=self.factors,
                ratio=self.ratio or (1,) * len(self.arms), block_multiples=self.block_multiples)
        return MinimisationRandomiser(
            self.arms, seed, store=store, factors=self.factors, weights=self.weights,
            imbalance=self.imbalance, p_best=self.p_best, max_imbalance=self.max_imbalance)


def load_trial_config(path: str | Path) -> TrialConfig:
    """Read and check a trial file.

    Parameters
    ----------
    path : str or pathlib.Path
        The trial file (JSON object; see the module docstring).

    Returns
    -------
    TrialConfig
        The checked settings.

    Raises
    ------
    ConfigurationError
        Unreadable, not JSON, or a key that is unknown, missing or out of range (each named).
    """
    path = Path(path)
    try:
        raw = json.loads(read_regular_file(path).decode("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigurationError(f"Cannot read trial file {path}: {exc}.",
                                 hint=_EXAMPLE) from exc
    if not isinstance(raw, dict):
        raise ConfigurationError(f"Trial file {path} must be a JSON object.", hint=_EXAMPLE)
    try:
        return TrialConfig.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'file'}: {e['msg']}"
                             for e in exc.errors())
        raise ConfigurationError(f"Trial file {path}: {problems}.", hint=_EXAMPLE) from None


def read_seed(path: str | Path) -> str:
    """The statistician's secret seed from ``path`` (surrounding whitespace removed).

    Parameters
    ----------
    path : str or pathlib.Path
        The seed file, UTF-8 text.

    Returns
    -------
    str
        The seed, at least :data:`MIN_SEED_LENGTH` characters.

    Raises
    ------
    ConfigurationError
        Unreadable, or shorter than :data:`MIN_SEED_LENGTH` characters.
    """
    path = Path(path)
    try:
        seed = read_regular_file(path).decode("utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"Cannot read seed file {path}: {exc}.",
                                 hint="The statistician holds the seed file.") from exc
    if len(seed) < MIN_SEED_LENGTH:
        raise ConfigurationError(
            f"The secret seed is too short (at least {MIN_SEED_LENGTH} characters).",
            hint="python -c 'import secrets; print(secrets.token_hex(32))' > secret.txt")
    return seed
