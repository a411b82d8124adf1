"""Patients and their records: lists, patient pages, data-entry forms and their JSON twins.

Centre scoping comes from :func:`hsctms.web.access.visible_centre`; validation, optimistic
locking and auditing from :mod:`hsctms.db.records`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Body, Depends, Query, Request
from fastapi.responses import RedirectResponse, Response

from hsctms.db import records
from hsctms.errors import (
    DataValidationError,
    NotFoundError,
    PermissionDeniedError,
    RegistryBusyError,
    StaleRecordError,
)
from hsctms.model.schema import PHENOTYPES, SCHEMA
from hsctms.web.access import Action
from hsctms.web.core import RETRY_AFTER_SECONDS, PageNumber, ctx_of, render, route
from hsctms.web.forms import (
    FORM_TABLES,
    TABLE_LABELS,
    TABLE_PLURALS,
    column_labels,
    display,
    form_fields,
    form_values,
)

router = APIRouter()
READ = Action.READ_RECORDS.value
EDIT = Action.EDIT_RECORDS.value
_INT64_MAX = 2**63 - 1


def _version(raw: object) -> int:
    """Parse a submitted record version; anything but a non-negative 64-bit integer is refused.

    Parameters
    ----------
    raw : object
        The ``version`` form field or JSON value (missing or empty means 0).

    Returns
    -------
    int
        The version.

    Raises
    ------
    DataValidationError
        When the value is not a plain non-negative integer within the signed 64-bit range.
    """
    text = "" if raw is None else str(raw).strip()
    if text == "":
        return 0
    if not (text.isascii() and text.isdigit()) or int(text) > _INT64_MAX:
        raise DataValidationError(f"The record version {text[:40]!r} is not a valid version.",
                                  hint="Reload the record and submit the form it shows; the "
                                  "version must be the whole number you read.")
    return int(text)


def _row_id(row_id: int) -> int:
    """Refuse record ids outside the signed 64-bit range as not found (no such record)."""
    if not 0 < row_id <= _INT64_MAX:
        raise NotFoundError(f"No record with id {row_id}.",
                            hint="Open the record from its patient's page.")
    return row_id
PAGE = 50


def patient_url(patient_id: object) -> str:
    """The patient page's address, the id percent-encoded ("/" as %2F, as in the templates'
    ``urlq`` links)."""
    return "/patients/" + quote(str(patient_id), safe="")


def _table(table: str) -> str:
    if table not in SCHEMA:
        raise NotFoundError(f"Unknown table {table!r}.",
                            hint=f"Tables: {', '.join(FORM_TABLES)}.")
    return table


@dataclass(frozen=True)
class ListParams:
    """Query parameters of the patient list (search, filters, sort, page)."""

    q: str | None = None
    centre: str | None = None
    phenotype: str | None = None
    quality: str | None = None
    sort: str = "patient_id"
    desc: bool = False
    page: PageNumber = 1


def _blank(value: str | None) -> str | None:
    return value.strip() or None if value else None


def _patients(request: Request, params: ListParams) -> dict[str, Any]:
    ctx = ctx_of(request)
    query = records.PatientQuery(search=_blank(params.q), centre=_blank(params.centre),
                                 phenotype=_blank(params.phenotype),
                                 quality=_blank(params.quality), sort=params.sort,
                                 descending=params.desc)
    with ctx.engine.connect() as conn:
        rows, total = records.list_patients(conn, ctx.scope, query=query, limit=PAGE,
                                            offset=(params.page - 1) * PAGE)
        centres = [ctx.scope] if ctx.scope else records.centres(conn)
    return {"patients": rows, "total": total, "page": params.page, "page_size": PAGE,
            "centre": ctx.scope, "q": params.q or "",
            "filters": {"centre": query.centre or "", "phenotype": query.phenotype or "",
                        "quality": query.quality or "", "sort": query.sort,
                        "desc": query.descending},
            "choices": {"centre": centres, "phenotype": list(PHENOTYPES),
                        "quality": list(records.QUALITY_FILTERS),
                        "sort": list(records.PATIENT_SORTS)}}


def _list_url(data: dict[str, Any], **change: Any) -> str:
    """The patient list's address with the current search and filters and ``change``."""
    f = {"q": data["q"], **{k: data["filters"][k] for k in ("centre", "phenotype", "quality",
                                                             "sort")},
         "desc": "true" if data["filters"]["desc"] else "", "page": ""}
    f.update({k: ("true" if v is True else "" if v is False else v) for k, v in change.items()})
    return "/patients?" + urlencode({k: v for k, v in f.items() if v not in ("", None)})


