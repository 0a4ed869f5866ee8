"""Task and pipeline definitions that are rejected when they are made (at decoration time).

Each function makes one broken definition when called; the offending line carries a marker
comment ``# <- bad: KIND`` that the tests look up.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator

from legato import Capacity, Resources, RetryPolicy, pipeline, task


@task
def base(x: int) -> int:
    return x


def negative_timeout() -> None:
    @task(timeout=-1)  # <- bad: timeout
    def slow() -> None: ...


def text_timeout() -> None:
    @task(timeout="10")  # <- bad: timeout_text
    def slow() -> None: ...


def negative_retries() -> None:
    @task(retries=-1)  # <- bad: retries
    def flaky() -> None: ...


def retries_and_retry() -> None:
    @task(retries=2, retry=RetryPolicy(attempts=3))  # <- bad: retries_and_retry
    def flaky() -> None: ...


def jitter_too_big() -> None:
    @task(retry=RetryPolicy(attempts=3, jitter=2))  # <- bad: jitter
    def flaky() -> None: ...


def backoff_too_small() -> None:
    RetryPolicy(backoff=0.5)  # <- bad: backoff


def negative_delay() -> None:
    RetryPolicy(delay=-1)  # <- bad: delay


def zero_attempts() -> None:
    RetryPolicy(attempts=0)  # <- bad: attempts


def retry_on_instance() -> None:
    RetryPolicy(retry_on=ValueError("boom"))  # <- bad: retry_on


def retry_on_name() -> None:
    RetryPolicy(retry_on=("ValueError",))  # <- bad: retry_on_name


def bad_memory() -> None:
    @task(resources=Resources(memory="lots"))  # <- bad: memory
    def hungry() -> None: ...


def negative_cpus() -> None:
    Resources(cpus=-1)  # <- bad: cpus


def fractional_gpus() -> None:
    Resources(gpus=1.5)  # <- bad: gpus


def negative_custom() -> None:
    Resources(custom={"licence": -1})  # <- bad: custom


def resources_as_dict() -> None:
    @task(resources={"cpus": 2})  # <- bad: resources_dict
    def hungry() -> None: ...


def tags_as_string() -> None:
    @task(tags="nightly")  # <- bad: tags
    def labelled() -> None: ...


def outputs_zero() -> None:
    @task(outputs=0)  # <- bad: outputs
    def nothing() -> None: ...


def bad_task_name() -> None:
    @task(name="two words")  # <- bad: name
    def named() -> None: ...


def async_task() -> None:
    @task  # <- bad: async
    async def fetch() -> None: ...


def generator_task() -> None:
    @task  # <- bad: generator
    def produce() -> Iterator[int]:
        yield 1


def task_on_class() -> None:
    @task  # <- bad: class
    class Model:
        pass


def task_twice() -> None:
    task(base)  # <- bad: twice


def nameless_callable() -> None:
    task(functools.partial(max, 0))  # <- bad: nameless


def with_options_timeout() -> None:
    base.with_options(timeout=-5)  # <- bad: with_timeout


def with_options_retries() -> None:
    base.with_options(retries=-2)  # <- bad: with_retries


def bad_capacity() -> None:
    Capacity(cpus=2, memory="lots")  # <- bad: capacity


def async_pipeline() -> None:
    @pipeline  # <- bad: async_pipeline
    async def flow() -> None: ...


def generator_pipeline() -> None:
    @pipeline  # <- bad: generator_pipeline
    def flow() -> Iterator[int]:
        yield base(1)


def varargs_pipeline() -> None:
    @pipeline  # <- bad: varargs
    def flow(*sizes: int) -> None:
        base(1)


def positional_only_pipeline() -> None:
    @pipeline  # <- bad: positional_only
    def flow(size: int, /) -> None:
        base(size)


def bad_failure_policy() -> None:
    @pipeline(failure_policy="sometimes")  # <- bad: failure_policy
    def flow() -> None:
        base(1)


def bad_pipeline_name() -> None:
    @pipeline(name="")  # <- bad: pipeline_name
    def flow() -> None:
        base(1)
