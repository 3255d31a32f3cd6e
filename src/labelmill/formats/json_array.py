"""The elements of a top-level JSON list, one at a time, in bounded memory.

A Label Studio export is one JSON document (a list of tasks) that can run to gigabytes;
``json.load`` would hold all of it. This scanner reads the file in chunks, finds where each
top-level element ends (tracking strings, escapes and bracket depth, with regular
expressions so a long string is skipped in one step) and parses each element on its own,
so memory holds one element and one chunk. It avoids a streaming-JSON dependency for the one
shape we need.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, BinaryIO

import orjson

from labelmill.formats.task_files import RowError

_STRUCTURAL = re.compile(rb'["\[\]{},]')
_STRING_END = re.compile(rb'["\\]')
_BLANK = b" \t\r\n"
_BOM = b"\xef\xbb\xbf"


def iter_json_array(
    raw: BinaryIO, *, unit: str = "element", chunk_size: int = 1 << 20
) -> Iterator[tuple[int, int, Any]]:
    """``(index, end_offset, value)`` for each element: ``index`` 1-based, ``end_offset`` the
    bytes of the file consumed so far. Raises ``RowError`` naming the element on bad JSON."""
    scanner = _Scanner(raw, chunk_size)
    yield from scanner.elements(unit)


class _Scanner:
    def __init__(self, raw: BinaryIO, chunk_size: int) -> None:
        self.raw = raw
        self.chunk_size = chunk_size
        self.buf = b""
        self.base = 0
        """File offset of ``buf[0]``."""

    def _more(self, keep_from: int) -> int:
        """Drop ``buf[:keep_from]`` (consumed), append a chunk; return how many bytes were
        dropped (callers shift their positions), or -1 at the end of the file."""
        chunk = self.raw.read(self.chunk_size)
        if not chunk:
            return -1
        self.buf = self.buf[keep_from:] + chunk
        self.base += keep_from
        return keep_from

    def elements(self, unit: str) -> Iterator[tuple[int, int, Any]]:
        # The opening bracket, after an optional byte-order mark and blanks.
        while len(self.buf) < 4 and self._more(0) >= 0:
            pass
        if self.buf.startswith(_BOM):
            self.buf = self.buf[len(_BOM) :]
            self.base += len(_BOM)
        pos = 0
        while True:
            while pos < len(self.buf) and self.buf[pos] in _BLANK:
                pos += 1
            if pos < len(self.buf) or self._more(0) < 0:
                break
        if pos >= len(self.buf) or self.buf[pos : pos + 1] != b"[":
            raise RowError(1, "the file is not a JSON list", unit=unit)
        pos += 1
        start = pos  # where the current element's text begins
        depth = 1
        in_string = False
        index = 0
        while True:
            if in_string:
                match = _STRING_END.search(self.buf, pos)
                if match is not None and match.group() == b"\\" and match.end() < len(self.buf):
                    pos = match.end() + 1  # skip the escaped character, whatever it is
                    continue
                if match is not None and match.group() == b'"':
                    in_string = False
                    pos = match.end()
                    continue
                # No end of the string in the buffer (or an escape cut at its edge): read on.
                resume = match.start() if match is not None else len(self.buf)
            else:
                match = _STRUCTURAL.search(self.buf, pos)
                if match is not None:
                    char = match.group()
                    pos = match.end()
                    if char == b'"':
                        in_string = True
                    elif char in {b"[", b"{"}:
                        depth += 1
                    elif char in {b"]", b"}"}:
                        depth -= 1
                        if depth == 0:
                            if char != b"]":
                                raise RowError(index + 1, "not valid JSON", unit=unit)
                            text = self.buf[start : match.start()].strip(_BLANK)
                            if text:
                                index += 1
                                yield index, self.base + pos, _parse(text, index, unit)
                            elif index:
                                raise RowError(index + 1, "a trailing comma", unit=unit)
                            self._expect_end(pos, index, unit)
                            return
                    elif char == b"," and depth == 1:
                        text = self.buf[start : match.start()].strip(_BLANK)
                        index += 1
                        if not text:
                            raise RowError(index, "empty element (two commas)", unit=unit)
                        yield index, self.base + pos, _parse(text, index, unit)
                        start = pos
                    continue
                resume = len(self.buf)
            dropped = self._more(start)
            if dropped < 0:
                raise RowError(index + 1, "the JSON list ends before it is closed", unit=unit)
            start -= dropped
            pos = resume - dropped

    def _expect_end(self, pos: int, index: int, unit: str) -> None:
        rest = self.buf[pos:]
        while True:
            if rest.strip(_BLANK):
                raise RowError(index, "more data after the end of the JSON list", unit=unit)
            rest = self.raw.read(self.chunk_size)
            if not rest:
                return


def _parse(text: bytes, index: int, unit: str) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise RowError(index, f"not valid JSON ({exc})", unit=unit) from None
