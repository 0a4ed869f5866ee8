"""Resuming a run that failed, was cancelled, or whose orchestrator died.

The run continues under its own id: a new orchestrator takes it over (its owner token fences
off any write of the previous one), succeeded tasks keep their stored outputs and are not run
again, and every other task starts a new attempt.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from legato.config import load_settings
from legato.define.fingerprint import Fingerprinter
from legato.define.loader import load_pipeline
from legato.define.pipeline import Pipeline
from legato.engine.caching import Caching, CodeDigests, EarlierParts
from legato.engine.clock import SystemClock
from legato.engine.driver import Driver
from legato.engine.executor_choice import executor_for
from legato.engine.journal import Journal
from legato.engine.options import ResumeOptions, takes_resume_options
from legato.engine.plan import Plan, build_plan, check_capacity
from legato.engine.reducer import fold
from legato.engine.result import RunResult
from legato.engine.run import drive
from legato.engine.saga import summary, unfinished
from legato.engine.storage import resolve_storage
from legato.engine.stored import damaged_outputs
from legato.errors import DefinitionError, ParameterError, RunBusyError
from legato.liveness import orchestrator_alive, orchestrator_pid, owner_token
from legato.model.records import RunRecord, TaskRecord
from legato.model.runs import RunInfo
from legato.model.specs import FailurePolicy
from legato.model.states import RUN_RESUMABLE, RunState
from legato.runtime.secrets import watch
from legato.store.base import RunStore
from legato.store.hashing import fingerprint_path

__all__ = ["prepare_resume", "resume"]


def _busy_here(info: RunInfo) -> RunBusyError:
    pid = orchestrator_pid(info.owner)
    return RunBusyError(
        f"run {info.run_id!r} is still driven by process {pid} on this host; stop it first "
        f"(legato cancel {info.run_id}), or wait for it to end"
    )


@takes_resume_options(ResumeOptions)
def prepare_resume(run_id: str, options: ResumeOptions) -> Driver:
    """Take over run ``run_id`` (an id or a unique prefix) and build the driver that continues
    it, with the options it started with (failure policy, cache options). Raises
    ``RunBusyError`` while its orchestrator is alive."""
    settings = load_settings(options.profile)
    watch(settings.secret_refs)
    storage = resolve_storage(options.store, settings)
    if storage is None:
        raise DefinitionError(
            "resume needs the run store that recorded the run",
            fix="leave store= out (the local default) or pass the store the run used",
        )
    info = storage.runs.get_run(run_id)
    pipeline = _pipeline_of(info, options.pipeline)
    events = storage.runs.read_events(info.run_id)
    # No events: the orchestrator died between creating the run and starting it.
    record = fold(events) if events else None
    if record is not None:
        _check_resumable(record)
    # The executor the run used before the profile's: a resumed run carries on as it ran.
    chosen = executor_for(options.executor or info.executor or None, settings, options.amounts)
    plan = _plan_again(pipeline, info, record)
    check_capacity(plan, chosen.capacity, chosen.name, chosen.hosts, shares_gpus=chosen.shares_gpus)
    chosen.check_storage(
        getattr(storage.runs, "url", None), getattr(storage.artifacts, "url", None)
    )
    # Succeeded tasks whose output the resume would read but is damaged run again (checked
    # before the take-over: it only reads, and a run that cannot be repaired is left alone).
    damaged = (
        damaged_outputs(record, plan, storage.artifacts)
        if record is not None
        and record.state not in (RunState.SUCCEEDED, RunState.ROLLING_BACK)
        and not unfinished(record)
        else {}
    )
    clock = options.clock or SystemClock()
    owner = owner_token()
    if record is None or record.state is not RunState.SUCCEEDED:
        lease = options.stale_after if options.stale_after is not None else settings.stale_after
        _take_over(storage.runs, info, owner, lease)
    fingerprinter = Fingerprinter()
    caching = Caching(
        store=storage.runs,
        plan=plan,
        codes=CodeDigests(plan, fingerprinter.code),
        lookups=plan.caching.lookups,
        refresh=plan.caching.refresh,
        previous=EarlierParts(storage.runs, ()),
        hash_path=fingerprint_path,
        now=clock.time,
    )
    return Driver(
        run_id=info.run_id,
        plan=plan,
        executor=chosen,
        clock=clock,
        seed=options.seed,
        journal=Journal(info.run_id, store=storage.runs, owner=owner, listeners=options.listeners),
        artifacts=storage.artifacts,
        caching=caching,
        resume_from=record,
        damaged=damaged,
        secrets=settings.secret_refs,
        echo_logs=options.echo_logs,
        lease=settings.stale_after,
    )


def _pipeline_of(info: RunInfo, given: Pipeline[..., Any] | None) -> Pipeline[..., Any]:
    """The pipeline to continue the run with: the one given, or the one the run was started
    from imported again; it must be the run's own."""
    pipeline = given
    if pipeline is None:
        if not info.target:
            raise DefinitionError(
                f"run {info.run_id} was started from a script or notebook legato cannot "
                "import again",
                fix="pass the pipeline: legato.resume(run_id, pipeline=my_pipeline)",
            )
        pipeline = load_pipeline(info.target)
    if pipeline.name != info.pipeline:
        raise DefinitionError(
            f"run {info.run_id} belongs to pipeline {info.pipeline!r}, not {pipeline.name!r}",
            fix=f"pass the {info.pipeline} pipeline",
        )
    return pipeline


