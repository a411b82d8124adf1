"""Audit trail, dashboards and the public patient tool."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Body, Request
from fastapi.responses import HTMLResponse, Response

from hsctms.errors import PermissionDeniedError, ProfileError
from hsctms.web.access import Action, Role, check
from hsctms.web.core import PUBLIC, Ctx, PageNumber, ctx_of, render, route
from hsctms.web.dashboard_cache import Served

router = APIRouter()


# --------------------------------------------------------------------------- audit trail
def _audit(request: Request, page: int) -> dict[str, Any]:
    from hsctms.db.records import audit_entries

    ctx = ctx_of(request)
    with ctx.engine.connect() as conn:
        rows = audit_entries(conn, ctx.scope, limit=100, offset=(page - 1) * 100)
    return {"entries": rows, "page": page, "centre": ctx.scope}


@route(router, "GET", "/audit", Action.VIEW_AUDIT.value)
def audit_page(request: Request, page: PageNumber = 1) -> Response:
    """Audit trail (centre leads: own centre; administrators: all). Read-only."""
    return render(request, "audit.html.j2", title="Audit trail", **_audit(request, page),
                  dumps=lambda v: "" if v is None else json.dumps(v, default=str))


@route(router, "GET", "/api/audit", Action.VIEW_AUDIT.value)
def api_audit(request: Request, page: PageNumber = 1) -> dict[str, Any]:
    """Audit trail, newest first (100 per page)."""
    return _audit(request, page)


# ---------------------------------------------------------------------------- dashboards
def _dashboard(ctx: Ctx, centre: str | None, *, registry: bool) -> Served:
    """The cached dashboard for the user's view; rebuilt when the data version changes."""
    from hsctms.db.records import data_version
    from hsctms.web.dashboard_cache import BuildSpec

    user = ctx.principal
    if registry:
        check(user, Action.VIEW_REGISTRY_DASHBOARD)
        scope: str | None = None
        suppressed = True
        record_level = user.is_admin
    else:
        centre = centre or user.centre
        if centre is None:
            raise PermissionDeniedError("Choose a centre for the centre dashboard.",
                                        hint="Add ?centre=CODE, or open the registry "
                                        "dashboard.")
        check(user, Action.VIEW_CENTRE_DASHBOARD, centre)
        scope = centre
        suppressed = user.centre != centre
        record_level = user.is_admin or (user.centre == centre and
                                         user.role in (Role.DATA_ENTRY, Role.CENTRE_LEAD))
    with ctx.engine.connect() as conn:
        version = data_version(conn, scope)  # a save elsewhere leaves this view cached
    key = (scope, suppressed, record_level, registry)
    spec = BuildSpec(str(ctx.settings.db), scope, suppressed, record_level, registry,
                     ctx.settings.small_count)
    served: Served = ctx.request.app.state.dashboards.get(key, version, spec,
                                                           user=user.username)
    return served


def _centres(ctx: Ctx) -> list[str]:
    import sqlalchemy as sa

    from hsctms.db.tables import TABLES

    p = TABLES["patients"]
    with ctx.engine.connect() as conn:
        return [str(r[0]) for r in conn.execute(sa.select(p.c.centre).distinct()
                                                .order_by(p.c.centre))]


@route(router, "GET", "/dashboard", Action.VIEW_CENTRE_DASHBOARD.value)
def dashboard_page(request: Request, centre: str | None = None) -> Response:
    """Centre dashboard: outcomes, completeness, overdue follow-up, alerts."""
    ctx = ctx_of(request)
    if centre is None and ctx.principal.centre is None:
        from hsctms.services.registry_summary import centre_overview

        # administrators: per centre patients, last upload and entry, open data-quality
        # issues and users; analysts (aggregates only): the list of centres
        overview = centre_overview(ctx.engine) if ctx.principal.is_admin else None
        return render(request, "choose_centre.html.j2", title="Centre dashboard",
                      centres=_centres(ctx), overview=overview)
    served = _dashboard(ctx, centre, registry=False)
    d = served.dashboard
    return render(request, "dashboard.html.j2", title=f"Dashboard: {d.scope}", d=d,
                  data=d.to_dict(), registry=False, served=served)


@route(router, "GET", "/api/dashboard", Action.VIEW_CENTRE_DASHBOARD.value)
def api_dashboard(request: Request, centre: str | None = None) -> dict[str, Any]:
    """Centre dashboard as JSON (``freshness``: whether a newer build is on its way)."""
    return _dashboard(ctx_of(request), centre, registry=False).to_dict()


@route(router, "GET", "/dashboard/registry", Action.VIEW_REGISTRY_DASHBOARD.value)
def registry_page(request: Request) -> Response:
    """Registry dashboard with the risk-adjusted centre comparison (funnel plot)."""
    served = _dashboard(ctx_of(request), None, registry=True)
    d = served.dashboard
    return render(request, "dashboard.html.j2", title="Registry dashboard", d=d,
                  data=d.to_dict(), registry=True, served=served)


@route(router, "GET", "/api/dashboard/registry", Action.VIEW_REGISTRY_DASHBOARD.value)
def api_registry(request: Request) -> dict[str, Any]:
    """Registry dashboard as JSON (small counts suppressed; ``freshness`` as above)."""
    return _dashboard(ctx_of(request), None, registry=True).to_dict()


