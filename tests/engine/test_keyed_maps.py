"""Maps whose items have keys (``keyed(...)``): ``fit[linear]`` rather than ``fit[0]`` in the
run's records and events and in what the run store keeps, on every executor; a resume finds
the same items by their keys; the cache finds each item's result by its content, so a list
reordered or extended reuses every item it had."""

from __future__ import annotations

from pathlib import Path

import pytest
from keyed_pipelines import best, configured, fit, literal_sweep, load, score, sweep
from ledger_notes import notes

import legato
from legato import keyed, pipeline, unmapped
from legato.config import load_settings
from legato.engine.storage import open_storage
from legato.errors import DefinitionError, ParameterError
from legato.model.events import MapExpanded, RunStarted
from legato.model.states import RunState, TaskState
from legato.store.base import RunStore
from legato.testing import check_history


def _runs() -> RunStore:
    return open_storage(load_settings()).runs


FIT = ["fit[linear]", "fit[forest]", "fit[svm]"]
SCORE = ["score[linear]", "score[forest]", "score[svm]"]


def test_keyed_items_are_named_by_their_values_on_every_executor(
    executor: str, ledger: Path
) -> None:
    result = legato.run(literal_sweep, executor=executor)
    assert result.ok, result.failures()
    assert [k for k, t in result.tasks.items() if t.parent == "fit"] == FIT
    assert [k for k, t in result.tasks.items() if t.parent == "score"] == SCORE
    assert [result.tasks[k].map_index for k in FIT] == [0, 1, 2]
    assert result.output == 1.2  # (len("forest") + 6) / 10
    assert sorted(notes(ledger, "fit")) == [["fit", "forest"], ["fit", "linear"], ["fit", "svm"]]

    # What the store keeps (read back by a store of its own) names the items the same way.
    runs = _runs()
    stored = {r.key: r for r in runs.task_records(result.run_id)}
    assert [k for k in stored if stored[k].parent == "fit"] == FIT
    assert stored["fit[svm]"].state is TaskState.SUCCEEDED
    events = runs.read_events(result.run_id)
    check_history(events, graph=literal_sweep.graph)  # the rules every run's events obey
    expanded = [e for e in events if isinstance(e, MapExpanded)]
    assert [(e.key, e.keys) for e in expanded] == [
        ("fit", ("linear", "forest", "svm")),
        ("score", ("linear", "forest", "svm")),
    ]
    logs = [e for e in runs.read_logs(result.run_id) if e.key == "fit[svm]"]
    assert [e.text for e in logs] == ["fitting svm\n"]


def test_keys_made_from_a_run_parameter_and_by_a_function() -> None:
    result = legato.run(sweep, {"models": ["a", "b"]}, executor="inline")
    assert [k for k, t in result.tasks.items() if t.parent is not None] == [
        "fit[a]",
        "fit[b]",
        "score[a]",
        "score[b]",
    ]
    configs = legato.run(configured, executor="inline")
    assert list(configs.tasks) == ["depth_of", "depth_of[small]", "depth_of[large]"]
    assert configs.output == [2, 8]


def test_the_plan_says_how_many_items_each_map_will_have() -> None:
    result = legato.run(sweep, {"models": ["a", "b"]}, executor="inline", store="memory")
    started = result.record
    assert started.sizes == {"fit": 2, "score": 2}
    assert str(result.task_count) == "6 tasks (4 map items)"


@pytest.mark.parametrize(
    ("models", "message"),
    [
        (["a", "a"], "items 0 ('a') and 1 ('a') have the same key 'a'"),
        (["a", "b/c"], "item 1 ('b/c') has the key 'b/c', which holds '/'"),
        ("ab", "run parameter 'models' is keyed(...) in fit.map(...), so it must be a list"),
    ],
)
def test_unusable_keys_from_run_parameters_are_refused_before_a_run_exists(
    models: object, message: str
) -> None:
    with pytest.raises(ParameterError) as caught:
        legato.run(sweep, {"models": models}, executor="inline")
    assert message in str(caught.value)
    assert _runs().list_runs() == []