@route(router, "GET", "/patients", READ)
def patients_page(request: Request, params: Annotated[ListParams, Depends()]) -> Response:
    """Patient list (own centre only, unless administrator): search, filters by centre,
    phenotype and data-quality status, sorting, last visit and data-quality flags."""
    data = _patients(request, params)
    labels = {**column_labels("patients"), "transplant_date": "Index transplant",
              "last_visit": "Last EDSS visit", "issues": "Data quality",
              "edss_visits": "EDSS visits"}
    return render(request, "patients.html.j2", title="Patients", **data, labels=labels,
                  list_url=lambda **change: _list_url(data, **change),
                  quality_labels=QUALITY_LABELS)


@route(router, "GET", "/api/patients", READ)
def api_patients(request: Request, params: Annotated[ListParams, Depends()]
                 ) -> dict[str, Any]:
    """Patient list (own centre only, unless administrator), with ``quality`` counts per
    patient; same filters and sort as the page."""
    return _patients(request, params)


#: Names of the data-quality filters and statuses shown to users.
QUALITY_LABELS = {"": "any", "ok": "no errors or warnings", "flagged": "errors or warnings",
                  "errors": "errors", "warnings": "warnings"}


def _patient(request: Request, patient_id: str) -> dict[str, Any]:
    from hsctms.plots.timeline import timeline_events

    ctx = ctx_of(request)
    with ctx.engine.connect() as conn:
        tables = records.patient_record(conn, patient_id, ctx.scope)
        issues = records.patient_issues(conn, patient_id, ctx.scope)
    return {"patient_id": patient_id, "tables": tables,
            "timeline": [e.to_dict() for e in timeline_events(tables)],
            "issues": [i.to_dict() for i in issues]}


#: How issue severities are named to users (an ``info`` is a note: nothing to correct).
SEVERITY_NAMES = {"error": "Error", "warning": "Warning", "info": "Note"}


def in_sentence(label: str) -> str:
    """A label inside a sentence: first letter lower-cased unless the first word is an
    abbreviation ("Add transplant", "Add EDSS visit").

    Parameters
    ----------
    label : str
        A schema label such as ``"Transplant"`` or ``"MRI scan"``.

    Returns
    -------
    str
        The label as written after a verb.

    Examples
    --------
    >>> in_sentence("Laboratory result"), in_sentence("EDSS visit")
    ('laboratory result', 'EDSS visit')
    """
    first = label.split(" ", 1)[0]
    return label if first.isupper() else label[:1].lower() + label[1:]


# ------------------------------------------------------------------ save confirmation
FLASH_COOKIE = "hsctms_flash"
_FLASH_PREFIX = "flash|"


def _with_flash(request: Request, response: Response, action: str, table: str,
                row_id: int | None) -> Response:
    """Remember, for the next page only, which record was just saved or deleted (a signed,
    short-lived cookie holding table, id and action; the message is built from the stored
    row when the page is shown, so nothing typed travels in it)."""
    token = request.app.state.signer.sign(f"{_FLASH_PREFIX}{action}|{table}|{row_id or 0}")
    response.set_cookie(FLASH_COOKIE, token, max_age=120, httponly=True, samesite="lax",
                        secure=request.app.state.settings.secure_cookies, path="/")
    return response


