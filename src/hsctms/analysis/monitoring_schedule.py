"""The registry monitoring schedule as data: follow-up interval, outcome curves, completeness,
alert thresholds and the centre comparison, each value with its unit and source.

The bundled schedule is ``hsctms/analysis/data/monitoring.yaml``; :func:`load_schedule` reads
it (or any file of the same shape) and validates it strictly: every section and key must be
known and present, every value is a mapping ``{value, unit, source, unverified}`` with the
right type and range, and the alert window must contain its target day. Any problem is a
:class:`~hsctms.errors.ConfigurationError` naming the file and the dotted key (e.g.
``monitoring.yaml: alerts.lymphocytes_low_12m.below.value``).

``unverified: true`` marks a value that does not come from a cited source; captions and the
summary of :func:`hsctms.analysis.monitoring.monitor` show such values as *(unverified)*.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise
from pathlib import Path
from typing import Any

import yaml

from hsctms._files import FileRefused, read_regular_file, safe_load_yaml
from hsctms.errors import ConfigurationError

DEFAULT_SCHEDULE = Path(__file__).with_name("data") / "monitoring.yaml"

_SETTING_KEYS = ("value", "unit", "source", "unverified")
_CONF_TYPES = ("log-log", "log", "plain")
_COVARIATES = ("age", "baseline_edss", "progressive", "disease_duration")


def _int_ge(low: int) -> Callable[[Any], str | None]:
    def check(v: Any) -> str | None:
        ok = isinstance(v, int) and not isinstance(v, bool) and v >= low
        return None if ok else f"must be a whole number >= {low}"
    return check


def _positive_number(v: Any) -> str | None:
    ok = isinstance(v, int | float) and not isinstance(v, bool) and v > 0
    return None if ok else "must be a number > 0"


def _probability(v: Any) -> str | None:
    ok = isinstance(v, int | float) and not isinstance(v, bool) and 0 < v < 1
    return None if ok else "must be a number strictly between 0 and 1"


def _text(v: Any) -> str | None:
    return None if isinstance(v, str) and v.strip() else "must be a non-empty string"


def _one_of(options: tuple[str, ...]) -> Callable[[Any], str | None]:
    def check(v: Any) -> str | None:
        return None if v in options else f"must be one of {', '.join(options)}"
    return check


def _definition(v: Any) -> str | None:
    from hsctms.endpoints import PRESETS

    return None if v in PRESETS else f"must be an endpoint preset ({', '.join(PRESETS)})"


def _list_of(item: Callable[[Any], str | None], *, length: int | None = None,
             increasing: bool = True) -> Callable[[Any], str | None]:
    def check(v: Any) -> str | None:
        if not isinstance(v, list) or not v or (length is not None and len(v) != length):
            return f"must be a list of {length or 'one or more'} values"
        for x in v:
            bad = item(x)
            if bad:
                return f"every item {bad} (got {x!r})"
        if increasing and any(b <= a for a, b in pairwise(v)):
            return "must be strictly increasing"
        return None
    return check


def _covariates(v: Any) -> str | None:
    if not isinstance(v, list) or len(set(map(str, v))) != len(v):
        return "must be a list of distinct covariate names"
    bad = [x for x in v if x not in _COVARIATES]
    return f"unknown covariates {bad} (known: {', '.join(_COVARIATES)})" if bad else None


#: section -> key -> validator of ``value``; alert sections also have a ``label``.
SCHEMA: dict[str, dict[str, Callable[[Any], str | None]]] = {
    "followup": {"edss_interval_days": _int_ge(1), "grace_days": _int_ge(0)},
    "outcomes": {"definition": _definition, "level": _probability,
                 "conf_type": _one_of(_CONF_TYPES),
                 "years": _list_of(_positive_number)},
    "completeness": {"method": _one_of(("clark_c",))},
    "alerts.lymphocytes_low_12m": {"test": _text, "below": _positive_number,
                                   "target_day": _int_ge(0),
                                   "window_days": _list_of(_int_ge(0), length=2)},
    "alerts.relapse_after_hsct": {"after_day": _int_ge(0)},
    "alerts.mri_activity_after_hsct": {"min_new_t2": _int_ge(1), "min_gd": _int_ge(1)},
    "funnel": {"outcome": _text, "covariates": _covariates,
               "limits": _list_of(_probability)},
}
#: Alert kinds, in display order (keys of the dashboard's ``alert_counts``).
ALERT_KINDS: tuple[str, ...] = ("lymphocytes_low_12m", "relapse_after_hsct",
                                "mri_activity_after_hsct")


@dataclass(frozen=True)
class Setting:
    """One value of the schedule with its unit and source.

    ``unverified`` is True when the value is not taken from a cited source.
    """

    key: str
    value: Any
    unit: str
    source: str
    unverified: bool

    @property
    def text(self) -> str:
        """``"1.0 10^9/L (unverified)"``: value, unit and flag."""
        return f"{self.value} {self.unit}" + (" (unverified)" if self.unverified else "")

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        return {"value": self.value, "unit": self.unit, "source": self.source,
                "unverified": self.unverified}


@dataclass(frozen=True)
class MonitoringSchedule:
    """A validated monitoring schedule (see :func:`load_schedule`)."""

    id: str
    name: str
    version: int
    settings: Mapping[str, Setting]
    labels: Mapping[str, str]
    path: str = ""

    def __getitem__(self, key: str) -> Any:
        """The value of the dotted ``key`` (e.g. ``"followup.grace_days"``)."""
        return self.settings[key].value

    @property
    def overdue_days(self) -> int:
        """Days without an EDSS visit after which a patient is overdue (interval + grace)."""
        return int(self["followup.edss_interval_days"]) + int(self["followup.grace_days"])

    @property
    def unverified(self) -> list[str]:
        """Dotted keys of the values not taken from a cited source."""
        return [k for k, s in self.settings.items() if s.unverified]

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form (every value with unit, source and flag)."""
        return {"id": self.id, "name": self.name, "version": self.version,
                "labels": dict(self.labels),
                "settings": {k: s.to_dict() for k, s in self.settings.items()}}


