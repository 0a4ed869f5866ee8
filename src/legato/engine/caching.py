"""Cache lookups for a run: which tasks may reuse a stored result, and why not.

The driver asks :meth:`Caching.check` about tasks that just became ready, in batches (one store
query per batch, however many tasks). A hit settles the task without running it; a miss
carries its key and the reason ("cache: miss, code changed") into the task's record.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import xxhash

from legato.engine.cache import (
    KeyParts,
    UncacheableError,
    explain_miss,
    is_path_annotation,
    key_of,
    literal_digest,
    value_digest,
)
from legato.engine.plan import Plan, PlanNode
from legato.model.runs import CacheHit
from legato.model.slots import slot_init
from legato.model.specs import CacheKeyContext
from legato.model.values import Arg, Dict, Given, Lit, Seq
from legato.store.base import RunStore

__all__ = ["Caching", "CodeDigests", "EarlierParts", "Verdict"]

BoundArgs = tuple[tuple[Arg, ...], tuple[tuple[str, Arg], ...]]


class CodeDigests:
    """The code digest of each task of a plan, taken as the run starts (a cache key names
    the code the run started with, whatever a task changes later), once per task spec: a
    plan of a million nodes has a few functions, not a million digests to keep."""

    __slots__ = ("_by_spec", "_plan")

    def __init__(self, plan: Plan, code: Callable[[object], str]) -> None:
        self._plan = plan
        """Holds the specs, so that each id stays its own."""
        self._by_spec: dict[int, str] = {}
        for node in plan.nodes.values():
            if id(node.spec) not in self._by_spec:
                self._by_spec[id(node.spec)] = code(node.spec.fn)

    def of(self, node: PlanNode) -> str:
        """The digest of ``node``'s code."""
        return self._by_spec[id(node.spec)]


@slot_init
@dataclass(frozen=True, slots=True)
class Verdict:
    """What the cache says about one call."""

    key: str | None
    """Where its result is filed (None: not cacheable)."""
    parts: KeyParts | None
    hit: CacheHit | None
    reason: str


class Caching:
    """Cache keys and lookups for the tasks of one run."""

    def __init__(
        self,
        *,
        store: RunStore,
        plan: Plan,
        codes: CodeDigests,
        lookups: bool,
        refresh: bool | frozenset[str],
        previous: EarlierParts,
        hash_path: Callable[[Any], str],
        now: Callable[[], float],
    ) -> None:
        self.store = store
        self.plan = plan
        self.codes = codes
        self.lookups = lookups
        self.refresh = refresh
        self.previous = previous
        self.hash_path = hash_path
        self.now = now

    def _refreshed(self, node: PlanNode) -> bool:
        if isinstance(self.refresh, bool):
            return self.refresh
        return node.spec.name in self.refresh or node.key in self.refresh

    def parts(self, node: PlanNode, bound: BoundArgs) -> tuple[str | None, KeyParts | None, str]:
        """The cache key of a call with its bound arguments, or why it has none."""
        policy = node.spec.options.cache
        args, kwargs = bound
        try:
            parts = key_of(
                task=node.spec.name,
                code=self.codes.of(node),
                version=policy.version,
                signature=node.spec.signature,
                args=args,
                kwargs=kwargs,
                hash_path=self.hash_path,
            )
        except UncacheableError as exc:
            return None, None, f"cache: off, {exc}"
        if policy.key is not None:
            try:
                custom: object = policy.key(self._context(node, bound, parts))
            except Exception as exc:  # the user's function: its error must not stop the run
                return None, None, f"cache: off, the task's cache key function raised {exc!r}"
            if not isinstance(custom, str):
                return None, None, "cache: off, the task's cache key function did not return a str"
            parts = KeyParts(code="custom", inputs="", params=custom, version=policy.version)
        return parts.key(node.spec.name), parts, ""

    def _context(self, node: PlanNode, bound: BoundArgs, parts: KeyParts) -> CacheKeyContext:
        params = node.spec.signature.parameters
        names = list(params)
        args, kwargs = bound
        inputs: dict[str, str] = {}
        literals: dict[str, Any] = {}
        for name, arg in [*zip(names, args, strict=False), *kwargs]:
            annotation = params[name].annotation if name in params else None
            as_path = annotation is not None and is_path_annotation(annotation)
            if isinstance(arg, Lit):
                digest = literal_digest(arg.value, as_path=as_path, hash_path=self.hash_path)
                if digest.startswith("path:"):  # a file or folder: by its content
                    inputs[name] = digest
                else:
                    literals[name] = arg.value
            elif _has_given(arg):
                inputs[name] = _arg_digest(arg, as_path, self.hash_path)
            else:  # a list or dict of literals around a run parameter
                literals[name] = _literal_value(arg)
        return CacheKeyContext(
            task=node.spec.name, code=parts.code, inputs=inputs, literals=literals
        )

    def check(self, calls: Sequence[tuple[PlanNode, str, BoundArgs]]) -> list[Verdict]:
        """Verdicts for ``(node, task key, bound arguments)`` triples, in order."""
        pending: list[tuple[int, str, KeyParts, PlanNode, str]] = []
        verdicts: list[Verdict | None] = []
        for node, task_key, bound in calls:
            key, parts, reason = self.parts(node, bound)
            if key is not None and node.split_output and task_key == node.key:
                # Stored item by item (a map consumes it): filed apart from the same call
                # stored whole, so neither form is ever mistaken for the other.
                key += ":items"
            if key is None or parts is None:
                verdicts.append(Verdict(None, None, None, reason))
                continue
            if not self.lookups or not node.spec.options.cache.enabled:
                verdicts.append(
                    Verdict(
                        key,
                        parts,
                        None,
                        "cache: off for this run"
                        if not self.lookups
                        else "cache: off for this task",
                    )
                )
                continue
            if self._refreshed(node):
                verdicts.append(Verdict(key, parts, None, "cache: refresh requested"))
                continue
            pending.append((len(verdicts), key, parts, node, task_key))
            verdicts.append(None)
        if pending:
            hits = self.store.lookup_cache([key for _, key, _, _, _ in pending])
            now = self.now()
            missed = [task_key for _, key, _, _, task_key in pending if key not in hits]
            previous = self.previous.of(missed) if missed else {}
            for index, key, parts, node, task_key in pending:
                hit = hits.get(key)
                expire = node.spec.options.cache.expire
                if hit is not None and expire is not None and now - hit.created_at > expire:
                    verdicts[index] = Verdict(
                        key, parts, None, "cache: miss, earlier result expired"
                    )
                elif hit is not None:
                    verdicts[index] = Verdict(key, parts, hit, f"cache: hit from run {hit.run_id}")
                else:
                    reason = explain_miss(previous.get(task_key), parts)
                    verdicts[index] = Verdict(key, parts, None, reason)
        return [v for v in verdicts if v is not None]


