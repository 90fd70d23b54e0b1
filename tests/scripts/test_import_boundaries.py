"""Code is packaged by where it runs, and the import contracts in pyproject.toml (`[tool.importlinter]`)
keep it so: `platforms/` (both envs) imports no Rasa, Sanic, provider SDK, bot runtime or backend; the
app env (backend, simulator) never loads Rasa, Sanic or the bot runtime; the bot runtime, actions,
the dialogue and the backend client reach the backend over HTTP only. An AST walk proves that only
`bot_runtime/` and `actions/` import Rasa or Sanic, and a crossing added on purpose is caught."""

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


def test_only_the_bot_runtime_and_the_actions_import_rasa_or_sanic() -> None:
    """Everything that touches the dialogue engine stays in two packages, so it could be replaced
    without touching the platforms, the dialogue, the backend client or the backend."""
    first_party = [p for p in ROOT.iterdir() if p.is_dir() and (p / "__init__.py").exists()]
    touching = {
        module_name(path)
        for package in first_party
        for path in package.rglob("*.py")
        if imported_top_levels(path) & RASA_SIDE
    }
    assert {"bot_runtime.rasa_server", "actions.converse"} <= touching, "is the AST walk reading the right tree?"
    outside = sorted(m for m in touching if m.split(".")[0] not in {"bot_runtime", "actions"})
    assert not outside, f"Rasa or Sanic imported outside bot_runtime/ and actions/: {outside}"


@pytest.mark.parametrize(
    ("module", "line", "contract"),
    [
        ("backend/core/errors.py", "import bot_runtime.channels.wechat", "The app env"),
        ("platforms/wechat/crypto.py", "import sanic", "Platforms (both envs)"),
        ("platforms/sms/segments.py", "import tencentcloud", "Platforms (both envs)"),
        ("actions/session.py", "import backend.core.db", "Actions, the dialogue"),
        ("bot_runtime/gateway.py", "import backend.core.metrics", "The bot runtime meets the backend"),
        ("dialogue/engine.py", "import bot_runtime.transcript", "The dialogue and the backend client"),
    ],
)
def test_a_crossing_is_caught(tmp_path: Path, module: str, line: str, contract: str) -> None:
    """Proves the contracts bite: a copy of the tree with one crossing added breaks exactly its contract."""
    copy = tmp_path / "tree"
    copy.mkdir()
    shutil.copy(ROOT / "pyproject.toml", copy / "pyproject.toml")
    for package in ("backend", "platforms", "bot_runtime", "actions", "dialogue", "clients", "simulator"):
        shutil.copytree(ROOT / package, copy / package, ignore=shutil.ignore_patterns("__pycache__", "static"))
    target = copy / module
    target.write_text(target.read_text(encoding="utf-8") + f"\n{line}\n", encoding="utf-8")
    result = lint_imports(copy)
    assert result.returncode != 0
    broken = result.stdout.split("Broken contracts", 1)[1]
    assert contract in broken and "1 broken" in result.stdout
