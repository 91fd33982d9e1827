"""Every import of has_kdc/, library/ and module_utils/ follows the may-import table of
docs/design.md, so the table is read here rather than copied: an arrow it does not
allow fails this test, and so does a table that stops describing the code.

A folder may import what its row names and, through those, everything they may
import; the root modules (``principal.py``, ``fileio.py``, ``pki.py``) and the
package's ``__init__`` lie below every folder. The Ansible modules may import any
layer but the edges (web/, cli/), and importing what they import must not load the
HTTPS stack at all.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PACKAGE = REPO / "has_kdc"
DESIGN = REPO / "docs" / "design.md"
ANSIBLE_DIRS = ("library", "module_utils")
#: Layers an Ansible module on a target must not need.
EDGES = frozenset({"web", "cli"})
_NOT_LAYERS = {"stdlib", "cryptography", "—", ""}


def design_table() -> tuple[list[str], dict[str, set[str]]]:
    """(layers in table order, what each may import directly) from docs/design.md."""
    text = DESIGN.read_text(encoding="utf-8")
    section = text.split("## Package layout", 1)[1].split("\n## ", 1)[0]
    order: list[str] = []
    allowed: dict[str, set[str]] = {}
    for line in section.splitlines():
        if not line.startswith("| `"):
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        names = [
            n.removesuffix("/").removesuffix(".py") for n in re.findall(r"`([^`]+)`", cells[0])
        ]
        # an entry may carry a note: "gss (replay cache)" is gss
        deps = {d.split("(")[0].strip() for d in cells[-1].split(",")} - _NOT_LAYERS
        for name in names:
            order.append(name)
            allowed[name] = deps
    return order, allowed


LAYERS, DIRECT = design_table()
ROOT_MODULES = {n for n in LAYERS if (PACKAGE / f"{n}.py").is_file()}


def reachable(layer: str) -> set[str]:
    """What ``layer`` may import: its row, what those rows allow, and so on down."""
    if DIRECT[layer] == {"everything"}:
        return set(LAYERS) | {"__init__"}
    seen: set[str] = set()
    todo = list(DIRECT[layer])
    while todo:
        dep = todo.pop()
        if dep not in seen:
            seen.add(dep)
            todo += DIRECT.get(dep, set())
    return seen | ROOT_MODULES | {"__init__"}


def has_kdc_imports(path: Path) -> Iterator[tuple[int, str]]:
    """(line, layer) of every absolute ``has_kdc`` import in ``path``, lazy ones too."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules = [node.module]
            if node.module == "has_kdc":
                modules = [f"has_kdc.{alias.name}" for alias in node.names]
        else:
            continue
        for module in modules:
            parts = module.split(".")
            if parts[0] == "has_kdc":
                layer = parts[1] if len(parts) > 1 else "__init__"
                if layer == "__version__":
                    layer = "__init__"
                yield node.lineno, layer


def layer_of(path: Path) -> str:
    first = path.relative_to(PACKAGE).parts[0]
    return first.removesuffix(".py")


def test_the_table_lists_every_folder_and_points_only_downward():
    folders = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()}
    assert folders <= set(LAYERS), f"folders missing from {DESIGN.name}: {folders - set(LAYERS)}"
    assert {"node", "web", "cli", "admin", "kdc", "backend"} <= set(LAYERS)
    for index, layer in enumerate(LAYERS):
        for dep in DIRECT[layer] - {"everything"}:
            assert dep in LAYERS, f"{layer} may import {dep!r}, which the table does not list"
            assert LAYERS.index(dep) < index, f"{layer} -> {dep} points upward in the table"


def test_the_table_forbids_what_the_layering_forbids():
    """The reading of the table itself: the edges above node/, node/ above the core."""
    assert "web" not in reachable("node") and "cli" not in reachable("node")
    assert "node" not in reachable("admin") and "node" not in reachable("kdc")
    assert {"node", "admin"} <= reachable("web")
    assert "web" not in reachable("client")
    assert reachable("cli") >= set(LAYERS)


def package_arrows() -> list[tuple[str, int, str, str]]:
    arrows = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.parent == PACKAGE and path.name == "__init__.py":
            continue
        source = layer_of(path)
        for line, target in has_kdc_imports(path):
            if target != source:
                arrows.append((str(path.relative_to(REPO)), line, source, target))
    return arrows


def test_every_import_in_the_package_is_an_arrow_the_table_allows():
    forbidden = [
        f"{where}:{line}: {source} -> {target}"
        for where, line, source, target in package_arrows()
        if target not in reachable(source)
    ]
    assert not forbidden, "arrows the table forbids:\n" + "\n".join(forbidden)


def test_the_scan_sees_the_arrows_there_are():
    """The scan is not vacuous: it finds the edges' imports of node/ and node/'s of admin/."""
    arrows = {(source, target) for _, _, source, target in package_arrows()}
    assert {("web", "node"), ("cli", "node"), ("node", "admin"), ("node", "kdc")} <= arrows


def ansible_imports() -> list[tuple[str, int, str]]:
    found = []
    for folder in ANSIBLE_DIRS:
        for path in sorted((REPO / folder).rglob("*.py")):
            for line, layer in has_kdc_imports(path):
                found.append((str(path.relative_to(REPO)), line, layer))
    return found


def test_ansible_modules_never_import_the_edges():
    imports = ansible_imports()
    assert any(layer == "node" for _, _, layer in imports)  # has_client_config's realm view
    edges = [f"{where}:{line}: {layer}" for where, line, layer in imports if layer in EDGES]
    assert not edges, "Ansible modules importing an edge:\n" + "\n".join(edges)


def _modules_of(path: Path) -> Iterator[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module.startswith("has_kdc."):
                yield node.module
        elif isinstance(node, ast.Import):
            yield from (a.name for a in node.names if a.name.startswith("has_kdc."))


@pytest.mark.parametrize("what", ["ansible", "node"])
def test_importing_them_loads_no_https_stack(what):
    """Whatever the Ansible modules import, and every node/ module, in a fresh
    interpreter: neither has_kdc.web, has_kdc.cli nor aiohttp gets loaded."""
    if what == "ansible":
        modules = sorted(
            {
                m
                for folder in ANSIBLE_DIRS
                for p in (REPO / folder).rglob("*.py")
                for m in _modules_of(p)
            }
        )
    else:
        modules = sorted(f"has_kdc.node.{p.stem}" for p in (PACKAGE / "node").glob("*.py"))
    assert "has_kdc.node.realm_view" in modules
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] == 'aiohttp'"
        " or m.startswith(('has_kdc.web', 'has_kdc.cli')))\n"
        "print(' '.join(bad))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO
    )
    assert proc.stdout.split() == []
