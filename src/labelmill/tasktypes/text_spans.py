"""Text spans: label character spans of a text with entity types (NER), optionally typed
relations between spans.

Offsets are Python string indices, end exclusive. A response is normalised with its spans
sorted by (start, end) and its relations re-pointed at the sorted spans and sorted too, so
equal annotations are equal responses whatever the order they were drawn in.

Widget contract: ``worker_view`` gives ``text``, ``labels``, ``relations`` (relation types,
maybe none) and ``allow_overlap``; the widget answers ``{"spans": [{"start", "end",
"label"}], "relations": [{"from", "to", "label"}]}`` (``from``/``to`` index ``spans``).
"""

from __future__ import annotations

import json
from collections.abc import Hashable, Mapping, Sequence
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from labelmill.tasktypes.base import Answer, Loc, ParamsError, Settlement, TaskType, validate_model
from labelmill.tasktypes.votes import weights

#: Exact-span F1 from which a response agrees with a reference (see ``TextSpans.agrees``).
AGREEMENT_F1 = 0.8

#: Share of a task's weight that must have drawn a relation on the consensus spans to keep it.
RELATION_SUPPORT = 0.5

Name = str


class ProjectParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    instruction: str = Field(default="", max_length=100_000)
    labels: list[Name] = Field(min_length=1, max_length=500)
    relations: list[Name] = Field(default_factory=list, max_length=500)
    allow_overlap: bool = False


class TaskParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=1_000_000)


class Span(BaseModel):
    model_config = ConfigDict(extra="forbid")

    start: StrictInt = Field(ge=0)
    end: StrictInt = Field(ge=1)
    label: str = Field(min_length=1)


