"""Broken pipelines, one per validation error, as a user would write them.

Every offending line carries a marker comment ``# <- bad: KIND``; the tests look the marker
up to know the exact line an error must point at, so lines can move freely. Importing this
module is fine: a pipeline body is traced (and rejected) only when its graph is first used.
"""

from __future__ import annotations

from legato import Resources, keyed, pipeline, task, unmapped

# ---------------------------------------------------------------------------- tasks


@task
def load() -> list[int]:
    return [1, 2, 3]


@task
def inc(x: int) -> int:
    return x + 1


@task
def add(x: int, y: int) -> int:
    return x + y


@task
def total(xs: list[int]) -> int:
    return sum(xs)


@task
def pair(x: int) -> tuple[int, str]:
    return x, str(x)


def _other_inc(x: int) -> int:
    return x - 1


# A different function that claims the name "inc".
impostor = task(name="inc")(_other_inc)


def describe(value: object) -> str:
    """A plain function: not a task."""
    return f"value={value}"


big_cpu = inc.with_options(name="big_cpu", resources=Resources(cpus=8))
big_memory = inc.with_options(name="big_memory", resources=Resources(memory="64GiB"))
needs_gpu = inc.with_options(name="needs_gpu", resources=Resources(gpus=1))
needs_licence = inc.with_options(name="needs_licence", resources=Resources(custom={"licence": 1}))


# ---------------------------------------------------------------- control flow on outputs


@pipeline
def uses_if():
    n = inc(1)
    if n:  # <- bad: if
        inc(2)


@pipeline
def uses_while():
    n = inc(1)
    while n:  # <- bad: while
        break


@pipeline
def uses_not():
    n = inc(1)
    return inc(not n)  # <- bad: not


@pipeline
def uses_and():
    n = inc(1)
    return inc(n and 3)  # <- bad: and


@pipeline
def uses_for():
    numbers = load()
    for x in numbers:  # <- bad: for
        inc(x)


@pipeline
def uses_list():
    numbers = load()
    return total(list(numbers))  # <- bad: list


@pipeline
def uses_len():
    numbers = load()
    return inc(len(numbers))  # <- bad: len


@pipeline
def uses_add():
    n = inc(1)
    return inc(n + 1)  # <- bad: add


@pipeline
def uses_radd():
    n = inc(1)
    return inc(1 + n)  # <- bad: radd


@pipeline
def uses_compare():
    n = inc(1)
    return inc(n > 2)  # <- bad: compare


@pipeline
def uses_eq():
    n = inc(1)
    return inc(n == 2)  # <- bad: eq


@pipeline
def uses_str():
    n = inc(1)
    return describe_task(str(n))  # <- bad: str


@pipeline
def uses_fstring():
    n = inc(1)
    return describe_task(f"n is {n}")  # <- bad: fstring


@pipeline
def uses_attribute():
    n = inc(1)
    return inc(n.real)  # <- bad: attribute


@pipeline
def uses_call():
    n = inc(1)
    return inc(n())  # <- bad: call


@pipeline
def uses_in():
    numbers = load()
    return inc(3 in numbers)  # <- bad: in


@pipeline
def uses_int():
    n = inc(1)
    return inc(int(n))  # <- bad: int


@pipeline
def uses_slice():
    numbers = load()
    return total(numbers[1:])  # <- bad: slice


@pipeline
def uses_setitem():
    numbers = load()
    numbers[0] = 5  # <- bad: setitem
    return total(numbers)


@pipeline
def uses_path():
    n = inc(1)
    with open(n) as f:  # <- bad: path
        return inc(f.read())


@pipeline
def param_in_if(threshold: float = 0.5):
    if threshold > 0.9:  # <- bad: param_if
        inc(1)


@pipeline
def param_indexed(config: dict[str, int] | None = None):
    return inc(config["x"])  # <- bad: param_index


@pipeline
def param_iterated(xs: list[int] | None = None):
    return [inc(x) for x in xs]  # <- bad: param_for


@task
def describe_task(text: str) -> str:
    return text


# ------------------------------------------------------ plain functions given placeholders


@pipeline
def plain_function():
    n = inc(1)
    return describe(n)  # <- bad: plain


@pipeline
def plain_function_list():
    n = inc(1)
    return describe([n, 2])  # <- bad: plain_list


@pipeline
def plain_function_keyword():
    n = inc(1)
    return describe(value={"n": n})  # <- bad: plain_keyword


