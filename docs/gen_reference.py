"""Regenerates the reference tables in docs/ from the code: table columns, settings, view names.

Run `python docs/gen_reference.py` after changing an event model, a migration or `servicepulse/config.py`;
`python docs/gen_reference.py --check` exits 1 when a document is out of date (tests/unit/test_docs.py does
the same check, so the documents cannot drift from the code).

The generated parts sit between `<!-- BEGIN GENERATED: name -->` and `<!-- END GENERATED: name -->`; every
other line of a document is written by hand and left alone.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from pydantic import BaseModel, SecretStr
from pydantic.fields import FieldInfo

DOCS = Path(__file__).resolve().parent

__all__ = ["BLOCKS", "SqlTable", "generated_blocks", "main", "migration_sql", "render", "settings_markdown",
           "sql_tables", "sql_views", "tables_markdown"]


@dataclass(frozen=True)
class SqlTable:
    """A `CREATE TABLE` of a migration: its name, the comment just above it, its columns and types."""

    name: str
    comment: str
    columns: tuple[tuple[str, str], ...]
    migration: str


def migration_sql() -> dict[str, str]:
    """Every migration file's text by file name, in the order they are applied."""
    from servicepulse import connectors

    folder = Path(connectors.__file__).resolve().parent / "migrations"
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(folder.glob("*.sql"))}


_CREATE = re.compile(r"^CREATE TABLE IF NOT EXISTS (\w+)\s*$")
_COLUMN = re.compile(r"^\s+(\w+)\s+(.+?)(?:\s+DEFAULT\s.*)?,?\s*$")
_ADD_COLUMN = re.compile(r"^ALTER TABLE (\w+) ADD COLUMN IF NOT EXISTS (\w+) (.+?)(?:\s+DEFAULT\s.*)?;?\s*$")
# Migration comments may mention where a change came from; user documentation names no tickets.
_TICKET = re.compile(r"\s*\(issues? \d+[^)]*\)", re.IGNORECASE)


def sql_tables() -> list[SqlTable]:
    """Every table the migrations create, with its columns, in migration order."""
    tables: list[SqlTable] = []
    for migration, text in migration_sql().items():
        lines = text.splitlines()
        for i, line in enumerate(lines):
            m = _CREATE.match(line)
            if not m:
                continue
            comment: list[str] = []
            j = i - 1
            while j >= 0 and lines[j].startswith("--"):
                comment.insert(0, lines[j].removeprefix("--").strip())
                j -= 1
            if not comment and j >= 1 and not lines[j].strip() and lines[0].startswith("--"):
                # No comment of its own: the file's opening comment, when only a blank line separates them.
                comment = [x.removeprefix("--").strip() for x in lines[:j] if x.startswith("--")]
                if len(comment) != j:
                    comment = []
            columns: list[tuple[str, str]] = []
            k = i + 2  # skip the opening parenthesis
            while k < len(lines) and not lines[k].startswith(")"):
                col = _COLUMN.match(lines[k])
                if col:
                    columns.append((col.group(1), col.group(2).rstrip(",")))
                k += 1
            tables.append(SqlTable(m.group(1), _TICKET.sub("", " ".join(comment)), tuple(columns), migration))
        # Columns added later (`ALTER TABLE t ADD COLUMN`): listed with the table, the file's comment appended.
        added = [a for a in map(_ADD_COLUMN.match, lines) if a]
        for name in dict.fromkeys(a.group(1) for a in added):
            head = " ".join(x.removeprefix("--").strip() for x in lines if x.startswith("--"))
            at = next(n for n, t in enumerate(tables) if t.name == name)
            tables[at] = replace(tables[at], comment=f"{tables[at].comment} {_TICKET.sub('', head)}".strip(),
                                 columns=tables[at].columns + tuple((a.group(2), a.group(3)) for a in added
                                                                    if a.group(1) == name))
    return tables


def sql_views() -> list[str]:
    """Names of every view the migrations create (plain views only; `mv_*` feed `sink_watermarks`)."""
    names: list[str] = []
    for text in migration_sql().values():
        names += re.findall(r"^CREATE VIEW IF NOT EXISTS (\w+)", text, flags=re.MULTILINE)
    return names


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def tables_markdown() -> str:
    """One section per raw table (type from the migration, meaning from the event model), then the others."""
    from servicepulse.streams.sink import TABLES

    by_name = {t.name: t for t in sql_tables()}
    out: list[str] = []
    for spec in TABLES.values():
        table = by_name[spec.table]
        types = dict(table.columns)
        doc = (spec.model.__doc__ or "").strip().splitlines()[0]
        out += [f"#### `{spec.table}` — {doc}", "", "| column | type | meaning |", "|---|---|---|"]
        for name, info in spec.model.model_fields.items():
            out.append(f"| `{name}` | `{types[name]}` | {_cell(info.description or '')} |")
        out.append("")
    raw = {spec.table for spec in TABLES.values()}
    out += ["#### Other tables", "", "| table | created by | what it holds | columns |", "|---|---|---|---|"]
    for table in by_name.values():
        if table.name in raw:
            continue
        cols = ", ".join(f"`{name}` {kind}" for name, kind in table.columns)
        out.append(f"| `{table.name}` | `{table.migration}` | {_cell(table.comment)} | {_cell(cols)} |")
    return "\n".join(out).rstrip() + "\n"


