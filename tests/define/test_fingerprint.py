"""Code fingerprints: every change that affects a task changes its fingerprint (no stale
cache hit), and changes that do not affect it leave it alone (no false miss).

The mutation tests copy the fixture package ``tests/resources/fingerprint_app`` under a new
name, edit one line, import the copy and compare the fingerprint of every task with those of
an unedited copy: exactly the tasks that reach the edited code may change.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest

from conftest import RESOURCES
from legato import Task, task
from legato.define.fingerprint import (
    Fingerprinter,
    code_fingerprint,
    code_fingerprints,
    graph_fingerprint,
)

FIXTURE = RESOURCES / "fingerprint_app"

Edit = tuple[str, str, str]
"""(file in the fixture package, text that occurs once in it, replacement)."""
Variant = Callable[..., ModuleType]


@pytest.fixture
def variant(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Variant]:
    """``variant(*edits)``: a fresh copy of the fixture package with ``edits`` applied,
    imported under a unique name; returns its ``tasks`` module."""
    monkeypatch.syspath_prepend(str(tmp_path))
    made: list[str] = []

    def make(*edits: Edit, module: str = "tasks") -> ModuleType:
        name = f"fp_variant_{uuid.uuid4().hex[:12]}"
        package = tmp_path / name
        shutil.copytree(FIXTURE, package, ignore=shutil.ignore_patterns("__pycache__"))
        for file, old, new in edits:
            path = package / file
            text = path.read_text()
            assert text.count(old) == 1, f"{old!r} must occur exactly once in {file}"
            path.write_text(text.replace(old, new))
        importlib.invalidate_caches()
        made.append(name)
        return importlib.import_module(f"{name}.{module}")

    yield make
    for name in made:
        for loaded in [m for m in sys.modules if m == name or m.startswith(name + ".")]:
            del sys.modules[loaded]


def task_fingerprints(tasks: ModuleType) -> dict[str, str]:
    """Fingerprint of every task defined in a module, by name."""
    found = {name: obj for name, obj in vars(tasks).items() if isinstance(obj, Task)}
    return dict(zip(found, code_fingerprints(found.values()), strict=True))


def changed_tasks(variant: Variant, *edits: Edit) -> set[str]:
    before = task_fingerprints(variant())
    after = task_fingerprints(variant(*edits))
    assert before.keys() == after.keys()
    return {name for name in before if before[name] != after[name]}


# ----------------------------------------------------------------------- the mutation suite

MUTATIONS: list[tuple[str, list[Edit], set[str]]] = [
    # no stale hit: each edit re-keys exactly the tasks that reach it
    (
        "task body",
        [("tasks.py", "clean(text).split()", "clean(text).split(' ')")],
        {"tokenize", "words_of"},
    ),
    (
        "helper the task calls through a module attribute",
        [("helpers.py", "_strip(text).lower()", "_strip(text).casefold()")],
        {"tokenize", "words_of"},
    ),
    (
        "helper of a helper",
        [("helpers.py", "return text.strip()", "return text.strip(' ')")],
        {"tokenize", "words_of"},
    ),
    (
        "constant read through a module attribute",
        [("config.py", "THRESHOLD = 0.5", "THRESHOLD = 0.6")],
        {"keep_large"},
    ),
    (
        "frozenset constant a helper reads",
        [("config.py", '"the", "of"}', '"the", "of", "to"}')],
        {"filter_words", "words_of"},
    ),
    ("dict constant", [("config.py", '"y": 2.0', '"y": 2.5')], {"weighted"}),
    (
        "dataclass constant",
        [("config.py", "Settings(window=3)", "Settings(window=4)")],
        {"mode_name"},
    ),
    ("enum value", [("config.py", 'SLOW = "slow"', 'SLOW = "slower"')], {"mode_name"}),
    (
        "enum member read",
        [("config.py", "DEFAULT_MODE = Mode.FAST", "DEFAULT_MODE = Mode.SLOW")],
        {"mode_name"},
    ),
    (
        "method of a class the task uses",
        [("helpers.py", "x * self.FACTOR + self.offset", "x * self.FACTOR - self.offset")],
        {"scaled"},
    ),
    ("class constant", [("helpers.py", "FACTOR = 2.0", "FACTOR = 3.0")], {"scaled"}),
    (
        "default argument",
        [("tasks.py", "offset: float = 1.0", "offset: float = 2.0")],
        {"scaled"},
    ),
    (
        "default argument of a method",
        [("helpers.py", "offset: float = 0.0", "offset: float = 0.5")],
        {"scaled"},
    ),
    (
        "one of two mutually recursive helpers",
        [("helpers.py", "False if n == 0 else is_even", "n == 1 or is_even")],
        {"parity"},
    ),
    ("lambda body", [("tasks.py", "lambda v: v * v", "lambda v: v**3")], {"squares"}),
    (
        "closure cell value",
        [("tasks.py", "make_multiplier(2)", "make_multiplier(3)")],
        {"doubled"},
    ),
    ("nested function body", [("helpers.py", "return x * k", "return x * k + 1")], {"doubled"}),
    (
        "module imported inside a function body",
        [("helpers_extra.py", "exclaim(text.upper())", "exclaim(text.lower())")],
        {"shouted"},
    ),
    (
        "dependency of a module imported inside a function body",
        [("helpers_deep.py", 'text + "!"', 'text + "?"')],
        {"shouted"},
    ),
    (
        "task another task calls",
        [("tasks.py", "return drop_stopwords(words)", "return drop_stopwords(words)[:10]")],
        {"filter_words", "words_of"},
    ),
    # no false miss: edits that cannot change what any task computes
    ("unrelated function", [("helpers.py", "return x * 2", "return x * 3")], set()),
    ("unrelated constant", [("config.py", "UNUSED_LIMIT = 10", "UNUSED_LIMIT = 11")], set()),
    (
        "new function in a used module",
        [
            (
                "helpers.py",
                "def unrelated(",
                "def added(y: int) -> int:\n    return y\n\n\ndef unrelated(",
            )
        ],
        set(),
    ),
    (
        "comments, blank lines and line breaks",
        [
            ("helpers.py", "    # Lower case, so", "    # Lower-case it, so"),
            (
                "helpers.py",
                "    return [v for v in values if v > config.THRESHOLD]",
                "    # keep the large ones\n\n    return [\n        v for v in values\n"
                "        if v > config.THRESHOLD  # strictly\n    ]",
            ),
        ],
        set(),
    ),
    (
        "code moved down its file",
        [
            (
                "helpers.py",
                "from .config import STOPWORDS\n",
                "from .config import STOPWORDS\n\n\n\n",
            )
        ],
        set(),
    ),
    (
        "type annotation",
        [("tasks.py", "def weighted(key: str)", "def weighted(key: object)")],
        set(),
    ),
    (
        "new module-level name beside the tasks",
        [
            (
                "tasks.py",
                "import numpy as np\n",
                "import numpy as np\n\nnp_version = np.__version__\n",
            )
        ],
        set(),
    ),
]


@pytest.mark.parametrize(
    ("edits", "expected"),
    [pytest.param(edits, expected, id=label) for label, edits, expected in MUTATIONS],
)
def test_an_edit_changes_exactly_the_tasks_it_affects(
    variant: Variant, edits: list[Edit], expected: set[str]
) -> None:
    assert changed_tasks(variant, *edits) == expected


def test_a_lazy_import_is_followed_before_and_after_it_has_run(variant: Variant) -> None:
    edit = ("helpers_deep.py", 'text + "!"', 'text + "?"')
    assert changed_tasks(variant, edit) == {"shouted"}  # not imported yet: found by file
    before, after = variant(), variant(edit)
    assert before.shouted("a") == "A!"
    assert after.shouted("a") == "A?"
    assert code_fingerprint(before.shouted) != code_fingerprint(after.shouted)  # loaded


def test_a_module_used_whole_counts_whole(variant: Variant) -> None:
    dispatch = (
        "tasks.py",
        "@task\ndef shouted(",
        "@task\ndef dispatch(name: str, x: int) -> int:\n"
        "    return getattr(helpers, name)(x)\n\n\n@task\ndef shouted(",
    )
    before = task_fingerprints(variant(dispatch))
    assert task_fingerprints(variant(dispatch)) == before
    after = task_fingerprints(variant(dispatch, ("helpers.py", "return x * 2", "return x * 3")))
    assert {name for name in before if before[name] != after[name]} == {"dispatch"}


def test_an_unedited_copy_under_another_module_name_has_the_same_fingerprints(
    variant: Variant,
) -> None:
    assert task_fingerprints(variant()) == task_fingerprints(variant())


def test_tasks_reaching_different_code_have_different_fingerprints(variant: Variant) -> None:
    prints = task_fingerprints(variant())
    assert len(set(prints.values())) == len(prints)


def test_a_graph_fingerprint_changes_with_the_code_of_any_task(variant: Variant) -> None:
    def graph_print(*edits: Edit) -> str:
        return graph_fingerprint(variant(*edits, module="pipelines").text_stats.graph)

    base = graph_print()
    assert graph_print() == base
    assert graph_print(("helpers.py", "return x * k", "return x * k + 1")) != base
    assert graph_print(("helpers.py", "return x * 2", "return x * 3")) == base  # unrelated


def test_a_graph_fingerprint_covers_literals_parameters_and_structure(variant: Variant) -> None:
    def graph_print(*edits: Edit) -> str:
        return graph_fingerprint(variant(*edits, module="pipelines").text_stats.graph)

    base = graph_print()
    assert graph_print(("pipelines.py", "[1, 2, 3]", "[1, 2, 4]")) != base  # literal
    assert graph_print(("pipelines.py", "The cat", "A cat")) != base  # parameter default
    assert graph_print(("pipelines.py", "offset=offset", "offset=2.0")) != base  # binding
    assert graph_print(("pipelines.py", '"mean": average', '"avg": average')) != base  # output
    assert graph_print(("pipelines.py", 'f"n{n}"', 'f"m{n}"')) != base  # item keys


# --------------------------------------------------------------------- what code it covers


def test_default_arguments_and_keyword_defaults_are_covered() -> None:
    def a(x: int, y: int = 1, *, z: int = 2) -> int:
        return x + y + z

    def b(x: int, y: int = 1, *, z: int = 3) -> int:
        return x + y + z

    def c(x: int, y: int = 5, *, z: int = 2) -> int:
        return x + y + z

    assert len({code_fingerprint(a), code_fingerprint(b), code_fingerprint(c)}) == 3


def test_lambdas_closures_and_nested_functions() -> None:
    def multiplier(k: object) -> Callable[[int], object]:
        return lambda x: x * k  # type: ignore[operator]

    assert code_fingerprint(lambda x: x + 1) != code_fingerprint(lambda x: x + 2)
    assert code_fingerprint(multiplier(2)) == code_fingerprint(multiplier(2))
    assert code_fingerprint(multiplier(2)) != code_fingerprint(multiplier(3))
    assert code_fingerprint(multiplier([1, 2])) != code_fingerprint(multiplier([1, 3]))

    def outer(x: int) -> int:
        def inner(y: int) -> int:
            return y + 1

        return inner(x)

    def outer_changed(x: int) -> int:
        def inner(y: int) -> int:
            return y + 2

        return inner(x)

    assert code_fingerprint(outer) != code_fingerprint(outer_changed)


def test_closure_over_a_user_function_follows_it() -> None:
    def wrap(fn: Callable[[int], int]) -> Callable[[int], int]:
        def wrapper(x: int) -> int:
            return fn(x)

        return wrapper

    def plus_one(x: int) -> int:
        return x + 1

    def plus_two(x: int) -> int:
        return x + 2

    assert code_fingerprint(wrap(plus_one)) != code_fingerprint(wrap(plus_two))


def test_mutual_recursion_terminates_and_both_sides_count() -> None:
    from fingerprint_app import helpers

    assert code_fingerprint(helpers.is_even) != code_fingerprint(helpers.is_odd)
    # Either entry point reaches both functions, whichever was fingerprinted first.
    assert code_fingerprints([helpers.is_odd, helpers.is_even]) == [
        code_fingerprint(helpers.is_odd),
        code_fingerprint(helpers.is_even),
    ]


def namespace(source: str) -> dict[str, Any]:
    """Run ``source`` as the body of a new user module (one not on any path)."""
    scope: dict[str, Any] = {"__name__": f"fp_exec_{uuid.uuid4().hex[:12]}"}
    exec(textwrap.dedent(source), scope)
    return scope


def test_functions_held_in_data_are_followed() -> None:
    source = """
        def a(x):
            return x + 1

        def b(x):
            return x + 2

        REGISTRY = {"a": a, "b": b}

        def run(name, x):
            return REGISTRY[name](x)
    """
    first, same, edited = (
        namespace(source),
        namespace(source),
        namespace(source.replace("x + 2", "x + 3")),
    )
    assert code_fingerprint(first["run"]) == code_fingerprint(same["run"])
    assert code_fingerprint(first["run"]) != code_fingerprint(edited["run"])


def test_decorated_helpers_partials_and_instances_are_followed() -> None:
    source = """
        import functools

        @functools.lru_cache
        def cached(x):
            return x + 1

        def power(x, n):
            return x ** n

        square = functools.partial(power, n=2)

        class Model:
            def predict(self, x):
                return x * self.weight

        MODEL = Model()
        MODEL.weight = 0.5

        def task_cached(x):
            return cached(x)

        def task_partial(x):
            return square(x)

        def task_instance(x):
            return MODEL.predict(x)
    """
    base = namespace(source)
    for old, new, changed in [
        ("x + 1", "x + 2", "task_cached"),
        ("x ** n", "x ** n + 1", "task_partial"),
        ("n=2", "n=3", "task_partial"),
        ("x * self.weight", "x / self.weight", "task_instance"),
        ("weight = 0.5", "weight = 0.25", "task_instance"),
    ]:
        edited = namespace(source.replace(old, new))
        for name in ("task_cached", "task_partial", "task_instance"):
            same = code_fingerprint(base[name]) == code_fingerprint(edited[name])
            assert same == (name != changed), (old, name)


def test_numpy_constants_count_by_value() -> None:
    def reads(scope: dict[str, Any]) -> str:
        return code_fingerprint(scope["f"])

    source = """
        import numpy as np

        W = np.array([1.0, 2.0])
        K = np.int64(3)

        def f(x):
            return x @ W * K
    """
    base = reads(namespace(source))
    assert reads(namespace(source)) == base
    assert reads(namespace(source.replace("2.0]", "2.5]"))) != base
    assert reads(namespace(source.replace("int64(3)", "int64(4)"))) != base


def test_recursive_data_terminates() -> None:
    loop: list[object] = [1]
    loop.append(loop)

    def reads() -> object:
        return loop

    assert len(code_fingerprint(reads)) == 32


def test_a_task_and_its_function_have_the_same_fingerprint() -> None:
    from fingerprint_app import tasks

    assert code_fingerprint(tasks.tokenize) == code_fingerprint(tasks.tokenize.fn)


def test_rebinding_a_global_is_seen_without_a_new_function_object(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A notebook that re-runs the cell defining a helper rebinds the global; the task's own
    # function object is unchanged, so a memo keyed on it alone would be stale.
    from fingerprint_app import helpers, tasks

    before = code_fingerprint(tasks.keep_large)
    monkeypatch.setattr(helpers, "above", lambda values: values)
    assert code_fingerprint(tasks.keep_large) != before
    monkeypatch.undo()
    assert code_fingerprint(tasks.keep_large) == before


def test_a_functions_fingerprint_does_not_change_once_it_has_run_hot() -> None:
    from fingerprint_app import helpers

    before = code_fingerprint(helpers.above)
    for _ in range(5_000):  # long enough for the specialising interpreter to rewrite it
        helpers.above([0.1, 0.9])
    assert code_fingerprint(helpers.above) == before


# --------------------------------------------------------------------- third-party code


def test_a_library_contributes_its_name_and_version_not_its_code(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from fingerprint_app import tasks

    before = code_fingerprint(tasks.average)
    monkeypatch.setattr(np, "mean", lambda values: 0.0)  # numpy's code is not read
    assert code_fingerprint(tasks.average) == before

    monkeypatch.setattr(np, "__version__", "0.0.test")  # the version of the loaded code
    assert code_fingerprint(tasks.average) != before
    monkeypatch.undo()
    assert code_fingerprint(tasks.average) == before


def test_which_library_function_is_bound_to_a_name_counts() -> None:
    namespace: dict[str, object] = {"__name__": "fp_alias_test", "np": np}
    exec("agg = np.mean\ndef f(x):\n    return agg(x)\n", namespace)
    first = code_fingerprint(namespace["f"])
    namespace["agg"] = np.median
    assert code_fingerprint(namespace["f"]) != first


def test_builtins_and_the_standard_library_are_not_hashed() -> None:
    import math

    def f(x: float) -> float:
        return math.floor(len(str(x)))

    fingerprint_ = code_fingerprint(f)
    assert fingerprint_ == code_fingerprint(f)
    assert code_fingerprint(len) != code_fingerprint(math.floor)


def test_a_user_module_shadowing_a_standard_one_is_user_code(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # ``tabnanny`` is in sys.stdlib_module_names; this one is the user's own file.
    def load(body: str) -> ModuleType:
        path = tmp_path / f"v{uuid.uuid4().hex[:8]}" / "tabnanny.py"
        path.parent.mkdir()
        path.write_text(
            f"def helper(x):\n    return {body}\n\ndef task(x):\n    return helper(x)\n"
        )
        spec = importlib.util.spec_from_file_location("tabnanny", path)
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        monkeypatch.setitem(sys.modules, "tabnanny", module)
        spec.loader.exec_module(module)
        return module

    first = code_fingerprint(load("x + 1").task)
    assert code_fingerprint(load("x + 2").task) != first


# ------------------------------------------------------------------ stability and speed

_SUBPROCESS = """
import json, sys
sys.path.insert(0, sys.argv[1])
from legato import Task
from legato.define.fingerprint import code_fingerprint, graph_fingerprint
from fingerprint_app import pipelines, tasks
prints = {n: code_fingerprint(o) for n, o in vars(tasks).items() if isinstance(o, Task)}
prints["graph"] = graph_fingerprint(pipelines.text_stats.graph)
print(json.dumps(prints))
"""


def test_fingerprints_are_stable_across_processes_and_hash_seeds() -> None:
    from fingerprint_app import pipelines, tasks

    here = task_fingerprints(tasks)
    here["graph"] = graph_fingerprint(pipelines.text_stats.graph)
    for seed in ("1", "2"):
        out = subprocess.run(
            [sys.executable, "-c", _SUBPROCESS, str(RESOURCES)],
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )
        assert json.loads(out.stdout) == here


def test_many_functions_fingerprint_quickly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Timing is measured, not asserted (shared CI machines vary); this checks the shape.
    lines = ["LIMIT = 3", "def helper(x):\n    return x * LIMIT"]
    lines += [
        f"def t{i}(x, y={i}):\n    return helper(x) + [v for v in range(y)][-1:]"
        for i in range(200)
    ]
    (tmp_path / "fp_many.py").write_text("\n\n".join(lines) + "\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    module = importlib.import_module("fp_many")
    try:
        fns = [task(getattr(module, f"t{i}")) for i in range(200)]
        prints = code_fingerprints(fns)
        assert len(set(prints)) == 200
        assert prints == [code_fingerprint(fn) for fn in fns]
        shared = Fingerprinter()
        assert [shared.code(fn) for fn in reversed(fns)] == prints[::-1]
    finally:
        del sys.modules["fp_many"]
