"""``legato.deploy``: promote a model version as a pipeline step, with gates, a smoke test
and automatic rollback.

``deploy(model_version, alias="production", gates=[...], smoke=SmokeTest(...))`` is a
built-in task. In order, it:

1. checks every gate against the version the alias names now (a failure: nothing changes,
   the task fails with ``DeploymentError`` listing the gates that refused);
2. runs the smoke test on the candidate, which no alias names yet (in-process, or on a
   ``legato serve`` told to load it: see :mod:`legato.deployment.smoke`); a failure:
   nothing changes, the task fails with ``DeploymentError`` and the reason;
3. points the alias at the version (``Registry.set_alias``, the reason naming the run).

So the alias only ever names a version that passed its smoke test, and a server following
it never serves one that failed.

Its ``on_rollback`` handler un-promotes when a later task of the run fails: the alias goes
back to the previous version, unless it has moved on since (someone else's change is never
undone). A retried or resumed attempt finds its own earlier promotion in the alias's
history and carries on from there, so the previous version is never lost.

The registry is the run's own (its run store and artifact store, where ``register_model``
wrote), or the profile's outside a run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from legato.define.task import task
from legato.deployment.gates import Gate, GateResult
from legato.deployment.smoke import SmokeTest
from legato.errors import DeploymentError, ParameterError
from legato.model.registry import ModelVersion, check_alias
from legato.model.rollback import RollbackContext
from legato.registry.registry import Registry, open_registry
from legato.runtime.context import current_context
from legato.runtime.tracking import current_registry
from legato.secret_values import mask, refuse

__all__ = ["Deployment", "deploy", "run_deployment", "undeploy"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Deployment:
    """What a deploy did: ``alias`` of ``name`` now names ``version`` (before: ``previous``,
    None when unset); ``changed`` is False when it named the version already."""

    name: str
    version: int
    alias: str
    previous: int | None
    changed: bool
    actor: str
    gates: tuple[GateResult, ...] = ()


def _actor() -> str:
    ctx = current_context()
    return f"legato run {ctx.run_id} task {ctx.key}" if ctx is not None else "legato deploy"


def _registry() -> Registry:
    """The registry the run's own ``register_model`` writes to; outside a run (or where the
    run's store cannot be reached), the one of the profile."""
    found = current_registry()
    if found is not None:
        return found
    ctx = current_context()
    profile = ctx.secrets.profile if ctx is not None and ctx.secrets is not None else None
    return open_registry(profile or None)


def run_deployment(
    registry: Registry,
    model_version: ModelVersion | str,
    *,
    alias: str = "production",
    gates: Sequence[Gate] = (),
    smoke: SmokeTest | None = None,
    actor: str | None = None,
) -> Deployment:
    """The deploy steps against ``registry`` (what the task runs; usable on its own).

    An alias or gate holding a secret's value is refused (``SecretValueError``) before
    anything changes: both are recorded (the alias, the reason naming the gates, the
    :class:`Deployment` the task returns). What it composes from what went wrong (a smoke
    test's failure: its error and the reason of a move back) is masked instead, so a
    rollback is never refused for its reason."""
    check_alias(alias)
    refuse(alias, api="legato.deploy", field="the alias")
    for gate in gates:
        refuse(gate.name, api="legato.deploy", field="a gate")
    actor = actor or _actor()
    mv = (
        registry.resolve(model_version)
        if isinstance(model_version, str)
        else registry.get(model_version.name, model_version.version)  # as stored, not as told
    )
    current = registry.alias(mv.name, alias)
    if current is not None and current.version == mv.version:
        # Already there: by an earlier attempt of this task (carry on from its promotion), or
        # by someone else (nothing of ours to undo).
        mine = [c for c in registry.history(mv.name, alias) if c.version == mv.version]
        ours = bool(mine) and mine[-1].actor == actor
        deployment = Deployment(
            name=mv.name,
            version=mv.version,
            alias=alias,
            previous=mine[-1].previous if ours else None,
            changed=ours,
            actor=actor,
        )
        _smoke(registry, mv, alias, smoke, deployment)
        return deployment
    results = tuple(gate.check(mv, current) for gate in gates)
    refused = [r for r in results if not r.passed]
    if refused:
        raise DeploymentError(
            f"{mv.ref} was not promoted to {alias!r}: "
            + "; ".join(f"gate {r.gate}: {r.message}" for r in refused)
        )
    _smoke(registry, mv, alias, smoke, None)
    passed = ", ".join(r.gate for r in results) or "no gates"
    tested = "" if smoke is None else ", smoke test passed"
    change = registry.set_alias(
        mv.name, alias, mv.version, reason=f"deployed ({passed}{tested})", actor=actor
    )
    return Deployment(
        name=mv.name,
        version=mv.version,
        alias=alias,
        previous=change.previous,
        changed=True,
        actor=actor,
        gates=results,
    )


