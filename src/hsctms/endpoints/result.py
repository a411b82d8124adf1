"""The :class:`EndpointResult` returned by :func:`hsctms.endpoints.derive`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from hsctms._provenance import Provenance
from hsctms.endpoints.change import increases
from hsctms.endpoints.definition import EndpointDefinition
from hsctms.endpoints.milestone import milestone_label, milestone_name

#: Endpoints always present in :meth:`EndpointResult.to_frame` (``neda4_loss`` is added when
#: brain volume is available).
ENDPOINTS: tuple[str, ...] = (
    "worsening",
    "improvement",
    "relapse",
    "mri_activity",
    "neda3_loss",
    "efs",
    "death",
)

LABELS: dict[str, str] = {
    "worsening": "Confirmed disability worsening",
    "improvement": "Confirmed disability improvement",
    "relapse": "First relapse",
    "mri_activity": "First MRI activity",
    "neda3_loss": "Loss of NEDA-3",
    "neda4_loss": "Loss of NEDA-4",
    "efs": "Event (EFS failure)",
    "death": "Death",
    "pira": "First PIRA",
    "raw": "First RAW",
}

_OPTIONAL: tuple[str, ...] = ("neda4_loss", "pira", "raw")


@dataclass(frozen=True)
class EndpointResult:
    """Derived endpoints of a cohort.

    Parameters
    ----------
    frame
        One row per included patient (see :meth:`to_frame`).
    events
        One row per confirmed worsening / improvement event (first ones, or all of them with
        ``definition.events == "all"``).
    excluded
        Patients not derived, with the reason (``patient_id``, ``reason``).
    definition
        The :class:`EndpointDefinition` used.
    provenance
        Method, definition, n, synthetic flag, data date, versions.
    has_brain_volume
        Whether the MRI table carried brain volume, so that ``neda4_loss`` could be derived
        (default False).
    dropped
        Input rows not used because of the definition (``exclude_before``): ``table``,
        ``row`` (line in ``frame.to_csv(index=False)``, first row = 2), ``patient_id``,
        ``date``, ``reason``. Empty otherwise.
    """

    frame: pd.DataFrame
    events: pd.DataFrame
    excluded: pd.DataFrame
    definition: EndpointDefinition
    provenance: Provenance
    has_brain_volume: bool = False
    dropped: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(
        columns=["table", "row", "patient_id", "date", "reason"]))

    @property
    def endpoints(self) -> tuple[str, ...]:
        """Endpoint names present in the frame."""
        extra = tuple(e for e in _OPTIONAL if f"{e}_event" in self.frame.columns)
        miles = tuple(n for n in map(milestone_name, self.definition.milestones)
                      if f"{n}_event" in self.frame.columns)
        return (*ENDPOINTS, *extra, *miles)

    def label(self, endpoint: str) -> str:
        """Display label of ``endpoint`` (one of :attr:`endpoints`).

        Parameters
        ----------
        endpoint
            An endpoint name, e.g. ``"worsening"`` or ``"milestone_6_0"``.

        Returns
        -------
        str
            The label used in tables and plots (e.g. ``"Confirmed disability worsening"``).

        Raises
        ------
        KeyError
            ``endpoint`` is not a known endpoint name.
        """
        for m in self.definition.milestones:
            if milestone_name(m) == endpoint:
                return milestone_label(m, increase=increases(self.definition))
        return LABELS[endpoint]

    @property
    def n(self) -> int:
        """Number of included patients."""
        return len(self.frame)

    def to_frame(self) -> pd.DataFrame:
        """One row per patient: ``patient_id``, ``origin_date``, ``baseline_edss``,
        ``baseline_date``, ``followup_days`` and ``<endpoint>_time`` (days from origin, float)
        and ``<endpoint>_event`` (0/1) for every endpoint.

        Returns
        -------
        pandas.DataFrame
            A copy of :attr:`frame`, one row per included patient.
        """
        return self.frame.copy()

    def counts(self) -> dict[str, int]:
        """Number of patients with an event, per endpoint.

        Returns
        -------
        dict of str to int
            Endpoint name (in the order of :attr:`endpoints`) to the number of patients whose
            ``<endpoint>_event`` is 1.
        """
        return {e: int(self.frame[f"{e}_event"].sum()) for e in self.endpoints}

    def summary_table(self) -> pd.DataFrame:
        """One row per endpoint: label, patients with event, share, and median time to event
        among those with one (days) - ready for a report table.

        Returns
        -------
        pandas.DataFrame
            Columns ``endpoint``, ``label``, ``events``, ``n``, ``share`` (proportion 0-1, NaN
            without patients) and ``median_days_to_event`` (NaN without events).
        """
        rows = []
        for e in self.endpoints:
            ev = self.frame[f"{e}_event"] == 1
            times = self.frame.loc[ev, f"{e}_time"]
            rows.append({
                "endpoint": e,
                "label": self.label(e),
                "events": int(ev.sum()),
                "n": self.n,
                "share": float(ev.mean()) if self.n else float("nan"),
                "median_days_to_event": float(times.median()) if len(times) else float("nan"),
            })
        return pd.DataFrame(rows)

    def class_counts(self) -> dict[str, int]:
        """Worsening events in the events table by class (PIRA / RAW / undetermined).

        Returns
        -------
        dict of str to int
            ``"PIRA"``, ``"RAW"`` and ``"undetermined"`` to the number of worsening events
            (events, not patients: with ``events="all"`` a patient may count several times).
        """
        w = self.events[self.events["event_type"] == "worsening"]
        return {k: int((w["class"] == k).sum()) for k in ("PIRA", "RAW", "undetermined")}

    @property
    def summary(self) -> str:
        """Human-readable summary."""
        n = self.n
        fu = self.frame["followup_days"]
        lines = [
            f"Endpoints derived with definition {self.definition.name!r} for {n} patients"
            + (" (SYNTHETIC data)" if self.provenance.synthetic else "")
            + (f"; {len(self.excluded)} excluded" if len(self.excluded) else "") + ".",
            f"Median follow-up {float(np.median(fu)) / 365.25:.1f} years." if n else "",
        ]
        for e, k in self.counts().items():
            share = f" ({100.0 * k / n:.1f}%)" if n else ""
            lines.append(f"  {self.label(e)}: {k}{share}")
        cc = self.class_counts()
        lines.append(f"  Worsening events by class: PIRA {cc['PIRA']}, RAW {cc['RAW']}, "
                     f"undetermined {cc['undetermined']}.")
        if len(self.excluded):
            reasons = self.excluded["reason"].value_counts()
            for reason, k in reasons.items():
                lines.append(f"  Excluded ({k}): {reason}")
        if len(self.dropped):
            for reason, k in self.dropped["reason"].value_counts().items():
                lines.append(f"  Rows not used ({k}): {reason}")
        return "\n".join(line for line in lines if line)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable summary (definition, counts, exclusions, provenance).

        Returns
        -------
        dict of str to Any
            ``definition``, ``methods`` (:meth:`EndpointDefinition.describe`), ``n``,
            ``endpoints``, ``events`` (:meth:`counts`), ``worsening_classes``,
            ``median_followup_days``, ``excluded`` records, ``dropped_rows`` and
            ``provenance``; the per-patient frame is not included.
        """
        return {
            "definition": self.definition.to_dict(),
            "methods": self.definition.describe(),
            "n": self.n,
            "endpoints": list(self.endpoints),
            "events": self.counts(),
            "worsening_classes": self.class_counts(),
            "median_followup_days": float(np.median(self.frame["followup_days"]))
            if self.n else None,
            "excluded": self.excluded.to_dict(orient="records"),
            "dropped_rows": len(self.dropped),
            "provenance": self.provenance.to_dict(),
        }

    def plot(self, ax: Any = None) -> Any:
        """Horizontal bar chart: share of patients with each event (Okabe-Ito colours).

        Parameters
        ----------
        ax
            A matplotlib Axes to draw on; None (default) creates a new figure.

        Returns
        -------
        matplotlib.axes.Axes
            The Axes drawn on (percent of patients, 0-100, per endpoint).
        """
        from hsctms.plots._style import PALETTE, new_axes

        ax = new_axes(ax, figsize=(6.0, 3.2))
        counts = self.counts()
        names = list(counts)
        share = [100.0 * counts[e] / self.n if self.n else 0.0 for e in names]
        ax.barh([self.label(e) for e in names], share, color=PALETTE[1 % len(PALETTE)])
        ax.invert_yaxis()
        ax.set_xlabel("Patients with event (%)")
        ax.set_xlim(0, 100)
        ax.set_title(f"Endpoints ({self.definition.name}, n={self.n})")
        return ax

    def __repr__(self) -> str:
        return (f"<EndpointResult definition={self.definition.name!r} n={self.n} "
                f"events={len(self.events)}>")
