"""The secret values a process knows: where :func:`find` looks for them, what a refusal says,
and that a refusal inside an attempt is noted even when the task catches it."""

from __future__ import annotations

import contextlib
import uuid
import warnings
from pathlib import Path, PurePosixPath

import pytest

import legato
from legato.errors import ParameterError, SecretValueError
from legato.secret_values import find, mask, noted, noting, refuse, register


@pytest.fixture
def secret() -> str:
    value = f"tok-{uuid.uuid4().hex}"
    register(value, "secret 'api' (environment variable API)")
    return value


def test_find_looks_into_strings_paths_and_json_like_containers(secret: str) -> None:
    label = "secret 'api' (environment variable API)"
    for value in (
        secret,
        f"postgresql://u:{secret}@db/x",
        PurePosixPath("/tmp") / f"{secret}.txt",
        {"a": {"b": [1, (2, f"x{secret}")]}},
        {secret: 1},
        {frozenset({secret})},
    ):
        assert find(value) == label
    for value in (None, True, 3, 2.5, "fine", {"a": ["b"]}, b"bytes " + secret.encode()):
        assert find(value) is None  # bytes are data, like outputs


def test_find_ends_on_a_container_that_holds_itself(secret: str) -> None:
    loop: list[object] = ["fine"]
    loop.append(loop)
    assert find(loop) is None
    loop.append(secret)
    assert find(loop) is not None


def test_a_number_is_refused_only_when_it_is_a_secret() -> None:
    pin = str(int(uuid.uuid4().int % 10**12) + 10**12)  # a numeric secret, 13 digits
    register(pin, "secret 'pin'")
    assert find(int(pin)) == "secret 'pin'"
    assert find([1, 2, int(pin)]) == "secret 'pin'"
    assert find(int(pin) + 1) is None


def test_a_refusal_names_the_call_the_field_and_the_fix_never_the_value(secret: str) -> None:
    refuse({"fine": 1}, api="legato.log_param", field="x")  # nothing secret: nothing raised
    with pytest.raises(SecretValueError) as caught:
        refuse([secret], api="legato.log_param", field="the value of parameter 'k'")
    error = caught.value
    assert isinstance(error, ParameterError)
    assert (error.api, error.field, error.secret) == (
        "legato.log_param",
        "the value of parameter 'k'",
        "secret 'api' (environment variable API)",
    )
    assert str(error) == (
        "legato.log_param: the value of parameter 'k' contains the value of secret 'api' "
        "(environment variable API), and legato would store it in clear, so it is refused "
        "(nothing of it was recorded). Read secrets inside tasks with legato.secret(...) and "
        "use them there; never record them (record the secret's name instead)."
    )
    assert secret not in str(error)


def test_refusals_are_noted_for_the_attempt_even_when_caught(secret: str) -> None:
    token = noting()
    with contextlib.suppress(SecretValueError):
        refuse(secret, api="a", field="first")
    with pytest.raises(SecretValueError):
        refuse(secret, api="b", field="second")
    first = noted(token)
    assert first is not None
    assert first.field == "first"
    # Outside an attempt nothing is noted.
    with pytest.raises(SecretValueError):
        refuse(secret, api="c", field="third")
    assert noted(noting()) is None


def test_tracking_outside_a_run_refuses_a_secret_too(secret: str, tmp_path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # "outside a legato run"
        legato.log_param("fine", 1)
        for call in (
            lambda: legato.log_param("k", secret),
            lambda: legato.log_params({"k": {"deep": [secret]}}),
            lambda: legato.log_metric(secret, 1.0),
            lambda: legato.set_tags(owner=secret),
            lambda: legato.log_artifact(b"data", f"report-{secret}"),
            lambda: legato.log_artifact({"token": secret}, "config"),
            lambda: legato.register_model("m", object(), tags={"k": secret}),
        ):
            with pytest.raises(SecretValueError):
                call()
        path = tmp_path / f"{secret}.txt"
        path.write_text("contents are data")
        with pytest.raises(SecretValueError, match="the path of artifact 'report'"):
            legato.log_artifact(path, "report")


def test_masking_and_refusing_share_one_table(secret: str) -> None:
    assert mask(f"a {secret} b") == "a *** b"
