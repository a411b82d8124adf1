"""Concealed randomisation: stratified permuted blocks and Pocock-Simon minimisation.

The algorithms are storage-agnostic. They read the allocation log through the small
:class:`AllocationStore` protocol and append one :class:`AllocationRecord` per patient; the
registry database implements the same protocol (append-only table), and
:class:`InMemoryAllocationStore` is the reference implementation used in tests.

Concealment and audit:

* :meth:`Randomiser.allocate` refuses a patient whose eligibility has not been registered
  (``eligible=True`` plus the name of the person confirming it), and refuses to randomise a
  patient twice. No public method reveals a future allocation.
* Every allocation is reproducible from the secret ``seed`` held by the statistician and the
  order of the log: permuted blocks are drawn from a generator keyed by
  ``sha256(seed, stratum)``, minimisation draws from ``sha256(seed, sequence number)``.
  Records carry only ``sha256(seed)`` (``seed_fingerprint``), never the seed;
  :func:`replay` lets the statistician re-derive and check the whole log.
* Records are frozen and hash-chained (``prev_hash`` -> ``hash``); :func:`verify_chain` detects
  any edit, deletion or reordering.

Balance guarantees relied on (and tested):

* permuted blocks with equal allocation: within every stratum, at all times,
  ``|n_A - n_B| <= max block size / 2``;
* minimisation (two arms): with a single factor and ``p_best = 1`` the within-level imbalance
  never exceeds 1; with ``max_imbalance = m`` the overall imbalance never exceeds ``m`` for any
  ``p_best`` (Soares & Wu "big stick" cap). Marginal imbalance over several factors has no
  finite worst-case bound with a random element; it is reported, not promised.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np

from hsctms.errors import DesignError, PermissionDeniedError

GENESIS = "0" * 64


@dataclass(frozen=True)
class AllocationRecord:
    """One line of the append-only allocation log.

    Parameters
    ----------
    sequence : int
        1-based position in the log.
    patient_id : str
        Who was allocated.
    arm : str
        The arm allocated.
    method : {"permuted_blocks", "minimisation"}
        The randomisation method.
    factors : mapping of str to str
        The patient's stratification / minimisation factor levels.
    details : mapping
        Method-specific audit data: stratum, block number/size/position (blocks); per-arm
        imbalance scores, preferred arm, random draw and whether the cap forced the arm
        (minimisation).
    eligibility_confirmed_by : str
        Who registered the patient as eligible.
    seed_fingerprint : str
        ``sha256`` of the secret seed (identifies the list without revealing it).
    timestamp : str
        UTC time of the allocation (ISO 8601).
    prev_hash : str
        ``hash`` of the previous record (64 zeros for the first).
    hash : str, default ""
        sha256 of this record's canonical JSON payload (:meth:`compute_hash`); empty only
        while the record is being built.
    """

    sequence: int
    patient_id: str
    arm: str
    method: str
    factors: Mapping[str, str]
    details: Mapping[str, Any]
    eligibility_confirmed_by: str
    seed_fingerprint: str
    timestamp: str
    prev_hash: str
    hash: str = ""

    def payload(self) -> dict[str, Any]:
        """The hashed content (everything but ``hash``).

        Returns
        -------
        dict
            Every field except ``hash``, mappings as plain dicts.
        """
        out = dataclasses.asdict(self)
        out.pop("hash")
        out["factors"] = dict(self.factors)
        out["details"] = dict(self.details)
        return out

    def compute_hash(self) -> str:
        """sha256 of the canonical JSON payload.

        Returns
        -------
        str
            Hex digest of :meth:`payload` as sorted, compact JSON.
        """
        text = json.dumps(self.payload(), sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form.

        Returns
        -------
        dict
            :meth:`payload` plus ``hash``.
        """
        return {**self.payload(), "hash": self.hash}


