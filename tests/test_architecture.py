"""The layering DESIGN.md asks for, checked on the source: the API talks to the domain
only (no backend, no table class), backends know nothing of the emulator, and no module
grows past what a reader holds in one screen without saying why."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import SQLModel

import emulator.compute.aggregates.models
import emulator.compute.models
import emulator.compute.server_groups.models
import emulator.compute.services.models
import emulator.identity.models
import emulator.image.models
import emulator.volume.models

#: Every module of tables (``emulator.db`` imports the same ones before ``create_all``).
TABLE_MODULES = (emulator.compute.models, emulator.compute.server_groups.models,
                 emulator.compute.aggregates.models, emulator.compute.services.models,
                 emulator.identity.models, emulator.image.models, emulator.volume.models)

ROOT = Path(__file__).resolve().parent.parent
#: Lines a module may have before its docstring must say why it is longer.
MAX_LINES = 500


def modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def imports(path: Path) -> Iterator[tuple[str, str | None, int]]:
    """(module, imported name or None, line) of every import in ``path``, wherever it
    stands (a function body or an ``if TYPE_CHECKING`` block too)."""
    tree = ast.parse(path.read_text(), str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, None, node.lineno
        elif isinstance(node, ast.ImportFrom) and node.module is not None and node.level == 0:
            for alias in node.names:
                yield node.module, alias.name, node.lineno


def table_classes() -> dict[str, set[str]]:
    """Module -> names of the SQLModel tables it defines."""
    tables: dict[str, set[str]] = {}
    for mapper in SQLModel._sa_registry.mappers:
        cls = mapper.class_
        tables.setdefault(cls.__module__, set()).add(cls.__name__)
    return tables


def test_the_tables_are_known() -> None:
    tables = table_classes()
    assert "Instance" in tables["emulator.compute.models"]
    assert "Project" in tables["emulator.identity.models"]
    assert "Image" in tables["emulator.image.models"]


@pytest.mark.parametrize("path", modules("emulator/api"), ids=lambda p: str(p.relative_to(ROOT)))
def test_the_api_imports_neither_backends_nor_tables(path: Path) -> None:
    tables = table_classes()
    for module, name, line in imports(path):
        where = f"{path.relative_to(ROOT)}:{line}"
        assert module != "backends" and not module.startswith("backends."), \
            f"{where} imports {module}: the API talks to the domain only"
        assert module not in tables or name is None or name not in tables[module], \
            f"{where} imports the table {module}.{name}"
        assert not module.endswith(".models"), f"{where} imports {module}"


@pytest.mark.parametrize("path", modules("backends"), ids=lambda p: str(p.relative_to(ROOT)))
def test_backends_do_not_import_the_emulator(path: Path) -> None:
    for module, _name, line in imports(path):
        assert module != "emulator" and not module.startswith("emulator."), \
            f"{path.relative_to(ROOT)}:{line} imports {module}"


@pytest.mark.parametrize("path", [*modules("emulator"), *modules("backends")],
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_no_module_is_long_without_a_reason(path: Path) -> None:
    """Over ``MAX_LINES`` lines, a module's docstring must say why (``Long because``)."""
    lines = len(path.read_text().splitlines())
    if lines <= MAX_LINES:
        return
    docstring = ast.get_docstring(ast.parse(path.read_text())) or ""
    assert "Long because" in docstring, \
        f"{path.relative_to(ROOT)} has {lines} lines and no reason in its docstring"


def test_the_checks_can_fail(tmp_path: Path) -> None:
    """The import walk sees an import hidden in a function and a table by name."""
    sample = tmp_path / "sample.py"
    sample.write_text("def f():\n    from emulator.compute.models import Instance\n"
                      "    import backends.base\n")
    found = list(imports(sample))
    assert ("emulator.compute.models", "Instance", 2) in found
    assert ("backends.base", None, 3) in found
    assert "Instance" in table_classes()["emulator.compute.models"]
