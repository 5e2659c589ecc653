"""Documentation intelligence: the project's Markdown docs, their findings, quality and search."""
