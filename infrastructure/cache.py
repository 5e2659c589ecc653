"""`@cached`: the one caching mechanism of the project, for async functions and methods.

Why not `functools.lru_cache` or `cachetools.cached`: neither coalesces concurrent
misses of a coroutine, neither knows when the files a value was derived from
change, and neither reports metrics. This module adds exactly those on top of
`cachetools` storage (LRU, optional TTL with an injectable clock).

Semantics worth knowing:

* Keys are built from the bound arguments in parameter order with defaults
  applied, so ``f(1)``, ``f(a=1)`` and ``f(1, b=<default>)`` share an entry; the
  key is a tuple (never a joined string) and carries each value's type, so
  ``f("a:b")`` / ``f("a", "b")`` and ``f(1)`` / ``f(True)`` never collide.
* On methods (first parameter named ``self``) the instance is represented by a
  token, not kept alive; when the instance is garbage collected its entries go.
* Concurrent misses for one key run the function once (single flight). Its
  exception reaches every waiter and is not cached. A waiter that is cancelled
  does not cancel the shared computation.
* ``depends_on`` returns the files a value derives from; their fingerprints
  (mtime_ns, size, inode, ctime_ns) are taken *before* the function runs and
  checked on every hit, so an edit, a same-size rewrite in the same second, an
  atomic replace or a deletion is a miss. A handful of paths is stat'ed inline
  (a metadata syscall of ~1 µs is far cheaper than a thread hop); more go to a
  worker thread in one hop.
* A computation may also discover what it depends on while it runs (a tree
  walk learns its directories as it goes): it calls ``add_dependencies`` with
  fingerprints it took *before* reading each path. And a cached value computed
  from another cached value inherits that value's fingerprints, so an outer
  entry is never fresher than the inner ones it was built from. A cache made
  with ``track_files=False`` opts out: its entries live for their ``ttl`` alone (a
  poll that may be a few seconds stale but must cost nothing per hit). A cache built
  on such a value inherits nothing from it either: give it a ttl of its own.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import inspect
import os
import time
import weakref
from collections.abc import Awaitable, Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Literal, ParamSpec, TypeVar, cast

import cachetools

P = ParamSpec("P")
R = TypeVar("R")

Fingerprint = tuple[int, int, int, int] | None
PathLike = str | os.PathLike[str]

# Fingerprint checks above this many paths are done in one worker-thread hop.
_INLINE_STAT_LIMIT = 8


def fingerprint(path: PathLike) -> Fingerprint:
    """The identity of a file's current content as far as the OS can tell, or None if absent."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino, st.st_ctime_ns)


def _fingerprints(paths: Sequence[PathLike]) -> tuple[tuple[str, Fingerprint], ...]:
    return tuple((os.fspath(p), fingerprint(p)) for p in paths)


# The fingerprints gathered by the @cached computation running in the current task, if any.
_COLLECTED: contextvars.ContextVar[list[tuple[str, Fingerprint]] | None] = contextvars.ContextVar(
    "cde_cache_collected", default=None
)


def add_dependencies(prints: Iterable[tuple[str, Fingerprint]]) -> None:
    """Guard the value of the @cached computation in progress by these `(path, fingerprint)` pairs too.

    Take each fingerprint *before* reading the path (see `fingerprint`), so a change
    made while the computation runs invalidates its value. Call it from the
    coroutine (the context variable does not reach worker threads); outside a
    cached computation it does nothing.
    """
    collected = _COLLECTED.get()
    if collected is not None:
        collected.extend(prints)


@dataclass(frozen=True, slots=True)
class CacheStats:
    """A snapshot of one named cache's counters, for the health tool and benchmarks."""

    name: str
    hits: int
    misses: int
    evictions: int
    expirations: int
    invalidations: int
    size: int
    maxsize: int
    ttl: float | None

    @property
    def hit_rate(self) -> float:
        total = self.hits + self.misses
        return self.hits / total if total else 0.0


class _Token:
    """Stands for a method's instance inside keys: hashable by identity, holds no reference."""

    __slots__ = ("__weakref__",)


@dataclass(slots=True)
class _Entry:
    value: Any
    fingerprints: tuple[tuple[str, Fingerprint], ...] | None


_ABSENT = _Entry(None, None)


class _Counting:
    """Mixin counting capacity evictions and TTL expirations of a cachetools store."""

    owner: Cache

    def popitem(self) -> tuple[Any, Any]:
        item = super().popitem()  # type: ignore[misc]
        self.owner._evictions += 1
        return cast(tuple[Any, Any], item)


class _LRU(_Counting, cachetools.LRUCache[Hashable, _Entry]):
    pass


