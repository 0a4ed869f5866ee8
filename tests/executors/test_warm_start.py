"""Workers forked from the template (``executors.template``): they start with the libraries
the orchestrator imported, in the orchestrator's environment, folder and ``sys.path`` of the
moment they are asked for, with random state of their own; a template that would not be safe
to fork is not forked, and the worker starts as a fresh interpreter."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np  # imported by the orchestrator (this process), never by warm_tasks
import numpy.random  # seeded once on import: in the template, for every worker forked
import pytest
import warm_tasks

import legato
import legato.define.loader  # imported by the orchestrator (as `legato run` does)
from legato import ProcessesExecutor
from legato.executors.forked import (
    Template,
    TemplateError,
    definition_modules,
    installed_modules,
)
from legato.executors.reaper import REAPS
from legato.executors.worker_handle import start_worker

pytestmark = [
    pytest.mark.timeout(60),
    pytest.mark.skipif(not REAPS, reason="workers are forked from a template on Linux only"),
]


def test_installed_libraries_the_orchestrator_imported_are_to_be_warmed() -> None:
    modules = installed_modules()
    assert np.__name__ in modules
    assert not [m for m in modules if m.startswith("legato") or m == "warm_tasks"]


def test_legatos_definition_modules_are_to_be_warmed_and_nothing_else_of_legato() -> None:
    modules = definition_modules()
    assert {"legato.define", "legato.define.task", "legato.define.pipeline"} <= set(modules)
    assert all(m == "legato.define" or m.startswith("legato.define.") for m in modules)


@pytest.mark.parametrize("warm", [True, False])
def test_a_worker_has_what_the_orchestrator_imported_only_when_started_warm(warm: bool) -> None:
    result = legato.run(
        warm_tasks.look, executor=ProcessesExecutor(1, warm_start=warm), store=False
    )
    assert result.ok
    assert result.output["numpy imported"] is warm
    assert result.output["loader imported"] is warm


def test_each_worker_gets_the_environment_folder_and_path_of_its_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = legato.run(warm_tasks.look, executor=ProcessesExecutor(1), store=False)
    assert first.ok
    assert first.output["variable"] is None
    monkeypatch.setenv("LEGATO_TEST_WARM", "second")
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path / "more"))
    second = legato.run(warm_tasks.look, executor=ProcessesExecutor(1), store=False)
    assert second.ok
    assert second.output["variable"] == "second"
    assert second.output["cwd"] == str(tmp_path)
    assert second.output["path"][: len(sys.path)] == sys.path


def test_forked_workers_draw_different_random_numbers() -> None:
    result = legato.run(warm_tasks.two_draws, executor=ProcessesExecutor(2), store=False)
    assert result.ok
    (pid_a, a), (pid_b, b) = result.output
    assert pid_a != pid_b
    assert a != b


def test_a_template_with_a_thread_refuses_to_fork_and_the_worker_starts_fresh() -> None:
    template = Template()
    try:
        template.warm(["thread_at_import"])
        read, write = os.pipe()
        with pytest.raises(TemplateError, match="started threads"):
            template.fork((read, write), dict(os.environ))
        os.close(read)
        os.close(write)
        worker = start_worker(b"", template)  # falls back to a fresh interpreter
        try:
            assert worker.outcomes.recv_bytes() == b"ready"
            assert not hasattr(worker.proc, "_changed")  # a Popen, not a forked reaper
        finally:
            worker.kill()
            worker.finish()
    finally:
        template.close()


def test_a_template_whose_socket_is_past_descriptor_1024_still_forks() -> None:
    """A process that holds many files gives the template a socket numbered past what
    ``select`` can watch."""
    filler = [os.open(os.devnull, os.O_RDONLY) for _ in range(1100)]
    try:
        template = Template()
    finally:
        for fd in filler:
            os.close(fd)
    try:
        template.warm([])
        worker = start_worker(b"", template)
        try:
            assert worker.outcomes.recv_bytes() == b"ready"
            assert hasattr(worker.proc, "_changed")  # forked by the template, not a Popen
        finally:
            worker.kill()
            worker.finish()
    finally:
        template.close()
