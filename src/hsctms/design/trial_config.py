"""The trial file and the statistician's seed of concealed randomisation (``hsctms trial``).

The trial file (JSON) says how patients are randomised; it is checked strictly (an unknown or
misspelt key is an error, never ignored) and builds the randomiser of
:mod:`hsctms.design.randomisation`::

    {"arms": ["aHSCT", "alemtuzumab"], "method": "permuted_blocks",
     "factors": ["centre", "edss_band"], "ratio": [1, 1], "block_multiples": [1, 2, 3]}

    {"arms": ["aHSCT", "alemtuzumab"], "method": "minimisation",
     "factors": ["centre", "edss_band", "prior_dmt"], "weights": [1, 1, 2],
     "imbalance": "range", "p_best": 0.8, "max_imbalance": 4}

The seed file holds the statistician's secret (at least 16 characters); only its fingerprint
is stored with the allocations.
"""

from __future__ import annotations

import json
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
            '"factors": ["centre", "edss_band"], "block_multiples": [1, 2, 3]}')


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
        return self

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
