"""Uploads and downloads: CSV bundles and REDCap flat files + data dictionary.

* Uploads go through :func:`hsctms.db.import_bundle` (validated, all-or-nothing); centre users
  may only upload their own centre's patients. A refused upload lists its issues on the page
  (:mod:`hsctms.services.uploads`: the first 50 grouped by rule, with the patient of each row;
  the full list as a CSV download kept for the uploader for an hour); a conflicting upload
  offers "Update existing records" (``update``) to roles with ``import_update``.
* Downloads are de-identified (:mod:`hsctms.io.deidentify`: k-anonymity checked, a
  ``manifest.json`` says what was done) unless the role may export
  identifiable data for that centre; every download is written to the audit trail.
"""

from __future__ import annotations

import io
import secrets
import tempfile
import time
import zipfile
from collections import OrderedDict
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import Response

from hsctms.db.importer import BundleConflictError, ImportMode
from hsctms.db.writes import begin_write
from hsctms.errors import (
    DataValidationError,
    HsctmsError,
    NotFoundError,
    PermissionDeniedError,
)
from hsctms.io.csvtext import csv_text
from hsctms.services.uploads import SHOWN_ISSUES
from hsctms.web.access import Action, allowed, check
from hsctms.web.core import LOGIN, Ctx, ctx_of, render, route

router = APIRouter()
MAX_UPLOAD = 200 * 1024 * 1024


def _audit_export(ctx: Ctx, kind: str, centre: str | None, rows: dict[str, int] | None,
                  identifiable: bool) -> None:
    from hsctms.db.audit import write_audit

    with begin_write(ctx.engine) as conn:
        write_audit(conn, user=ctx.principal.username, action="export",
                    detail={"centre": centre, "kind": kind, "identifiable": identifiable,
                            "rows": rows})


def _export_scope(ctx: Ctx, centre: str | None, identifiable: bool) -> str | None:
    """The centre an export covers (None = whole registry), after the access checks."""
    user = ctx.principal
    if user.centre is not None and not user.is_admin:
        if centre not in (None, user.centre):
            raise PermissionDeniedError(f"You may only export centre {user.centre!r}.",
                                        hint="Leave the centre empty.")
        centre = user.centre
    action = Action.EXPORT_IDENTIFIABLE if identifiable else Action.EXPORT_DEIDENTIFIED
    check(user, action, centre)
    return centre