def _check_resumable(record: RunRecord) -> None:
    """Refuse a run that is still going or was rolled back to the end."""
    if record.state not in RUN_RESUMABLE | {RunState.SUCCEEDED}:
        raise ParameterError(
            f"run {record.run_id} is {record.state.value}; only failed, cancelled or "
            "interrupted runs can be resumed"
        )
    if record.rollbacks and record.state is not RunState.ROLLING_BACK and not unfinished(record):
        raise ParameterError(
            f"run {record.run_id} failed and was rolled back ({summary(record)}): what its "
            "tasks did is undone, so there is nothing to continue; start a new run (tasks "
            "without rollback handlers whose code and inputs are unchanged are cache hits)"
        )


def _plan_again(pipeline: Pipeline[..., Any], info: RunInfo, record: RunRecord | None) -> Plan:
    """The run's plan, made again from its recorded parameters and choices; a pipeline
    whose tasks or map items are no longer the run's is refused."""
    policy = record.failure_policy if record is not None else ""
    plan = build_plan(
        pipeline.graph,
        pipeline.bind_params(record.params if record is not None else info.params),
        FailurePolicy(policy) if policy else None,
        # As the run started: a resume must not reuse what the run refused to (cache=False,
        # refresh=...). A run without events never started: its choices are unknown.
        record.caching if record is not None else None,
    )
    if record is None:
        return plan
    # The plan's tasks, not the graph's nodes: a mapped sub-pipeline plans one per item.
    planned = {k for k, t in record.tasks.items() if t.parent is None}
    if planned != set(plan.nodes):
        added = sorted(set(plan.nodes) - planned)
        removed = sorted(planned - set(plan.nodes))
        raise DefinitionError(
            f"pipeline {pipeline.name!r} changed shape since run {info.run_id} started "
            f"(new tasks: {added or 'none'}; removed: {removed or 'none'})",
            fix="start a new run: unchanged tasks will be cache hits",
        )
    _check_items(record, plan)
    return plan


def _take_over(runs: RunStore, info: RunInfo, owner: str, lease: float) -> None:
    """Make ``owner`` the run's orchestrator.

    Ownership is a lease (docs/durability.md): an orchestrator alive on this host keeps the
    run whatever its heartbeat says; one known gone releases it at once; any other is waited
    for until its lease expires on the store's clock (the judgement `legato runs` shows). The
    take-over is a compare-and-set on the owner read here: of two resumes at once, one wins.
    """
    alive = orchestrator_alive(info.owner, info.heartbeat_at)
    if alive and not info.state.is_terminal:
        raise _busy_here(info)
    lease = max(lease, float(info.environment.get("lease", 0.0)))  # never shorter than promised
    runs.take_over(info.run_id, owner, lease=0.0 if alive is False else lease, seen=info)


def _check_items(record: RunRecord, plan: Plan) -> None:
    """Refuse to resume a run whose maps now name their items otherwise than when they
    expanded (keyed or not, other item keys: the pipeline's code changed), before the run
    is taken over: the resume finds each item by its key, and must find the same ones."""
    tasks = record.tasks
    items: dict[str, list[TaskRecord]] = {}
    for task in tasks.values():
        if task.parent is not None:
            items.setdefault(task.parent, []).append(task)
    for key, node in plan.nodes.items():
        count = tasks[key].items
        if count is None or node.mapped is None:
            continue  # not expanded: it expands as the plan says now
        had = [t.key for t in sorted(items.get(key, ()), key=lambda t: t.map_index or 0)]
        now = [node.item_key(i) for i in range(count)]
        if (node.item_keys and len(node.item_keys) != count) or had != now:
            raise DefinitionError(
                f"the items of map {key!r} changed since run {record.run_id} started: it had "
                f"{_few(had)}, the pipeline now has {_few(node.item_keys or now)}",
                fix="start a new run: items whose code and inputs are unchanged will be cache hits",
                task=key,
                location=node.location,
            )


def _few(keys: Sequence[str]) -> str:
    shown = ", ".join(keys[:4])
    return f"{shown} and {len(keys) - 4} more" if len(keys) > 4 else shown or "no items"


@takes_resume_options(ResumeOptions)
def resume(run_id: str, options: ResumeOptions) -> RunResult:
    """Continue a failed, cancelled or crashed run where it stopped.

    Succeeded tasks are not executed again (their stored outputs are used); the others run
    as new attempts. A run that failed while rolling back (see ``@task(on_rollback=...)``)
    only finishes its rollback: handlers that completed are not run again, one in flight
    when its orchestrator died runs once more; a run that was rolled back completely cannot
    be resumed (its work was undone: start a new run). Resuming a run that already
    succeeded runs nothing and returns it. The pipeline is imported again from where the
    run recorded it, or given as ``pipeline``.
    A run whose orchestrator is still alive raises ``RunBusyError``; one whose orchestrator
    died is taken over once its heartbeat is older than ``stale_after`` seconds (at once
    when that process is known to be gone).

    The options (:class:`~legato.engine.options.ResumeOptions`) are given as keywords, as
    one ``ResumeOptions`` object, or both. ``profile`` selects the ``legato.toml`` profile
    whose store holds the run (default: ``LEGATO_PROFILE``, else the file's
    ``default_profile``); its secrets, concurrency and ``stale_after`` apply. The run keeps
    the executor it ran with unless ``executor`` says otherwise, and always its parameters,
    failure policy and cache options (a run started with ``cache=False`` or ``refresh=...``
    reuses no more when resumed than it would have). A resumed run that fails again returns
    its failed result, as :func:`legato.run` does.
    """
    return drive(prepare_resume(run_id, options))
