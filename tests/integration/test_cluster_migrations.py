"""The cluster form of every migration parses in ClickHouse's own parser (chdb `formatQuery`, nothing executed).

Replicated engines cannot run in chdb (no Keeper, no cluster), so the statements are parsed and formatted only;
chdb runs in a child process, as the store server owns the engine in the test processes.
"""

from __future__ import annotations

import json
import subprocess
import sys

from servicepulse.connectors.cluster_migrations import cluster_migrations, cluster_preamble

_PARSE = r"""
import json, sys
import chdb
out = []
for statement in json.load(sys.stdin):
    try:
        literal = "'" + statement.replace("\\", "\\\\").replace("'", "\\'") + "'"
        text = chdb.query("SELECT formatQuery(" + literal + ")", "JSONCompact")
        out.append(["ok", json.loads(text.bytes())["data"][0][0]])
    except Exception as exc:
        out.append(["error", str(exc)[:300]])
json.dump(out, sys.stdout)
"""


def _formatted(statements: list[str]) -> list[tuple[str, str]]:
    done = subprocess.run([sys.executable, "-c", _PARSE], input=json.dumps(statements), capture_output=True,
                          text=True, timeout=120, check=True)
    return [(kind, text) for kind, text in json.loads(done.stdout)]


def test_every_cluster_statement_parses() -> None:
    statements = cluster_preamble("servicepulse", "{cluster}") + [
        s for m in cluster_migrations("{cluster}") for s in m.statements
    ]
    results = _formatted(statements)
    assert len(results) == len(statements)
    errors = [(s[:120], text) for s, (kind, text) in zip(statements, results, strict=True) if kind != "ok"]
    assert not errors
    for statement, (_, text) in zip(statements, results, strict=True):
        # ClickHouse's own formatting keeps the cluster clause and the Replicated engine.
        assert "ON CLUSTER `{cluster}`" in text or "ON CLUSTER '{cluster}'" in text, text[:200]
        if "ENGINE" in statement:
            assert "ENGINE = Replicated" in text, text[-400:]


def test_the_parser_does_refuse_a_broken_statement() -> None:
    (result,) = _formatted(["CREATE TABLE t ON CLUSTER 'c' (a Int8 ENGINE = ReplicatedMergeTree('/p', '{replica}')"])
    assert result[0] == "error"
