"""Statuses are written only by their state machines. Every model's `status` column is written in the
module that owns its moves (`OWNERS`), and there through its domain's enum (`backend/<domain>/enums.py`,
a `str, Enum`), never as a bare string. An AST walk over backend/ finds every write: `x.status = …`
(also as one target of a tuple assignment), `status=` in a model's constructor, in an SQL `.values(…)`
or in the outbox's fenced `claims.finish(…)`, and a `"status"` key holding a stored status in a row
dict; the tree has none out of place, every status column has an owner, and a write added on purpose
(in the wrong module, or as a literal in the right one) is caught."""

from __future__ import annotations

import ast
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BACKEND = ROOT / "backend"

#: model → the modules that own its status (its state machine)
OWNERS: dict[str, frozenset[str]] = {
    "Ticket": frozenset({"backend/tickets/service.py"}),
    "Outage": frozenset({"backend/outages/service.py"}),
    "OutboxMessage": frozenset({"backend/notifications/outbox.py"}),
    # opened and withdrawn with its push by the outbox; answered (and the chat's own rating asked) by prompts
    "Prompt": frozenset({"backend/notifications/outbox.py", "backend/prompts/service.py"}),
    "DeviceEvent": frozenset({"backend/devices/service.py"}),
    "CallbackTask": frozenset({"backend/callbacks/service.py"}),
    "Handoff": frozenset({"backend/handoffs/service.py"}),
}
ANY_OWNER = frozenset().union(*OWNERS.values())


@dataclass(frozen=True)
class Write:
    path: str
    line: int
    model: str | None  # None when the walk cannot tell (an attribute assignment)
    literal: bool  # the value written is a bare string
    problem: str = ""


def models_with_status() -> set[str]:
    """The classes of backend/**/models.py with a `status` column."""
    found = set()
    for path in BACKEND.rglob("models.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef) and any(
                isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name) and item.target.id == "status"
                for item in node.body
            ):
                found.add(node.name)
    return found


def status_enums() -> tuple[set[str], set[str]]:
    """The `*Status` enums of backend/**/enums.py and the strings they store."""
    names, values = set(), set()
    for path in BACKEND.rglob("enums.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef) and node.name.endswith("Status"):
                names.add(node.name)
                values.update(
                    item.value.value
                    for item in node.body
                    if isinstance(item, ast.Assign) and isinstance(item.value, ast.Constant)
                )
    return names, values


MODELS = models_with_status()
ENUMS, STORED = status_enums()


def _is_literal(value: ast.expr) -> bool:
    if isinstance(value, ast.Constant):
        return isinstance(value.value, str)
    if isinstance(value, ast.IfExp):
        return _is_literal(value.body) or _is_literal(value.orelse)
    return False


def _uses_enum(value: ast.expr) -> bool:
    return any(isinstance(node, ast.Name) and node.id in ENUMS for node in ast.walk(value))


def _model_named(node: ast.expr, aliases: dict[str, str]) -> str | None:
    """The model an expression names: `Ticket`, `models.Ticket`, or a module-level table alias."""
    name = node.attr if isinstance(node, ast.Attribute) else node.id if isinstance(node, ast.Name) else None
    if name in MODELS:
        return name
    return aliases.get(name or "")


def _values_target(call: ast.Call, aliases: dict[str, str]) -> str | None:
    """The model of `update(X)…​.values(…)` / `insert(X)…​.values(…)`, walking down the chained calls."""
    node: ast.expr = call.func
    while isinstance(node, (ast.Attribute, ast.Call)):
        if isinstance(node, ast.Call):
            func = node.func
            verb = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
            if verb in ("update", "insert") and node.args:
                return _model_named(node.args[0], aliases)
            node = func
        else:
            node = node.value
    return None


def _table_aliases(tree: ast.Module) -> dict[str, str]:
    """Module-level names bound to a model's table (`_EVENTS = cast(Table, DeviceEvent.__table__)`)."""
    aliases = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            named = {n.id for n in ast.walk(node.value) if isinstance(n, ast.Name)} & MODELS
            if len(named) == 1 and any(
                isinstance(n, ast.Attribute) and n.attr == "__table__" for n in ast.walk(node.value)
            ):
                aliases[node.targets[0].id] = named.pop()
    return aliases


def writes(path: str, source: str) -> list[Write]:
    """Every write of a status in a module's source."""
    tree = ast.parse(source)
    aliases = _table_aliases(tree)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                pairs: list[tuple[ast.expr, ast.expr | None]] = [(target, node.value)]
                if isinstance(target, ast.Tuple):
                    values = node.value.elts if isinstance(node.value, ast.Tuple) else [None] * len(target.elts)
                    pairs = list(zip(target.elts, values, strict=True))
                for element, value in pairs:
                    if isinstance(element, ast.Attribute) and element.attr == "status":
                        found.append(Write(path, node.lineno, None, value is not None and _is_literal(value)))
        elif isinstance(node, ast.Call):
            keyword = next((k for k in node.keywords if k.arg == "status"), None)
            if keyword is None:
                continue
            func = node.func
            if isinstance(func, ast.Attribute) and func.attr == "values":
                model = _values_target(node, aliases)
            elif isinstance(func, ast.Attribute) and func.attr == "finish" and isinstance(func.value, ast.Name):
                model = "OutboxMessage" if func.value.id == "claims" else None
                if model is None:
                    continue
            else:
                model = _model_named(func, aliases)
                if model is None:
                    continue  # a schema, a response, a filter: not a column
            found.append(Write(path, node.lineno, model, _is_literal(keyword.value)))
        elif isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values, strict=True):
                if isinstance(key, ast.Constant) and key.value == "status":
                    stored_literal = isinstance(value, ast.Constant) and value.value in STORED
                    if stored_literal or _uses_enum(value):
                        found.append(Write(path, node.lineno, None, stored_literal))
    return found


