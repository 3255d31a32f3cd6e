"""CoNLL BIO export of text spans: one token per line with its tag, a blank line between tasks.

Tokens are the matches of ``TOKEN_PATTERN``: runs of word characters, or any single other
non-space character (so ``Lovelace's`` is ``Lovelace`` ``'`` ``s``). A token takes the label
of the first span (by start) that overlaps it: ``B-LABEL`` on the span's first token,
``I-LABEL`` on the next ones, ``O`` outside every span. A span that starts or ends inside a
token is widened to the whole token, and overlapping spans (``allow_overlap``) cannot all be
written: BIO has one tag per token. Each task starts with a comment line ``# id = <task
id>`` (the CoNLL-U convention, which most readers skip); tasks without an answer are left out.
A CoNLL column cannot hold whitespace, so a label's runs of whitespace are written as ``_``
(``PERSON NAME`` → ``B-PERSON_NAME``); other labels read back unchanged.

Option ``separator``: ``space`` (default, the CoNLL-2003 layout) or ``tab`` between a token
and its tag. ``read_conll`` reads such a file back; ``spans_from_tags`` puts its tags back on
the original text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from labelmill.formats.base import ExportContext, ExportRecord, FormatError

#: How a text is cut into tokens (see the module docstring).
TOKEN_PATTERN = re.compile(r"\w+|[^\w\s]")

_SEPARATORS = {"space": " ", "tab": "\t"}

_WHITESPACE = re.compile(r"\s+")


def tokenise(text: str) -> list[tuple[int, int]]:
    """(start, end) of each token of ``text``."""
    return [m.span() for m in TOKEN_PATTERN.finditer(text)]


def bio_tags(tokens: Sequence[tuple[int, int]], spans: Iterable[Mapping[str, Any]]) -> list[str]:
    """The BIO tag of each token under ``spans`` (first span by start wins)."""
    tags = ["O"] * len(tokens)
    for span in sorted(spans, key=lambda s: (int(s["start"]), int(s["end"]))):
        start, end = int(span["start"]), int(span["end"])
        label = _WHITESPACE.sub("_", str(span["label"]))
        first = True
        for k, (t_start, t_end) in enumerate(tokens):
            if t_end <= start or t_start >= end:
                continue
            if tags[k] == "O":
                tags[k] = f"{'B' if first else 'I'}-{label}"
            first = False
    return tags


def _separator(context: ExportContext) -> str:
    unknown = sorted(set(context.options) - {"separator"})
    if unknown:
        raise FormatError(f"options: conll takes separator; not {', '.join(unknown)}")
    name = context.options.get("separator", "space")
    if name not in _SEPARATORS:
        raise FormatError(f"separator: 'space' or 'tab', not {name!r}")
    return _SEPARATORS[str(name)]


class ConllExporter:
    name: ClassVar[str] = "conll"
    media_type: ClassVar[str] = "text/plain; charset=utf-8"
    file_extension: ClassVar[str] = "conll"
    task_types: ClassVar[frozenset[str] | None] = frozenset({"text_spans"})

    def check_options(self, context: ExportContext) -> None:
        _separator(context)

    def render(self, records: Iterable[ExportRecord], context: ExportContext) -> Iterator[bytes]:
        separator = _separator(context)
        first = True
        for record in records:
            if record.response is None:
                continue
            text = str(record.params.get("text", ""))
            tokens = tokenise(text)
            tags = bio_tags(tokens, record.response.get("spans", []))
            lines = [f"# id = {record.task_id}"]
            lines += [
                f"{text[s:e]}{separator}{tag}" for (s, e), tag in zip(tokens, tags, strict=True)
            ]
            yield (("" if first else "\n") + "\n".join(lines) + "\n").encode()
            first = False


@dataclass(frozen=True, slots=True)
class ConllSentence:
    """One task of a CoNLL file: its id (from the ``# id`` comment, if any), tokens, tags."""

    task_id: int | None
    tokens: list[str]
    tags: list[str]


def _decoded(number: int, line: bytes) -> str:
    try:
        return line.decode().rstrip("\r")
    except UnicodeDecodeError:
        raise FormatError(f"line {number}: not UTF-8") from None


def _lines(chunks: Iterable[bytes]) -> Iterator[str]:
    buffer = b""
    number = 0
    for chunk in chunks:
        buffer += chunk
        *lines, buffer = buffer.split(b"\n")
        for line in lines:
            number += 1
            yield _decoded(number, line)
    if buffer:
        yield _decoded(number + 1, buffer)


def read_conll(chunks: Iterable[bytes]) -> Iterator[ConllSentence]:
    """Each blank-line separated block of a CoNLL file: token and tag are the first and last
    whitespace-separated columns of a line; ``# id = N`` comments give the task id."""
    task_id: int | None = None
    tokens: list[str] = []
    tags: list[str] = []
    for number, line in enumerate(_lines(chunks), start=1):
        if not line.strip():
            if tokens or task_id is not None:
                yield ConllSentence(task_id, tokens, tags)
            task_id, tokens, tags = None, [], []
            continue
        if line.startswith("#"):
            match = re.fullmatch(r"#\s*id\s*=\s*(\d+)\s*", line)
            if match:
                task_id = int(match.group(1))
            continue
        columns = line.split()
        tag = columns[-1]
        if len(columns) < 2 or not (tag == "O" or re.fullmatch(r"[BI]-.+", tag)):
            raise FormatError(f"line {number}: expected a token and a BIO tag, got {line!r}")
        tokens.append(columns[0])
        tags.append(tag)
    if tokens or task_id is not None:
        yield ConllSentence(task_id, tokens, tags)


def spans_from_tags(text: str, sentence: ConllSentence) -> list[dict[str, Any]]:
    """The character spans of ``text`` that a sentence's tags mark (its tokens are found in
    ``text`` in order); an ``I-`` after a different label opens a span, as in CoNLL-2003."""
    spans: list[dict[str, Any]] = []
    position = 0
    current: dict[str, Any] | None = None
    for token, tag in zip(sentence.tokens, sentence.tags, strict=True):
        start = text.find(token, position)
        if start < 0:
            raise FormatError(f"token {token!r} is not in the text after offset {position}")
        position = start + len(token)
        if tag == "O":
            current = None
            continue
        prefix, label = tag.split("-", 1)
        if prefix == "I" and current is not None and current["label"] == label:
            current["end"] = position
            continue
        current = {"start": start, "end": position, "label": label}
        spans.append(current)
    return spans