def _read_flash(request: Request, patient_id: str) -> dict[str, Any] | None:
    """The confirmation of the last save (with the importer's warnings about the saved row),
    or None."""
    token = request.cookies.get(FLASH_COOKIE)
    value = request.app.state.signer.unsign(token) if token else None
    if not value or not value.startswith(_FLASH_PREFIX):
        return None
    parts = value.removeprefix(_FLASH_PREFIX).split("|")
    if len(parts) != 3 or parts[1] not in SCHEMA or not parts[2].isdigit():
        return None
    action, table, row_id = parts[0], parts[1], int(parts[2])
    flash: dict[str, Any] = {"action": action, "table": table,
                             "label": TABLE_LABELS[table], "warnings": [], "row_id": row_id}
    if action == "deleted":
        return flash
    ctx = ctx_of(request)
    try:
        with ctx.engine.connect() as conn:
            row = records.get_row(conn, table, row_id, ctx.scope)
            if str(row["patient_id"]) != patient_id:
                return None
            issues = records.record_warnings(conn, table, row_id, ctx.scope)
    except (NotFoundError, PermissionDeniedError):
        return None
    date_col = SCHEMA[table].event_date
    flash["when"] = display(row.get(date_col)) if date_col else ""
    labels = column_labels(table)
    flash["warnings"] = [{"severity": i.severity, "field": labels.get(i.field or "", ""),
                          "message": i.message} for i in issues]
    return flash


# Patient ids may contain "/" (hsctms.io._parse.ID_PATTERN): the patient routes take the id
# with the path converter and links send it percent-encoded (patient_url). The routes under a
# patient ("/new/{table}") are registered first, so they are matched before the patient page.
def _under_patient(request: Request, table: str) -> bool:
    """Whether the address really names a page under a patient (``/new/{table}`` written with
    plain slashes), not a patient id that itself ends in "/new/<table>" (sent as %2F)."""
    raw = request.scope.get("raw_path") or b""
    return not raw or raw.split(b"?", 1)[0].endswith(f"/new/{table}".encode())


@route(router, "GET", "/patients/{patient_id:path}/new/{table}", EDIT)
def new_record_form(request: Request, patient_id: str, table: str) -> Response:
    """Form: add a record (EDSS visit, relapse, ...) to a patient."""
    if not _under_patient(request, table):
        return patient_page(request, f"{patient_id}/new/{table}")
    ctx = ctx_of(request)
    _table(table)
    with ctx.engine.connect() as conn:
        records.patient_record(conn, patient_id, ctx.scope)  # scope check
    return _form(request, table, action=f"{patient_url(patient_id)}/new/{table}",
                 values={"patient_id": patient_id})


@route(router, "POST", "/patients/{patient_id:path}/new/{table}", EDIT)
async def new_record_submit(request: Request, patient_id: str, table: str) -> Response:
    """Add a record from the form."""
    if not _under_patient(request, table):
        raise NotFoundError(f"No form at {request.url.path}.",
                            hint="Open the patient's page and use its Add links.")
    _table(table)
    ctx = ctx_of(request)
    with ctx.engine.connect() as conn:
        records.patient_record(conn, patient_id, ctx.scope)
    return await _create_from_form(request, table, f"{patient_url(patient_id)}/new/{table}")


@functools.lru_cache(maxsize=256)
def _timeline_svg(events: tuple[Any, ...], patient_id: str) -> str:
    """The timeline figure of these events (the events fix the figure, so it is drawn once
    per distinct course)."""
    from hsctms.plots.timeline import timeline_svg
    from hsctms.web.funnel import PLOT_LOCK

    with PLOT_LOCK:
        return timeline_svg(events, description=f"Timeline of patient {patient_id}: EDSS, "
                            "relapses, MRI, transplants and DMT courses; the same events are "
                            "listed in the table below the figure.")


