"""What the ray executor refuses before a run: stores a cluster of several machines cannot
share, and nodes running other versions than the driver. The decisions are pure; the
probes that feed them run in tests/executors/test_ray*.py on real clusters."""

from __future__ import annotations

import pytest

import legato
from legato import PlanError, Resources, pipeline, task
from legato.executors.ray_cluster import storage_problem, version_mismatch, versions

POSTGRES = "postgresql+psycopg://legato@db/legato"


def test_one_machine_may_use_any_store() -> None:
    assert storage_problem(1, "sqlite:////tmp/legato.db", "file:///tmp/artifacts", False) is None


def test_a_sqlite_store_is_refused_on_several_machines_with_the_fix() -> None:
    problem = storage_problem(2, "sqlite:////tmp/legato.db", "s3://bucket/legato", True)
    assert problem is not None
    assert "SQLite file (sqlite:////tmp/legato.db)" in problem
    assert "spans 2 machines" in problem
    assert "LEGATO_STATE_URL" in problem


def test_a_folder_not_every_machine_sees_is_refused_with_the_fix() -> None:
    problem = storage_problem(3, POSTGRES, "file:///home/me/artifacts", False)
    assert problem is not None
    assert "file:///home/me/artifacts" in problem
    assert "s3://" in problem


def test_a_shared_folder_or_s3_with_postgresql_is_accepted() -> None:
    assert storage_problem(3, POSTGRES, "file:///mnt/shared/artifacts", True) is None
    assert storage_problem(3, POSTGRES, "s3://bucket/legato", False) is None


def test_a_driver_joining_through_ray_client_needs_a_folder_the_nodes_see() -> None:
    # Its machine is none of the cluster's: even a one-machine cluster must see the folder.
    problem = storage_problem(1, POSTGRES, "file:///home/me/artifacts", False, driver_apart=True)
    assert problem is not None
    assert "file:///home/me/artifacts" in problem
    assert "Ray Client" in problem
    assert "s3://" in problem
    assert storage_problem(1, POSTGRES, "file:///mnt/shared/a", True, driver_apart=True) is None
    assert storage_problem(1, POSTGRES, "s3://bucket/legato", False, driver_apart=True) is None
    # The run store is the driver's alone: a SQLite file of its own machine is not refused.
    sqlite = "sqlite:////home/me/legato.db"
    assert storage_problem(1, sqlite, "s3://bucket/legato", False, driver_apart=True) is None


def test_a_node_with_other_versions_is_named() -> None:
    here = versions()
    assert version_mismatch(here, here, "10.0.0.2") is None
    ray_version, python, pickle_version, legato_version = here
    there = (ray_version, "3.9", pickle_version, legato_version)
    problem = version_mismatch(here, there, "10.0.0.2")
    assert problem is not None
    assert f"Ray node 10.0.0.2 runs Python 3.9 and this driver Python {python}" in problem


@task(resources=Resources(gpus=0.5))
def half() -> int:
    return 1


@pipeline
def halves() -> int:
    return half()


@pytest.mark.parametrize("executor", ["threads", "processes"])
def test_a_fraction_of_a_gpu_is_refused_where_gpus_are_handed_out_whole(executor: str) -> None:
    with pytest.raises(PlanError, match=r"asks for 0\.5 of a GPU, and the \w+ executor hands"):
        legato.run(halves, executor=executor, capacity={"gpus": 1})
    assert legato.runs() == []


def test_gpus_are_whole_numbers_or_a_fraction_of_one() -> None:
    assert Resources(gpus=0.25).gpus == 0.25
    with pytest.raises(legato.DefinitionError, match="or a fraction of one between 0 and 1"):
        Resources(gpus=1.5)
