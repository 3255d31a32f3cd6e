"""TRL-ready JSONL: SFT conversations from text collection, DPO preferences from pairwise
comparisons and rankings.

These are the standard dataset formats of Hugging Face TRL's trainers, loadable with
``datasets.load_dataset("json", data_files=...)``:

* ``trl-sft`` (``SFTTrainer``, conversational language modeling): one row per answered
  task, with exactly one column, ``messages``: ``[{"role": "user", "content": prompt},
  {"role": "assistant", "content": completion}]``. Options ``prompt_field`` and
  ``completion_field`` say where the two come from: ``params.prompt`` (the task's ``prompt``
  param) or the name of a text field of the form. Defaults: the prompt is the form's
  ``prompt`` field if it has one, else the task's ``prompt``; the completion is the form's
  ``response`` or ``completion`` field, else its only other text field. Tasks without an
  answer, or whose prompt or completion is empty, give no row.
* ``trl-dpo`` (``DPOTrainer``, preference): rows with exactly ``prompt``, ``chosen`` and
  ``rejected``. From a pairwise comparison: choice ``a`` or ``b`` gives one row; ``tie`` and
  ``both_bad`` express no preference and give none. From a ranking, option ``pairs``:
  ``best_worst`` (default) pairs each response of the best tier with each of the worst tier;
  ``all`` pairs every two responses in different tiers, the better one chosen (a full ranking
  of N gives N(N-1)/2 rows). Option ``conversational`` (default false): false writes the
  standard format (strings); true writes the conversational one (``prompt`` a list of
  messages, ``chosen``/``rejected`` one assistant message each), which tasks given as
  ``messages`` need.

``read_sft`` and ``read_dpo`` read such files back, checking the columns.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import orjson

from labelmill.formats.base import ExportContext, ExportRecord, FormatError

#: ``prompt_field`` value naming the task's ``prompt`` param rather than a form field.
TASK_PROMPT = "params.prompt"

Message = dict[str, str]
Text = str | list[Message]


def _text_fields(project_params: Mapping[str, Any]) -> list[str]:
    return [f["name"] for f in project_params.get("fields", []) if f.get("type") == "text"]


def _check_known(context: ExportContext, known: set[str], fmt: str) -> None:
    unknown = sorted(set(context.options) - known)
    if unknown:
        raise FormatError(
            f"options: {fmt} takes {', '.join(sorted(known))}; not {', '.join(unknown)}"
        )


def sft_sources(context: ExportContext) -> tuple[str, str]:
    """(prompt source, completion field) from the options and the project's form, or
    ``FormatError`` naming the option."""
    _check_known(context, {"prompt_field", "completion_field"}, "trl-sft")
    texts = _text_fields(context.project_params)
    prompt = context.options.get("prompt_field")
    if prompt is None:
        prompt = "prompt" if "prompt" in texts else TASK_PROMPT
    elif prompt != TASK_PROMPT and prompt not in texts:
        raise FormatError(
            f"prompt_field: {prompt!r} is neither {TASK_PROMPT!r} nor a text field of the "
            f"form (text fields: {', '.join(texts) or 'none'})"
        )
    completion = context.options.get("completion_field")
    if completion is None:
        preferred = [n for n in ("response", "completion") if n in texts and n != prompt]
        others = [n for n in texts if n != prompt]
        if preferred:
            completion = preferred[0]
        elif len(others) == 1:
            completion = others[0]
        else:
            raise FormatError(
                "completion_field: say which text field holds the completion "
                f"(text fields: {', '.join(texts) or 'none'})"
            )
    elif completion not in texts:
        raise FormatError(
            f"completion_field: {completion!r} is not a text field of the form "
            f"(text fields: {', '.join(texts) or 'none'})"
        )
    if completion == prompt:
        raise FormatError("completion_field: the completion cannot be the prompt's field")
    return str(prompt), str(completion)


class TrlSftExporter:
    name: ClassVar[str] = "trl-sft"
    media_type: ClassVar[str] = "application/x-ndjson"
    file_extension: ClassVar[str] = "jsonl"
    task_types: ClassVar[frozenset[str] | None] = frozenset({"text_collection"})

    def check_options(self, context: ExportContext) -> None:
        sft_sources(context)

    def render(self, records: Iterable[ExportRecord], context: ExportContext) -> Iterator[bytes]:
        prompt_source, completion_field = sft_sources(context)
        for record in records:
            if record.response is None:
                continue
            fields = record.response.get("fields") or {}
            prompt = (
                record.params.get("prompt")
                if prompt_source == TASK_PROMPT
                else fields.get(prompt_source)
            )
            completion = fields.get(completion_field)
            if not prompt or not completion:
                continue
            messages = [
                {"role": "user", "content": str(prompt)},
                {"role": "assistant", "content": str(completion)},
            ]
            yield orjson.dumps({"messages": messages}) + b"\n"


def _dpo_options(context: ExportContext) -> tuple[str, bool]:
    _check_known(context, {"pairs", "conversational"}, "trl-dpo")
    pairs = context.options.get("pairs", "best_worst")
    if pairs not in ("best_worst", "all"):
        raise FormatError(f"pairs: 'best_worst' or 'all', not {pairs!r}")
    if "pairs" in context.options and context.task_type != "ranking":
        raise FormatError("pairs: only rankings have pairs to choose; leave it out")
    conversational = context.options.get("conversational", False)
    if not isinstance(conversational, bool):
        raise FormatError(f"conversational: true or false, not {conversational!r}")
    return str(pairs), conversational


def ranked_pairs(tiers: list[list[int]], pairs: str) -> Iterator[tuple[int, int]]:
    """(better, worse) response indices of a ranking's tiers, best first."""
    if len(tiers) < 2:
        return
    if pairs == "best_worst":
        for better in tiers[0]:
            for worse in tiers[-1]:
                yield better, worse
        return
    for k, tier in enumerate(tiers):
        for lower in tiers[k + 1 :]:
            for better in tier:
                for worse in lower:
                    yield better, worse