@route(router, "GET", "/patients/{patient_id:path}", READ)
def patient_page(request: Request, patient_id: str) -> Response:
    """One patient: summary, timeline (figure and table), data-quality issues and every
    table, with the confirmation of the last save."""
    from hsctms.plots.timeline import KIND_LABELS, timeline_events

    data = _patient(request, patient_id)
    flash = _read_flash(request, patient_id)
    columns = {t: [c.name for c in SCHEMA[t].columns if c.name != "patient_id"]
               for t in FORM_TABLES}
    svg = _timeline_svg(tuple(timeline_events(data["tables"])), str(patient_id))
    response = render(request, "patient.html.j2", title=f"Patient {patient_id}", data=data,
                      tables=FORM_TABLES, labels=TABLE_LABELS, plurals=TABLE_PLURALS,
                      columns=columns, column_labels={t: column_labels(t) for t in SCHEMA},
                      display=display, flash=flash, timeline_svg=svg,
                      kind_labels=KIND_LABELS, severity_names=SEVERITY_NAMES,
                      add_labels={t: in_sentence(TABLE_LABELS[t]) for t in SCHEMA},
                      date_columns={t: SCHEMA[t].columns_of_type("date") for t in SCHEMA})
    if FLASH_COOKIE in request.cookies:
        response.delete_cookie(FLASH_COOKIE, path="/", httponly=True, samesite="lax",
                               secure=request.app.state.settings.secure_cookies)
    return response


@route(router, "GET", "/api/patients/{patient_id:path}", READ)
def api_patient(request: Request, patient_id: str) -> dict[str, Any]:
    """One patient with every table (rows carry ``id`` and ``version``)."""
    return _patient(request, patient_id)


def _form(request: Request, table: str, *, action: str, values: dict[str, Any],
          errors: dict[str, list[str]] | None = None, version: int | None = None,
          row_id: int | None = None, status_code: int = 200, message: str | None = None,
          reason: str = "") -> Response:
    patient_id = values.get("patient_id") or ""
    return render(request, "form.html.j2", status_code=status_code,
                  title=f"{TABLE_LABELS[table]}" + (f" - {patient_id}" if patient_id else ""),
                  table=table, label=TABLE_LABELS[table], fields=form_fields(table),
                  values={k: display(v) for k, v in values.items()}, errors=errors or {},
                  action=action, version=version, row_id=row_id, message=message,
                  patient_id=patient_id, reason=reason, max_reason=records.MAX_REASON,
                  in_sentence=in_sentence)


def _busy_form(request: Request, table: str, exc: RegistryBusyError, **form: Any
               ) -> Response:
    """The form again with what was typed, 503 and ``Retry-After``: the registry was busy."""
    response = _form(request, table, status_code=503, errors={"_record": [exc.message]},
                     message=exc.hint, **form)
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def _field_errors(exc: DataValidationError) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    report = exc.report
    for issue in getattr(report, "errors", []) or []:
        out.setdefault(issue.field or "_record", []).append(issue.message)
    if not out:
        out["_record"] = [exc.message]
    return out


@route(router, "GET", "/patients-new", EDIT)
def new_patient_form(request: Request) -> Response:
    """Form: register a patient."""
    ctx = ctx_of(request)
    return _form(request, "patients", action="/patients-new",
                 values={"centre": ctx.scope or ""})


@route(router, "POST", "/patients-new", EDIT)
async def new_patient_submit(request: Request) -> Response:
    """Register a patient from the form."""
    return await _create_from_form(request, "patients", "/patients-new")


async def _create_from_form(request: Request, table: str, action: str) -> Response:
    ctx = ctx_of(request)
    values = form_values(await request.form(), table)
    try:
        row = records.create_record(ctx.engine, ctx.principal.username, table, values,
                                    centre=ctx.scope)
    except DataValidationError as exc:
        return _form(request, table, action=action, values=values, status_code=422,
                     errors=_field_errors(exc), message=exc.message)
    except RegistryBusyError as exc:
        return _busy_form(request, table, exc, action=action, values=values)
    return _with_flash(request, RedirectResponse(patient_url(row["patient_id"]),
                                                 status_code=303), "saved", table, row["id"])


