"""The areas' modules stay out of start-up and are imported by the warm-up, off the event loop."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

from server.bootstrap import AREA_MODULES, App, freeze_startup_heap, preload_area_modules


def test_the_server_preloads_before_it_freezes_the_start_up_heap(app: App) -> None:
    """The preloaded modules' objects are frozen too, so full collections never scan them."""
    assert app.container.warm_up_hooks[:2] == [preload_area_modules, freeze_startup_heap]


def test_warm_up_preloads_every_area_module_that_start_up_left_out() -> None:
    script = textwrap.dedent(
        """
        import asyncio, json, logging, sys, threading
        import server.bootstrap as b
        from infrastructure.settings import Settings
        b.bootstrap(Settings.from_env({}))
        lazy = [m for m in b.AREA_MODULES if m not in sys.modules]
        importers = set()
        real = b.importlib.import_module
        def spy(name):
            importers.add(threading.current_thread() is threading.main_thread())
            return real(name)
        b.importlib.import_module = spy
        logging.basicConfig(level=logging.WARNING)
        asyncio.run(b.preload_area_modules())
        print(json.dumps({"lazy": lazy, "left": [m for m in b.AREA_MODULES if m not in sys.modules],
                          "on_main": sorted(importers)}))
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True)
    assert "preloading" not in done.stderr, done.stderr  # each name is a module that imports
    report = json.loads(done.stdout)
    assert report["lazy"] == list(AREA_MODULES)  # none is imported by start-up
    assert report["left"] == []
    assert report["on_main"] == [False]  # imported in a worker thread