def _has_given(arg: Arg) -> bool:
    if isinstance(arg, Given):
        return True
    if isinstance(arg, Seq):
        return any(_has_given(item) for item in arg.items)
    if isinstance(arg, Dict):
        return any(_has_given(item) for _, item in arg.items)
    return False


def _arg_digest(arg: Arg, as_path: bool, hash_path: Callable[[Any], str]) -> str:
    """Digest of an argument that holds outputs of other tasks (``[a, b]``, ``{"x": a}``)."""
    if isinstance(arg, Given):
        return value_digest(arg.value, hash_path) + (repr(arg.path) if arg.path else "")
    if isinstance(arg, Lit):
        return literal_digest(arg.value, as_path=as_path, hash_path=hash_path)
    if isinstance(arg, Seq):
        parts = [f"seq{len(arg.items)}{arg.as_tuple}"]
        parts.extend(_arg_digest(item, as_path, hash_path) for item in arg.items)
    elif isinstance(arg, Dict):
        parts = [f"dict{len(arg.items)}"]
        parts.extend(f"{k!r}={_arg_digest(item, as_path, hash_path)}" for k, item in arg.items)
    else:
        raise UncacheableError(f"unbound argument {arg!r}")
    return xxhash.xxh3_128_hexdigest("\0".join(parts).encode())


def _literal_value(arg: Arg) -> Any:
    """The value of a list or dict whose items are all literals."""
    if isinstance(arg, Lit):
        return arg.value
    if isinstance(arg, Seq):
        items = [_literal_value(item) for item in arg.items]
        return tuple(items) if arg.as_tuple else items
    if isinstance(arg, Dict):
        return {k: _literal_value(item) for k, item in arg.items}
    raise UncacheableError(f"unbound argument {arg!r}")


class EarlierParts:
    """What the cache keys of earlier runs of a pipeline covered, to explain misses: for a
    task key, the parts the newest of ``run_ids`` (newest first) recorded for it.

    Read when misses are to be explained, for their keys only (a few primary-key seeks per
    earlier run), and not kept: reading every task's parts of the latest run as each run
    started took 1.0 s of a 100,000-item fan-out's unchanged re-run, all of whose tasks
    were cache hits, and held 100,000 dicts for the whole run."""

    def __init__(self, store: RunStore, run_ids: Iterable[str]) -> None:
        self._store = store
        self._runs = tuple(run_ids)

    def of(self, keys: Iterable[str]) -> dict[str, Mapping[str, str]]:
        """The earlier parts of those of ``keys`` that have some."""
        found: dict[str, Mapping[str, str]] = {}
        wanted = list(dict.fromkeys(keys))
        for run_id in self._runs:
            if not wanted:
                break
            found.update(self._store.cache_parts(run_id, keys=wanted))
            wanted = [key for key in wanted if key not in found]
        return found