@runtime_checkable
class AllocationStore(Protocol):
    """Where allocations live. Implementations must be append-only.

    The registry database implements it with an append-only table;
    :class:`InMemoryAllocationStore` is the reference implementation.
    """

    def append(self, record: AllocationRecord) -> None:
        """Add ``record`` at the end; reject anything that breaks the chain.

        Parameters
        ----------
        record : AllocationRecord
            The next record; implementations check it with :func:`check_next`.
        """

    def records(self) -> Sequence[AllocationRecord]:
        """All records in log order (an immutable view).

        Returns
        -------
        sequence of AllocationRecord
            The records, first allocation first.
        """
        ...


class InMemoryAllocationStore:
    """Append-only allocation log held in memory (the reference implementation).

    There is no method to change or delete a record; :meth:`records` returns a tuple of
    frozen records; :meth:`append` checks the sequence number and the hash chain.
    """

    def __init__(self) -> None:
        self._log: list[AllocationRecord] = []

    def append(self, record: AllocationRecord) -> None:
        """Append ``record`` after checking sequence, chain, hash and uniqueness.

        Parameters
        ----------
        record : AllocationRecord
            The next record of the log.

        Raises
        ------
        DesignError
            When the record does not follow the log (see :func:`check_next`).
        """
        check_next(self._log, record)
        self._log.append(record)

    def records(self) -> tuple[AllocationRecord, ...]:
        """Immutable snapshot of the log.

        Returns
        -------
        tuple of AllocationRecord
            The records in log order.
        """
        return tuple(self._log)

    def __len__(self) -> int:
        return len(self._log)


def check_next(log: Sequence[AllocationRecord], record: AllocationRecord) -> None:
    """Raise unless ``record`` may follow ``log`` (for store implementations).

    Parameters
    ----------
    log : sequence of AllocationRecord
        The records already stored, in order.
    record : AllocationRecord
        The candidate next record.

    Raises
    ------
    DesignError
        When the sequence number is not the next one, the hash chain or the record's own
        hash is broken, or the patient is already in the log.
    """
    prev = log[-1].hash if log else GENESIS
    if record.sequence != len(log) + 1:
        raise DesignError(f"Allocation sequence {record.sequence} does not follow {len(log)}.",
                          hint="The allocation log is append-only.")
    if record.prev_hash != prev or record.hash != record.compute_hash():
        raise DesignError("Allocation record breaks the hash chain.",
                          hint="Records cannot be altered or inserted out of order.")
    if any(r.patient_id == record.patient_id for r in log):
        raise DesignError(f"Patient {record.patient_id!r} is already randomised.")


def verify_chain(records: Sequence[AllocationRecord]) -> bool:
    """True when sequence numbers and the hash chain are intact.

    Parameters
    ----------
    records : sequence of AllocationRecord
        A whole allocation log, in order.

    Returns
    -------
    bool
        False when any record was edited, deleted, inserted or reordered.
    """
    prev = GENESIS
    for i, rec in enumerate(records, start=1):
        if rec.sequence != i or rec.prev_hash != prev or rec.hash != rec.compute_hash():
            return False
        prev = rec.hash
    return True


def _fingerprint(seed: str) -> str:
    return hashlib.sha256(f"hsctms-randomisation:{seed}".encode()).hexdigest()


def _rng(seed: str, *parts: str) -> np.random.Generator:
    digest = hashlib.sha256("\x1f".join((seed, *parts)).encode("utf-8")).digest()
    return np.random.default_rng(int.from_bytes(digest[:16], "big"))


def _utcnow() -> str:
    """The current UTC time.

    Returns
    -------
    str
        ISO 8601 timestamp with microseconds and the UTC offset.
    """
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="microseconds")


