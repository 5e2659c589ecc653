"""Tool handlers, one module per area; each exposes `register(server, container)`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from server.tools import docs, health, onboarding

if TYPE_CHECKING:
    from server.app import CdeServer
    from server.bootstrap import Container

MODULES = (health, onboarding, docs)


def register_all(server: CdeServer, container: Container) -> None:
    for module in MODULES:
        module.register(server, container)
