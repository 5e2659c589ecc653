"""Tool handlers, one module per area; each exposes `register(server, container)`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from server.tools import delegation, discovery, docs, health, onboarding, recipes, skills, workflow

if TYPE_CHECKING:
    from server.app import CdeServer
    from server.bootstrap import Container

MODULES = (health, workflow, recipes, onboarding, docs, skills, discovery, delegation)


def register_all(server: CdeServer, container: Container) -> None:
    for module in MODULES:
        module.register(server, container)