@dataclass
class Randomiser:
    """Common machinery: eligibility gate, audit record, hash chain.

    Use :class:`PermutedBlockRandomiser` or :class:`MinimisationRandomiser`.

    Parameters
    ----------
    arms : sequence of str
        Arm labels, at least two and distinct, e.g. ``("aHSCT", "alemtuzumab")``.
    seed : str
        The statistician's secret (non-empty; kept out of the log and the repr).
    store : AllocationStore, optional
        Allocation log (default: a new :class:`InMemoryAllocationStore`).
    clock : callable, optional
        Returns the ISO 8601 timestamp of an allocation (default: the current UTC time;
        injectable for tests and :func:`replay`).

    Raises
    ------
    DesignError
        When fewer than two distinct arms or an empty seed are given.
    """

    arms: Sequence[str]
    seed: str = field(repr=False)
    store: AllocationStore = field(default_factory=InMemoryAllocationStore)
    clock: Callable[[], str] = _utcnow
    method: str = field(init=False, default="")

    def __post_init__(self) -> None:
        if len(self.arms) < 2 or len(set(self.arms)) != len(self.arms):
            raise DesignError("Give at least two distinct arm labels.")
        if not str(self.seed):
            raise DesignError("A non-empty secret seed is required.",
                              hint="The statistician generates and keeps it; it is never logged.")
        self.seed = str(self.seed)

    @property
    def seed_fingerprint(self) -> str:
        """sha256 fingerprint of the seed (safe to show)."""
        return _fingerprint(self.seed)

    def _choose(self, factors: Mapping[str, str], log: Sequence[AllocationRecord]
                ) -> tuple[str, dict[str, Any]]:
        raise NotImplementedError

    def allocate(self, patient_id: str, factors: Mapping[str, str], *, eligible: bool,
                 confirmed_by: str) -> AllocationRecord:
        """Randomise one eligible patient and append the allocation to the log.

        Parameters
        ----------
        patient_id : str
            The patient's identifier (randomised at most once).
        factors : mapping of str to str
            The patient's stratification or minimisation factor levels (every factor of
            the randomiser must be present).
        eligible : bool
            Whether eligibility has been registered; False is refused.
        confirmed_by : str
            Who confirmed eligibility (non-empty; recorded in the log).

        Returns
        -------
        AllocationRecord
            The appended record, with the arm and the audit details.

        Raises
        ------
        PermissionDeniedError
            The patient is not registered as eligible (allocation stays concealed).
        DesignError
            Already randomised, or factor levels missing.
        """
        if not eligible or not confirmed_by:
            raise PermissionDeniedError(
                f"Patient {patient_id!r} is not registered as eligible; the allocation stays "
                "concealed.", hint="Register eligibility (with who confirmed it) first.")
        log = self.store.records()
        if any(r.patient_id == patient_id for r in log):
            raise DesignError(f"Patient {patient_id!r} is already randomised.",
                              hint="Look up the existing allocation instead.")
        arm, details = self._choose(factors, log)
        rec = AllocationRecord(
            sequence=len(log) + 1, patient_id=str(patient_id), arm=arm, method=self.method,
            factors={k: str(v) for k, v in factors.items()}, details=details,
            eligibility_confirmed_by=confirmed_by, seed_fingerprint=self.seed_fingerprint,
            timestamp=self.clock(), prev_hash=log[-1].hash if log else GENESIS)
        rec = dataclasses.replace(rec, hash=rec.compute_hash())
        self.store.append(rec)
        return rec