class TrlDpoExporter:
    name: ClassVar[str] = "trl-dpo"
    media_type: ClassVar[str] = "application/x-ndjson"
    file_extension: ClassVar[str] = "jsonl"
    task_types: ClassVar[frozenset[str] | None] = frozenset({"pairwise_comparison", "ranking"})

    def check_options(self, context: ExportContext) -> None:
        _dpo_options(context)

    def render(self, records: Iterable[ExportRecord], context: ExportContext) -> Iterator[bytes]:
        pairs, conversational = _dpo_options(context)
        for record in records:
            if record.response is None:
                continue
            prompt = _prompt(record, conversational)
            for chosen, rejected in self._preferences(record, context.task_type, pairs):
                row = {
                    "prompt": prompt,
                    "chosen": _completion(chosen, conversational),
                    "rejected": _completion(rejected, conversational),
                }
                yield orjson.dumps(row) + b"\n"

    @staticmethod
    def _preferences(record: ExportRecord, task_type: str, pairs: str) -> Iterator[tuple[str, str]]:
        assert record.response is not None
        params, response = record.params, record.response
        if task_type == "pairwise_comparison":
            choice = response.get("choice")
            if choice == "a":
                yield params["response_a"], params["response_b"]
            elif choice == "b":
                yield params["response_b"], params["response_a"]
            return  # a tie or "both bad" prefers neither
        responses = params["responses"]
        for better, worse in ranked_pairs(response["ranking"], pairs):
            yield responses[better], responses[worse]


def _prompt(record: ExportRecord, conversational: bool) -> Text:
    params = record.params
    if conversational:
        if "messages" in params:
            return [{"role": m["role"], "content": m["content"]} for m in params["messages"]]
        return [{"role": "user", "content": str(params.get("prompt", ""))}]
    if "prompt" not in params:
        raise FormatError(
            f"task {record.task_id}: gives its prompt as messages; export with conversational=true"
        )
    return str(params["prompt"])


def _completion(text: str, conversational: bool) -> Text:
    return [{"role": "assistant", "content": text}] if conversational else text


# Readers -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SftExample:
    prompt: str
    completion: str


@dataclass(frozen=True, slots=True)
class DpoExample:
    prompt: Text
    chosen: Text
    rejected: Text


def _rows(chunks: Iterable[bytes]) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) of each non-blank JSONL line, whatever the chunking."""
    buffer = b""
    number = 0

    def parse(line: bytes) -> dict[str, Any]:
        try:
            row = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            raise FormatError(f"line {number}: not JSON ({exc})") from None
        if not isinstance(row, dict):
            raise FormatError(f"line {number}: a row is a JSON object")
        return row

    for chunk in chunks:
        buffer += chunk
        *lines, buffer = buffer.split(b"\n")
        for line in lines:
            number += 1
            if line.strip():
                yield number, parse(line)
    if buffer.strip():
        number += 1
        yield number, parse(buffer)


def _columns(number: int, row: Mapping[str, Any], expected: set[str]) -> None:
    if set(row) != expected:
        raise FormatError(
            f"line {number}: columns must be exactly {', '.join(sorted(expected))} "
            f"(got {', '.join(sorted(row))})"
        )


def read_sft(chunks: Iterable[bytes]) -> Iterator[SftExample]:
    """The (prompt, completion) of each row of a ``trl-sft`` file."""
    for number, row in _rows(chunks):
        _columns(number, row, {"messages"})
        messages = row["messages"]
        if (
            not isinstance(messages, list)
            or [m.get("role") if isinstance(m, dict) else None for m in messages]
            != ["user", "assistant"]
            or not all(isinstance(m.get("content"), str) for m in messages)
        ):
            raise FormatError(
                f"line {number}: messages: one user message then one assistant message"
            )
        yield SftExample(messages[0]["content"], messages[1]["content"])


def _text(number: int, column: str, value: Any) -> Text:
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(
        isinstance(m, dict) and set(m) == {"role", "content"} for m in value
    ):
        return [{"role": str(m["role"]), "content": str(m["content"])} for m in value]
    raise FormatError(f"line {number}: {column}: a string or a list of messages")


def read_dpo(chunks: Iterable[bytes]) -> Iterator[DpoExample]:
    """The (prompt, chosen, rejected) of each row of a ``trl-dpo`` file."""
    for number, row in _rows(chunks):
        _columns(number, row, {"prompt", "chosen", "rejected"})
        yield DpoExample(
            _text(number, "prompt", row["prompt"]),
            _text(number, "chosen", row["chosen"]),
            _text(number, "rejected", row["rejected"]),
        )
