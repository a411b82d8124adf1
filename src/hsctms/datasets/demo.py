"""The bundled synthetic demo cohort (``hsctms/datasets/data/demo``).

The bundle is produced by :func:`hsctms.datasets.write_demo_bundle` with
:data:`~hsctms.datasets.generate.DEMO_SEED` and
:data:`~hsctms.datasets.generate.DEMO_PATIENTS` (a test checks that regenerating it reproduces
the committed files byte for byte). :func:`read_bundle` is a small strict reader for bundles
written by this generator; general imports with validation go through :mod:`hsctms.io`.
"""

from __future__ import annotations

import datetime as _dt
import json
from importlib import resources
from pathlib import Path

import pandas as pd

from hsctms.errors import DataValidationError, NotFoundError
from hsctms.model.cohort import Cohort, conform
from hsctms.model.regimens import REGIMEN_MAPS
from hsctms.model.schema import SCHEMA, TableSpec


def demo_bundle_path() -> Path:
    """Directory of the bundled synthetic demo CSV bundle."""
    path = Path(str(resources.files("hsctms.datasets").joinpath("data", "demo")))
    if not (path / "bundle.json").is_file():
        raise NotFoundError(f"The bundled demo data are missing from {path}.",
                            hint="Reinstall hsctms, or regenerate them with "
                                 "'hsctms demo-data --patients 300 --seed 20261122 --out "
                                 f"{path} --data-date 2026-06-30'.")
    return path


def _typed(spec: TableSpec, raw: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame(index=raw.index)
    for col in spec.columns:
        if col.name not in raw.columns:
            continue
        s = raw[col.name].replace("", None)
        if col.type == "date":
            out[col.name] = pd.to_datetime(s, format="%Y-%m-%d")
        elif col.type == "int":
            out[col.name] = pd.to_numeric(s).astype("Int64")
        elif col.type in ("float", "edss"):
            out[col.name] = pd.to_numeric(s).astype("float64")
        elif col.type == "bool":
            out[col.name] = s.map({"yes": True, "no": False}).astype("boolean")
        else:
            out[col.name] = s.astype("string")
    return conform(spec, out)


def read_bundle(directory: str | Path) -> Cohort:
    """Read a generator-written CSV bundle into a :class:`Cohort` (no validation rules).

    Raises
    ------
    NotFoundError
        If the directory or a table file is missing.
    DataValidationError
        If a value cannot be parsed as its schema type.
    """
    root = Path(directory)
    manifest_path = root / "bundle.json"
    if not manifest_path.is_file():
        raise NotFoundError(f"No bundle.json in {root}.",
                            hint="Point to a directory written by 'hsctms demo-data'.")
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    tables = {}
    for name, spec in SCHEMA.items():
        path = root / spec.filename
        if not path.is_file():
            raise NotFoundError(f"Missing {spec.filename} in {root}.",
                                hint="A bundle has one CSV per table; regenerate it.")
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
        try:
            tables[name] = _typed(spec, raw)
        except (ValueError, TypeError) as exc:
            raise DataValidationError(f"{spec.filename}: {exc}",
                                      hint="Run 'hsctms validate' on the bundle.") from exc
    model = manifest.get("generator", {}).get("model", {})
    regimen_map = REGIMEN_MAPS.get(str(model.get("regimen_map", "ebmt")),
                                   REGIMEN_MAPS["ebmt"])()
    data_date = manifest.get("data_date")
    return Cohort(tables=tables, synthetic=bool(manifest.get("synthetic", False)),
                  data_date=_dt.date.fromisoformat(data_date) if data_date else None,
                  source=str(root), regimen_map=regimen_map)


def load_demo_cohort() -> Cohort:
    """The bundled synthetic demo cohort (300 patients, seed 20261122) as a :class:`Cohort`.

    Examples
    --------
    >>> c = load_demo_cohort()
    >>> c.synthetic, c.n_patients
    (True, 300)
    """
    return read_bundle(demo_bundle_path())