@route(router, "POST", "/api/records/{table}", EDIT, status_code=201)
def api_create(request: Request, table: str, payload: Annotated[dict[str, Any], Body(
        examples=[{"patient_id": "P1", "date": "2024-05-01", "edss": "3.5"}])]
        ) -> dict[str, Any]:
    """Create a record; 422 with field-level issues when invalid."""
    ctx = ctx_of(request)
    return records.create_record(ctx.engine, ctx.principal.username, _table(table), payload,
                                 centre=ctx.scope)


@route(router, "GET", "/records/{table}/{row_id}", READ)
def edit_form(request: Request, table: str, row_id: int) -> Response:
    """Form: edit a record (carries its version for optimistic locking)."""
    ctx = ctx_of(request)
    with ctx.engine.connect() as conn:
        row = records.get_row(conn, _table(table), _row_id(row_id), ctx.scope)
    return _form(request, table, action=f"/records/{table}/{row_id}", values=row,
                 version=row["version"], row_id=row_id)


def _edit_reason(ctx: Any, table: str, row_id: int, version: int, reason: str) -> str | None:
    """The required reason for change; when it is missing and the record has meanwhile been
    saved by someone else, the conflict is reported first (the edit is moot)."""
    try:
        return records.reason_for_change(reason)
    except DataValidationError:
        with ctx.engine.connect() as conn:
            stored = records.get_row(conn, table, _row_id(row_id), ctx.scope)["version"]
        if stored != version:
            raise StaleRecordError(
                f"The {table} record was changed by someone else (version {stored}, your "
                f"form had version {version}); nothing was saved.",
                hint="Reload the record, re-apply your change and save again.") from None
        raise


@route(router, "POST", "/records/{table}/{row_id}", EDIT)
async def edit_submit(request: Request, table: str, row_id: int) -> Response:
    """Save an edited record with its reason for change (required, kept in the audit trail);
    a stale version gives 409 and nothing is overwritten."""
    ctx = ctx_of(request)
    form = await request.form()
    values = form_values(form, _table(table))
    version = _version(form.get("version"))
    reason = str(form.get("reason", ""))
    action = f"/records/{table}/{row_id}"
    kept: dict[str, Any] = {"action": action, "values": values, "version": version,
                            "row_id": row_id, "reason": reason}
    try:
        why = _edit_reason(ctx, table, row_id, version, reason)
        row = records.update_record(ctx.engine, ctx.principal.username, table,
                                    _row_id(row_id), values, version, centre=ctx.scope,
                                    reason=why)
    except DataValidationError as exc:
        return _form(request, table, status_code=422, errors=_field_errors(exc),
                     message=exc.message, **kept)
    except RegistryBusyError as exc:
        return _busy_form(request, table, exc, **kept)
    except StaleRecordError as exc:
        with ctx.engine.connect() as conn:
            current = records.get_row(conn, table, row_id, ctx.scope)
        labels = column_labels(table)
        return _form(request, table, status_code=409,
                     errors={"_record": [exc.message, exc.hint or ""]},
                     message="Someone else saved this record meanwhile. Current values: " +
                     ", ".join(f"{labels.get(k, k)} = {display(v)}"
                               for k, v in current.items() if k not in ("id", "version")),
                     **kept)
    return _with_flash(request, RedirectResponse(patient_url(row["patient_id"]),
                                                 status_code=303), "saved", table, row_id)