def violations(path: str, source: str) -> list[Write]:
    bad = []
    for write in writes(path, source):
        owners = OWNERS[write.model] if write.model else ANY_OWNER
        if path not in owners:
            bad.append(replace(write, problem=f"{write.model or 'a'} status written outside {sorted(owners)}"))
        elif write.literal:
            bad.append(replace(write, problem="a bare string: write it through the domain's enum"))
    return bad


def backend_modules() -> dict[str, str]:
    return {
        path.relative_to(ROOT).as_posix(): path.read_text(encoding="utf-8")
        for path in BACKEND.rglob("*.py")
        if "alembic" not in path.parts
    }


def test_every_status_column_has_an_owner_and_an_enum() -> None:
    assert MODELS == set(OWNERS), "a model with a status column needs its state machine in OWNERS"
    assert {"TicketStatus", "OutageStatus", "OutboxStatus", "PromptStatus", "DeviceEventStatus"} <= ENUMS
    assert {"CallbackStatus", "HandoffStatus"} <= ENUMS
    for owners in OWNERS.values():
        assert all((ROOT / owner).is_file() for owner in owners)


def test_statuses_are_written_only_by_their_state_machines() -> None:
    modules = backend_modules()
    found = [write for path, source in modules.items() for write in writes(path, source)]
    writers = {write.path for write in found}
    # the walk sees the writes it must see (else it proves nothing)
    assert writers == ANY_OWNER, writers ^ ANY_OWNER
    assert len(found) >= 30
    bad = [v for path, source in modules.items() for v in violations(path, source)]
    assert not bad, "\n".join(f"{v.path}:{v.line}: {v.problem}" for v in bad)


@pytest.mark.parametrize(
    ("path", "snippet"),
    [
        # outside the owner: assignment, tuple assignment, SQL values, constructor, the fenced finish, row dict
        ("backend/notifications/worker.py", "row.status = OutboxStatus.dead.value"),
        ("backend/tickets/router.py", "ticket.status, ticket.note = TicketStatus.closed.value, None"),
        ("backend/live/service.py", "update(Ticket).where(Ticket.id == 1).values(status=TicketStatus.closed.value)"),
        ("backend/prompts/service.py", "Ticket(ticket_no='QX1', status=TicketStatus.received.value)"),
        ("backend/notifications/worker.py", "claims.finish(session, 1, 'token', status=OutboxStatus.sent.value)"),
        ("backend/devices/router.py", "row = {'event_id': 'e1', 'status': DeviceEventStatus.pending.value}"),
        # the owner of another model's status
        ("backend/outages/service.py", "session.execute(update(Ticket).values(status=TicketStatus.merged.value))"),
        # in the owner, but a bare string
        ("backend/tickets/service.py", "ticket.status = 'closed'"),
        ("backend/outages/service.py", "Outage(status='active' if started else 'announced')"),
        ("backend/notifications/outbox.py", "rows = [{'dedup_key': 'k', 'status': 'pending'}]"),
    ],
)
def test_a_stray_status_write_is_caught(path: str, snippet: str) -> None:
    """Proves the walk bites: the module with one write added has exactly one violation more."""
    source = (ROOT / path).read_text(encoding="utf-8")
    assert not violations(path, source)
    assert len(violations(path, f"{source}\n\ndef _added():\n    {snippet}\n")) == 1
