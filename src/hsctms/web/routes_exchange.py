"""Uploads and downloads: CSV bundles and REDCap flat files + data dictionary.

* Uploads go through :func:`hsctms.db.import_bundle` (validated, all-or-nothing); centre users
  may only upload their own centre's patients.
* Downloads are de-identified (:mod:`hsctms.io.deidentify`: k-anonymity checked, a
  ``manifest.json`` says what was done) unless the role may export
  identifiable data for that centre; every download is written to the audit trail.
"""

from __future__ import annotations

import io
import tempfile
import zipfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Request, UploadFile
from fastapi.responses import Response

from hsctms.db.writes import begin_write
from hsctms.errors import (
    DataValidationError,
    HsctmsError,
    PermissionDeniedError,
)
from hsctms.io.csvtext import csv_text
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


def _import(ctx: Ctx, bundle: Path, source: str) -> dict[str, Any]:
    from hsctms.db import import_bundle

    # centre users: the importer's own strict parser checks every row's centre, and refuses
    # ids stored under another centre before anything stored is compared or reported
    result = import_bundle(bundle, ctx.engine, user=ctx.principal.username, centre=ctx.scope,
                           source=source)
    return _public(result)


async def _read(upload: UploadFile) -> bytes:
    data = await upload.read(MAX_UPLOAD + 1)
    if len(data) > MAX_UPLOAD:
        raise DataValidationError("The upload is too large.", hint="Split it by centre.")
    return data


async def _import_bundle_upload(ctx: Ctx, upload: UploadFile) -> dict[str, Any]:
    data = await _read(upload)
    with tempfile.TemporaryDirectory() as tmp:
        return _import(ctx, _extract_bundle(data, Path(tmp) / "bundle"),
                       _upload_name(upload, "bundle.zip"))


async def _import_redcap_upload(ctx: Ctx, upload: UploadFile) -> dict[str, Any]:
    from hsctms.db.redcap_import import import_redcap

    data = await _read(upload)
    result = import_redcap(data, ctx.engine, name=_upload_name(upload, "records.csv"),
                           user=ctx.principal.username, centre=ctx.scope)
    return _public(result)


@route(router, "POST", "/api/import/bundle", Action.EDIT_RECORDS.value)
async def api_import_bundle(request: Request,
                            file: Annotated[UploadFile, File(description="Zipped bundle")]
                            ) -> dict[str, Any]:
    """Import a zipped CSV bundle (validated, all-or-nothing, audited)."""
    return await _import_bundle_upload(ctx_of(request), file)


@route(router, "POST", "/api/import/redcap", Action.EDIT_RECORDS.value)
async def api_import_redcap(request: Request,
                            file: Annotated[UploadFile, File(description="REDCap flat CSV")]
                            ) -> dict[str, Any]:
    """Import a REDCap flat export (converted to a bundle, then as a bundle)."""
    return await _import_redcap_upload(ctx_of(request), file)


@route(router, "GET", "/exchange", LOGIN)
def exchange_page(request: Request) -> Response:
    """Upload and download page."""
    return render(request, "exchange.html.j2", title="Upload and download", result=None,
                  error=None)


@route(router, "POST", "/exchange/{kind}", Action.EDIT_RECORDS.value)
async def exchange_upload(request: Request, kind: str,
                          file: Annotated[UploadFile | None, File()] = None) -> Response:
    """Upload from the page (``kind`` = bundle or redcap)."""
    ctx = ctx_of(request)
    if file is None:
        return render(request, "exchange.html.j2", status_code=422, title="Upload and download",
                      result=None, error={"message": "Choose a file.", "hint": None})
    try:
        result = await (_import_redcap_upload(ctx, file) if kind == "redcap"
                        else _import_bundle_upload(ctx, file))
    except HsctmsError as exc:
        from hsctms.web.core import status_for

        return render(request, "exchange.html.j2", status_code=status_for(exc),
                      title="Upload and download", result=None, error=exc.to_dict())
    return render(request, "exchange.html.j2", title="Upload and download", result=result,
                  error=None)
