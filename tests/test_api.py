"""The public API's calling convention: keyword-only arguments beyond the first ones, and
no more than :data:`MAX_PARAMETERS` parameters.

Every function exported in a public module's ``__all__`` (outside ``cli`` and ``web``, the
thin layers) takes at most two positional arguments; the remaining parameters are
keyword-only, so a call reads ``pool_proportions(events, n, measure="PFT")`` and adding a
parameter never shifts a caller's meaning. A few functions take more *data* arguments, listed
in :data:`DATA_ARGUMENTS` with the reason; that list is exact (a stale entry fails).

A function with more than eight parameters groups the rest into small option objects (e.g.
``survival_design(hr, n=..., power=..., testing=Testing(...), model=EventModel(...))``).
The exceptions are listed in :data:`MANY_PARAMETERS`, each with its reason; that list is
exact too (an entry that is no longer public or no longer above the limit fails).
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Callable
from typing import Any

import hsctms

#: Functions allowed more than two positional arguments: their leading data arguments.
DATA_ARGUMENTS: dict[str, tuple[str, ...]] = {
    # (endpoint table, EDSS visits, years): the three inputs of the change table
    "hsctms.analysis.edss_change.edss_at_years": ("endpoints", "edss", "years"),
    "hsctms.datasets.course.simulate_arm": ("n", "arm", "rng"),
    # the per-patient arrays of one simulated course
    "hsctms.datasets.course.simulate_course": ("rng", "params", "baseline_edss", "admin_end"),
    "hsctms.datasets.generate.write_demo_bundle": ("out_dir", "n_patients", "seed"),
    # the five input tables and the definition, in derive_frames' documented order
    "hsctms.endpoints.derive.derive_frames": ("edss", "relapses", "mri", "origin", "deaths",
                                              "definition"),
    "hsctms.endpoints.distributed.derive_dask": ("edss", "relapses", "mri", "origin",
                                                 "deaths", "definition"),
    # engine steps on the visit arrays: (visits, definition, origin / milestone value)
    "hsctms.endpoints.milestone.milestone_columns": ("vd", "d", "origin"),
    "hsctms.endpoints.milestone.milestone_onsets": ("vd", "d", "milestone"),
    "hsctms.endpoints.trace.trace_patient": ("data", "patient_id", "definition"),
    "hsctms.endpoints.trace.trace_patients": ("data", "patient_ids", "definition"),
    "hsctms.io.validate.check_frames": ("tables", "specs", "ctx"),
    "hsctms.io.validate.validate_record": ("table", "values", "context"),
    # metafor's escalc(measure, xi, ni) order
    "hsctms.meta.effects.escalc": ("measure", "events", "n"),
    "hsctms.meta.effects.back_transform": ("measure", "y", "n"),
    "hsctms.meta.glmm.glmm_proportions": ("events", "n", "studies"),
    "hsctms.meta.pooling.pool_proportions": ("events", "n", "studies"),
    "hsctms.meta.pooling.subgroup_analysis": ("events", "n", "studies", "groups"),
    "hsctms.meta.regression.meta_regression": ("events", "n", "moderators"),
    "hsctms.meta.regression.poisson_regression": ("events", "n", "moderators"),
    "hsctms.reports.render.render_html": ("template", "context", "meta"),
    # survival's (time, status, group) triple
    "hsctms.survival.cif.cumulative_incidence_by": ("time", "event", "groups"),
    "hsctms.survival.cox.cox_ph": ("data", "duration", "event", "covariates"),
    "hsctms.survival.gray.gray_test": ("time", "event", "groups"),
    "hsctms.survival.km.kaplan_meier_by": ("time", "event", "groups"),
    "hsctms.survival.logrank.logrank_test": ("time", "event", "groups"),
}


#: The most parameters a public function takes (option objects group the rest).
MAX_PARAMETERS = 8

#: Public functions allowed more than MAX_PARAMETERS parameters, with the reason.
MANY_PARAMETERS: dict[str, str] = {
    # derive_frames' eight parameters (the six data arguments of DATA_ARGUMENTS, patients,
    # data_date), then the Dask settings, grouped in one Partitioning object
    "hsctms.endpoints.distributed.derive_dask": "derive_frames' eight parameters plus one "
                                                "Partitioning option object",
    # not grouped yet (outside issue 21's design and meta scope): independent settings of
    # one entry point each
    "hsctms.db.importer.import_bundle": "import settings (mode, user, centre, source, "
                                        "regimen map), not grouped yet",
    "hsctms.survival.cif.cumulative_incidence_by": "(time, event, groups) plus cmprsk "
                                                   "cuminc's options, not grouped yet",
    "hsctms.survival.cox.cox_ph": "(data, duration, event, covariates) plus R coxph's "
                                  "options, not grouped yet",
}


def public_functions() -> dict[str, Callable[..., Any]]:
    """``module.qualname`` -> function, for every function in a public ``__all__``."""
    out: dict[str, Callable[..., Any]] = {}
    for info in pkgutil.walk_packages(hsctms.__path__, "hsctms."):
        parts = info.name.split(".")[1:]
        if any(p.startswith("_") for p in parts) or parts[0] in ("cli", "web") \
                or "migrations" in parts:  # Alembic scripts, run only by Alembic
            continue
        module = importlib.import_module(info.name)
        for name in getattr(module, "__all__", ()):
            obj = getattr(module, name, None)
            if inspect.isfunction(obj) and obj.__module__.startswith("hsctms."):
                out[f"{obj.__module__}.{obj.__qualname__}"] = obj
    return out


def _positional(fn: Callable[..., Any]) -> tuple[str, ...]:
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return tuple(p.name for p in inspect.signature(fn).parameters.values() if p.kind in kinds)


def test_public_functions_take_keyword_arguments_beyond_the_first_two() -> None:
    found = public_functions()
    assert len(found) > 100
    wrong = {name: _positional(fn) for name, fn in found.items()
             if len(_positional(fn)) > 2 and _positional(fn) != DATA_ARGUMENTS.get(name)}
    assert not wrong, f"make these keyword-only (or list their data arguments): {wrong}"


def test_data_argument_list_is_exact() -> None:
    found = public_functions()
    stale = sorted(set(DATA_ARGUMENTS) - set(found))
    assert not stale, f"not public functions any more: {stale}"


def _count(fn: Callable[..., Any]) -> int:
    return len(inspect.signature(fn).parameters)


def test_public_functions_take_at_most_eight_parameters() -> None:
    found = public_functions()
    wrong = {name: _count(fn) for name, fn in found.items()
             if _count(fn) > MAX_PARAMETERS and name not in MANY_PARAMETERS}
    assert not wrong, (f"more than {MAX_PARAMETERS} parameters (group them into option "
                       f"objects, or list them with the reason): {wrong}")


def test_many_parameters_list_is_exact() -> None:
    found = public_functions()
    stale = sorted(name for name in MANY_PARAMETERS
                   if name not in found or _count(found[name]) <= MAX_PARAMETERS)
    assert not stale, f"not public or not above {MAX_PARAMETERS} parameters any more: {stale}"
    assert all(reason.strip() for reason in MANY_PARAMETERS.values())
