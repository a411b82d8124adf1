"""``hsctms version``: print versions of hsctms and its numerical dependencies."""

from __future__ import annotations

import typer

from hsctms.cli._common import console


def register(app: typer.Typer) -> None:
    """Add the ``version`` command."""

    @app.command("version")
    def version_cmd() -> None:
        """Print the versions of hsctms, Python and the libraries results depend on.

        Example: hsctms version
        """
        from hsctms._provenance import package_versions

        for name, ver in package_versions().items():
            console.print(f"{name:16s} {ver}")
