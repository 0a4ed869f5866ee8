"""The model registry on real stores: versions, loading, aliases, rollback, refusals."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from legato.errors import (
    AliasInUseError,
    IntegrityError,
    InvalidNameError,
    ParameterError,
    RegistryError,
    UnknownModelError,
)
from legato.registry import Lineage, Registry, infer_signature, open_registry

HERE = Path(__file__).parent


def fitted(seed: int = 0) -> LogisticRegression:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(40, 4))
    return LogisticRegression().fit(X, (X[:, 0] > 0).astype(int))


def test_a_model_registers_loads_and_resolves(registry: Registry) -> None:
    model = fitted()
    X = np.zeros((3, 4))
    mv = registry.register(
        "digits",
        model,
        metrics={"accuracy": 0.9},
        signature=infer_signature(X),
        tags={"team": "ml"},
        lineage=Lineage(run_id="r1", task="train", attempt=1, params={"C": 1.0}),
    )
    assert (mv.name, mv.version, mv.metrics, mv.tags) == (
        "digits",
        1,
        {"accuracy": 0.9},
        {"team": "ml"},
    )
    assert mv.signature == {
        "format": 1,
        "kind": "tensor",
        "inputs": [{"name": "input", "dtype": "float64"}],
        "shape": [None, 4],
    }
    assert mv.artifact.serializer == "joblib"
    assert (mv.run_id, mv.task, mv.params) == ("r1", "train", {"C": 1.0})
    loaded = registry.load(mv)
    assert (loaded.predict(X) == model.predict(X)).all()
    second = registry.register("digits", fitted(1))
    assert second.version == 2
    assert registry.resolve("digits") == second
    assert registry.resolve("digits:1") == mv
    registry.set_alias("digits", "production", 1, reason="first")
    assert registry.resolve("digits@production") == mv
    assert registry.alias("digits", "staging") is None
    assert registry.models() == ["digits"]
    assert [v.version for v in registry.versions("digits")] == [1, 2]


def test_promote_and_rollback_one_step_at_a_time(registry: Registry) -> None:
    for i in range(4):
        registry.register("m", {"i": i})
    for v in (1, 2, 3):
        registry.set_alias("m", "production", v, reason=f"promote {v}", actor="ann@box")
    back = registry.rollback("m", reason="v3 is bad", actor="pager@box")
    assert (back.version, back.previous, back.action, back.actor) == (2, 3, "rollback", "pager@box")
    assert registry.rollback("m", reason="v2 too").version == 1
    with pytest.raises(RegistryError, match="no earlier version"):
        registry.rollback("m", reason="again")
    registry.set_alias("m", "production", 4, reason="new")
    assert registry.rollback("m", reason="undo").version == 1  # 2 and 3 were rolled back
    assert registry.rollback("m", to=3, reason="pick").version == 3
    history = registry.history("m", "production")
    assert [(c.version, c.previous) for c in history] == [
        (1, None),
        (2, 1),
        (3, 2),
        (2, 3),
        (1, 2),
        (4, 1),
        (1, 4),
        (3, 1),
    ]
    assert history[0].reason == "promote 1"
    assert history[0].actor == "ann@box"
    assert "@" in history[-1].actor  # user@host by default


def test_rollback_skips_deleted_versions(registry: Registry) -> None:
    for i in range(3):
        registry.register("m", {"i": i})
    for v in (1, 2, 3):
        registry.set_alias("m", "production", v, reason="")
    registry.delete("m", 2)
    assert registry.rollback("m", reason="").version == 1


def test_rollback_of_an_unset_alias_is_refused(registry: Registry) -> None:
    registry.register("m", 1)
    with pytest.raises(RegistryError, match="no alias 'production'"):
        registry.rollback("m", reason="")


def test_deleting_a_version_an_alias_names_is_refused(registry: Registry) -> None:
    registry.register("m", 1)
    registry.set_alias("m", "staging", 1, reason="")
    with pytest.raises(AliasInUseError, match="staging"):
        registry.delete("m", 1)
    registry.remove_alias("m", "staging", reason="retire")
    registry.delete("m", 1)
    with pytest.raises(UnknownModelError, match="no versions"):
        registry.resolve("m")


@pytest.mark.parametrize(
    "name",
    ["../x", "a/b", "/etc/passwd", "", "x" * 129, "a\\b", "a b", "a\x00b", "..", ".hidden", "C:x"],
)
def test_bad_model_names_are_refused(registry: Registry, name: str) -> None:
    with pytest.raises(InvalidNameError):
        registry.register(name, 1)
    with pytest.raises(InvalidNameError):
        registry.versions(name)
    with pytest.raises(InvalidNameError):
        registry.resolve(name)
    assert registry.models() == []


@pytest.mark.parametrize("alias", ["", "../prod", "a/b", "1st", "x" * 65, "a@b"])
def test_bad_aliases_and_versions_are_refused(registry: Registry, alias: str) -> None:
    registry.register("m", 1)
    with pytest.raises(InvalidNameError):
        registry.set_alias("m", alias, 1, reason="")
    for version in (0, -1, "1; drop", True, 2**40):
        with pytest.raises(InvalidNameError):
            registry.get("m", version)  # type: ignore[arg-type]
    assert registry.history("m") == []


def test_unknown_models_versions_and_aliases_say_so(registry: Registry) -> None:
    with pytest.raises(UnknownModelError, match="no model named 'nope'"):
        registry.resolve("nope@production")
    registry.register("m", 1)
    with pytest.raises(UnknownModelError, match="no version 9"):
        registry.resolve("m:9")
    with pytest.raises(UnknownModelError, match="no alias 'production'"):
        registry.resolve("m@production")


def test_a_corrupt_model_artifact_is_refused_on_load(registry: Registry) -> None:
    mv = registry.register("big", np.arange(100_000, dtype=np.float64))
    assert mv.artifact.location is not None
    root = registry.artifacts.local_root  # type: ignore[attr-defined]
    path = Path(root) / mv.artifact.location
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(IntegrityError, match="checksum"):
        registry.load(mv)


def test_a_reference_with_a_tampered_location_is_refused(registry: Registry) -> None:
    import dataclasses

    mv = registry.register("big", np.arange(100_000, dtype=np.float64))
    bad = dataclasses.replace(
        mv, artifact=dataclasses.replace(mv.artifact, location="../../etc/passwd")
    )
    with pytest.raises(IntegrityError, match="never assigns"):
        registry.load(bad)


def test_bad_metrics_tags_and_signatures_are_refused(registry: Registry) -> None:
    with pytest.raises(ParameterError, match="not a number"):
        registry.register("m", 1, metrics={"acc": "high"})
    with pytest.raises(ParameterError, match="finite"):
        registry.register("m", 1, metrics={"acc": float("nan")})
    with pytest.raises(ParameterError, match="inputs"):
        registry.register("m", 1, signature={"shape": [None]})
    with pytest.raises(ParameterError, match="tag name"):
        registry.register("m", 1, tags={"": "x"})
    assert registry.models() == []


def test_registering_again_from_a_retried_attempt_returns_the_first(registry: Registry) -> None:
    first = registry.register("m", {"a": 1}, lineage=Lineage(run_id="r", task="t", attempt=1))
    again = registry.register("m", {"a": 2}, lineage=Lineage(run_id="r", task="t", attempt=2))
    assert again == first
    assert registry.load(again) == {"a": 1}
    assert [v.version for v in registry.versions("m")] == [1]


def test_open_registry_follows_the_profile_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LEGATO_STATE_URL", f"sqlite:///{tmp_path / 'env.db'}")
    monkeypatch.setenv("LEGATO_ARTIFACTS_URL", str(tmp_path / "env-artifacts"))
    with open_registry() as registry:
        registry.register("m", 1)
    assert (tmp_path / "env.db").exists()
    with open_registry() as registry:
        assert registry.load(registry.resolve("m")) == 1


@pytest.mark.slow
def test_concurrent_registration_numbers_versions_without_gaps(
    state_url: str, artifacts_url: str
) -> None:
    start_at = time.time() + 1.5
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                str(HERE / "concurrent_registrar.py"),
                state_url,
                artifacts_url,
                str(start_at),
                "10",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(4)
    ]
    numbers: list[int] = []
    for proc in procs:
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        numbers += [int(n) for n in out.split()]
    assert sorted(numbers) == list(range(1, 41))
    with open_registry(store=state_url, artifacts=artifacts_url) as registry:
        assert [v.version for v in registry.versions("shared")] == list(range(1, 41))
