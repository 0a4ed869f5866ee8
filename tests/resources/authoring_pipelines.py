"""Valid pipelines exercising the authoring API: fan-out, unpacking, sub-pipelines,
parameters and repeated calls. Tasks are pure so results can be asserted exactly."""

from __future__ import annotations

from legato import Resources, RetryPolicy, pipeline, task, unmapped


@task
def load() -> list[int]:
    return [1, 2, 3]


@task
def inc(x: int) -> int:
    return x + 1


@task
def double(x: int) -> int:
    return 2 * x


@task
def add(x: int, y: int) -> int:
    return x + y


@task
def total(xs: list[int]) -> int:
    return sum(xs)


@task
def scale(x: int, factor: int, offset: int = 0) -> int:
    return x * factor + offset


@task
def pair(x: int) -> tuple[int, str]:
    return x, f"#{x}"


@task(outputs=2)
def split(xs):  # no annotation: outputs=2 says it returns two values
    return xs[:1], xs[1:]


@task
def stats(xs: list[int]) -> dict[str, int]:
    return {"n": len(xs), "sum": sum(xs)}


@task
def label(n: int, text: str) -> str:
    return f"{text}={n}"


@task(
    name="train_model",
    retry=RetryPolicy(attempts=4, delay=0.5, backoff=3.0, max_delay=10.0, jitter=0.2),
    timeout=60,
    resources=Resources(cpus=2, memory="512MiB", gpus=0, custom={"licence": 1}),
    tags=["ml", "nightly"],
)
def train(x: int) -> int:
    return x


@pipeline
def small(k: int = 2):
    """Exact renderings are asserted for this one."""
    numbers = load()
    doubled = double.map(numbers)
    return add(total(doubled), k)


@pipeline
def literal_fan_out():
    return double.map([1, 2, 3])


@pipeline
def runtime_fan_out():
    return total(inc.map(load()))


@pipeline
def broadcast(factor: int = 10):
    # factor (a run parameter) and offset go whole to every item; the list is mapped
    scaled = scale.map([1, 2, 3], unmapped(factor), offset=5)
    pairs = add.map([1, 2], [10, 20])
    whole = total.map([[1, 2], [3, 4]])
    shared = add.map(load(), unmapped(load()[0]))
    return scaled, pairs, whole, shared


@pipeline
def map_over_param(sizes: list[int] | None = None):
    return inc.map(sizes)


@pipeline
def unpacking():
    number, text = pair(7)
    head, tail = split(load())
    return label(number, text), total(head), total(tail)


@pipeline
def indexing():
    s = stats(load())
    p = pair(3)
    return label(s["sum"], p[1]), s["n"]


@pipeline
def same_task_twice():
    return inc(inc(1))


@pipeline
def unpacking_a_map():
    a, b, c = double.map([1, 2, 3])
    return add(a, c), b


@pipeline
def preprocess(x: int, bias: int = 100):
    """A helper pipeline: its tasks join the caller's graph under its name."""
    return add(inc(x), bias)


@pipeline
def uses_helper():
    first = preprocess(1)
    second = preprocess(first, bias=0)
    return total([first, second])


@pipeline
def stage(x: int):
    return preprocess(double(x))


@pipeline
def nested_helpers():
    return add(stage(1), stage(2))


@pipeline
def renamed_copies():
    fast = inc.with_options(name="inc_fast", timeout=1)
    return add(inc(1), fast(2))


@pipeline
def with_params(rows: int, scale_by: int = 3, name: str = "run"):
    return label(scale(rows, scale_by), name)


@pipeline
def returns_structure():
    a = inc(1)
    return {"a": a, "pair": (a, double(a)), "const": 5}