def _fail(where: str, message: str, hint: str | None = None) -> ConfigurationError:
    return ConfigurationError(f"{where}: {message}.",
                              hint=hint or "Compare with the bundled hsctms/analysis/data/"
                              "monitoring.yaml (docs/monitoring.md).")


def _mapping(raw: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(raw, Mapping):
        raise _fail(where, f"must be a mapping, got {type(raw).__name__}")
    return raw


def _exact_keys(raw: Mapping[str, Any], expected: set[str], where: str) -> None:
    missing = sorted(expected - set(raw))
    unknown = sorted(set(map(str, raw)) - expected)
    if missing:
        raise _fail(where, f"missing key(s) {', '.join(missing)}")
    if unknown:
        raise _fail(where, f"unknown key(s) {', '.join(unknown)}")


def _setting(raw: Any, key: str, check: Callable[[Any], str | None], name: str) -> Setting:
    where = f"{name}: {key}"
    node = _mapping(raw, where)
    _exact_keys(node, set(_SETTING_KEYS), where)
    for field_name in ("unit", "source"):
        if _text(node[field_name]):
            raise _fail(f"{where}.{field_name}", "must be a non-empty string")
    if not isinstance(node["unverified"], bool):
        raise _fail(f"{where}.unverified", "must be true or false")
    bad = check(node["value"])
    if bad:
        raise _fail(f"{where}.value", f"{bad} (got {node['value']!r})")
    return Setting(key, node["value"], str(node["unit"]).strip(), " ".join(
        str(node["source"]).split()), bool(node["unverified"]))


def _section(raw: Mapping[str, Any], section: str, name: str) -> Any:
    node: Any = raw
    for i, part in enumerate(section.split(".")):
        node = _mapping(node, f"{name}: {'.'.join(section.split('.')[:i]) or 'top level'}")
        if part not in node:
            raise _fail(f"{name}: {section}", "missing section")
        node = node[part]
    return _mapping(node, f"{name}: {section}")


def _cross_checks(settings: Mapping[str, Setting], name: str) -> None:
    lo, hi = settings["alerts.lymphocytes_low_12m.window_days"].value
    target = settings["alerts.lymphocytes_low_12m.target_day"].value
    if not lo <= target <= hi:
        raise _fail(f"{name}: alerts.lymphocytes_low_12m.target_day.value",
                    f"{target} is outside window_days [{lo}, {hi}]")


def parse_schedule(raw: Any, *, name: str = "monitoring.yaml") -> MonitoringSchedule:
    """Validate a parsed schedule document (see the module docstring).

    Parameters
    ----------
    raw
        The parsed YAML document.
    name
        File name used in error messages.

    Returns
    -------
    MonitoringSchedule
    """
    top = _mapping(raw, f"{name}: top level")
    _exact_keys(top, {"id", "name", "version", "followup", "outcomes", "completeness",
                      "alerts", "funnel"}, f"{name}: top level")
    for key in ("id", "name"):
        if _text(top[key]):
            raise _fail(f"{name}: {key}", "must be a non-empty string")
    if top["version"] != 1:
        raise _fail(f"{name}: version", f"must be 1, got {top['version']!r}")
    _exact_keys(_mapping(top["alerts"], f"{name}: alerts"), set(ALERT_KINDS), f"{name}: alerts")
    settings: dict[str, Setting] = {}
    labels: dict[str, str] = {}
    for section, fields in SCHEMA.items():
        node = _section(top, section, name)
        is_alert = section.startswith("alerts.")
        _exact_keys(node, set(fields) | ({"label"} if is_alert else set()),
                    f"{name}: {section}")
        if is_alert:
            if _text(node["label"]):
                raise _fail(f"{name}: {section}.label", "must be a non-empty string")
            labels[section.split(".", 1)[1]] = str(node["label"]).strip()
        for key, check in fields.items():
            dotted = f"{section}.{key}"
            settings[dotted] = _setting(node[key], dotted, check, name)
    _cross_checks(settings, name)
    return MonitoringSchedule(str(top["id"]), str(top["name"]), 1, settings, labels)


def load_schedule(path: str | Path | None = None) -> MonitoringSchedule:
    """Read and validate a monitoring schedule (default: the bundled one).

    Parameters
    ----------
    path
        A YAML file of the shape of ``hsctms/analysis/data/monitoring.yaml``; ``None`` for the
        bundled schedule (cached).

    Returns
    -------
    MonitoringSchedule

    Raises
    ------
    ConfigurationError
        The file is missing, is not YAML, or breaks the schema (the message names the key).
    """
    if path is None:
        return _default()
    return _load(Path(path))


@lru_cache(maxsize=1)
def _default() -> MonitoringSchedule:
    return _load(DEFAULT_SCHEDULE)


def _load(path: Path) -> MonitoringSchedule:
    try:
        text = read_regular_file(path).decode("utf-8")
    except (OSError, UnicodeDecodeError, FileRefused) as exc:
        raise ConfigurationError(f"Cannot read the monitoring schedule {path}: {exc}.",
                                 hint="Give an existing UTF-8 YAML file.") from None
    try:
        raw = safe_load_yaml(text)
    except yaml.YAMLError as exc:
        raise ConfigurationError(f"{path.name}: not valid YAML ({exc}).",
                                 hint="Check the indentation and quoting.") from None
    schedule = parse_schedule(raw, name=path.name)
    return MonitoringSchedule(schedule.id, schedule.name, schedule.version, schedule.settings,
                              schedule.labels, str(path))