# ---------------------------------------------------------------------- patient tool
TOOL_FIELDS = ("label", "age_years", "sex", "phenotype", "edss", "years_since_onset",
               "years_since_diagnosis", "relapses_12m", "relapses_24m", "gd_lesions_12m",
               "new_t2_lesions_12m", "significant_comorbidity", "prior_ahsct", "pregnant",
               "wants_children", "planned_intensity")
#: Rows of the per-drug part of the form (drug from the catalogue + active on it?).
TOOL_DRUG_ROWS = 5


def _tool_choices() -> dict[str, Any]:
    """Choice lists of the public form: the EDSS grid and the DMT catalogue names."""
    from hsctms.model.scales import EDSS_VALUES
    from hsctms.model.vocabularies import dmt_names

    grid = [f"{v:g}" if v in (0.0, 10.0) else f"{v:.1f}" for v in EDSS_VALUES]
    return {"edss_grid": grid, "drug_names": sorted(dmt_names()),
            "drug_rows": TOOL_DRUG_ROWS}


def _flag(value: str) -> bool | None:
    return {"yes": True, "no": False}.get(value)


def _profile_from_form(form: Any) -> dict[str, Any]:
    """The profile fields of the form, in the profile's own names (no rule applied here)."""
    out: dict[str, Any] = {}
    for name in TOOL_FIELDS:
        value = str(form.get(name, "")).strip()
        if value == "":
            continue
        if value in ("yes", "no"):
            out[name] = value == "yes"
        else:
            out[name] = value
    dmts: list[dict[str, Any]] = []
    for i in range(1, TOOL_DRUG_ROWS + 1):
        name = str(form.get(f"dmt_{i}", "")).strip()
        if name:
            entry: dict[str, Any] = {"name": name}
            failed = _flag(str(form.get(f"dmt_{i}_failed", "")))
            if failed is not None:
                entry["failed"] = failed
            dmts.append(entry)
    other = [d.strip() for d in str(form.get("dmts", "")).split(",") if d.strip()]
    failed_other = _flag(str(form.get("dmts_failed", "")))
    for d in other:
        dmts.append({"name": d} if failed_other is None else {"name": d, "failed": failed_other})
    if dmts:
        out["dmts"] = dmts
    return out


def _form_values(form: Any) -> dict[str, str]:
    keys = (*TOOL_FIELDS, "dmts", "dmts_failed",
            *(f"dmt_{i}{s}" for i in range(1, TOOL_DRUG_ROWS + 1) for s in ("", "_failed")))
    return {k: str(form.get(k, "")) for k in keys}


@route(router, "GET", "/tool", PUBLIC)
def tool_page(request: Request) -> Response:
    """Public "what to expect" tool: a form, no sign-in, nothing stored."""
    return render(request, "tool.html.j2", title="What to expect from aHSCT", values={},
                  error=None, **_tool_choices())


@route(router, "GET", "/tool.js", PUBLIC)
def tool_script(request: Request) -> Response:
    """The tool page's small script (the page works without it): hides the pregnancy
    question, and leaves it out of the submitted answers, while the sex given is male. Served
    from the site itself, as the Content-Security-Policy (``script-src 'self'``) requires."""
    text = request.app.state.templates.get_template("tool.js.j2").render()
    return Response(text, media_type="text/javascript",
                    headers={"Cache-Control": "public, max-age=3600"})


@route(router, "POST", "/tool", PUBLIC, csrf_exempt="public, no session, stores nothing")
async def tool_submit(request: Request) -> Response:
    """The personal report for the submitted profile (computed in memory; nothing stored or
    logged)."""
    from hsctms.patient.report import build_report, render_patient_report

    form = await request.form()
    profile = _profile_from_form(form)
    try:
        report = build_report(profile)
    except ProfileError as exc:
        return render(request, "tool.html.j2", status_code=422,
                      title="What to expect from aHSCT", values=_form_values(form),
                      error=_public_error(exc), **_tool_choices())
    return HTMLResponse(render_patient_report(report),
                        headers={"Cache-Control": "no-store"})


def _public_error(exc: ProfileError) -> dict[str, Any]:
    """The error for the public form: its message, and a hint that never points the public
    to developer documentation (profile schema, docs/ files)."""
    err = exc.to_dict()
    hint = str(err.get("hint") or "")
    if "docs/" in hint or "schema" in hint.lower() or ".md" in hint:
        err["hint"] = "Please check the answers marked above and try again."
    return err


@route(router, "POST", "/api/tool", PUBLIC,
       csrf_exempt="public, no session, stores nothing")
def api_tool(payload: Annotated[dict[str, Any], Body(
        examples=[{"age_years": 32, "phenotype": "RRMS", "edss": 3.5, "relapses_12m": 2}])]
        ) -> dict[str, Any]:
    """The patient report as JSON (schema ``hsctms.patient-report/1``); nothing stored."""
    from hsctms.patient.report import build_report

    result: dict[str, Any] = build_report(payload).to_dict()
    return result