# The three short top-level variables carry no description of their own in Settings.
_TOP_LEVEL = {
    "kafka_bootstrap": "Short form of `KAFKA__BOOTSTRAP`; overrides it",
    "clickhouse_url": "Short form of `CLICKHOUSE__URL`; overrides it",
    "schema_registry_url": "Short form of `REGISTRY__URL`; overrides it",
}


def _default(info: FieldInfo) -> str:
    if info.default_factory is not None:
        value: Any = info.default_factory()  # type: ignore[call-arg]
    else:
        value = info.default
    if value is None:
        return "unset"
    if isinstance(value, SecretStr):
        return f"`{value.get_secret_value()}` (development value)"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, dict):
        return "`{}`" if not value else f"`{value}`"
    return f"`{value}`"


def _env_name(info: FieldInfo, path: tuple[str, ...]) -> str:
    alias = info.validation_alias
    choices = getattr(alias, "choices", None)
    if choices:
        return str(choices[0])
    return "__".join(p.upper() for p in path)


def _is_group(info: FieldInfo) -> bool:
    return isinstance(info.annotation, type) and issubclass(info.annotation, BaseModel)


def _rows(model: type[BaseModel], path: tuple[str, ...]) -> Iterator[tuple[str, str, str]]:
    for name, info in model.model_fields.items():
        if _is_group(info):
            yield from _rows(info.annotation, (*path, name))  # type: ignore[arg-type]
            continue
        meaning = info.description or _TOP_LEVEL.get(name, "")
        if "SecretStr" in str(info.annotation):
            meaning += " (a secret: never commit it)"
        yield _env_name(info, (*path, name)), _default(info), meaning


def settings_markdown() -> str:
    """One table per settings group: environment variable, default, meaning (the field's description)."""
    from servicepulse.config import Settings

    out: list[str] = []
    groups = [(name, info) for name, info in Settings.model_fields.items() if _is_group(info)]
    top = [(name, info) for name, info in Settings.model_fields.items() if not _is_group(info)]
    header = ["| variable | default | meaning |", "|---|---|---|"]
    out += ["#### Short names", "", *header]
    for name, info in top:
        meaning = info.description or _TOP_LEVEL.get(name, "")
        out.append(f"| `{_env_name(info, (name,))}` | {_default(info)} | {_cell(meaning)} |")
    out.append("")
    for name, info in groups:
        group: type[BaseModel] = info.annotation  # type: ignore[assignment]
        doc = (group.__doc__ or "").strip().splitlines()
        out += [f"#### `{name.upper()}__*`" + (f" — {doc[0]}" if doc else ""), "", *header]
        out += [f"| `{env}` | {_cell(default)} | {_cell(meaning)} |" for env, default, meaning in _rows(group, (name,))]
        out.append("")
    return "\n".join(out).rstrip() + "\n"


BLOCKS: dict[str, tuple[str, Callable[[], str]]] = {
    "tables": ("auditors.md", tables_markdown),
    "settings": ("configuration.md", settings_markdown),
}


def _block(name: str) -> re.Pattern[str]:
    return re.compile(rf"(<!-- BEGIN GENERATED: {name} -->\n)(.*?)(<!-- END GENERATED: {name} -->)", re.DOTALL)


def generated_blocks(text: str) -> dict[str, str]:
    """The generated parts of a document as they stand, by block name."""
    return {name: m.group(2) for name in BLOCKS if (m := _block(name).search(text))}


def render(text: str, name: str, body: str) -> str:
    """The document with one generated block replaced by `body`."""
    pattern = _block(name)
    if not pattern.search(text):
        raise ValueError(f"no generated block {name!r}")
    return pattern.sub(lambda m: m.group(1) + body + m.group(3), text, count=1)


def main(argv: list[str]) -> int:
    check = "--check" in argv
    stale: list[str] = []
    for name, (file, make) in BLOCKS.items():
        path = DOCS / file
        text = path.read_text(encoding="utf-8")
        new = render(text, name, make())
        if new != text:
            stale.append(f"docs/{file} ({name})")
            if not check:
                path.write_text(new, encoding="utf-8")
    if stale:
        print(("out of date: " if check else "regenerated: ") + ", ".join(stale))
    return 1 if check and stale else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
