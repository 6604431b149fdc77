"""The streaming PAXml reader gives exactly what the whole-document reader gives, whatever the sections' order,
and publishes the first line while the file is still being read."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import pytest
from lxml import etree

from servicepulse.connectors.ingest import ParseError, Record
from servicepulse.connectors.ingest.paxml import (
    PaxmlDocument,
    _read_whole,
    _Reader,
    _survey,
    read_document,
    stream_document,
)
from servicepulse.schemas.events import PayLine, PayrollRun, PayrollRunStatus
from servicepulse.simulator.payroll_planted import planted_main_run
from tests.factories.paxml_export import external_exports

DATA = Path(__file__).parents[1] / "data" / "payroll"
_NS = "http://www.paxml.se/2.0/paxml.xsd"


def _exports() -> dict[str, bytes]:
    export = external_exports(planted_main_run(seed=3, employees=120))
    out = {"fixture": (DATA / "main-202611.paxml").read_bytes(), "previous": export.previous,
           "current": export.current}
    out |= {f"urgent-{i}": data for i, data in enumerate(export.urgent)}
    return out


def _edit(data: bytes, change: Callable[[etree._Element], None]) -> bytes:
    root = etree.fromstring(data)
    change(root)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="utf-8"))


def _payslips_first(root: etree._Element) -> None:
    slips = root.find("loneutbetalning")
    assert slips is not None
    root.remove(slips)
    root.insert(1, slips)


def _reverse(section: str) -> Callable[[etree._Element], None]:
    def change(root: etree._Element) -> None:
        found = root.find(section)
        assert found is not None
        found[:] = list(reversed(found))
    return change


def _namespaced(root: etree._Element) -> None:
    """Every element in the PAXml namespace (a default namespace on the root, as many exports have it)."""
    for el in root.iter():
        if isinstance(el.tag, str) and "}" not in el.tag:
            el.tag = f"{{{_NS}}}{el.tag}"


def _spoil(root: etree._Element) -> None:
    """A bad amount on one payslip row, a transaction without anstid and one with a bad date."""
    rows = root.findall("loneutbetalning/lonebesked/lonerader/lonrad/belopp")
    rows[3].text = "12,3,4"
    trans = root.findall("lonetransaktioner/lonetrans")
    del trans[1].attrib["anstid"]
    datum = trans[5].find("datum")
    if datum is not None:
        datum.text = "2026-13-40"


def _second_period(root: etree._Element) -> None:
    slips = root.findall("loneutbetalning/lonebesked/periodid")
    slips[-1].text = "202612"


VARIANTS: dict[str, Callable[[etree._Element], None] | None] = {
    "as exported": None, "payslips first": _payslips_first, "transactions reversed":
    _reverse("lonetransaktioner"), "payslips reversed": _reverse("loneutbetalning"), "namespaced": _namespaced,
    "spoilt": _spoil, "two periods (read whole)": _second_period,
}


def _same(streamed: PaxmlDocument, whole: PaxmlDocument) -> None:
    assert [(r.line, r.event) for r in streamed.records] == [(r.line, r.event) for r in whole.records]
    assert sorted((e.line, e.reason, e.raw) for e in streamed.errors) == sorted(
        (e.line, e.reason, e.raw) for e in whole.errors)
    assert streamed.people == whole.people and streamed.time_transactions == whole.time_transactions
    for name in ("company", "org_number", "exported_on", "has_personal", "transactions", "unpaid_transactions"):
        assert getattr(streamed, name) == getattr(whole, name), name


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_streaming_equals_the_whole_document(variant: str) -> None:
    change = VARIANTS[variant]
    compared = read_whole = 0
    for name, data in _exports().items():
        if change is not None:
            if name == "fixture" and variant != "namespaced":
                continue
            try:
                data = _edit(data, change)
            except (AssertionError, IndexError):
                continue  # the file has no such section
        streamed = read_document(io.BytesIO(data), {"A000103"})
        whole = _read_whole(data, {"A000103"}, None)
        # Only a file whose run is known once everything is read goes the whole-document way.
        several = any("several periods" in e.reason for e in whole.errors)
        assert (_survey(_Reader(io.BytesIO(data), 0)) is None) == several, name
        read_whole += several
        _same(streamed, whole)
        compared += 1
        if variant == "spoilt":
            assert streamed.errors, name
    assert compared and bool(read_whole) == variant.endswith("(read whole)")


def test_a_current_export_registers_its_transactions() -> None:
    """The external current export has both sections: the stand-in of transactions is exercised above."""
    doc = read_document(io.BytesIO(_exports()["current"]))
    assert doc.transactions > 0 and doc.records and not doc.errors


class _Counting(io.BytesIO):
    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.read_total = 0

    def read(self, size: int | None = -1) -> bytes:
        data = super().read(size)
        self.read_total += len(data)
        return data


def test_the_first_line_comes_before_the_file_is_read_again_to_its_end() -> None:
    data = _exports()["current"]
    handle = _Counting(data)
    items = stream_document(handle)
    first = next(i for i in items if isinstance(i, Record) and isinstance(i.event, PayLine))
    assert isinstance(first.event, PayLine) and first.event.line_no == 1
    # The survey read the file once; the first line came while the second pass was at its start.
    assert handle.read_total < 2 * len(data)
    rest = list(items)
    closed = rest[-1]
    assert isinstance(closed, Record) and isinstance(closed.event, PayrollRun)
    assert closed.event.status is PayrollRunStatus.closed
    assert not any(isinstance(i, ParseError) for i in rest)