def _zip(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in sorted(files.items()):
            info = zipfile.ZipInfo(name, date_time=(2000, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data)
    return buf.getvalue()


def _download(data: bytes, filename: str, media: str) -> Response:
    return Response(data, media_type=media,
                    headers={"Content-Disposition": f'attachment; filename="{filename}"',
                             "Cache-Control": "no-store"})


@route(router, "GET", "/api/export/bundle", Action.EXPORT_DEIDENTIFIED.value)
def export_bundle_zip(request: Request, identifiable: bool = False,
                      centre: str | None = None) -> Response:
    """Download the registry (or one centre) as a zip: the CSV bundle (identifiable) or the
    de-identified tables. Audited."""
    from hsctms.db import export_bundle

    ctx = ctx_of(request)
    scope = _export_scope(ctx, centre, identifiable)
    label = scope or "registry"
    if identifiable:
        filename = f"hsctms-{label}-bundle.zip"
        with tempfile.TemporaryDirectory() as tmp:
            out = export_bundle(ctx.engine, Path(tmp) / "bundle", centre=scope,
                                user=ctx.principal.username, download=filename)
            files = {p.name: p.read_bytes() for p in sorted(out.iterdir()) if p.is_file()}
        return _download(_zip(files), filename, "application/zip")
    from hsctms.db import export_deidentified

    keep_ids = allowed(ctx.principal, Action.EXPORT_IDENTIFIABLE, scope)
    export = export_deidentified(ctx.engine, centre=scope, user=ctx.principal.username,
                                 keep_ids=keep_ids, k=ctx.settings.deid_k)
    return _download(_zip(export.files()), f"hsctms-{label}-deidentified.zip",
                     "application/zip")


@route(router, "GET", "/api/export/redcap", Action.EXPORT_IDENTIFIABLE.value)
def export_redcap(request: Request, centre: str | None = None) -> Response:
    """Download a REDCap flat export (CSV with repeating instruments and DAGs). Audited."""
    from hsctms.db import load_cohort
    from hsctms.io.redcap import to_redcap_flat

    ctx = ctx_of(request)
    scope = _export_scope(ctx, centre, True)
    flat = to_redcap_flat(load_cohort(ctx.engine, scope))
    _audit_export(ctx, "redcap_flat", scope, {"rows": len(flat)}, True)
    return _download(csv_text(flat).encode(),
                     f"hsctms-{scope or 'registry'}-redcap.csv", "text/csv")


@route(router, "GET", "/api/export/redcap-dictionary", LOGIN)
def export_dictionary(request: Request) -> Response:
    """Download the REDCap data dictionary (no patient data). Audited."""
    from hsctms.io.redcap import data_dictionary

    ctx = ctx_of(request)
    table = data_dictionary()
    _audit_export(ctx, "redcap_dictionary", None, None, False)
    return _download(csv_text(table, neutralise_formulas=True).encode(),
                     "hsctms-redcap-dictionary.csv",
                     "text/csv")


def _extract_bundle(data: bytes, target: Path) -> Path:
    from hsctms.io.archive import extract_bundle_zip

    return extract_bundle_zip(data, target)


def _upload_name(upload: UploadFile, default: str) -> str:
    """The uploaded file's own name (no client directories): how the import is named in
    messages, the result and the audit trail instead of the server's temporary path."""
    name = Path((upload.filename or "").replace("\\", "/")).name
    return name or default


def _public(result: Any) -> dict[str, Any]:
    """An import result as the web shows it: without the server's database location."""
    out: dict[str, Any] = result.to_dict()
    out.pop("database", None)
    return out


class UploadRefused(Exception):
    """A refused upload: the library's error and, for validation errors, the issue rows
    (:func:`hsctms.services.uploads.issue_rows`, read while the upload is still on disk)."""

    def __init__(self, error: HsctmsError, rows: list[dict[str, Any]] | None = None) -> None:
        super().__init__(str(error))
        self.error = error
        self.rows = rows


def _mode(ctx: Ctx, update: bool) -> ImportMode:
    """``"update"`` when asked for and allowed (centre leads for their centre, admins)."""
    if not update:
        return "insert"
    check(ctx.principal, Action.IMPORT_UPDATE, ctx.scope)
    return "update"


def _web_conflict(ctx: Ctx, exc: BundleConflictError) -> BundleConflictError:
    """The conflict with a hint for the web (not the command line's ``--mode`` option)."""
    if allowed(ctx.principal, Action.IMPORT_UPDATE, ctx.scope):
        hint = ("Fix the file, or upload it again with 'Update existing records' ticked "
                "to overwrite the stored values (each change is audited).")
    else:
        hint = ("Fix the file, or ask your centre lead or a registry administrator to "
                "upload it with 'Update existing records'.")
    out = BundleConflictError(exc.conflicts, hint=hint)
    out.__cause__ = exc
    return out


def _import(ctx: Ctx, bundle: Path, source: str, mode: ImportMode) -> dict[str, Any]:
    from hsctms.db import import_bundle
    from hsctms.services.uploads import issue_rows

    # centre users: the importer's own strict parser checks every row's centre, and refuses
    # ids stored under another centre before anything stored is compared or reported
    try:
        result = import_bundle(bundle, ctx.engine, user=ctx.principal.username,
                               centre=ctx.scope, source=source, mode=mode)
    except BundleConflictError as exc:
        raise UploadRefused(_web_conflict(ctx, exc)) from exc
    except DataValidationError as exc:
        rows = issue_rows(exc.report, bundle) if exc.report is not None else None
        raise UploadRefused(exc, rows) from exc
    except HsctmsError as exc:
        raise UploadRefused(exc) from exc
    return _public(result)


async def _read(upload: UploadFile) -> bytes:
    data = await upload.read(MAX_UPLOAD + 1)
    if len(data) > MAX_UPLOAD:
        raise DataValidationError("The upload is too large.", hint="Split it by centre.")
    return data


async def _import_bundle_upload(ctx: Ctx, upload: UploadFile, mode: ImportMode
                                ) -> dict[str, Any]:
    data = await _read(upload)
    with tempfile.TemporaryDirectory() as tmp:
        return _import(ctx, _extract_bundle(data, Path(tmp) / "bundle"),
                       _upload_name(upload, "bundle.zip"), mode)


async def _import_redcap_upload(ctx: Ctx, upload: UploadFile, mode: ImportMode
                                ) -> dict[str, Any]:
    from hsctms.db.redcap_import import import_redcap
    from hsctms.services.uploads import issue_rows

    data = await _read(upload)
    try:
        result = import_redcap(data, ctx.engine, name=_upload_name(upload, "records.csv"),
                               user=ctx.principal.username, centre=ctx.scope, mode=mode)
    except BundleConflictError as exc:
        raise UploadRefused(_web_conflict(ctx, exc)) from exc
    except DataValidationError as exc:
        raise UploadRefused(exc, issue_rows(exc.report) if exc.report is not None
                            else None) from exc
    return _public(result)


UpdateFlag = Annotated[bool, Query(description="Update stored records that differ "
                                   "(centre leads and administrators; each change audited)")]


@route(router, "POST", "/api/import/bundle", Action.EDIT_RECORDS.value)
async def api_import_bundle(request: Request,
                            file: Annotated[UploadFile, File(description="Zipped bundle")],
                            update: UpdateFlag = False) -> dict[str, Any]:
    """Import a zipped CSV bundle (validated, all-or-nothing, audited)."""
    ctx = ctx_of(request)
    try:
        return await _import_bundle_upload(ctx, file, _mode(ctx, update))
    except UploadRefused as exc:
        raise exc.error from None


@route(router, "POST", "/api/import/redcap", Action.EDIT_RECORDS.value)
async def api_import_redcap(request: Request,
                            file: Annotated[UploadFile, File(description="REDCap flat CSV")],
                            update: UpdateFlag = False) -> dict[str, Any]:
    """Import a REDCap flat export (converted to a bundle, then as a bundle)."""
    ctx = ctx_of(request)
    try:
        return await _import_redcap_upload(ctx, file, _mode(ctx, update))
    except UploadRefused as exc:
        raise exc.error from None


# ----------------------------------------------------------- full issue lists (downloads)
REPORT_KEEP = 32  # issue lists kept per app (the newest), each for REPORT_SECONDS
REPORT_SECONDS = 3600


def _reports(request: Request) -> OrderedDict[str, tuple[str, float, str]]:
    store: OrderedDict[str, tuple[str, float, str]] | None = getattr(
        request.app.state, "upload_reports", None)
    if store is None:
        store = OrderedDict()
        request.app.state.upload_reports = store
    return store


def _keep_report(request: Request, username: str, text: str) -> str:
    """Keep a refused upload's full issue list (CSV) for its uploader; returns its id."""
    store = _reports(request)
    now = time.monotonic()
    for key in [k for k, (_, at, _) in store.items() if now - at > REPORT_SECONDS]:
        del store[key]
    token = secrets.token_urlsafe(18)
    store[token] = (username, now, text)
    while len(store) > REPORT_KEEP:
        store.popitem(last=False)
    return token


@route(router, "GET", "/exchange/report.csv", Action.EDIT_RECORDS.value)
def exchange_report(request: Request,
                    report_id: Annotated[str, Query(alias="id")] = "") -> Response:
    """The full issue list of the user's refused upload as CSV (kept for an hour)."""
    ctx = ctx_of(request)
    entry = _reports(request).get(report_id)
    if entry is None or entry[0] != ctx.principal.username or \
            time.monotonic() - entry[1] > REPORT_SECONDS:
        raise NotFoundError("This issue list is no longer available.",
                            hint="Upload the file again to see its issues.")
    return _download(entry[2].encode(), "upload-issues.csv", "text/csv")


# ------------------------------------------------------------------------ the page
def _page(request: Request, status_code: int = 200, **context: Any) -> Response:
    ctx = ctx_of(request)
    may_update = ctx.user is not None and allowed(ctx.principal, Action.IMPORT_UPDATE,
                                                  ctx.scope)
    values: dict[str, Any] = {"result": None, "error": None, "groups": None,
                              "n_issues": 0, "n_problems": 0, "report_id": None, "conflicts": None,
                              "kind": None, **context}
    return render(request, "exchange.html.j2", status_code=status_code,
                  title="Upload and download", may_update=may_update,
                  shown_issues=SHOWN_ISSUES, **values)


@route(router, "GET", "/exchange", LOGIN)
def exchange_page(request: Request) -> Response:
    """Upload and download page."""
    return _page(request)


@route(router, "POST", "/exchange/{kind}", Action.EDIT_RECORDS.value)
async def exchange_upload(request: Request, kind: str,
                          file: Annotated[UploadFile | None, File()] = None,
                          update: Annotated[str, Form()] = "") -> Response:
    """Upload from the page (``kind`` = bundle or redcap; ``update=yes`` lets the upload
    overwrite stored values, for centre leads and administrators)."""
    from hsctms.services.uploads import group_issues, issues_csv
    from hsctms.web.core import status_for

    ctx = ctx_of(request)
    kind = "redcap" if kind == "redcap" else "bundle"
    if file is None or not (file.filename or ""):
        return _page(request, 422, kind=kind,
                     error={"message": "Choose a file.", "hint": None})
    try:
        mode = _mode(ctx, update == "yes")
        result = await (_import_redcap_upload(ctx, file, mode) if kind == "redcap"
                        else _import_bundle_upload(ctx, file, mode))
    except (UploadRefused, HsctmsError) as exc:
        err = exc.error if isinstance(exc, UploadRefused) else exc
        rows = exc.rows if isinstance(exc, UploadRefused) else None
        extra: dict[str, Any] = {}
        if rows:
            groups = group_issues(rows)
            extra = {"groups": groups, "n_issues": len(rows),
                     "n_problems": sum(g["count"] for g in groups),
                     "report_id": _keep_report(request, ctx.principal.username,
                                               issues_csv(rows))}
        if isinstance(err, BundleConflictError):
            extra["conflicts"] = [c.to_dict() for c in err.conflicts]
        info = err.to_dict()
        info.pop("report", None)
        info.pop("conflicts", None)
        return _page(request, status_for(err), kind=kind, error=info, **extra)
    return _page(request, result=result, kind=kind)