class Relation(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    from_: StrictInt = Field(alias="from", ge=0)
    to: StrictInt = Field(ge=0)
    label: str = Field(min_length=1)


class Response(BaseModel):
    model_config = ConfigDict(extra="forbid")

    spans: list[Span] = Field(max_length=10_000)
    relations: list[Relation] = Field(default_factory=list, max_length=10_000)


def _check_names(names: Sequence[str], field: str) -> list[tuple[Loc, str]]:
    problems: list[tuple[Loc, str]] = []
    seen: set[str] = set()
    for index, name in enumerate(names):
        if not name.strip():
            problems.append(((field, index), "names must not be blank"))
        elif name in seen:
            problems.append(((field, index), f"duplicate {name!r}"))
        seen.add(name)
    return problems


SpanKey = tuple[int, int, str]


def span_keys(response: Mapping[str, Any]) -> list[SpanKey]:
    """The (start, end, label) of each span of a (validated) response, in its order."""
    return [(int(s["start"]), int(s["end"]), str(s["label"])) for s in response["spans"]]


def _bio_coded(spans: Sequence[SpanKey]) -> list[tuple[int, int, tuple[str, str]]]:
    """Each span as a ``("B", label)`` first character and ``("I", label)`` rest.

    Why: a character-level vote turns runs of one label into one span, so two touching
    spans of a label (names side by side in Chinese or Japanese text, which has no spaces)
    would settle as one span that nobody drew. Voting on B/I tags keeps the boundary, as
    token-level BIO voting does."""
    coded: list[tuple[int, int, tuple[str, str]]] = []
    for start, end, label in spans:
        coded.append((start, start + 1, ("B", label)))
        if end > start + 1:
            coded.append((start + 1, end, ("I", label)))
    return coded


def _decoded(runs: Sequence[tuple[Any, Any, Any]]) -> list[SpanKey]:
    """Spans from the consensus runs of B/I tags (sorted by start): every ``B`` character
    starts a span, an ``I`` run continues the span just before it if that span has its label
    and touches it, otherwise starts one (as CoNLL-2003 reads a stray ``I-``)."""
    spans: list[SpanKey] = []
    for start, end, (tag, label) in runs:
        start, end, label = int(start), int(end), str(label)
        if tag == "B":
            spans += [(c, c + 1, label) for c in range(start, end)]
        elif spans and spans[-1][1] == start and spans[-1][2] == label:
            spans[-1] = (spans[-1][0], end, label)
        else:
            spans.append((start, end, label))
    return spans


class TextSpans(TaskType):
    name: ClassVar[str] = "text_spans"
    description: ClassVar[str] = (
        "Label character spans of a text with entity types (NER), with optional typed "
        "relations between spans."
    )
    widget: ClassVar[str] = "text_spans"
    aggregator: ClassVar[str] = (
        "labelmill.quality.aggregate_spans (character-level skill-weighted vote on BIO "
        "tags); relations kept when their drawers carry half the weight"
    )
    response_model: ClassVar[type[BaseModel]] = Response

    def validate_project_params(self, raw: object) -> dict[str, Any]:
        params = validate_model(ProjectParams, raw)
        assert isinstance(params, ProjectParams)
        problems = _check_names(params.labels, "labels") + _check_names(
            params.relations, "relations"
        )
        if problems:
            raise ParamsError(problems)
        return params.model_dump()

    def validate_task_params(
        self, raw: object, project_params: Mapping[str, Any]
    ) -> dict[str, Any]:
        return validate_model(TaskParams, raw).model_dump()

    def validate_response(
        self, raw: object, project_params: Mapping[str, Any], task_params: Mapping[str, Any]
    ) -> dict[str, Any]:
        response = validate_model(Response, raw)
        assert isinstance(response, Response)
        length = len(task_params["text"])
        labels = set(project_params["labels"])
        problems: list[tuple[Loc, str]] = []
        for index, span in enumerate(response.spans):
            loc: Loc = ("spans", index)
            if span.end <= span.start:
                problems.append(((*loc, "end"), "a span ends after it starts"))
            if span.end > length:
                problems.append(((*loc, "end"), f"span ends after the text (length {length})"))
            if span.label not in labels:
                problems.append(((*loc, "label"), f"{span.label!r} is not an offered label"))
        if problems:
            raise ParamsError(problems)
        # Sorted by (start, end), then label; ``order[k]`` is the submitted index of the k-th.
        order = sorted(
            range(len(response.spans)),
            key=lambda i: (response.spans[i].start, response.spans[i].end, response.spans[i].label),
        )
        problems += self._overlaps(response.spans, order, bool(project_params["allow_overlap"]))
        position = {submitted: k for k, submitted in enumerate(order)}
        relations = self._relations(response, project_params, position, problems)
        if problems:
            raise ParamsError(problems)
        spans = [response.spans[i].model_dump() for i in order]
        return {"spans": spans, "relations": relations}

    @staticmethod
    def _overlaps(spans: Sequence[Span], order: list[int], allowed: bool) -> list[tuple[Loc, str]]:
        """Identical spans are refused always; overlapping ones unless the project allows."""
        problems: list[tuple[Loc, str]] = []
        reach = -1  # the furthest end among the spans so far
        previous: Span | None = None
        for submitted in order:
            span = spans[submitted]
            if previous is not None and span == previous:
                problems.append((("spans", submitted), "the same span is given twice"))
            elif not allowed and span.start < reach:
                problems.append(
                    (("spans", submitted, "start"), "overlaps another span (overlap not allowed)")
                )
            reach = max(reach, span.end)
            previous = span
        return problems

    @staticmethod
    def _relations(
        response: Response,
        project_params: Mapping[str, Any],
        position: Mapping[int, int],
        problems: list[tuple[Loc, str]],
    ) -> list[dict[str, Any]]:
        offered = set(project_params.get("relations") or [])
        n = len(response.spans)
        out: set[tuple[int, int, str]] = set()
        for index, relation in enumerate(response.relations):
            loc: Loc = ("relations", index)
            bad = False
            for end, value in (("from", relation.from_), ("to", relation.to)):
                if value >= n:
                    problems.append(((*loc, end), f"no span {value} (there are {n})"))
                    bad = True
            if not bad and relation.from_ == relation.to:
                problems.append(((*loc, "to"), "a relation links two different spans"))
                bad = True
            if relation.label not in offered:
                problems.append(((*loc, "label"), f"{relation.label!r} is not an offered relation"))
                bad = True
            if bad:
                continue
            key = (position[relation.from_], position[relation.to], relation.label)
            if key in out:
                problems.append((loc, "the same relation is given twice"))
            out.add(key)
        return [{"from": f, "to": t, "label": label} for f, t, label in sorted(out)]

    def answer_key(self, response: Mapping[str, Any]) -> Hashable:
        spans = span_keys(response)
        relations = sorted(
            (spans[int(r["from"])], spans[int(r["to"])], str(r["label"]))
            for r in response.get("relations", [])
        )
        return tuple(sorted(spans)), tuple(relations)

    def agrees(
        self,
        response: Mapping[str, Any],
        reference: Mapping[str, Any],
        *,
        project_params: Mapping[str, Any] | None = None,
    ) -> bool:
        """Exact-span F1 (same start, end and label) of at least ``AGREEMENT_F1``; two
        answers without spans agree. Relations refine the spans and are not compared."""
        mine, theirs = set(span_keys(response)), set(span_keys(reference))
        if not mine and not theirs:
            return True
        return 2 * len(mine & theirs) / (len(mine) + len(theirs)) >= AGREEMENT_F1

    def settle(
        self,
        answers: Sequence[Answer],
        *,
        project_params: Mapping[str, Any],
        task_params: Mapping[str, Any],
        confidence_target: float,
        at_max_labels: bool,
    ) -> Settlement:
        """Spans by ``aggregate_spans`` on BIO-coded characters (``_bio_coded``): each
        character goes to the tag with the most skill, then ``_decoded`` rebuilds the spans,
        so that two touching spans of one label stay two. A relation is kept when the
        answers that drew it between two spans equal to consensus spans carry at least
        ``RELATION_SUPPORT`` of the task's weight. Confidence: the least of the spans'
        confidence and each relation decision's (``vote_confidence`` of keeping, or of
        dropping, as for boxes)."""
        if not answers:
            return Settlement(False, None, 0.0)
        # Imported here: numpy and pandas stay out of client-side imports of task types.
        import pandas as pd

        from labelmill.quality import aggregate_spans
        from labelmill.quality.pairwise import vote_confidence

        w = weights(answers)
        frame = pd.DataFrame(
            {
                "task": [0] * len(answers),
                "worker": list(range(len(answers))),
                "label": [_bio_coded(span_keys(a.response)) for a in answers],
            }
        )
        result = aggregate_spans(frame, skills=dict(enumerate(w)))
        consensus = _decoded(result.spans.iloc[0])
        confidence = float(result.confidence.iloc[0])
        where = {span: k for k, span in enumerate(consensus)}
        drawn: dict[tuple[int, int, str], float] = {}
        for answer, weight in zip(answers, w, strict=True):
            spans = span_keys(answer.response)
            mine = {
                (where[spans[int(r["from"])]], where[spans[int(r["to"])]], str(r["label"]))
                for r in answer.response.get("relations", [])
                if spans[int(r["from"])] in where and spans[int(r["to"])] in where
            }
            for key in mine:
                drawn[key] = drawn.get(key, 0.0) + weight
        total = sum(w)
        kept: list[tuple[int, int, str]] = []
        decisions: list[float] = []
        for key, support in sorted(drawn.items()):
            keep = float(vote_confidence(support, total - support, threshold=RELATION_SUPPORT))
            if support >= RELATION_SUPPORT * total:
                kept.append(key)
                decisions.append(keep)
            else:
                decisions.append(1.0 - keep)
        confidence = min([confidence, *decisions])
        done = confidence >= confidence_target or at_max_labels
        if not done:
            return Settlement(False, None, confidence)
        response = {
            "spans": [{"start": s, "end": e, "label": label} for s, e, label in consensus],
            "relations": [{"from": f, "to": t, "label": label} for f, t, label in kept],
        }
        return Settlement(True, response, confidence)

    def worker_view(
        self, project_params: Mapping[str, Any], task_params: Mapping[str, Any]
    ) -> dict[str, Any]:
        return {
            "instruction": project_params.get("instruction", ""),
            "text": task_params["text"],
            "labels": list(project_params["labels"]),
            "relations": list(project_params.get("relations") or []),
            "allow_overlap": bool(project_params.get("allow_overlap")),
        }

    def placeholder_response(
        self, project_params: Mapping[str, Any], task_params: Mapping[str, Any]
    ) -> dict[str, Any]:
        return {"spans": [], "relations": []}

    def flat_answer(self, response: Mapping[str, Any] | None) -> dict[str, str]:
        if response is None:
            return {"spans": "", "relations": ""}
        return {
            "spans": json.dumps(list(response["spans"]), ensure_ascii=False),
            "relations": json.dumps(list(response.get("relations", [])), ensure_ascii=False),
        }
