"""Why a task was skipped, told from the records a run keeps: the reasons that name an input
lead back to the branch not taken (or the trigger) where the skip started."""

from __future__ import annotations

import pytest

from legato.model.records import TaskRecord
from legato.model.skips import JOIN, input_reason, reason_input, skip_cause
from legato.model.states import TaskState

SK, F = TaskState.SKIPPED, TaskState.FAILED


def records(*rows: tuple[str, TaskState, str]) -> dict[str, TaskRecord]:
    return {key: TaskRecord(key=key, name=key, state=state, reason=why) for key, state, why in rows}


@pytest.mark.parametrize("key", ["when", "per_customer.when[acme]", "odd'key", "both'\""])
def test_an_input_reason_names_its_input_whatever_the_key(key: str) -> None:
    assert reason_input(input_reason(key, SK)) == key
    assert reason_input(input_reason(key, TaskState.UPSTREAM_FAILED)) == key


@pytest.mark.parametrize("reason", ["", "no input failed", "input x skipped", "input 3 skipped"])
def test_another_reason_names_no_input(reason: str) -> None:
    assert reason_input(reason) is None


def test_a_skip_is_followed_back_to_the_branch_not_taken() -> None:
    tasks = records(
        ("when", SK, "branch not taken: the condition was False"),
        ("tell", SK, input_reason("when", SK)),
        ("shout", SK, input_reason("tell", SK)),
    )
    cause = skip_cause("shout", tasks)
    assert (cause.origin, cause.through, cause.branch) == ("when", ("tell",), True)
    assert cause.describe() == (
        "branch 'when' was not taken (the condition was False), through 'tell'"
    )


def test_a_join_says_none_of_its_branches_ran_and_why_the_first_did_not() -> None:
    tasks = records(
        ("when", SK, "branch not taken: the condition was False"),
        ("tell", SK, input_reason("when", SK)),
        (JOIN, SK, input_reason("tell", SK)),
    )
    assert skip_cause(JOIN, tasks).describe() == (
        "none of the branches it joins ran (the first: 'tell' was skipped because branch "
        "'when' was not taken (the condition was False))"
    )


def test_a_skip_started_by_a_trigger_or_a_failure_ends_where_its_reason_stops() -> None:
    tasks = records(
        ("alert", SK, "no input failed"),
        ("report", SK, input_reason("alert", SK)),
        ("broken", F, "ValueError: bad"),
        ("inside", SK, input_reason("broken", F)),  # a failed input is not a skip to follow
    )
    assert skip_cause("report", tasks).describe() == "task 'alert' was skipped (no input failed)"
    assert skip_cause("alert", tasks).describe() == "no input failed"
    assert skip_cause("inside", tasks).origin == "inside"