@route(router, "POST", "/records/{table}/{row_id}/delete", EDIT)
async def delete_submit(request: Request, table: str, row_id: int) -> Response:
    """Delete a record (version-checked) with its reason (required, kept in the audit
    trail)."""
    ctx = ctx_of(request)
    form = await request.form()
    with ctx.engine.connect() as conn:
        row = records.get_row(conn, _table(table), _row_id(row_id), ctx.scope)
    reason = str(form.get("delete_reason", ""))
    try:
        why = records.reason_for_change(reason)
    except DataValidationError as exc:
        return _form(request, table, action=f"/records/{table}/{row_id}", values=row,
                     version=row["version"], row_id=row_id, status_code=422,
                     errors={"delete_reason": [exc.message]},
                     message="Say why you delete this record.")
    records.delete_record(ctx.engine, ctx.principal.username, table, row_id,
                          _version(form.get("version")), centre=ctx.scope, reason=why)
    if table == "patients":
        return RedirectResponse("/patients", status_code=303)
    return _with_flash(request, RedirectResponse(patient_url(row["patient_id"]),
                                                 status_code=303), "deleted", table, None)


@route(router, "GET", "/api/records/{table}/{row_id}", READ)
def api_get(request: Request, table: str, row_id: int) -> dict[str, Any]:
    """One record with ``id`` and ``version``."""
    ctx = ctx_of(request)
    with ctx.engine.connect() as conn:
        return records.get_row(conn, _table(table), _row_id(row_id), ctx.scope)


def _api_reason(ctx: Any, table: str, row_id: int, reason: object, how: str) -> str | None:
    """The required reason for change of an API edit or deletion, checked after the record
    (so an unknown or out-of-scope record is reported first); the hint says how to send it
    (``how``), not how to fill in a form."""
    with ctx.engine.connect() as conn:
        records.get_row(conn, table, row_id, ctx.scope)
    try:
        return records.reason_for_change(reason)
    except DataValidationError as exc:
        raise DataValidationError(exc.message, report=exc.report, hint=how) from exc


@route(router, "PUT", "/api/records/{table}/{row_id}", EDIT)
def api_update(request: Request, table: str, row_id: int,
               payload: Annotated[dict[str, Any], Body(
                   examples=[{"version": 1, "values": {"edss": "4.0"},
                              "reason": "transcription error"}])]) -> dict[str, Any]:
    """Update a record: body ``{"version": N, "values": {...}, "reason": "..."}``; 409 if
    ``version`` is stale. ``reason`` (the reason for change) is required, as in the web
    forms, and kept in the audit trail; a missing one gives 422 and nothing is saved."""
    ctx = ctx_of(request)
    name, rid = _table(table), _row_id(row_id)
    if "version" not in payload:
        raise DataValidationError("The body needs the version you read.",
                                  hint='Send {"version": N, "values": {...}, "reason": "..."}.')
    version = _version(payload["version"])
    why = _api_reason(ctx, name, rid, payload.get("reason"),
                      'Send {"version": N, "values": {...}, "reason": "why you change it"}.')
    return records.update_record(ctx.engine, ctx.principal.username, name, rid,
                                 dict(payload.get("values") or {}), version,
                                 centre=ctx.scope, reason=why)


@route(router, "DELETE", "/api/records/{table}/{row_id}", EDIT)
def api_delete(request: Request, table: str, row_id: int,
               version: Annotated[int, Query(description="The version you read.")],
               reason: Annotated[str | None, Query(description="Why (required; kept in the "
                                                   "audit trail).")] = None) -> dict[str, Any]:
    """Delete a record; 409 if ``version`` is stale. ``reason`` is required, as in the web
    forms (422 without it, and nothing is deleted)."""
    ctx = ctx_of(request)
    name, rid = _table(table), _row_id(row_id)
    why = _api_reason(ctx, name, rid, reason,
                      "Send ?version=N&reason=why+you+delete+it.")
    records.delete_record(ctx.engine, ctx.principal.username, name, rid,
                          _version(version), centre=ctx.scope, reason=why)
    return {"deleted": True, "table": table, "id": row_id}
