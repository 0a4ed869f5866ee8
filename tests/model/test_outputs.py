"""The description of a pipeline's return value that a run records for showing its output:
built from the binding, kept through the event codec, absent from older events."""

from __future__ import annotations

import uuid
from pathlib import Path

from legato.model.codec import event_from_dict, event_to_dict
from legato.model.events import RunStarted
from legato.model.outputs import MAX_LITERAL, describe_output
from legato.model.values import Dict, Lit, Param, Ref, Seq
from legato.secret_values import register


def test_a_binding_becomes_json_naming_tasks_params_and_literals() -> None:
    binding = Dict(
        (
            ("model", Ref("train")),
            ("first", Ref("split", (0, "rows", 1.5))),
            ("sizes", Seq((Param("n"), Lit(Path("data.csv"))), as_tuple=True)),
            (3, Seq((Lit(None),))),
        )
    )
    assert describe_output(binding) == {
        "dict": [
            ["'model'", {"task": "train", "path": []}],
            ["'first'", {"task": "split", "path": [0, "rows", {"repr": "1.5"}]}],
            ["'sizes'", {"tuple": [{"param": "n"}, {"literal": "PosixPath('data.csv')"}]}],
            ["3", {"list": [{"literal": "None"}]}],
        ]
    }


def test_a_literal_is_cut_short_and_its_secrets_masked() -> None:
    secret = f"s3cr3t-{uuid.uuid4().hex}"
    register(secret)
    assert describe_output(Lit(f"token {secret}")) == {"literal": "'token ***'"}
    long = describe_output(Lit("x" * 1000))["literal"]
    assert len(long) == MAX_LITERAL
    assert long.endswith("…")


def test_the_description_survives_the_codec_and_older_events_have_none() -> None:
    output = describe_output(Seq((Ref("a"), Param("n"))))
    started = RunStarted(run_id="r", seq=1, at=0.0, pipeline="p", output=output)
    assert event_from_dict(event_to_dict(started)) == started
    older = event_to_dict(RunStarted(run_id="r", seq=1, at=0.0, pipeline="p"))
    assert "output" not in older
    decoded = event_from_dict(older)
    assert isinstance(decoded, RunStarted)
    assert decoded.output is None
