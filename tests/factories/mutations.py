"""Mutations of valid input files for the fuzz tests: byte-level damage and line-level edits with a line map."""

from __future__ import annotations

import re
from dataclasses import dataclass

from hypothesis import strategies as st

__all__ = [
    "LineEdit",
    "byte_mutations",
    "junk_line",
    "line_count",
    "line_edits",
    "lines_of",
    "replace_nth",
]


def lines_of(data: bytes) -> list[bytes]:
    """The lines as an editor shows them (\\r\\n, \\r and \\n end a line), without their endings."""
    return data.splitlines()


def line_count(data: bytes) -> int:
    """Highest line number an error about `data` may name (1 for an empty file: "the file")."""
    return max(1, len(lines_of(data)))


def _flip(data: bytes, index: int, bit: int) -> bytes:
    if not data:
        return data
    i = index % len(data)
    return data[:i] + bytes([data[i] ^ (1 << bit)]) + data[i + 1:]


def _insert(data: bytes, index: int, chunk: bytes) -> bytes:
    i = index % (len(data) + 1)
    return data[:i] + chunk + data[i:]


def _delete(data: bytes, index: int, length: int) -> bytes:
    if not data:
        return data
    i = index % len(data)
    return data[:i] + data[i + length:]


def _reencode(data: bytes, source: str, target: str) -> bytes:
    try:
        return data.decode(source).encode(target, errors="replace")
    except UnicodeDecodeError:
        return data


_ENCODINGS = ("utf-8", "latin-1", "cp437", "cp850", "utf-16", "iso-8859-15")


@st.composite
def byte_mutations(draw: st.DrawFn, data: bytes) -> bytes:
    """`data` damaged one to three times: bit flips, inserted/deleted bytes, truncation, re-encoding."""
    for _ in range(draw(st.integers(1, 3))):
        how = draw(st.sampled_from(("flip", "insert", "delete", "truncate", "reencode", "lines")))
        if how == "flip":
            data = _flip(data, draw(st.integers(0, 1 << 20)), draw(st.integers(0, 7)))
        elif how == "insert":
            data = _insert(data, draw(st.integers(0, 1 << 20)), draw(st.binary(min_size=1, max_size=8)))
        elif how == "delete":
            data = _delete(data, draw(st.integers(0, 1 << 20)), draw(st.integers(1, 16)))
        elif how == "truncate":
            data = data[:draw(st.integers(0, len(data)))]
        elif how == "reencode":
            data = _reencode(data, draw(st.sampled_from(_ENCODINGS)), draw(st.sampled_from(_ENCODINGS)))
        else:
            data = draw(line_edits(data, first=0)).data
    return data


@dataclass(frozen=True)
class LineEdit:
    """A line-level edit: the new bytes, the original line numbers it touched (1-based) and, for every other
    original line, its number in the new file."""

    data: bytes
    touched: frozenset[int]
    moved: dict[int, int]

    def near(self, first: int, last: int, margin: int = 1) -> bool:
        """Whether the edit touched lines first..last or `margin` lines either side."""
        return any(first - margin <= t <= last + margin for t in self.touched)


_JUNK_CHARS = st.characters(codec="latin-1", exclude_characters="\r\n")


def junk_line(quote: bool = True) -> st.SearchStrategy[bytes]:
    """One line of junk (no line ending inside); `quote=False` leaves out '"' (in CSV a quote opens a field
    that may run over the following lines, so it is not a one-line edit there)."""
    chars = _JUNK_CHARS if quote else st.characters(codec="latin-1", exclude_characters='\r\n"')
    text = st.text(chars, max_size=40).map(lambda s: s.encode("latin-1"))
    utf8 = st.text(st.characters(exclude_characters='\r\n"' if not quote else "\r\n",
                                 exclude_categories=("Zl", "Zp", "Cs")), max_size=20).map(lambda s: s.encode())
    return st.one_of(text, utf8)


@st.composite
def line_edits(draw: st.DrawFn, data: bytes, first: int = 1, quote: bool = True) -> LineEdit:
    """One line edit at or after line `first`: replace with junk, insert junk, delete, duplicate, swap with the
    next line. The file keeps its line ending style (\\n)."""
    lines = lines_of(data)
    n = len(lines)
    start = max(first, 1)
    if n < start:
        return LineEdit(data, frozenset(), {i: i for i in range(1, n + 1)})
    k = draw(st.integers(start, n))
    how = draw(st.sampled_from(("replace", "insert", "delete", "duplicate", "swap")))
    new = list(lines)
    touched = {k}
    shift_from, shift = k + 1, 0
    if how == "replace":
        new[k - 1] = draw(junk_line(quote))
    elif how == "insert":
        new.insert(k - 1, draw(junk_line(quote)))
        touched = {k - 1, k}
        shift_from, shift = k, 1
    elif how == "delete":
        del new[k - 1]
        shift = -1
    elif how == "duplicate":
        new.insert(k, lines[k - 1])
        shift = 1
    elif k < n:
        new[k - 1], new[k] = new[k], new[k - 1]
        touched = {k, k + 1}
        shift_from = k + 2
    moved = {i: (i + shift if i >= shift_from else i) for i in range(1, n + 1) if i not in touched}
    ending = b"\r\n" if b"\r\n" in data else b"\n"
    return LineEdit(ending.join(new) + (ending if data.endswith((b"\n", b"\r")) else b""), frozenset(touched), moved)


def replace_nth(data: bytes, pattern: bytes, n: int, value: bytes) -> tuple[bytes, int]:
    """`data` with the first group of the n-th match of `pattern` replaced by `value`, and the (1-based) line
    of that match."""
    matches = list(re.finditer(pattern, data))
    match = matches[n % len(matches)]
    start, end = match.span(1)
    return data[:start] + value + data[end:], data.count(b"\n", 0, start) + 1
