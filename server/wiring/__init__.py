"""Per-area wiring of adapters into use cases, imported and built on first use.

The composition root (`server/bootstrap.py`) holds one lazily built object per area,
so a server that is only asked about workflows never imports the scanner, the
search index or the agent runner, and start-up stays as fast as the SDK allows.
"""
