"""The README stays a quick start and the reference in docs/ stays complete, linked and in step with the code."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
DOCS = ROOT / "docs"
CI_RUN = ROOT / ".ci" / "run"
CI_COMMAND = "python3 -m venv .venv && .venv/bin/pip install -e '.[dev]' && .venv/bin/mypy && .venv/bin/pytest"
RUN_COMMAND = "python3 -m venv .venv && .venv/bin/pip install -e '.[dev]' && .venv/bin/servicepulse up --demo"
USER_DOCS = [README, *sorted(DOCS.glob("*.md"))]


def _gen() -> ModuleType:
    """docs/gen_reference.py is a script, not a package module: load it from its path (once)."""
    name = "_docs_gen_reference"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, DOCS / "gen_reference.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the file runs
    spec.loader.exec_module(module)
    return module


def _code_blocks(text: str) -> list[str]:
    return [m.strip() for m in re.findall(r"```[a-z]*\n(.*?)```", text, flags=re.DOTALL)]


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    text = path.read_text(encoding="utf-8")
    text = re.sub(r"```.*?```", "", text, flags=re.DOTALL)
    return {_slug(h) for h in re.findall(r"^#+ (.+)$", text, flags=re.MULTILINE)}


def test_readme_is_short() -> None:
    assert len(README.read_text(encoding="utf-8").splitlines()) < 160


def test_readme_opens_with_the_two_commands() -> None:
    text = README.read_text(encoding="utf-8")
    before_first_section = text.split("\n## ", 1)[0]
    blocks = _code_blocks(before_first_section)
    ci_command = CI_RUN.read_text(encoding="utf-8").strip().splitlines()[-1]
    assert blocks == [RUN_COMMAND, ci_command]


def test_ci_runs_the_type_checker_and_the_tests() -> None:
    lines = CI_RUN.read_text(encoding="utf-8").strip().splitlines()
    assert lines[0] == "#!/usr/bin/env bash"
    assert lines[1].startswith("# CI:")
    assert "set -euo pipefail" in lines
    assert lines[-1] == CI_COMMAND


@pytest.mark.parametrize("path", USER_DOCS, ids=lambda p: p.name)
def test_no_issue_numbers_in_user_documentation(path: Path) -> None:
    hits = re.findall(r"\bissues?\s*#?\s*\d+", path.read_text(encoding="utf-8"), flags=re.IGNORECASE)
    assert not hits, f"{path.name} names issue numbers: {hits}"


def test_every_reference_document_is_linked_from_the_readme() -> None:
    text = README.read_text(encoding="utf-8")
    linked = set(re.findall(r"\]\((docs/[^)#]+\.md)", text))
    assert {f"docs/{p.name}" for p in DOCS.glob("*.md")} <= linked


@pytest.mark.parametrize("path", USER_DOCS, ids=lambda p: p.name)
def test_relative_links_resolve(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    broken = []
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"^[a-z]+:", target):
            continue  # an absolute URL
        file, _, anchor = target.partition("#")
        resolved = (path.parent / file).resolve() if file else path
        # A missing file, or a markdown file without the heading the anchor names.
        if not resolved.exists() or (anchor and resolved.suffix == ".md" and anchor not in _anchors(resolved)):
            broken.append(target)
    assert not broken, f"{path.name}: links that do not resolve: {broken}"


def test_generated_reference_is_up_to_date() -> None:
    gen = _gen()
    for name, (file, make) in gen.BLOCKS.items():
        current = gen.generated_blocks((DOCS / file).read_text(encoding="utf-8")).get(name)
        assert current == make(), f"docs/{file} is out of date: run `python docs/gen_reference.py`"


def _env_names(model: type, prefix: str) -> list[str]:
    from pydantic import BaseModel

    names = []
    for name, info in model.model_fields.items():  # type: ignore[attr-defined]
        annotation = info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            names += _env_names(annotation, f"{prefix}{name.upper()}__")
        elif info.validation_alias is not None:
            names += [str(c) for c in info.validation_alias.choices]
        else:
            names.append(f"{prefix}{name.upper()}")
    return names


def test_every_setting_is_in_the_configuration_reference() -> None:
    from servicepulse.config import Settings

    text = (DOCS / "configuration.md").read_text(encoding="utf-8")
    missing = [env for env in _env_names(Settings, "") if f"`{env}`" not in text]
    assert not missing, f"docs/configuration.md lacks {missing}: run `python docs/gen_reference.py`"


def test_every_table_and_view_is_described_for_auditors() -> None:
    gen = _gen()
    text = (DOCS / "auditors.md").read_text(encoding="utf-8")
    names = [t.name for t in gen.sql_tables()] + gen.sql_views()
    missing = [name for name in names if f"`{name}`" not in text]
    assert not missing, f"docs/auditors.md does not describe {missing}"
