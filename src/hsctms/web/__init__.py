"""The hsctms web registry: a thin FastAPI layer over the library (see ``create_app``)."""

from __future__ import annotations
