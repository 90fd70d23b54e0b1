"""Code is packaged by where it runs, and the import contracts in pyproject.toml (`[tool.importlinter]`)
keep it so: the app env never loads Rasa, Sanic or the bot runtime; platform protocol and crypto code
imports no Rasa, Sanic or provider SDK; actions and the dialogue reach the backend over HTTP only.
An AST walk keeps the contracts' list of bot-runtime modules complete, and a crossing added on
purpose is caught."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import tomllib

ROOT = Path(__file__).resolve().parents[2]
RASA_SIDE = {"rasa", "rasa_sdk", "sanic"}


def contracts() -> list[dict[str, object]]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    found: list[dict[str, object]] = config["tool"]["importlinter"]["contracts"]
    return found


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    command = [str(Path(sys.executable).parent / "lint-imports"), "--config", str(root / "pyproject.toml")]
    return subprocess.run(command, cwd=root, capture_output=True, text=True, timeout=120)


def imported_top_levels(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def module_name(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts)


def test_the_contracts_are_kept() -> None:
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert f"{len(contracts())} kept, 0 broken" in result.stdout


def test_every_connectors_module_that_imports_rasa_or_sanic_is_bot_runtime() -> None:
    """A new module of connectors/ that imports Rasa or Sanic must be in the app env's forbidden list,
    else the backend could import it (and fail in the app env, where Rasa is not installed)."""
    (app_env,) = [c for c in contracts() if c["source_modules"] == ["backend", "simulator"]]
    forbidden = set(app_env["forbidden_modules"])  # type: ignore[call-overload]
    runtime = {
        module_name(path) for path in (ROOT / "connectors").rglob("*.py") if imported_top_levels(path) & RASA_SIDE
    }
    assert runtime, "the AST walk found no Rasa-facing module: is it reading the right tree?"
    assert runtime <= forbidden, f"add to the app env contract: {sorted(runtime - forbidden)}"


@pytest.mark.parametrize(
    ("module", "line", "contract"),
    [
        ("backend/core/errors.py", "import connectors.wechat.channel", "The app env"),
        ("connectors/wechat/crypto.py", "import sanic", "Platform protocol"),
        ("actions/session.py", "import backend.core.db", "Actions, the dialogue"),
        ("connectors/gateway.py", "import backend.core.metrics", "The connectors meet the backend"),
    ],
)
def test_a_crossing_is_caught(tmp_path: Path, module: str, line: str, contract: str) -> None:
    """Proves the contracts bite: a copy of the tree with one crossing added breaks exactly its contract."""
    copy = tmp_path / "tree"
    copy.mkdir()
    shutil.copy(ROOT / "pyproject.toml", copy / "pyproject.toml")
    for package in ("backend", "connectors", "actions", "dialogue", "clients", "nlu", "simulator"):
        shutil.copytree(ROOT / package, copy / package, ignore=shutil.ignore_patterns("__pycache__", "static"))
    target = copy / module
    target.write_text(target.read_text(encoding="utf-8") + f"\n{line}\n", encoding="utf-8")
    result = lint_imports(copy)
    assert result.returncode != 0
    broken = result.stdout.split("Broken contracts", 1)[1]
    assert contract in broken and "1 broken" in result.stdout
