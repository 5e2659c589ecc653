"""`python -m server` behaves like the `cde-orchestrator` command."""

from server.cli import main

raise SystemExit(main())
