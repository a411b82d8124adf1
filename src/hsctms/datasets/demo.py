"""The bundled synthetic demo cohort (``hsctms/datasets/data/demo``).

The bundle is produced by :func:`hsctms.datasets.write_demo_bundle` with
:data:`~hsctms.datasets.generate.DEMO_SEED` and
:data:`~hsctms.datasets.generate.DEMO_PATIENTS` (a test checks that regenerating it reproduces
the committed files byte for byte). :func:`read_bundle` reads such a bundle through
:mod:`hsctms.io` (the one validating reader) with the manifest's regimen convention.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

from hsctms.errors import NotFoundError
from hsctms.model.cohort import Cohort
from hsctms.model.regimens import REGIMEN_MAPS


def demo_bundle_path() -> Path:
    """Directory of the bundled synthetic demo CSV bundle.

    Returns
    -------
    pathlib.Path
        The installed ``hsctms/datasets/data/demo`` directory (holds ``bundle.json`` and
        one CSV file per table).

    Raises
    ------
    NotFoundError
        The bundle is missing from the installation.
    """
    path = Path(str(resources.files("hsctms.datasets").joinpath("data", "demo")))
    if not (path / "bundle.json").is_file():
        raise NotFoundError(f"The bundled demo data are missing from {path}.",
                            hint="Reinstall hsctms, or regenerate them with "
                                 "'hsctms demo-data --patients 300 --seed 20261122 --out "
                                 f"{path} --data-date 2026-06-30'.")
    return path


def read_bundle(directory: str | Path) -> Cohort:
    """Read a generator-written CSV bundle into a :class:`Cohort` through the one validating
    reader (:func:`hsctms.io.load_bundle`), using the regimen convention recorded in the
    bundle's manifest.

    Parameters
    ----------
    directory
        Directory written by ``hsctms demo-data`` / :func:`write_demo_bundle` (holding
        ``bundle.json``). A manifest without a known regimen convention uses ``"ebmt"``.

    Returns
    -------
    Cohort
        The validated cohort, synthetic flag and data date as recorded in the manifest.

    Raises
    ------
    NotFoundError
        If the directory has no ``bundle.json``.
    DataValidationError
        If the bundle breaks any validation rule.
    """
    from hsctms.io import load_bundle

    root = Path(directory)
    manifest_path = root / "bundle.json"
    if not manifest_path.is_file():
        raise NotFoundError(f"No bundle.json in {root}.",
                            hint="Point to a directory written by 'hsctms demo-data'.")
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    model = (manifest.get("generator") or {}).get("model", {})
    regimen_map = REGIMEN_MAPS.get(str(model.get("regimen_map", "ebmt")),
                                   REGIMEN_MAPS["ebmt"])()
    return load_bundle(root, regimen_map=regimen_map)


def load_demo_cohort() -> Cohort:
    """The bundled synthetic demo cohort (300 patients, seed 20261122) as a :class:`Cohort`.

    Returns
    -------
    Cohort
        The demo cohort read by :func:`read_bundle` (``synthetic=True``, data date
        2026-06-30).

    Examples
    --------
    >>> c = load_demo_cohort()
    >>> c.synthetic, c.n_patients
    (True, 300)
    """
    return read_bundle(demo_bundle_path())
