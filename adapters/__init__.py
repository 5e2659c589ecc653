"""Adapters: implementations of the domain's ports on the filesystem, SQLite and subprocesses."""
