"""Bounds on skills that settings validate too: a module light enough to import at start-up."""

from __future__ import annotations

MAX_TTL_HOURS = 24 * 365
