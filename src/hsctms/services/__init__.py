"""Application services that join the statistical core with registry storage (used by the CLI
and the web app; the statistical core itself never imports the database)."""

from __future__ import annotations
