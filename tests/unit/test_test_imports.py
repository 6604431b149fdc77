"""Test modules share builders through `tests.factories` only: no test module (or conftest) imports another."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
ROOT = TESTS.parent
SHARED = "tests.factories"


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _resolve(path: Path, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    package = _module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    base = package[: len(package) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def imported_test_modules(source: str, path: Path) -> list[str]:
    """The modules under tests/ that `source` (the text of `path`) imports, other than the shared factories."""
    targets: list[str] = []
    for node in ast.walk(ast.parse(source, str(path))):
        if isinstance(node, ast.Import):
            targets += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            module = _resolve(path, node)
            # `from tests.unit import test_x` imports the module test_x; `from m import name` imports m.
            targets += [f"{module}.{alias.name}" if _is_module(f"{module}.{alias.name}") else module
                        for alias in node.names]
    return sorted({t for t in targets if t.split(".")[0] == "tests" and not _shared(t)})


def _is_module(name: str) -> bool:
    path = ROOT.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _shared(name: str) -> bool:
    return name == SHARED or name.startswith(SHARED + ".")


def test_no_test_module_imports_another() -> None:
    offenders = {
        str(path.relative_to(ROOT)): found
        for path in sorted(TESTS.rglob("*.py"))
        if (found := imported_test_modules(path.read_text(encoding="utf-8"), path))
    }
    assert offenders == {}, f"move shared helpers to {SHARED}: {offenders}"


def test_the_check_sees_absolute_relative_and_conftest_imports() -> None:
    probe = TESTS / "unit" / "test_probe_never_written.py"
    cases = {
        "from tests.unit.test_contact_metrics import at": ["tests.unit.test_contact_metrics"],
        "from .test_contact_metrics import at": ["tests.unit.test_contact_metrics"],
        "from . import test_contact_metrics": ["tests.unit.test_contact_metrics"],
        "from ..integration.conftest import Pipeline": ["tests.integration.conftest"],
        "import tests.unit.test_sink": ["tests.unit.test_sink"],
        "from tests.factories.calls import at": [],
        "from tests.factories import calls": [],
        "from servicepulse.config import Settings": [],
    }
    for source, expected in cases.items():
        assert imported_test_modules(source, probe) == expected, source
