"""Cross-cutting machinery: the cache, async file primitives, settings and logging."""