@dataclass
class PermutedBlockRandomiser(Randomiser):
    """Stratified permuted blocks with randomly chosen block sizes.

    Parameters
    ----------
    arms : sequence of str
        Arm labels, at least two and distinct, e.g. ``("aHSCT", "alemtuzumab")``.
    seed : str
        The statistician's secret (non-empty; kept out of the log and the repr).
    store : AllocationStore, optional
        Allocation log (default: a new :class:`InMemoryAllocationStore`).
    clock : callable, optional
        Returns the ISO 8601 timestamp of an allocation (default: the current UTC time;
        injectable for tests and :func:`replay`).
    strata : sequence of str, default ()
        Factor names that define the strata (e.g. ``("centre", "edss_band")``); none means
        one stratum.
    ratio : sequence of int, default (1, 1)
        Allocation ratio per arm (positive integers, one per arm), e.g. ``(2, 1)``.
    block_multiples : sequence of int, default (1, 2, 3)
        Block sizes are ``m * sum(ratio)`` for ``m`` drawn uniformly from these (positive
        integers).

    Raises
    ------
    DesignError
        When ``ratio`` or ``block_multiples`` is invalid (or as :class:`Randomiser`).
    """

    strata: Sequence[str] = ()
    ratio: Sequence[int] = (1, 1)
    block_multiples: Sequence[int] = (1, 2, 3)

    def __post_init__(self) -> None:
        super().__post_init__()
        self.method = "permuted_blocks"
        if len(self.ratio) != len(self.arms) or any(int(r) < 1 for r in self.ratio):
            raise DesignError("ratio needs one positive integer per arm.")
        if not self.block_multiples or any(int(m) < 1 for m in self.block_multiples):
            raise DesignError("block_multiples must be positive integers.")

    @property
    def max_block(self) -> int:
        """Largest block size."""
        return max(self.block_multiples) * sum(self.ratio)

    def stratum_of(self, factors: Mapping[str, str]) -> str:
        """Stratum label of a patient.

        Parameters
        ----------
        factors : mapping of str to str
            The patient's factor levels (every stratification factor present).

        Returns
        -------
        str
            ``"factor=level|..."`` in the order of ``strata``; ``"all"`` without strata.

        Raises
        ------
        DesignError
            When a stratification factor is missing.
        """
        missing = [s for s in self.strata if s not in factors]
        if missing:
            raise DesignError(f"Missing stratification factor(s): {', '.join(missing)}.")
        return "|".join(f"{s}={factors[s]}" for s in self.strata) or "all"

    def _choose(self, factors: Mapping[str, str], log: Sequence[AllocationRecord]
                ) -> tuple[str, dict[str, Any]]:
        stratum = self.stratum_of(factors)
        k = sum(1 for r in log if r.details.get("stratum") == stratum)
        rng = _rng(self.seed, "blocks", stratum)
        base = [a for a, r in zip(self.arms, self.ratio, strict=True) for _ in range(int(r))]
        start, block_no = 0, 0
        while True:
            block_no += 1
            m = int(rng.choice(np.asarray(self.block_multiples)))
            block = list(np.asarray(base * m)[rng.permutation(len(base) * m)])
            if k < start + len(block):
                pos = k - start
                return str(block[pos]), {"stratum": stratum, "block_number": block_no,
                                         "block_size": len(block), "position_in_block": pos + 1}
            start += len(block)