def test_a_resume_after_a_failure_finds_the_keyed_items_it_had(
    tmp_path: Path, ledger: Path
) -> None:
    flag = tmp_path / "flag"
    flag.touch()
    failed = legato.run(literal_sweep, {"flag": str(flag)}, executor="processes")
    assert failed.state is RunState.FAILED
    assert failed.tasks["fit[forest]"].state is TaskState.FAILED
    assert failed.tasks["fit[linear]"].state is TaskState.SUCCEEDED
    flag.unlink()
    ledger.write_text("")

    resumed = legato.resume(failed.run_id, executor="processes")
    assert resumed.ok, resumed.failures()
    assert notes(ledger, "fit") == [["fit", "forest"]]  # the others kept their outputs
    assert {k: t.attempt for k, t in resumed.tasks.items() if t.parent == "fit"} == {
        "fit[linear]": 1,
        "fit[forest]": 2,
        "fit[svm]": 1,
    }
    assert [k for k, t in resumed.tasks.items() if t.parent == "score"] == SCORE
    assert resumed.output == 1.2


def test_a_resume_refuses_a_pipeline_whose_item_keys_changed(tmp_path: Path) -> None:
    flag = tmp_path / "flag"
    flag.touch()
    failed = legato.run(literal_sweep, {"flag": str(flag)}, executor="inline")
    assert failed.state is RunState.FAILED
    flag.unlink()

    @pipeline(name="literal_sweep")
    def reordered(flag: str = "") -> float:
        fitted = fit.map(keyed(["svm", "linear", "forest"]), unmapped(load()), flag)
        return best(score.map(keyed(fitted)))

    with pytest.raises(DefinitionError) as caught:
        legato.resume(failed.run_id, pipeline=reordered)
    assert "the items of map 'fit' changed since run" in str(caught.value)
    assert "it had fit[linear], fit[forest], fit[svm]" in str(caught.value)
    # Refused before the take-over: the run is as it was, and resumes with its pipeline.
    assert _runs().get_run(failed.run_id).state is RunState.FAILED
    assert legato.resume(failed.run_id, pipeline=literal_sweep).ok


def test_each_keyed_item_finds_its_cached_result_when_the_list_is_reordered_and_extended(
    ledger: Path,
) -> None:
    first = legato.run(sweep, {"models": ["linear", "forest"]}, executor="threads")
    assert first.ok
    ledger.write_text("")

    second = legato.run(sweep, {"models": ["svm", "forest", "linear"]}, executor="threads")
    assert second.ok
    hits = {k: t.cache_hit for k, t in second.tasks.items() if t.parent is not None}
    assert hits == {
        "fit[svm]": None,
        "fit[forest]": first.run_id,
        "fit[linear]": first.run_id,
        "score[svm]": None,
        "score[forest]": first.run_id,
        "score[linear]": first.run_id,
    }
    # The new item is new: no earlier fit[svm] to compare with (a numbered fit[0] would
    # have been compared with the linear model's entry and said "parameters changed").
    assert second.tasks["fit[svm]"].reason == "cache: miss, no earlier result"
    assert sorted(notes(ledger)) == [["fit", "svm"], ["score", "svm"]]


def test_a_map_without_keys_keeps_numbered_items() -> None:
    @pipeline
    def numbered() -> list[dict[str, object]]:
        return fit.map(["linear", "forest"], unmapped([1]))

    result = legato.run(numbered, executor="inline")
    assert list(result.tasks) == ["fit", "fit[0]", "fit[1]"]
    expanded = [e for e in _runs().read_events(result.run_id) if isinstance(e, MapExpanded)]
    assert [e.keys for e in expanded] == [()]
    started = next(e for e in _runs().read_events(result.run_id) if isinstance(e, RunStarted))
    assert [(t.key, t.items) for t in started.tasks] == [("fit", 2)]