@pipeline
def helper_with_len(x: int):
    numbers = load()
    return add(x, len(numbers))  # <- bad: sub_len


@pipeline
def calls_broken_helper():
    return helper_with_len(inc(1))


@pipeline
def helper(x: int):
    return inc(x)


@pipeline
def sub_pipeline_wrong_args():
    return helper(1, 2)  # <- bad: sub_args


# ------------------------------------------------------------------ names and arguments


@pipeline
def duplicate_names():
    a = inc(1)
    return impostor(a)  # <- bad: duplicate


@pipeline
def too_many_args():
    return inc(1, 2)  # <- bad: arity


@pipeline
def unknown_keyword():
    return inc(1, y=2)  # <- bad: unknown_kwarg


@pipeline
def missing_argument():
    return add(1)  # <- bad: missing_arg


@pipeline
def iterates_single_output():
    a, b = inc(1)  # <- bad: unpack
    return add(a, b)


@pipeline
def set_of_outputs():
    return total({inc(1), inc(2)})  # <- bad: set


@pipeline
def output_as_key():
    n = inc(1)
    return total({n: 1})  # <- bad: dict_key


@pipeline  # <- bad: empty
def no_tasks():
    return 42


# ------------------------------------------------------------------------------ fan-out


@pipeline
def map_over_nothing():
    return inc.map(1)  # <- bad: map_nothing


@pipeline
def map_over_tuple():
    return inc.map((1, 2, 3))  # <- bad: map_tuple


@pipeline
def map_different_lengths():
    return add.map([1, 2], [1, 2, 3])  # <- bad: map_lengths


@pipeline
def map_different_lengths_of_map():
    firsts = inc.map([1, 2, 3])
    return add.map(firsts, [10, 20])  # <- bad: map_lengths_output


# ------------------------------------------------------------------------------ item keys


@pipeline
def keyed_twice():
    return inc.map(keyed([1, 2, 1]))  # <- bad: keyed_duplicate


@pipeline
def keyed_with_a_slash():
    return inc.map(keyed([1, 2], by=lambda n: f"x/{n}"))  # <- bad: keyed_slash


@pipeline
def keyed_too_long():
    return inc.map(keyed([1, 2], by=lambda n: "x" * 65 * n))  # <- bad: keyed_long


@pipeline
def keyed_by_a_list():
    return total.map(keyed([[1], [2]]))  # <- bad: keyed_not_text


@pipeline
def keyed_by_raising():
    return inc.map(keyed([1, 2], by=lambda n: str(1 / (n - 2))))  # <- bad: keyed_by_raises


@pipeline
def keyed_tuple():
    return inc.map(keyed((1, 2)))  # <- bad: keyed_tuple


@pipeline
def keyed_task_output():
    return inc.map(keyed(load()))  # <- bad: keyed_output


@pipeline
def keyed_numbered_map():
    firsts = inc.map([1, 2])
    return inc.map(keyed(firsts))  # <- bad: keyed_numbered


@pipeline
def keyed_by_over_a_keyed_map():
    firsts = inc.map(keyed([1, 2]))
    return inc.map(keyed(firsts, by=str))  # <- bad: keyed_by_inherited


@pipeline
def keyed_in_a_plain_call():
    return total(keyed([1, 2]))  # <- bad: keyed_plain


@pipeline
def keyed_around_unmapped():
    return inc.map(keyed(unmapped([1, 2])))  # <- bad: keyed_unmapped


# ----------------------------------------------------------------------------- resources


@pipeline
def wants_cpus():
    return big_cpu(1)  # <- bad: cpus


@pipeline
def wants_memory():
    return big_memory(1)  # <- bad: memory


@pipeline
def wants_gpu():
    return needs_gpu(1)  # <- bad: gpus


@pipeline
def wants_licence():
    return needs_licence(1)  # <- bad: custom


@pipeline
def wants_cpus_in_map():
    return total(big_cpu.map([1, 2]))  # <- bad: cpus_map


# ------------------------------------------------------------------------------ params


@pipeline
def needs_params(rows: int, scale: float = 1.0, labels: list[str] | None = None):
    return add(rows, inc(1))


@pipeline
def unstorable_default(model: object = object()):
    return inc(model)


# ------------------------------------------------------------------------ leaked outputs

LEAKED: list[object] = []


@pipeline
def leaks_an_output():
    n = inc(1)
    LEAKED.append(n)
    return n


@pipeline
def uses_a_leaked_output():
    return inc(LEAKED[0])  # <- bad: leaked