@dataclass
class MinimisationRandomiser(Randomiser):
    """Pocock-Simon minimisation with a random element (equal allocation).

    Parameters
    ----------
    arms : sequence of str
        Arm labels, at least two and distinct, e.g. ``("aHSCT", "alemtuzumab")``.
    seed : str
        The statistician's secret (non-empty; kept out of the log and the repr).
    store : AllocationStore, optional
        Allocation log (default: a new :class:`InMemoryAllocationStore`).
    clock : callable, optional
        Returns the ISO 8601 timestamp of an allocation (default: the current UTC time;
        injectable for tests and :func:`replay`).
    factors : sequence of str
        Minimisation factor names (at least one; e.g. ``("centre", "edss_band",
        "prior_dmt")``).
    weights : sequence of float, optional
        Weight per factor (default 1 each).
    imbalance : {"range", "variance"}, default "range"
        ``"range"`` (max - min of arm counts at the patient's level) or ``"variance"``
        (their sample variance).
    p_best : float, default 0.8
        Probability, in ``[1/len(arms), 1]``, of assigning the arm with the smallest total
        imbalance (ties broken at random); otherwise one of the other arms at random.
    max_imbalance : int, optional
        Cap (>= 1) on the overall imbalance ``max - min`` of arm totals; an allocation that
        would exceed it goes to the smallest arm.

    Raises
    ------
    DesignError
        When the factors, weights, imbalance, ``p_best`` or cap are invalid (or as
        :class:`Randomiser`).
    """

    factors: Sequence[str] = ()
    weights: Sequence[float] | None = None
    imbalance: str = "range"
    p_best: float = 0.8
    max_imbalance: int | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        self.method = "minimisation"
        if not self.factors:
            raise DesignError("Minimisation needs at least one factor.")
        if self.weights is not None and len(self.weights) != len(self.factors):
            raise DesignError("Give one weight per factor.")
        if self.imbalance not in ("range", "variance"):
            raise DesignError("imbalance must be 'range' or 'variance'.")
        if not 1 / len(self.arms) <= self.p_best <= 1:
            raise DesignError(f"p_best must lie in [1/arms, 1], got {self.p_best!r}.")
        if self.max_imbalance is not None and self.max_imbalance < 1:
            raise DesignError("max_imbalance must be >= 1.")

    def _choose(self, factors: Mapping[str, str], log: Sequence[AllocationRecord]
                ) -> tuple[str, dict[str, Any]]:
        missing = [f for f in self.factors if f not in factors]
        if missing:
            raise DesignError(f"Missing minimisation factor(s): {', '.join(missing)}.")
        arms = list(self.arms)
        weights = list(self.weights) if self.weights is not None else [1.0] * len(self.factors)
        counts = {f: {a: 0 for a in arms} for f in self.factors}
        totals = {a: 0 for a in arms}
        for r in log:
            totals[r.arm] += 1
            for f in self.factors:
                if r.factors.get(f) == str(factors[f]):
                    counts[f][r.arm] += 1
        scores = {}
        for a in arms:
            g = 0.0
            for f, w in zip(self.factors, weights, strict=True):
                c = np.array([counts[f][b] + (b == a) for b in arms], dtype=float)
                g += w * (float(c.max() - c.min()) if self.imbalance == "range"
                          else float(c.var(ddof=1)))
            scores[a] = g
        rng = _rng(self.seed, "minimisation", str(len(log) + 1))
        best = min(scores.values())
        tied = [a for a in arms if scores[a] == best]
        preferred = tied[int(rng.integers(len(tied)))]
        draw = float(rng.random())
        others = [a for a in arms if a != preferred]
        arm = preferred if draw < self.p_best else others[int(rng.integers(len(others)))]
        forced = False
        if self.max_imbalance is not None:
            after = dict(totals)
            after[arm] += 1
            if max(after.values()) - min(after.values()) > self.max_imbalance:
                arm = min(arms, key=lambda a: (totals[a], arms.index(a)))
                forced = True
        return arm, {"scores": scores, "preferred": preferred, "tied": len(tied) > 1,
                     "draw": draw, "p_best": self.p_best, "forced": forced,
                     "level_counts": counts}


def replay(randomiser_factory: Callable[[AllocationStore], Randomiser],
           records: Sequence[AllocationRecord]) -> bool:
    """Re-derive every allocation of ``records`` from the seed (statistician's audit).

    Parameters
    ----------
    randomiser_factory : callable
        ``randomiser_factory(store)`` builds a randomiser with the same settings and seed
        on the given empty store.
    records : sequence of AllocationRecord
        The allocation log to check, in order.

    Returns
    -------
    bool
        True when the chain is intact and every arm and hash is reproduced.
    """
    if not verify_chain(records):
        return False
    store = InMemoryAllocationStore()
    rnd = randomiser_factory(store)
    for rec in records:
        rnd.clock = lambda rec=rec: rec.timestamp  # type: ignore[misc]
        again = rnd.allocate(rec.patient_id, rec.factors, eligible=True,
                             confirmed_by=rec.eligibility_confirmed_by)
        if again.arm != rec.arm or again.hash != rec.hash:
            return False
    return True


def imbalance_history(records: Sequence[AllocationRecord], arms: Sequence[str],
                      key: Callable[[AllocationRecord], str]) -> dict[str, list[int]]:
    """Running ``n(arm0) - n(arm1)`` within each group defined by ``key`` (two arms).

    Parameters
    ----------
    records : sequence of AllocationRecord
        The allocation log, in order.
    arms : sequence of str
        The two arms; ``arms[0]`` counts +1, any other arm -1.
    key : callable
        Maps a record to its group label (e.g. its stratum or a factor level).

    Returns
    -------
    dict of str to list of int
        Per group, the imbalance after each of its allocations.
    """
    running: dict[str, int] = {}
    hist: dict[str, list[int]] = {}
    for r in records:
        g = key(r)
        running[g] = running.get(g, 0) + (1 if r.arm == arms[0] else -1)
        hist.setdefault(g, []).append(running[g])
    return hist