def _smoke(
    registry: Registry,
    mv: ModelVersion,
    alias: str,
    smoke: SmokeTest | None,
    there: Deployment | None,
) -> None:
    """Run ``smoke`` on ``mv``; ``DeploymentError`` if it fails. ``there``: the alias names
    ``mv`` already; if by an earlier attempt of this task, that promotion is moved back (a
    failed deploy leaves the alias where it found it)."""
    if smoke is None:
        return
    problem = mask(smoke.run(registry, mv))  # it may quote anything, a secret included
    if not problem:
        return
    if there is None:
        raise DeploymentError(
            f"{mv.ref} failed its smoke test and was not promoted to {alias!r}: {problem}"
        )
    outcome = ""
    if _move_back(registry, there, f"smoke test of {mv.ref} failed: {problem}"):
        outcome = f" and {alias!r} was moved back" + (
            f" to version {there.previous}" if there.previous else ""
        )
    raise DeploymentError(f"{mv.ref} failed its smoke test{outcome}: {problem}")


def _move_back(registry: Registry, deployment: Deployment, reason: str) -> bool:
    """Point the alias back at the previous version if it still names the deployed one."""
    if not deployment.changed:
        return False
    current = registry.aliases(deployment.name).get(deployment.alias)
    if current != deployment.version:
        return False  # moved on since: not ours to undo
    if deployment.previous is None:
        registry.remove_alias(
            deployment.name, deployment.alias, reason=reason, actor=deployment.actor
        )
    else:
        registry.rollback(
            deployment.name,
            deployment.alias,
            to=deployment.previous,
            reason=reason,
            actor=deployment.actor,
        )
    return True


def undeploy(deployment: Deployment, ctx: RollbackContext) -> None:
    """The deploy task's compensation: a later task of the run failed, so the alias goes
    back to where it was (idempotent: once moved back, or moved on by anyone, nothing
    happens)."""
    registry = _registry()
    try:
        _move_back(
            registry, deployment, mask(f"run {ctx.run_id} failed after the deploy ({ctx.reason})")
        )
    finally:
        registry.close()


@task(name="deploy", on_rollback=undeploy)
def deploy(
    model_version: ModelVersion | str,
    alias: str = "production",
    gates: Sequence[Gate] = (),
    smoke: SmokeTest | None = None,
) -> Deployment:
    """Promote ``model_version`` (a :class:`ModelVersion` from ``register_model``, or a
    reference such as ``"digits:4"``) to ``alias`` if it passes ``gates``, then run
    ``smoke``; a failed smoke test rolls the alias back and fails the task. A later failure
    in the run rolls it back too (saga). See :mod:`legato.deployment.step`."""
    if model_version is None:
        raise ParameterError("deploy got no model version (register_model returned None?)")
    registry = _registry()
    try:
        return run_deployment(registry, model_version, alias=alias, gates=tuple(gates), smoke=smoke)
    finally:
        registry.close()
