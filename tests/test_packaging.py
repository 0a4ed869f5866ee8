"""legato as a user installs it: the sdist and wheel `make dist` builds hold the whole
package, the wheel installs into a fresh environment with its dependencies from the package
index pip is configured with, and the `legato` command it brings runs the demo pipeline in a
folder outside the repository. Also: the extras are what the README says, and the `demo`
extra (all `make demo` installs) is exactly what the example imports."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
import tomllib
import zipfile
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest
from packaging.requirements import Requirement

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "src" / "legato"
DEMO = REPO / "examples" / "digits" / "pipeline.py"
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())
EXTRAS: dict[str, list[str]] = PYPROJECT["project"]["optional-dependencies"]


def _names(requirements: list[str]) -> set[str]:
    """Distribution names of ``requirements``, legato's own extras expanded."""
    names: set[str] = set()
    for text in requirements:
        requirement = Requirement(text)
        if requirement.name == "legato":
            for extra in requirement.extras:
                names |= _names(EXTRAS[extra])
        else:
            names.add(_canonical(requirement.name))
    return names


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_the_demo_extra_is_what_the_digits_example_imports() -> None:
    tree = ast.parse(DEMO.read_text())
    modules = {
        alias.name.partition(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    } | {
        node.module.partition(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0
    }
    third_party = modules - set(sys.stdlib_module_names) - {"__future__", "legato"}
    providers = packages_distributions()
    imported = {_canonical(providers[module][0]) for module in third_party}
    core = _names(PYPROJECT["project"]["dependencies"])
    assert imported - core == _names(EXTRAS["demo"])


def test_the_readme_documents_every_extra_and_only_those() -> None:
    readme = (REPO / "README.md").read_text()
    section = readme.partition("## Install")[2].partition("\n## ")[0]
    documented = set(re.findall(r"^\| `([a-z0-9-]+)` \|", section, re.MULTILINE))
    assert documented == set(EXTRAS)


def test_the_dev_extra_holds_every_feature_extra() -> None:
    # `make test` proves each feature with its real dependencies installed
    features = set(EXTRAS) - {"dev", "bench"}
    assert _names(EXTRAS["dev"]) >= set().union(*(_names(EXTRAS[f]) for f in features))


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sdist and the wheel, built as `make dist` builds them (the wheel from the sdist)."""
    out = tmp_path_factory.mktemp("dist")
    done = subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(out), str(REPO)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return out


def _wheel(dist: Path) -> Path:
    (wheel,) = dist.glob("legato-*-py3-none-any.whl")
    return wheel


@pytest.mark.slow
def test_the_wheel_holds_every_file_of_the_package(dist: Path) -> None:
    (sdist,) = dist.glob("legato-*.tar.gz")
    assert sdist.stat().st_size > 0
    with zipfile.ZipFile(_wheel(dist)) as wheel:
        names = set(wheel.namelist())
        entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
        assert "legato = legato.cli:main" in wheel.read(entry_points).decode()
    source = {
        f"legato/{path.relative_to(PACKAGE).as_posix()}"
        for path in PACKAGE.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }
    assert source - names == set()
    # the package data: what alembic reads at run time, the typing marker, the built web UI
    assert {
        "legato/py.typed",
        "legato/store/sql/migrations/script.py.mako",
        "legato/server/static/index.html",
    } <= names


@pytest.mark.exhaustive  # a minute of installing; the wheel's files are checked above
@pytest.mark.timeout(600)
def test_the_wheel_installed_in_a_fresh_venv_runs_the_demo_outside_the_repository(
    dist: Path, tmp_path: Path
) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    # This environment's pip installs into the new one (--python): dependencies come from the
    # index pip is configured with, as for any user; no bytecode is compiled, to save time.
    installed = subprocess.run(
        [
            *(sys.executable, "-m", "pip", "--python", str(python), "install"),
            *("--quiet", "--no-compile", "--disable-pip-version-check"),
            f"{_wheel(dist)}[demo]",
        ],
        capture_output=True,
        text=True,
        timeout=540,
        check=False,
    )
    assert installed.returncode == 0, installed.stderr
    project = tmp_path / "project"
    project.mkdir()
    (project / "pipeline.py").write_text(DEMO.read_text())
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("LEGATO_", "PYTHON", "VIRTUAL_ENV"))
    }
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"

    def legato(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(venv / "bin" / "legato"), *args],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )

    done = legato("run", "pipeline.py:digits", "--no-logs")
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"^run \S+ succeeded in ", done.stdout, re.MULTILINE), done.stdout
    where = subprocess.run(
        [str(python), "-c", "import legato; print(legato.__file__)"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert Path(where).is_relative_to(venv), where  # the wheel's legato, not the clone's
    assert (project / ".legato" / "legato.db").is_file()  # the store of that project
    assert "digits" in legato("models", "list").stdout