class _TTL(_Counting, cachetools.TTLCache[Hashable, _Entry]):
    def expire(self, time: float | None = None) -> Any:
        expired = super().expire(time)
        self.owner._expirations += len(expired)
        return expired


_MISSING = object()
_REGISTRY: weakref.WeakValueDictionary[str, Cache] = weakref.WeakValueDictionary()
_DEFAULTS: dict[str, Any] = {"maxsize": None, "ttl": 30.0}

SETTINGS_TTL: Literal["settings"] = "settings"
"""Pass as `ttl=` to use the TTL from settings (CDE_CACHE_TTL, 30 s by default)."""


def _unchanged_inline(prints: tuple[tuple[str, Fingerprint], ...]) -> bool:
    """Every file still has its fingerprint (a stat each, on the caller's thread: keep `prints` short)."""
    return all(fingerprint(path) == fp for path, fp in prints)


class Cache:
    """Storage, single-flight bookkeeping and counters behind one `@cached` function."""

    def __init__(
        self,
        name: str,
        fn: Callable[..., Awaitable[Any]],
        *,
        maxsize: int,
        ttl: float | Literal["settings"] | None,
        depends_on: Callable[..., Iterable[PathLike]] | None,
        clock: Callable[[], float],
        track_files: bool = True,
    ) -> None:
        self.name = name
        self._track_files = track_files
        self.clock = clock
        self._declared = (maxsize, ttl)
        self._fn = fn
        self._depends_on = depends_on
        sig = inspect.signature(fn)
        self._params = tuple(sig.parameters.values())
        self._signature = sig
        # "Simple" signatures (no *args, **kwargs, keyword-only) get the fast binder.
        self._simple = all(p.kind == p.POSITIONAL_OR_KEYWORD for p in self._params)
        self._arity = len(self._params)
        self._names = tuple(p.name for p in self._params)
        self._defaults = tuple((p.name, p.default) for p in self._params)
        self._is_method = bool(self._params) and self._params[0].name == "self"
        self._tokens: dict[int, _Token] = {}
        self._inflight: dict[Hashable, asyncio.Task[Any]] = {}
        self.hits = self.misses = self._evictions = self._expirations = self.invalidations = 0
        self._store = self._new_store()

    # -- configuration -------------------------------------------------------------------------

    @property
    def maxsize(self) -> int:
        return int(self._store.maxsize)

    @property
    def ttl(self) -> float | None:
        return float(self._store.ttl) if isinstance(self._store, _TTL) else None

    def _new_store(self) -> cachetools.Cache[Hashable, _Entry]:
        maxsize, declared_ttl = self._declared
        maxsize = _DEFAULTS["maxsize"] or maxsize
        ttl = _DEFAULTS["ttl"] if declared_ttl == SETTINGS_TTL else declared_ttl
        store: _LRU | _TTL
        store = _LRU(maxsize) if ttl is None else _TTL(maxsize, ttl, timer=lambda: self.clock())
        store.owner = self
        return store

    def reconfigure(self) -> None:
        """Rebuild the store from the declared values and the process defaults (drops entries)."""
        self._store = self._new_store()
        self._inflight.clear()

    # -- keys ------------------------------------------------------------------------------------

    def key(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ...]:
        """The canonical key: argument values in parameter order (defaults applied) plus their types."""
        if self._simple:
            values = args if not kwargs and len(args) == self._arity else self._bind_simple(args, kwargs)
        else:
            bound = self._signature.bind(*args, **kwargs)
            bound.apply_defaults()
            values = tuple(bound.arguments.values())
        if self._is_method:
            values = (self._token_for(values[0]), *values[1:])
        types = [v.__class__ for v in values]
        if tuple in types:  # *args and tuple arguments are typed element by element
            types = list(map(_type_of, values))
        # Flat (values..., types...): cheaper to hash than nested tuples, and collision-free because
        # a key of n values always has 2n items with the types in the second half.
        return (*values, *types)

    def _bind_simple(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ...]:
        """`Signature.bind` + `apply_defaults` for plain parameters, several times faster."""
        if len(args) > self._arity:
            raise TypeError(f"{self.name}() takes {self._arity} positional arguments but {len(args)} were given")
        values = list(args)
        used = 0
        for name, default in self._defaults[len(args) :]:
            if name in kwargs:
                values.append(kwargs[name])
                used += 1
            elif default is not inspect.Parameter.empty:
                values.append(default)
            else:
                raise TypeError(f"{self.name}() missing required argument: {name!r}")
        if used != len(kwargs):
            extra = [k for k in kwargs if k not in self._names[len(args) :]]
            raise TypeError(f"{self.name}() got unexpected or duplicate keyword arguments: {extra}")
        return tuple(values)

    def _token_for(self, instance: object) -> _Token:
        token = self._tokens.get(id(instance))
        if token is None:
            token = _Token()
            try:
                weakref.finalize(instance, self._forget, id(instance), token)
            except TypeError:
                raise TypeError(
                    f"@cached method {self.name} needs a weak-referenceable instance "
                    f"({type(instance).__name__} defines __slots__ without __weakref__)"
                ) from None
            self._tokens[id(instance)] = token
        return token

    def _forget(self, instance_id: int, token: _Token) -> None:
        if self._tokens.get(instance_id) is token:
            del self._tokens[instance_id]
        self._drop(lambda values: values[0] is token, count=False)

    # -- lookups ---------------------------------------------------------------------------------

    async def get(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        key = self.key(args, kwargs)
        try:
            entry: _Entry = self._store[key]
        except KeyError:
            return await self._miss(key, args, kwargs)
        except TypeError:  # an unhashable argument: freeze it into a hashable stand-in
            key = _frozen_key(key)
            entry = self._store.get(key, _ABSENT)
            if entry is _ABSENT:
                return await self._miss(key, args, kwargs)
        prints = entry.fingerprints
        if prints is None:  # the hot path: a plain in-memory hit
            self.hits += 1
            return entry.value
        if await self._unchanged(prints):
            self.hits += 1
            add_dependencies(prints)
            return entry.value
        self._drop_stale(key)
        return await self._miss(key, args, kwargs)

    def _drop_stale(self, key: Hashable) -> None:
        self._store.pop(key, None)
        self.invalidations += 1

    async def _miss(self, key: Hashable, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        self.misses += 1
        loop = asyncio.get_running_loop()
        task = self._inflight.get(key)
        if task is None or task.get_loop() is not loop:
            task = loop.create_task(self._compute(key, args, kwargs))
            self._inflight[key] = task
            task.add_done_callback(functools.partial(self._settle, key))
        computed: _Entry = await asyncio.shield(task)
        _inherit(computed)
        return computed.value

    async def _compute(self, key: Hashable, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        prints = None
        if self._depends_on is not None:
            paths = list(self._depends_on(*args, **kwargs))
            if len(paths) <= _INLINE_STAT_LIMIT:
                prints = _fingerprints(paths)
            else:
                prints = await asyncio.to_thread(_fingerprints, paths)
        collected: list[tuple[str, Fingerprint]] = []
        # This task runs in its own copy of the context; None: what the computation reads guards nothing.
        _COLLECTED.set(collected if self._track_files else None)
        value = await self._fn(*args, **kwargs)
        if collected:
            prints = tuple(dict.fromkeys((*(prints or ()), *collected)))
        return _Entry(value, prints)

    def _settle(self, key: Hashable, task: asyncio.Task[Any]) -> None:
        if self._inflight.get(key) is not task:
            return  # invalidated while computing: the result may be stale, do not store it
        del self._inflight[key]
        if task.cancelled() or task.exception() is not None:
            return
        self._store[key] = task.result()

    async def _unchanged(self, prints: tuple[tuple[str, Fingerprint], ...]) -> bool:
        if len(prints) <= _INLINE_STAT_LIMIT:
            return _unchanged_inline(prints)
        current = await asyncio.to_thread(_fingerprints, [p for p, _ in prints])
        return current == prints

    # -- invalidation ----------------------------------------------------------------------------

    def invalidate(self, *args: Any, **kwargs: Any) -> bool:
        """Drop the entry for these arguments (and any computation in flight); True if one existed."""
        key = self._hashable_key(args, kwargs)
        existed = self._store.pop(key, _MISSING) is not _MISSING
        existed = self._inflight.pop(key, None) is not None or existed
        if existed:
            self.invalidations += 1
        return existed

    def _hashable_key(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ...]:
        key = self.key(args, kwargs)
        try:
            hash(key)
        except TypeError:
            key = _frozen_key(key)
        return key

    def peek(self, *args: Any, **kwargs: Any) -> Any | None:
        """The stored value for these arguments, or None: never computes, counts nor checks fingerprints.

        For updating a cached mutable value in place after a write whose effect is known exactly.
        """
        found = self._store.get(self._hashable_key(args, kwargs), _MISSING)
        return None if found is _MISSING else cast(_Entry, found).value

    def current(self, *args: Any, count_miss: bool = True, default: Any = None, **kwargs: Any) -> Any:
        """The stored value for these arguments if it is still valid (a hit), else `default` (a miss).

        Never computes: for a caller that loads the misses of many keys at once and primes them
        (or, with `count_miss=False`, calls the cached function for them, which counts the miss).
        Checks fingerprints inline (a stale entry is dropped); an entry with more files than are
        stat-ed inline counts as a miss.
        """
        key = self._hashable_key(args, kwargs)
        entry = self._store.get(key, _MISSING)
        prints = None if entry is _MISSING else cast(_Entry, entry).fingerprints
        if entry is not _MISSING and prints is not None:
            if len(prints) > _INLINE_STAT_LIMIT:
                entry = _MISSING
            elif not _unchanged_inline(prints):
                self._drop_stale(key)
                entry = _MISSING
            else:
                add_dependencies(prints)
        if entry is _MISSING:
            self.misses += count_miss
            return default
        self.hits += 1
        return cast(_Entry, entry).value

    def prime(
        self, value: Any, fingerprints: Iterable[tuple[str, Fingerprint]] | None, *args: Any, **kwargs: Any
    ) -> None:
        """Store `value` for these arguments, as if computed, guarded by `fingerprints`.

        For a writer that knows the new value and took the fingerprints of exactly
        what it wrote (under its lock): the next read is a hit instead of a re-parse.
        A computation in flight for the key started before the write, so it is dropped.
        """
        key = self._hashable_key(args, kwargs)
        self._inflight.pop(key, None)
        self._store[key] = _Entry(value, None if fingerprints is None else tuple(fingerprints))

    def invalidate_if(self, predicate: Callable[[tuple[Any, ...]], bool]) -> int:
        """Drop every entry whose argument values (self as a token) satisfy `predicate`."""
        return self._drop(predicate, count=True)

    def _drop(self, predicate: Callable[[tuple[Any, ...]], bool], *, count: bool) -> int:
        dropped = 0
        for key in [k for k in list(self._store.keys()) if predicate(_values(k))]:
            self._store.pop(key, None)
            dropped += 1
        for key in [k for k in self._inflight if predicate(_values(k))]:
            del self._inflight[key]
        if count:
            self.invalidations += dropped
        return dropped

    def clear(self) -> None:
        """Drop every entry and every computation in flight."""
        self.invalidations += len(self._store)
        self._store = self._new_store()  # MutableMapping.clear() would pop items one by one as "evictions"
        self._inflight.clear()

    def stats(self) -> CacheStats:
        if isinstance(self._store, _TTL):
            self._store.expire()
        return CacheStats(
            name=self.name,
            hits=self.hits,
            misses=self.misses,
            evictions=self._evictions,
            expirations=self._expirations,
            invalidations=self.invalidations,
            size=len(self._store),
            maxsize=self.maxsize,
            ttl=self.ttl,
        )


def _values(key: Hashable) -> tuple[Any, ...]:
    """The argument values of a key (its first half)."""
    items = cast(tuple[Any, ...], key)
    return items[: len(items) // 2]


def _frozen_key(key: tuple[Any, ...]) -> tuple[Any, ...]:
    items = _values(key)
    return (*map(_freeze, items), *key[len(items) :])


def _type_of(value: Any) -> Any:
    """The type signature of a key value; tuples (e.g. *args) are typed element by element."""
    cls = value.__class__
    if cls is tuple:
        return (tuple, tuple(map(_type_of, value)))
    return cls


def _inherit(entry: _Entry) -> None:
    """Pass an entry's fingerprints on to the cached computation awaiting it, if any."""
    if entry.fingerprints:
        add_dependencies(entry.fingerprints)


def _freeze(value: Any) -> Hashable:
    """A hashable stand-in for an unhashable argument that keeps distinct values distinct."""
    if isinstance(value, dict):
        return ("dict", tuple(sorted(((_freeze(k), _freeze(v)) for k, v in value.items()), key=repr)))
    if isinstance(value, list | tuple):
        return (type(value).__name__, tuple(_freeze(v) for v in value))
    if isinstance(value, set | frozenset):
        return ("set", tuple(sorted((_freeze(v) for v in value), key=repr)))
    model_dump = getattr(value, "model_dump", None)
    if callable(model_dump):
        return (type(value).__qualname__, _freeze(model_dump()))
    try:
        hash(value)
    except TypeError:
        raise TypeError(f"@cached cannot build a key from an argument of type {type(value).__name__}") from None
    return (type(value).__qualname__, value)


class CachedFunction(Generic[P, R]):
    """What `@cached` returns: the coroutine function plus its `cache` and shortcuts."""

    def __init__(self, fn: Callable[P, Awaitable[R]], cache: Cache) -> None:
        functools.update_wrapper(self, fn)
        self.cache = cache

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> Awaitable[R]:
        # Not `async def`: handing back cache.get's coroutine saves a frame on every hit.
        return self.cache.get(args, kwargs)

    def __get__(self, instance: object, owner: type | None = None) -> Any:
        if instance is None:
            return self
        return _BoundCached(self, instance)

    def invalidate(self, *args: Any, **kwargs: Any) -> bool:
        return self.cache.invalidate(*args, **kwargs)

    def clear(self) -> None:
        self.cache.clear()


class _BoundCached:
    """A cached method bound to its instance: `obj.method(...)`, `obj.method.invalidate(...)`."""

    __slots__ = ("_fn", "_instance")

    def __init__(self, fn: CachedFunction[Any, Any], instance: object) -> None:
        self._fn = fn
        self._instance = instance

    def __call__(self, *args: Any, **kwargs: Any) -> Awaitable[Any]:
        return self._fn.cache.get((self._instance, *args), kwargs)

    def invalidate(self, *args: Any, **kwargs: Any) -> bool:
        return self._fn.cache.invalidate(self._instance, *args, **kwargs)

    def peek(self, *args: Any, **kwargs: Any) -> Any | None:
        return self._fn.cache.peek(self._instance, *args, **kwargs)

    @property
    def cache(self) -> Cache:
        return self._fn.cache


def cached(
    name: str | None = None,
    *,
    maxsize: int = 128,
    ttl: float | Literal["settings"] | None = None,
    depends_on: Callable[..., Iterable[PathLike]] | None = None,
    track_files: bool = True,
    clock: Callable[[], float] = time.monotonic,
) -> Callable[[Callable[P, Awaitable[R]]], CachedFunction[P, R]]:
    """Cache an async function or method; see the module docstring for the exact semantics.

    `name` labels the cache in metrics (default: module.qualname) and must be unique
    among live caches. `ttl` is seconds, None (no expiry) or SETTINGS_TTL.
    `depends_on` receives the call's arguments and returns the paths whose
    fingerprints guard the value. `track_files=False`: the files the computation reads
    (through other cached values) do not guard it; only `ttl` does, so it is required.
    """
    if maxsize < 1:
        raise ValueError("maxsize must be >= 1")
    if not track_files and (ttl is None or depends_on is not None):
        raise ValueError("track_files=False needs a ttl and no depends_on: the ttl alone bounds the value's age")
    if ttl is not None and ttl != SETTINGS_TTL and ttl <= 0:
        raise ValueError("ttl must be > 0 seconds")

    def decorate(fn: Callable[P, Awaitable[R]]) -> CachedFunction[P, R]:
        if not inspect.iscoroutinefunction(fn):
            raise TypeError(f"@cached needs an async function; {fn.__qualname__} is not")
        label = name or f"{fn.__module__}.{fn.__qualname__}"
        if label in _REGISTRY:
            if name is not None:
                raise ValueError(f"a cache named {name!r} already exists")
            label = f"{label}#{id(fn):x}"
        cache = Cache(label, fn, maxsize=maxsize, ttl=ttl, depends_on=depends_on, clock=clock, track_files=track_files)
        _REGISTRY[label] = cache
        return CachedFunction(fn, cache)

    return decorate


def _live_caches() -> list[Cache]:
    """The registered caches, from one atomic copy of the registry: iterating it directly can fail with
    "dictionary changed size" while a worker thread imports a module that declares a cache (the warm-up)."""
    return [cache for ref in _REGISTRY.valuerefs() if (cache := ref()) is not None]


def configure_caches(*, maxsize: int | None = None, ttl: float = 30.0) -> None:
    """Apply settings: `maxsize` overrides every cache's size; `ttl` is used by `ttl=SETTINGS_TTL` caches."""
    _DEFAULTS["maxsize"] = maxsize
    _DEFAULTS["ttl"] = ttl
    for cache in _live_caches():
        cache.reconfigure()


def all_cache_stats() -> list[CacheStats]:
    """Metrics of every live named cache, sorted by name."""
    return sorted((c.stats() for c in _live_caches()), key=lambda s: s.name)


def cache_totals() -> tuple[int, int]:
    """(hits, misses) summed over every live cache, without building per-cache snapshots."""
    hits = misses = 0
    for ref in _REGISTRY.valuerefs():  # one guarded copy; iterating values() costs ~5x more per health call
        cache = ref()
        if cache is not None:
            hits += cache.hits
            misses += cache.misses
    return hits, misses


def get_cache(name: str) -> Cache | None:
    return _REGISTRY.get(name)
