"""The README's code blocks work as written.

Every fenced block is checked by its language:

- ``python``: run as a script in a fresh process, in an empty folder with its own
  ``LEGATO_HOME``; it must exit 0.
- ``sh`` (``bash``, ``shell``, ``console``): ``make TARGET`` lines name targets of the Makefile,
  and the files its recipes name exist (``make test`` is never run from a test: it would run
  this test again); ``python ...`` and ``legato ...`` lines run from the repository root with
  their own ``LEGATO_HOME``; anything else fails, asking for the block to be marked.
- other languages (``text``, ``toml``...) are shown, not run.

A block preceded by ``<!-- illustrative -->`` (optionally with a reason: ``<!-- illustrative:
needs a PostgreSQL server -->``) is an illustration and is skipped; mark blocks that need
servers, network or secrets that way.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
SHELLS = {"sh", "bash", "shell", "console"}
PYTHONS = {"python", "py", "python3"}
ILLUSTRATIVE = re.compile(r"<!--\s*illustrative\b.*?-->", re.IGNORECASE)
FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})(?P<info>[^`]*)$")


@dataclass(frozen=True)
class Block:
    language: str
    code: str
    line: int
    """Line of the opening fence (1-based)."""
    illustrative: bool

    @property
    def id(self) -> str:
        return f"{self.language or 'plain'}@L{self.line}"


def blocks(text: str) -> list[Block]:
    """The fenced code blocks of a Markdown text, in order."""
    found = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        opening = FENCE.match(lines[i])
        if opening is None:
            i += 1
            continue
        fence = opening["fence"]
        language = opening["info"].strip().split(" ")[0].lower()
        before = [line for line in lines[:i] if line.strip()]
        marked = bool(before) and ILLUSTRATIVE.search(before[-1]) is not None
        start = i + 1
        i += 1
        # closed by a line of the same fence character, at least as long, and nothing else
        while i < len(lines):
            closing = lines[i].strip()
            if closing.startswith(fence) and not closing.strip(fence[0]):
                break
            i += 1
        found.append(Block(language, "".join(f"{x}\n" for x in lines[start:i]), start, marked))
        i += 1
    return found


def commands(code: str) -> list[str]:
    """Shell commands of a block: prompts, comments and blank lines dropped, ``\\``
    continuations joined."""
    out: list[str] = []
    pending = ""
    for raw in code.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        line = line.removeprefix("$ ")
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        words = shlex.split(pending + line, comments=True)
        pending = ""
        if words:
            out.append(shlex.join(words))
    return out


def make_targets(makefile: Path) -> set[str]:
    rule = re.compile(r"^([A-Za-z0-9_.%/$()-][^:=#\s]*(?:\s+[^:=#\s]+)*)\s*::?(?!=)")
    targets: set[str] = set()
    for line in makefile.read_text().splitlines():
        match = rule.match(line)
        if match and not line.startswith("\t"):
            targets.update(match[1].split())
    return targets


README_BLOCKS = blocks(README.read_text())


def test_the_readme_has_blocks_and_the_two_commands() -> None:
    shell = [c for b in README_BLOCKS if b.language in SHELLS for c in commands(b.code)]
    assert "make demo" in shell
    assert "make test" in shell
    assert any(b.language in PYTHONS and not b.illustrative for b in README_BLOCKS)


def test_the_block_parser() -> None:
    text = (
        "# t\n\n```sh\nmake demo   # a comment\n$ legato run \\\n  a.py:p\n```\n\n"
        "<!-- illustrative: needs a server -->\n\n````python\nprint('```')\n````\n"
        "```\nplain\n```\n"
    )
    found = blocks(text)
    assert [(b.language, b.line, b.illustrative) for b in found] == [
        ("sh", 3, False),
        ("python", 11, True),
        ("", 14, False),
    ]
    assert found[1].code == "print('```')\n"
    assert commands(found[0].code) == ["make demo", "legato run a.py:p"]


def check_make(words: list[str], repo: Path = REPO) -> None:
    """``make TARGET...`` names targets of ``repo``'s Makefile whose recipes name files that
    exist (checked with a dry run, which runs nothing)."""
    targets = [w for w in words[1:] if not w.startswith("-") and "=" not in w]
    assert targets, f"`{shlex.join(words)}` names no target"
    known = make_targets(repo / "Makefile")
    missing = [t for t in targets if t not in known]
    assert not missing, f"Makefile has no target {missing} (it has {sorted(known)})"
    make = shutil.which("make")
    if make is None:
        return
    # A dry run prints the recipes without running them (nothing recurses into this test).
    done = subprocess.run(
        [make, "--dry-run", "--always-make", *targets],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    for line in done.stdout.splitlines():
        for word in shlex.split(line, comments=True):
            # repository paths a recipe names: a typo in one shows here
            if "/" in word and not word.startswith(("-", "/", "$", ".venv")) and "=" not in word:
                if "*" in word or word.startswith("'") or ":" in word:
                    continue
                assert (repo / word).exists(), f"make {' '.join(targets)} runs {line!r}: no {word}"


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_checks_catch_a_missing_target_and_a_misspelled_path(tmp_path: Path) -> None:
    (tmp_path / "examples").mkdir()
    (tmp_path / "examples" / "demo.py").touch()
    (tmp_path / "Makefile").write_text(
        ".PHONY: demo typo\ndemo:\n\tpython examples/demo.py\ntypo:\n\tpython example/demo.py\n"
    )
    check_make(["make", "demo"], tmp_path)
    with pytest.raises(AssertionError, match="no target"):
        check_make(["make", "tests"], tmp_path)
    with pytest.raises(AssertionError, match=r"no example/demo\.py"):
        check_make(["make", "typo"], tmp_path)


def _run_shell(command: str, tmp_path: Path) -> None:
    env = {**os.environ, "LEGATO_HOME": str(tmp_path / "legato-home")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    done = subprocess.run(
        ["bash", "-c", command],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, f"`{command}` exited {done.returncode}:\n{done.stderr}"


@pytest.mark.parametrize(
    "block",
    [b for b in README_BLOCKS if b.language in SHELLS],
    ids=lambda b: b.id,
)
def test_shell_block(block: Block, tmp_path: Path) -> None:
    if block.illustrative:
        pytest.skip("marked <!-- illustrative --> in the README")
    for command in commands(block.code):
        words = shlex.split(command)
        if words[0] == "make":
            check_make(words)
        elif words[0] in {"python", "python3", "legato"}:
            _run_shell(command, tmp_path)
        else:
            pytest.fail(
                f"README.md line {block.line}: `{command}` is not safe to run in a test; "
                "mark the block with <!-- illustrative --> or teach tests/test_readme.py "
                "how to check it"
            )


@pytest.mark.parametrize(
    "block",
    [b for b in README_BLOCKS if b.language in PYTHONS],
    ids=lambda b: b.id,
)
def test_python_block(block: Block, tmp_path: Path) -> None:
    if block.illustrative:
        pytest.skip("marked <!-- illustrative --> in the README")
    script = tmp_path / f"readme_line_{block.line}.py"
    script.write_text(block.code)
    work = tmp_path / "work"
    work.mkdir()
    done = subprocess.run(
        [sys.executable, str(script)],
        cwd=work,
        env={**os.environ, "LEGATO_HOME": str(tmp_path / "legato-home")},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, (
        f"README.md line {block.line}: the block exited {done.returncode}\n"
        f"{done.stdout}\n{done.stderr}"
    )
