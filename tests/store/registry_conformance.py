"""The conformance suite of tracked values and the model registry tables: what every run
store (and its ``models``) must do. Run on memory, SQLite and PostgreSQL by
``test_run_store_backends.py``, as part of each backend's class."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

import pytest

from legato.errors import (
    AliasInUseError,
    FencedError,
    RegistryError,
    UnknownModelError,
    UnknownRunError,
)
from legato.model.registry import ModelVersion
from legato.model.states import RunState, TaskState
from legato.model.tracking import Tracked, TrackKind
from legato.store.base import RunStore

from .conformance import PARAMS, Writer, file_ref, inline_ref, planned, run_info

S = TaskState


def version(name: str = "digits", **fields: Any) -> ModelVersion:
    """A version to register (its number is assigned by the store)."""
    defaults: dict[str, Any] = {
        "version": 0,
        "artifact": file_ref("ab" + "0" * 30),
        "created_at": datetime(2024, 5, 1, 12, 0, tzinfo=UTC),
    }
    return ModelVersion(name=name, **{**defaults, **fields})


def tracked(kind: TrackKind, name: str, value: Any, **fields: Any) -> Tracked:
    defaults: dict[str, Any] = {"run_id": "run-1", "key": "train", "attempt": 1, "at": 3000.0}
    return Tracked(kind=kind, name=name, value=value, **{**defaults, **fields})


class TrackingAndRegistryContract:
    """Mixed into each backend's conformance class."""

    def _started(self, store: RunStore, *keys: str) -> Writer:
        store.create_run(run_info("run-1"))
        writer = Writer(store, "run-1")
        writer.append(writer.start(*planned(*keys)), writer.run(RunState.RUNNING))
        return writer

    # -- tracked values --------------------------------------------------------------------

    def test_tracked_values_commit_with_events(self, store: RunStore) -> None:
        w = self._started(store, "train", "score")
        values = [
            tracked(TrackKind.PARAM, "alpha", {"depth": 3, "names": ["a", "b"]}),
            tracked(TrackKind.TAG, "stage", "dev"),
            tracked(TrackKind.METRIC, "loss", 0.5, step=0),
            tracked(TrackKind.METRIC, "loss", 0.25, step=1),
            tracked(TrackKind.METRIC, "nan", math.nan),
            tracked(TrackKind.ARTIFACT, "plot", {"checksum": "xxh3_128:ab", "size": 3}),
            tracked(TrackKind.METRIC, "acc", 0.9, key="score[1]", map_index=1, attempt=2),
        ]
        store.append("run-1", "owner-1", [w.task("train", S.RUNNING)], values)
        got = store.read_tracked("run-1")
        assert [(t.key, t.attempt, t.kind, t.name, t.step) for t in got] == [
            ("score[1]", 2, TrackKind.METRIC, "acc", 0),
            ("train", 1, TrackKind.ARTIFACT, "plot", 0),
            ("train", 1, TrackKind.METRIC, "loss", 0),
            ("train", 1, TrackKind.METRIC, "loss", 1),
            ("train", 1, TrackKind.METRIC, "nan", 0),
            ("train", 1, TrackKind.PARAM, "alpha", 0),
            ("train", 1, TrackKind.TAG, "stage", 0),
        ]
        by_name = {(t.name, t.step): t for t in got}
        assert by_name["alpha", 0].value == {"depth": 3, "names": ["a", "b"]}
        assert by_name["loss", 1].value == 0.25
        assert math.isnan(by_name["nan", 0].value)
        assert by_name["acc", 0].map_index == 1
        assert by_name["plot", 0].value == {"checksum": "xxh3_128:ab", "size": 3}
        assert store.read_tracked("no-such-run") == []

    def test_a_value_logged_again_replaces_the_earlier_one(self, store: RunStore) -> None:
        w = self._started(store, "train")
        store.append(
            "run-1",
            "owner-1",
            [w.task("train", S.RUNNING)],
            [
                tracked(TrackKind.PARAM, "lr", 0.1),
                tracked(TrackKind.PARAM, "lr", 0.2),
                tracked(TrackKind.METRIC, "loss", 1.0),
            ],
        )
        store.append("run-1", "owner-1", [], [tracked(TrackKind.METRIC, "loss", 2.0)])
        got = {(t.kind, t.name): t.value for t in store.read_tracked("run-1")}
        assert got == {(TrackKind.PARAM, "lr"): 0.2, (TrackKind.METRIC, "loss"): 2.0}

    def test_tracked_values_without_events_are_fenced_by_the_owner(self, store: RunStore) -> None:
        self._started(store, "train")
        store.append("run-1", "owner-1", [], [tracked(TrackKind.METRIC, "loss", 1.0)])
        store.take_over("run-1", "owner-2", lease=0.0)
        with pytest.raises(FencedError):
            store.append("run-1", "owner-1", [], [tracked(TrackKind.METRIC, "late", 1.0)])
        assert [t.name for t in store.read_tracked("run-1")] == ["loss"]

    def test_tracked_values_of_another_run_are_refused(self, store: RunStore) -> None:
        from legato.errors import StoreError

        self._started(store, "train")
        with pytest.raises(StoreError, match="other"):
            store.append("run-1", "owner-1", [], [tracked(TrackKind.TAG, "x", "y", run_id="other")])

    # -- versions --------------------------------------------------------------------------

    def test_versions_number_from_one_per_model(self, store: RunStore) -> None:
        models = store.models
        first, created = models.add_version(version())
        assert (first.version, created) == (1, True)
        assert models.add_version(version())[0].version == 2
        assert models.add_version(version("other"))[0].version == 1
        assert models.list_models() == ["digits", "other"]
        assert [v.version for v in models.list_versions("digits")] == [1, 2]

    def test_a_version_reads_back_with_every_field(self, store: RunStore) -> None:
        self._started(store, "train")
        full = version(
            artifact=inline_ref("cd" + "1" * 30),
            run_id="run-1",
            task="train",
            attempt=1,
            fingerprint="fp-code",
            params={k: v for k, v in PARAMS.items() if k != "state"},
            metrics={"accuracy": 0.97, "f1": 0.5},
            signature={
                "format": 1,
                "kind": "tensor",
                "inputs": [{"name": "x", "dtype": "f8"}],
                "shape": [None, 64],
            },
            tags={"team": "ml", "note": "naïve ✓"},
            environment={"python": "3.11.7", "packages": {"numpy": "1.26.4"}},
            inputs={"features": "xxh3_128:" + "e" * 32},
        )
        stored, _ = store.models.add_version(full)
        expected = ModelVersion(**{**_fields(full), "version": 1})
        assert stored == expected
        assert store.models.get_version("digits", 1) == expected
        assert store.models.list_versions("digits") == [expected]

    def test_registering_again_from_the_same_run_and_task_returns_the_first(
        self, store: RunStore
    ) -> None:
        self._started(store, "train", "train2")
        first, created = store.models.add_version(version(run_id="run-1", task="train", attempt=1))
        again, created_again = store.models.add_version(
            version(run_id="run-1", task="train", attempt=2, artifact=file_ref("ef" + "2" * 30))
        )
        assert created
        assert not created_again
        assert again == first
        other, _ = store.models.add_version(version(run_id="run-1", task="train2", attempt=1))
        assert other.version == 2
        manual, _ = store.models.add_version(version())
        manual2, _ = store.models.add_version(version())
        assert (manual.version, manual2.version) == (3, 4)

    def test_a_stale_attempt_may_not_register(self, store: RunStore) -> None:
        w = self._started(store, "train")
        w.append(w.task("train", S.RUNNING, 1), w.task("train", S.RETRY_WAIT, 1))
        w.append(w.task("train", S.READY, 2), w.task("train", S.RUNNING, 2))
        with pytest.raises(FencedError, match="stale"):
            store.models.add_version(version(run_id="run-1", task="train", attempt=1))
        assert store.models.add_version(version(run_id="run-1", task="train", attempt=2))[1]

    def test_a_taken_over_run_registers_only_for_its_new_owner(self, store: RunStore) -> None:
        self._started(store, "train")
        store.take_over("run-1", "owner-2", lease=0.0)
        mine = version(run_id="run-1", task="train", attempt=1)
        with pytest.raises(FencedError, match=r"run 'run-1' was taken over.*'owner-2'"):
            store.models.add_version(mine, owner="owner-1")
        with pytest.raises(UnknownModelError):  # nothing written, not even the model
            store.models.list_versions("digits")
        stored, created = store.models.add_version(mine, owner="owner-2")
        assert (stored.version, stored.run_id, created) == (1, "run-1", True)
        with pytest.raises(FencedError, match="taken over"):  # not even the one it has
            store.models.add_version(mine, owner="owner-1")
        with pytest.raises(UnknownRunError):
            store.models.add_version(version(run_id="nope", task="t"), owner="owner-2")
        assert store.models.add_version(version())[0].version == 2  # outside a run: unfenced

    def test_unknown_models_and_versions(self, store: RunStore) -> None:
        with pytest.raises(UnknownModelError, match="no model named 'nope'"):
            store.models.list_versions("nope")
        with pytest.raises(UnknownModelError, match="nope"):
            store.models.get_version("nope", 1)
        with pytest.raises(UnknownModelError, match="nope"):
            store.models.get_aliases("nope")
        store.models.add_version(version())
        with pytest.raises(UnknownModelError, match=r"no version 7 \(its versions: 1\)"):
            store.models.get_version("digits", 7)
        with pytest.raises(UnknownModelError):
            store.models.move_alias(
                "digits", "production", 7, action="set", reason="", actor="me", at=1.0
            )

    # -- aliases ---------------------------------------------------------------------------

    def test_alias_changes_remember_the_previous_holder(self, store: RunStore) -> None:
        models = store.models
        for _ in range(3):
            models.add_version(version())
        first = models.move_alias(
            "digits", "production", 1, action="set", reason="first", actor="ann@box", at=10.0
        )
        assert (first.version, first.previous) == (1, None)
        second = models.move_alias(
            "digits", "production", 3, action="set", reason="better", actor="bob@box", at=11.0
        )
        assert (second.version, second.previous, second.reason, second.actor) == (
            3,
            1,
            "better",
            "bob@box",
        )
        assert second.at == datetime.fromtimestamp(11.0, tz=UTC)
        models.move_alias("digits", "staging", 2, action="set", reason="", actor="a", at=12.0)
        assert models.get_aliases("digits") == {"production": 3, "staging": 2}
        assert [c.version for c in models.alias_history("digits", "production")] == [1, 3]
        assert [c.alias for c in models.alias_history("digits")] == [
            "production",
            "production",
            "staging",
        ]
        removed = models.move_alias(
            "digits", "staging", None, action="remove", reason="", actor="a", at=13.0
        )
        assert (removed.version, removed.previous, removed.action) == (None, 2, "remove")
        assert models.get_aliases("digits") == {"production": 3}

    def test_an_alias_moved_meanwhile_is_not_overwritten(self, store: RunStore) -> None:
        models = store.models
        models.add_version(version())
        models.add_version(version())
        models.move_alias("digits", "production", 2, action="set", reason="", actor="a", at=1.0)
        with pytest.raises(RegistryError, match="moved by someone else"):
            models.move_alias(
                "digits",
                "production",
                1,
                action="rollback",
                reason="",
                actor="a",
                at=2.0,
                expect=1,
            )
        assert models.get_aliases("digits") == {"production": 2}
        assert len(models.alias_history("digits")) == 1

    def test_a_version_an_alias_names_cannot_be_deleted(self, store: RunStore) -> None:
        models = store.models
        for _ in range(2):
            models.add_version(version())
        models.move_alias("digits", "production", 2, action="set", reason="", actor="a", at=1.0)
        with pytest.raises(AliasInUseError, match="production"):
            models.delete_version("digits", 2)
        models.delete_version("digits", 1)
        assert [v.version for v in models.list_versions("digits")] == [2]
        with pytest.raises(UnknownModelError):
            models.delete_version("digits", 1)
        assert models.add_version(version())[0].version == 3  # numbers are never reused


def _fields(v: ModelVersion) -> dict[str, Any]:
    return {f: getattr(v, f) for f in v.__dataclass_fields__}
