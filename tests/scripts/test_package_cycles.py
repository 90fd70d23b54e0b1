"""The backend's packages (`backend/<package>/`) import each other one way: no cycle. Their HTTP
routers (`backend/<package>/router.py`) are the entry points above every domain service
(docs/architecture.md, "Dependencies point one way"), and are left out: a package's own router may
use any service. grimp reads the imports of the real tree; an import added on purpose that closes a
cycle is caught."""

from __future__ import annotations

import grimp
import pytest

ENTRY_POINT = "router"


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph("backend", exclude_type_checking_imports=True)


def package_of(module: str) -> str | None:
    """`backend.tickets.service` → `backend.tickets`; None for a module of backend/ itself or a router."""
    parts = module.split(".")
    if len(parts) < 3 or parts[2] == ENTRY_POINT:
        return None
    return ".".join(parts[:2])


def package_imports(graph: grimp.ImportGraph, added: tuple[str, str] | None = None) -> dict[str, set[str]]:
    """Which packages each package's modules (routers aside) import; with `added`, one more module
    import (importer, imported)."""
    imports = [
        (module, imported) for module in graph.modules for imported in graph.find_modules_directly_imported_by(module)
    ]
    edges: dict[str, set[str]] = {}
    for importer, imported in [*imports, *([added] if added else [])]:
        source, target = package_of(importer), package_of(imported)
        if source is not None and target is not None and target != source:
            edges.setdefault(source, set()).add(target)
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one package (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in sorted(edges.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_the_backend_packages_import_each_other_one_way(graph: grimp.ImportGraph) -> None:
    edges = package_imports(graph)
    assert {"backend.tickets", "backend.outages", "backend.notifications", "backend.dispatch"} <= set(edges)
    assert "backend.notifications" in edges["backend.tickets"]  # the walk sees the imports it must see
    assert cycles(edges) == []


@pytest.mark.parametrize(
    ("importer", "imported", "group"),
    [
        # the cycles issue 22 named, and the one the repair-report intake made
        ("backend.dispatch.service", "backend.tickets.service", {"backend.dispatch", "backend.tickets"}),
        (
            "backend.notifications.outbox",
            "backend.applications.service",
            {"backend.applications", "backend.notifications"},
        ),
        ("backend.outages.service", "backend.repairs.service", {"backend.outages", "backend.repairs"}),
    ],
)
def test_an_import_that_closes_a_cycle_is_caught(
    graph: grimp.ImportGraph, importer: str, imported: str, group: set[str]
) -> None:
    (found,) = cycles(package_imports(graph, added=(importer, imported)))
    assert group <= set(found)


def test_a_router_may_use_any_service(graph: grimp.ImportGraph) -> None:
    added = ("backend.dispatch.router", "backend.tickets.service")
    assert cycles(package_imports(graph, added=added)) == []
