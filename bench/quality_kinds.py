"""Benchmark of labelmill.quality's non-categorical aggregators on real public crowd data.

Spans (NER), pairwise preferences, numeric ratings and bounding boxes, each against plain
baselines computed in this script on the same data, plus a check that each aggregator's
confidence ranks its answers (accuracy on the top vs the bottom half of tasks by confidence,
and the AUROC of the confidence for "this task's answer is right").

Run from the repository root (light: about a minute on one core):

    python bench/quality_kinds.py --kind all              # prints tables, writes a JSON
    python bench/quality_kinds.py --kind spans --repeat 5  # median of 5 timed runs

Data: the extracted public sets in ``../shared/data`` (relative to the repository root;
``--data`` overrides), read in place and never copied. crowd-kit's pairwise aggregators are
compared when crowd-kit is importable (a benchmark-only dependency, never one of labelmill's);
otherwise the JSON says "not installed". Every labelmill aggregator runs with its defaults:
nothing here is tuned to a data set. Results go to ``bench/results/quality_kinds-<UTC>.json``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
import traceback
import warnings
from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd
import scipy
from scipy.optimize import linear_sum_assignment
from scipy.stats import pearsonr, rankdata, spearmanr

import labelmill.quality as lq

ROOT = Path(__file__).resolve().parent
REPO = ROOT.parent
RESULTS = ROOT / "results"
DEFAULT_DATA = REPO.parent / "shared" / "data"
KINDS = ("spans", "pairwise", "ratings", "rankings", "boxes")
SEED = 0

T = TypeVar("T")
Chunk = tuple[int, int, str]  # first token, end token (exclusive), entity type
Box = list[Any]  # [x, y, w, h, label]


# --------------------------------------------------------------------------------------------
# shared helpers


class Errors:
    """Aggregator failures on real data, kept for the JSON (the script goes on without them)."""

    def __init__(self) -> None:
        self.items: list[dict[str, str]] = []

    def run(self, kind: str, what: str, fn: Callable[[], T]) -> T | None:
        try:
            return fn()
        except Exception as exc:  # noqa: BLE001 - recorded, reported, not hidden
            tb = traceback.format_exc(limit=6)
            self.items.append({"kind": kind, "what": what, "error": repr(exc), "traceback": tb})
            print(f"!! {kind}/{what}: {exc!r}", file=sys.stderr)
            return None


def timed(fn: Callable[[], T], repeat: int) -> tuple[T, dict[str, float]]:
    """Run ``fn`` ``repeat`` times; its first result and the median CPU and wall seconds."""
    cpu: list[float] = []
    wall: list[float] = []
    result: T | None = None
    for i in range(max(repeat, 1)):
        c0, w0 = time.process_time(), time.perf_counter()
        out = fn()
        cpu.append(time.process_time() - c0)
        wall.append(time.perf_counter() - w0)
        if i == 0:
            result = out
    assert result is not None
    return result, {
        "cpu_s": statistics.median(cpu),
        "wall_s": statistics.median(wall),
        "runs": float(len(cpu)),
    }


def prf(tp: float, n_pred: float, n_gold: float) -> dict[str, float]:
    precision = tp / n_pred if n_pred else float("nan")
    recall = tp / n_gold if n_gold else float("nan")
    f1 = 2 * tp / (n_pred + n_gold) if n_pred + n_gold else float("nan")
    return {"precision": precision, "recall": recall, "f1": f1}


def auroc(score: Sequence[float] | np.ndarray, positive: Sequence[bool] | np.ndarray) -> float:
    """P(score of a random positive > score of a random negative), ties counted half.

    0.5 = the score does not rank right answers above wrong ones; NaN if one class is empty.
    """
    s = np.asarray(score, dtype=np.float64)
    pos = np.asarray(positive, dtype=bool)
    n1, n0 = int(pos.sum()), int((~pos).sum())
    if n1 == 0 or n0 == 0:
        return float("nan")
    ranks = rankdata(s)
    return float((ranks[pos].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def halves(confidence: pd.Series) -> tuple[pd.Index, pd.Index, float]:
    """Top and bottom half of the tasks by confidence (ties at the cut broken at random,
    seeded), and the share of all tasks whose confidence equals the value at the cut (large
    when the confidence takes few values: then the halves are partly a coin toss)."""
    conf = confidence.to_numpy(dtype=np.float64)
    jitter = np.random.default_rng(SEED).random(conf.size)
    order = np.lexsort((jitter, -conf))
    cut = (conf.size + 1) // 2
    if conf.size == 0:
        return confidence.index[:0], confidence.index[:0], float("nan")
    at_cut = conf[order[min(cut, conf.size - 1)]]
    tied = float(np.mean(conf == at_cut))
    return confidence.index[order[:cut]], confidence.index[order[cut:]], tied


def corr(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """Pearson and Spearman correlation (NaN when either side is constant)."""
    if a.size < 3 or np.std(a) == 0 or np.std(b) == 0:
        return float("nan"), float("nan")
    return float(pearsonr(a, b)[0]), float(spearmanr(a, b)[0])


def fmt(value: Any, digits: int = 4) -> str:
    if value is None:
        return "-"
    if isinstance(value, float | np.floating):
        return "nan" if math.isnan(float(value)) else f"{float(value):.{digits}f}"
    return str(value)


def table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(fmt(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def jsonable(value: Any) -> Any:
    """Plain JSON: numpy scalars to Python, NaN/inf to null."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        f = float(value)
        return f if math.isfinite(f) else None
    if isinstance(value, np.bool_):
        return bool(value)
    return value


# --------------------------------------------------------------------------------------------
# spans: CoNLL-2003 NER, BIO tags per token, crowd labels from MTurk


def bio_chunks(tags: Sequence[str]) -> list[Chunk]:
    """Entities of a BIO sequence, read as conlleval does: a chunk starts at B-X, or at I-X
    after O or after another type; it goes on over I-X of the same type."""
    out: list[Chunk] = []
    start, kind = -1, ""
    for i, tag in enumerate([*tags, "O"]):
        prefix, _, typ = tag.partition("-")
        if tag == "O" or prefix == "B" or typ != kind:
            if start >= 0:
                out.append((start, i, kind))
            start, kind = (i, typ) if tag != "O" else (-1, "")
    return out


def token_offsets(tokens: Sequence[str]) -> list[tuple[int, int]]:
    """Character range of each token in ``" ".join(tokens)``."""
    out, pos = [], 0
    for tok in tokens:
        out.append((pos, pos + len(tok)))
        pos += len(tok) + 1
    return out


def chunks_to_char_spans(chunks: Iterable[Chunk], offsets: Sequence[tuple[int, int]]) -> list:
    return [(offsets[s][0], offsets[e - 1][1], typ) for s, e, typ in chunks]


def char_spans_to_chunks(
    spans: Iterable[tuple[int, int, Hashable]], offsets: Sequence[tuple[int, int]]
) -> tuple[list[Chunk], int, int]:
    """Consensus character spans back to token chunks: the tokens the span overlaps.

    Returns the chunks, the number of spans covering no token (whitespace only) and of spans
    cutting a token (neither can come from token-aligned input; counted as anomalies)."""
    out: list[Chunk] = []
    empty = partial = 0
    for cs, ce, typ in spans:
        toks = [i for i, (ts, te) in enumerate(offsets) if ts < ce and te > cs]
        if not toks:
            empty += 1
            continue
        if offsets[toks[0]][0] < cs or offsets[toks[-1]][1] > ce:
            partial += 1
        out.append((toks[0], toks[-1] + 1, str(typ)))
    return out, empty, partial


def token_types(chunks: Iterable[Chunk], n: int) -> list[str]:
    out = ["O"] * n
    for s, e, typ in chunks:
        for i in range(s, e):
            out[i] = typ
    return out


def majority_tags(answers: Sequence[Sequence[str]], ties: str) -> list[str]:
    """Per-token majority vote over BIO tags. ``ties``: "O" (a tie that includes O goes to O,
    else to the first in sorted order) or "sorted" (first in sorted order, which puts B-/I-
    before O: crowd-kit MajorityVote's rule)."""
    out = []
    for column in zip(*answers, strict=True):
        counts = Counter(column)
        top = max(counts.values())
        tied = sorted(t for t, c in counts.items() if c == top)
        out.append("O" if ties == "O" and "O" in tied else tied[0])
    return out


def entity_scores(pred: dict[str, list[Chunk]], gold: dict[str, list[Chunk]]) -> dict[str, float]:
    tp = n_pred = n_gold = 0
    for task, g in gold.items():
        p = set(pred.get(task, []))
        gs = set(g)
        tp += len(p & gs)
        n_pred += len(p)
        n_gold += len(gs)
    return prf(tp, n_pred, n_gold)


def token_scores(
    pred: dict[str, list[Chunk]], gold: dict[str, list[Chunk]], lengths: dict[str, int]
) -> dict[str, float]:
    """Token level: a token is right when its entity type (B/I ignored) equals gold's."""
    tp = n_pred = n_gold = 0
    for task, g in gold.items():
        gt = token_types(g, lengths[task])
        pt = token_types(pred.get(task, []), lengths[task])
        for a, b in zip(pt, gt, strict=True):
            tp += a == b != "O"
            n_pred += a != "O"
            n_gold += b != "O"
    return prf(tp, n_pred, n_gold)


def run_spans(data_dir: Path, repeat: int, errors: Errors) -> dict[str, Any]:
    folder = data_dir / "spans" / "conll2003_ner_mturk"
    items = {r["task"]: r["tokens"] for r in read_jsonl(folder / "items.jsonl")}
    gold_tags = {r["task"]: r["tags"] for r in read_jsonl(folder / "gold.jsonl")}
    rows = read_jsonl(folder / "labels.jsonl")
    offsets = {t: token_offsets(toks) for t, toks in items.items()}
    lengths = {t: len(toks) for t, toks in items.items()}
    by_task: dict[str, list[tuple[str, list[str]]]] = {}
    for r in rows:
        by_task.setdefault(r["task"], []).append((r["worker"], r["tags"]))
    tasks = [t for t in items if t in by_task and t in gold_tags]
    gold = {t: bio_chunks(gold_tags[t]) for t in tasks}
    frame = pd.DataFrame(
        {
            "task": [r["task"] for r in rows],
            "worker": [r["worker"] for r in rows],
            "label": [
                chunks_to_char_spans(bio_chunks(r["tags"]), offsets[r["task"]]) for r in rows
            ],
        }
    )

    methods: dict[str, dict[str, list[Chunk]]] = {}
    confidences: dict[str, pd.Series] = {}
    timings: dict[str, dict[str, float]] = {}
    anomalies: dict[str, int] = {}

    span_level: dict[str, tuple[list[float], list[bool]]] = {}

    def from_result(res: lq.SpanResult, name: str) -> dict[str, list[Chunk]]:
        out: dict[str, list[Chunk]] = {}
        empty = partial = 0
        confs, hits = span_level.setdefault(name, ([], []))
        for task, spans in res.spans.items():
            out[str(task)], e, p = char_spans_to_chunks(spans, offsets[str(task)])
            empty += e
            partial += p
            if str(task) in gold and not e:  # per consensus span: is it a gold entity?
                confs.extend(res.span_confidence[task])
                hits.extend(c in set(gold[str(task)]) for c in out[str(task)])
        anomalies["whitespace-only spans"] = anomalies.get("whitespace-only spans", 0) + empty
        anomalies["token-cutting spans"] = anomalies.get("token-cutting spans", 0) + partial
        return out

    timed_res = errors.run(
        "spans", "aggregate_spans", lambda: timed(lambda: lq.aggregate_spans(frame), repeat)
    )
    if timed_res is not None:
        res, timings["labelmill aggregate_spans"] = timed_res
        methods["labelmill aggregate_spans"] = from_result(res, "labelmill aggregate_spans")
        confidences["labelmill aggregate_spans"] = res.confidence
        # Skills without gold: each worker's entity F1 against the unweighted consensus.
        consensus = methods["labelmill aggregate_spans"]
        per_worker: dict[str, list[int]] = {}
        for r in rows:
            p, g = set(bio_chunks(r["tags"])), set(consensus.get(r["task"], []))
            acc = per_worker.setdefault(r["worker"], [0, 0, 0])
            acc[0] += len(p & g)
            acc[1] += len(p)
            acc[2] += len(g)
        skills = {
            w: (2 * a[0] / (a[1] + a[2]) if a[1] + a[2] else 1.0) for w, a in per_worker.items()
        }
        name = "labelmill aggregate_spans, skills=F1 vs consensus"
        timed_w = errors.run(
            "spans",
            "aggregate_spans(skills)",
            lambda: timed(lambda: lq.aggregate_spans(frame, skills=skills), repeat),
        )
        if timed_w is not None:
            res_w, timings[name] = timed_w
            methods[name] = from_result(res_w, name)
            confidences[name] = res_w.confidence

    for ties in ("O", "sorted"):
        name = f"token majority vote, ties->{'O' if ties == 'O' else 'entity (sorted order)'}"
        c0 = time.process_time()
        methods[name] = {
            t: bio_chunks(majority_tags([tags for _, tags in by_task[t]], ties)) for t in tasks
        }
        timings[name] = {"cpu_s": time.process_time() - c0, "wall_s": float("nan"), "runs": 1.0}
    # Single-worker baselines: the first worker of each sentence (what one label buys), and an
    # oracle that picks, per sentence, the worker with the best F1 against gold overall.
    methods["single worker (first in file)"] = {t: bio_chunks(by_task[t][0][1]) for t in tasks}
    worker_counts: dict[str, list[int]] = {}
    for t in tasks:
        g = set(gold[t])
        for w, tags in by_task[t]:
            p = set(bio_chunks(tags))
            acc = worker_counts.setdefault(w, [0, 0, 0])
            acc[0] += len(p & g)
            acc[1] += len(p)
            acc[2] += len(g)
    worker_f1 = {
        w: (2 * a[0] / (a[1] + a[2]) if a[1] + a[2] else 0.0) for w, a in worker_counts.items()
    }
    methods["oracle best worker per sentence (uses gold)"] = {
        t: bio_chunks(max(by_task[t], key=lambda wt: worker_f1[wt[0]])[1]) for t in tasks
    }

    results: dict[str, Any] = {}
    for name, pred in methods.items():
        exact = np.array([set(pred.get(t, [])) == set(gold[t]) for t in tasks])
        results[name] = {
            "entity": entity_scores(pred, gold),
            "token": token_scores(pred, gold, lengths),
            "sentence_exact_match": float(exact.mean()),
        }
    # F1 by the number of crowd labels of the sentence.
    buckets = {"1": [1], "2": [2], "3": [3], "4": [4], "5": [5], "6+": list(range(6, 100))}
    by_labels: dict[str, dict[str, Any]] = {}
    for b, ns in buckets.items():
        sub = [t for t in tasks if len(by_task[t]) in ns]
        g = {t: gold[t] for t in sub}
        by_labels[b] = {"sentences": len(sub)}
        for name, pred in methods.items():
            by_labels[b][name] = entity_scores(pred, g)["f1"]
        if "labelmill aggregate_spans" in confidences:
            conf_b = confidences["labelmill aggregate_spans"].reindex(sub)
            by_labels[b]["labelmill confidence, mean"] = float(conf_b.mean())
            by_labels[b]["labelmill confidence, share = 1"] = float((conf_b >= 1 - 1e-12).mean())
    # Is the confidence informative?
    conf_out: dict[str, Any] = {}
    for name, conf in confidences.items():
        conf = conf.reindex(tasks)
        pred = methods[name]
        top, bottom, tied = halves(conf)
        exact = [set(pred.get(t, [])) == set(gold[t]) for t in conf.index]
        conf_out[name] = {
            "auroc_exact_match": auroc(conf.to_numpy(), exact),
            "entity_f1_top_half": entity_scores(pred, {t: gold[t] for t in top})["f1"],
            "entity_f1_bottom_half": entity_scores(pred, {t: gold[t] for t in bottom})["f1"],
            "exact_top_half": float(np.mean([set(pred.get(t, [])) == set(gold[t]) for t in top])),
            "exact_bottom_half": float(
                np.mean([set(pred.get(t, [])) == set(gold[t]) for t in bottom])
            ),
            "share_tied_at_cut": tied,
            "auroc_span_is_gold_entity": auroc(*span_level[name]),
        }
    n_labels = [len(by_task[t]) for t in tasks]
    return {
        "data": {
            "set": "spans/conll2003_ner_mturk",
            "sentences_evaluated": len(tasks),
            "sentences_total": len(items),
            "tokens_evaluated": int(sum(lengths[t] for t in tasks)),
            "gold_entities": int(sum(len(gold[t]) for t in tasks)),
            "crowd_labels": len(rows),
            "workers": len({r["worker"] for r in rows}),
            "mean_labels_per_sentence": float(np.mean(n_labels)),
        },
        "metric": "entity-level strict micro P/R/F1 (conlleval chunks: exact span and type); "
        "token-level micro P/R/F1 on entity type per token (B/I ignored, O not scored); "
        "sentence exact match",
        "methods": results,
        "f1_by_labels_per_sentence": by_labels,
        "confidence": conf_out,
        "anomalies": anomalies,
        "timings": timings,
        "worker_entity_f1": {
            "best": max(worker_f1.values()),
            "median": statistics.median(worker_f1.values()),
            "worst": min(worker_f1.values()),
        },
    }


def print_spans(r: dict[str, Any]) -> None:
    d = r["data"]
    print(
        f"\n## spans: {d['set']} ({d['sentences_evaluated']} sentences with >=1 crowd label, "
        f"{d['gold_entities']} gold entities, {d['crowd_labels']} labels, {d['workers']} workers)"
    )
    rows = [
        [
            name,
            m["entity"]["precision"],
            m["entity"]["recall"],
            m["entity"]["f1"],
            m["token"]["f1"],
            m["sentence_exact_match"],
            r["timings"].get(name, {}).get("cpu_s"),
        ]
        for name, m in r["methods"].items()
    ]
    print(
        table(["method", "entity P", "entity R", "entity F1", "token F1", "exact", "CPU s"], rows)
    )
    names = list(r["methods"])
    names += [n for n in r["f1_by_labels_per_sentence"]["1"] if n.startswith("labelmill conf")]
    rows = [
        [b, v["sentences"], *[v.get(n) for n in names]]
        for b, v in r["f1_by_labels_per_sentence"].items()
    ]
    print("\nentity F1 (and labelmill's mean confidence) by crowd labels per sentence")
    print(table(["labels", "sentences", *names], rows))
    print_confidence(
        r["confidence"],
        [
            "auroc_exact_match",
            "entity_f1_top_half",
            "entity_f1_bottom_half",
            "auroc_span_is_gold_entity",
        ],
    )
    print("anomalies:", r["anomalies"])


def print_confidence(conf: dict[str, Any], keys: Sequence[str]) -> None:
    if not conf:
        return
    print("\nconfidence")
    rows = [
        [name, *[v.get(k) for k in keys], v.get("share_tied_at_cut")] for name, v in conf.items()
    ]
    print(table(["method", *keys, "share tied at cut"], rows))


# --------------------------------------------------------------------------------------------
# pairwise: SQuALITY (3 raters per pair, rank-derived) and HH-RLHF harmless (1 label per pair)


def load_pairwise(folder: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    items = pd.DataFrame(read_jsonl(folder / "items.jsonl"))
    labels = pd.read_csv(folder / "labels.csv", dtype=str)
    if "model_a" in items and items["task"].str.contains("__vs__").all():
        # SQuALITY: a response is (passage, question, system); the same response is in 2 pairs.
        question = items["task"].str.rsplit("/", n=1).str[0]
        items["a_id"] = question + "/" + items["model_a"]
        items["b_id"] = question + "/" + items["model_b"]
    else:
        items["a_id"] = items["task"] + "/a"
        items["b_id"] = items["task"] + "/b"
    items = items.set_index("task")
    frame = labels.join(items[["a_id", "b_id"]], on="task")
    frame["left"] = frame["a_id"]
    frame["right"] = frame["b_id"]
    frame["label"] = np.where(
        frame["choice"] == "a",
        frame["a_id"],
        np.where(frame["choice"] == "b", frame["b_id"], None),
    )
    return items, frame


def pair_predictions(
    items: pd.DataFrame, frame: pd.DataFrame, full: bool, errors: Errors, where: str
) -> tuple[dict[str, pd.Series], dict[str, pd.Series]]:
    """Winner side ('a', 'b', or None for a tie) of every pair in ``frame``, per method, and
    each method's per-pair confidence. ``full``: also the skill-weighted vote and crowd-kit
    (left out on the one-label HH set, where they can only return the label; crowd-kit's
    BradleyTerry builds dense items x items matrices, 4,624^2 there)."""
    tasks = pd.Index(frame["task"].unique())
    a_id, b_id = items.loc[tasks, "a_id"], items.loc[tasks, "b_id"]
    preds: dict[str, pd.Series] = {}
    confs: dict[str, pd.Series] = {}

    # plain majority vote, computed here
    votes = frame.groupby("task")["choice"].value_counts().unstack(fill_value=0)
    va = votes.get("a", pd.Series(0, index=votes.index)).reindex(tasks, fill_value=0)
    vb = votes.get("b", pd.Series(0, index=votes.index)).reindex(tasks, fill_value=0)
    preds["majority vote"] = pd.Series(
        np.where(va > vb, "a", np.where(vb > va, "b", None)), index=tasks, dtype=object
    )
    confs["majority vote"] = pd.Series(
        np.maximum(va, vb) / np.maximum(va + vb, 1), index=tasks, dtype=float
    )

    def side_of(winner: Any, a: Any, b: Any) -> Any:
        return "a" if winner == a else "b" if winner == b else None

    def from_pairs(res: lq.PairwiseResult) -> tuple[pd.Series, pd.Series]:
        by_key = {
            frozenset((lf, rt)): (w, c)
            for lf, rt, w, c in zip(
                res.pairs["left"],
                res.pairs["right"],
                res.pairs["winner"],
                res.pairs["confidence"],
                strict=True,
            )
        }
        win, conf = [], []
        for a, b in zip(a_id, b_id, strict=True):
            w, c = by_key[frozenset((a, b))]
            win.append(side_of(w, a, b))
            conf.append(c)
        return pd.Series(win, index=tasks, dtype=object), pd.Series(conf, index=tasks, dtype=float)

    def from_scores(
        scores: pd.Series, prob: Callable[[np.ndarray], np.ndarray]
    ) -> tuple[pd.Series, pd.Series]:
        sa = scores.reindex(a_id).to_numpy(dtype=np.float64)
        sb = scores.reindex(b_id).to_numpy(dtype=np.float64)
        win = np.where(sa > sb, "a", np.where(sb > sa, "b", None))
        return pd.Series(win, index=tasks, dtype=object), pd.Series(
            prob(np.abs(sa - sb)), index=tasks
        )

    def logistic(d: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-d))

    res = errors.run(
        "pairwise", f"aggregate_pairwise [{where}]", lambda: lq.aggregate_pairwise(frame)
    )
    if res is not None:
        preds["labelmill vote"], confs["labelmill vote"] = from_pairs(res)
        preds["labelmill Bradley-Terry"], confs["labelmill Bradley-Terry"] = from_scores(
            res.scores, logistic
        )
    if full:
        cat = pd.DataFrame(
            {"task": frame["task"], "worker": frame["worker"], "label": frame["choice"]}
        )
        agg = errors.run("pairwise", f"aggregate (skills) [{where}]", lambda: lq.aggregate(cat))
        if agg is not None:
            skills = agg.skills.to_dict()
            res_w = errors.run(
                "pairwise",
                f"aggregate_pairwise(skills) [{where}]",
                lambda: lq.aggregate_pairwise(frame, skills=skills),
            )
            if res_w is not None:
                name = "labelmill vote, skills from aggregate()"
                preds[name], confs[name] = from_pairs(res_w)
        crowd = errors.run(
            "pairwise", f"CrowdBT [{where}]", lambda: lq.CrowdBT().fit_predict(frame)
        )
        if crowd is not None:
            preds["labelmill Crowd-BT"], confs["labelmill Crowd-BT"] = from_scores(crowd, logistic)
    ck = crowdkit_pairwise() if full else {}
    for name, make in ck.items():
        scores = errors.run(
            "pairwise", f"{name} [{where}]", lambda make=make: make().fit_predict(frame)
        )
        if scores is None:
            continue
        if "Noisy" in name:
            preds[name], confs[name] = from_scores(scores, logistic)
        else:
            # crowd-kit BT scores are strengths p (sum 1): P(i > j) = p_i / (p_i + p_j)
            sa = scores.reindex(a_id).to_numpy(dtype=np.float64)
            sb = scores.reindex(b_id).to_numpy(dtype=np.float64)
            win = np.where(sa > sb, "a", np.where(sb > sa, "b", None))
            with np.errstate(invalid="ignore", divide="ignore"):
                p = np.maximum(sa, sb) / (sa + sb)
            preds[name] = pd.Series(win, index=tasks, dtype=object)
            confs[name] = pd.Series(np.nan_to_num(p, nan=0.5), index=tasks)
    return preds, confs


def crowdkit_pairwise() -> dict[str, Callable[[], Any]]:
    try:
        from crowdkit import aggregation as ck
    except ImportError:
        return {}
    noisy = getattr(ck, "NoisyBT", None) or getattr(ck, "NoisyBradleyTerry", None)
    out: dict[str, Callable[[], Any]] = {
        "crowd-kit BradleyTerry(n_iter=100)": lambda: ck.BradleyTerry(n_iter=100)
    }
    if noisy is not None:
        out["crowd-kit NoisyBradleyTerry()"] = lambda: noisy()
    return out


def crowdkit_version() -> str:
    try:
        import crowdkit  # noqa: F401
    except ImportError:
        return "not installed"
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("crowd-kit")
    except PackageNotFoundError:
        return "installed (version unknown)"


def agreement(pred: pd.Series, truth: pd.Series) -> tuple[float, float]:
    """Share of pairs whose predicted side equals ``truth`` (a tie counts half) and tie rate."""
    p = pred.reindex(truth.index)
    ties = p.isna().to_numpy()
    right = (p.to_numpy(dtype=object) == truth.to_numpy(dtype=object)) & ~ties
    return float((right + 0.5 * ties).mean()), float(ties.mean())


def run_pairwise(data_dir: Path, repeat: int, errors: Errors) -> dict[str, Any]:
    out: dict[str, Any] = {"crowdkit": crowdkit_version()}

    # SQuALITY: quasi-gold = the human-written reference beats a model's summary.
    items, frame = load_pairwise(data_dir / "pairwise" / "squality_pairwise")
    human_side = pd.Series(
        np.where(
            items["model_a"] == "human", "a", np.where(items["model_b"] == "human", "b", None)
        ),
        index=items.index,
        dtype=object,
    ).dropna()
    preds, confs = pair_predictions(items, frame, True, errors, "squality")
    full: dict[str, Any] = {}
    for name, pred in preds.items():
        acc, tie = agreement(pred, human_side)
        full[name] = {"quasi_gold_accuracy": acc, "quasi_gold_ties": tie}
    # Leave one rater out: fit without rater r, predict r's choices.
    loro: dict[str, list[float]] = {}
    loro_conf: dict[str, list[tuple[float, bool, bool]]] = {}
    for r in sorted(frame["worker"].unique()):
        rest = frame[frame["worker"] != r]
        held = frame[frame["worker"] == r].set_index("task")["choice"]
        p_r, c_r = pair_predictions(items, rest, True, errors, f"squality without {r}")
        for name, pred in p_r.items():
            p = pred.reindex(held.index)
            ties = p.isna().to_numpy()
            right = (p.to_numpy(dtype=object) == held.to_numpy(dtype=object)) & ~ties
            loro.setdefault(name, []).extend((right + 0.5 * ties).tolist())
            c = c_r[name].reindex(held.index).to_numpy()
            loro_conf.setdefault(name, []).extend(zip(c, right, ties, strict=True))
    for name, scores in loro.items():
        full.setdefault(name, {})
        full[name]["held_out_rater_agreement"] = float(np.mean(scores))
        full[name]["held_out_tie_rate"] = float(np.mean([x[2] for x in loro_conf[name]]))
    conf_out: dict[str, Any] = {}
    for name in (
        "labelmill vote",
        "labelmill Bradley-Terry",
        "labelmill Crowd-BT",
        *[n for n in confs if "crowd-kit" in n],
    ):
        if name not in confs:
            continue
        conf = confs[name].reindex(human_side.index)
        pred = preds[name].reindex(human_side.index)
        correct = (pred == human_side).to_numpy()
        top, bottom, tied = halves(conf)
        rows = loro_conf.get(name, [])
        c = np.array([x[0] for x in rows])
        right = np.array([x[1] for x in rows], dtype=bool)
        decided = ~np.array([x[2] for x in rows], dtype=bool)
        h_top, h_bottom, h_tied = halves(pd.Series(c))
        score = right + 0.5 * ~decided
        conf_out[name] = {
            "auroc_quasi_gold": auroc(conf.to_numpy(), correct),
            "quasi_gold_top_half": float((pred[top] == human_side[top]).mean()),
            "quasi_gold_bottom_half": float((pred[bottom] == human_side[bottom]).mean()),
            "share_tied_at_cut": tied,
            "auroc_held_out_rater": auroc(c[decided], right[decided]),
            "held_out_top_half": float(score[h_top.to_numpy()].mean()) if rows else None,
            "held_out_bottom_half": float(score[h_bottom.to_numpy()].mean()) if rows else None,
            "held_out_share_tied_at_cut": h_tied,
        }
    timings: dict[str, dict[str, float]] = {}
    got = errors.run(
        "pairwise", "timing squality", lambda: timed(lambda: lq.aggregate_pairwise(frame), repeat)
    )
    if got is not None:
        timings["labelmill aggregate_pairwise"] = got[1]
    got = errors.run(
        "pairwise", "timing CrowdBT", lambda: timed(lambda: lq.CrowdBT().fit(frame), repeat)
    )
    if got is not None:
        timings["labelmill Crowd-BT"] = got[1]
    for name, make in crowdkit_pairwise().items():
        got_ck = errors.run(
            "pairwise",
            f"timing {name}",
            lambda make=make: timed(lambda: make().fit_predict(frame), 1),
        )
        if got_ck is not None:
            timings[name] = got_ck[1]
    out["squality_pairwise"] = {
        "data": {
            "pairs": int(items.shape[0]),
            "labels": int(frame.shape[0]),
            "workers": int(frame["worker"].nunique()),
            "pairs_with_human_reference": int(human_side.size),
            "unanimous_pairs": int((frame.groupby("task")["choice"].nunique() == 1).sum()),
            "rater_choices_for_human": float(
                (
                    frame.join(human_side.rename("human"), on="task")
                    .dropna(subset=["human"])
                    .eval("choice == human")
                ).mean()
            ),
        },
        "metric": "quasi-gold accuracy on the 200 human-vs-model pairs (human reference wins; a "
        "tie counts half); held-out-rater agreement on all 300 pairs (each of the 4 raters "
        "left out in turn, the others aggregated, agreement with the left-out rater's choice; a "
        "tie counts half)",
        "methods": full,
        "confidence": conf_out,
        "timings": timings,
    }

    # Stress test (synthetic, on real pairs): one rater's choices reversed, as an adversarial
    # or confused worker would give them. Quasi-gold accuracy of each method, averaged over
    # which of the 4 raters is reversed, and Crowd-BT's reliability for that rater.
    flipped: dict[str, list[float]] = {}
    etas: dict[str, float] = {}
    for r in sorted(frame["worker"].unique()):
        adv = frame.copy()
        mine = adv["worker"] == r
        adv.loc[mine, "choice"] = adv.loc[mine, "choice"].map({"a": "b", "b": "a"})
        adv["label"] = np.where(adv["choice"] == "a", adv["a_id"], adv["b_id"])
        p_adv, _ = pair_predictions(items, adv, True, errors, f"squality, {r} reversed")
        for name, pred in p_adv.items():
            flipped.setdefault(name, []).append(agreement(pred, human_side)[0])
        model = errors.run(
            "pairwise", f"CrowdBT eta, {r} reversed", lambda a=adv: lq.CrowdBT().fit(a)
        )
        if model is not None:
            eta = model.reliabilities_
            etas[f"{r} (reversed)"] = float(eta[r])
            etas[f"others, mean (with {r} reversed)"] = float(eta.drop(r).mean())
    out["squality_one_rater_reversed"] = {
        "metric": "quasi-gold accuracy (human reference wins; tie = half) with one rater's "
        "choices reversed, mean over the 4 choices of that rater; Crowd-BT reliabilities",
        "methods": {name: float(np.mean(v)) for name, v in flipped.items()},
        "crowd_bt_reliability": etas,
    }

    # HH-RLHF harmless: one judgment per pair, one pseudo-worker: aggregation is the identity.
    items_h, frame_h = load_pairwise(data_dir / "pairwise" / "hh_rlhf_harmless_test")
    label_side = frame_h.set_index("task")["choice"]
    preds_h, confs_h = pair_predictions(items_h, frame_h, False, errors, "hh_rlhf")
    hh: dict[str, Any] = {}
    for name, pred in preds_h.items():
        acc, tie = agreement(pred, label_side)
        hh[name] = {"agreement_with_the_label": acc, "ties": tie}
    timings_h: dict[str, dict[str, float]] = {}
    got = errors.run(
        "pairwise", "timing hh", lambda: timed(lambda: lq.aggregate_pairwise(frame_h), repeat)
    )
    if got is not None:
        timings_h["labelmill aggregate_pairwise"] = got[1]
    out["hh_rlhf_harmless_test"] = {
        "data": {"pairs": int(items_h.shape[0]), "labels": int(frame_h.shape[0]), "workers": 1},
        "metric": "agreement with the single crowdworker label (a sanity check: with one vote "
        "per pair and disjoint items every method must return the label)",
        "methods": hh,
        "confidence_distinct_values": {
            name: int(c.round(12).nunique()) for name, c in confs_h.items()
        },
        "timings": timings_h,
    }
    return out


def print_pairwise(r: dict[str, Any]) -> None:
    s = r["squality_pairwise"]
    d = s["data"]
    print(
        f"\n## pairwise: squality_pairwise ({d['pairs']} pairs, {d['labels']} labels, "
        f"{d['workers']} raters, {d['pairs_with_human_reference']} human-vs-model pairs); "
        f"crowd-kit: {r['crowdkit']}"
    )
    rows = [
        [
            name,
            m.get("quasi_gold_accuracy"),
            m.get("quasi_gold_ties"),
            m.get("held_out_rater_agreement"),
            m.get("held_out_tie_rate"),
        ]
        for name, m in s["methods"].items()
    ]
    print(table(["method", "quasi-gold acc", "ties", "held-out rater agr.", "ties"], rows))
    print_confidence(
        s["confidence"],
        ["auroc_quasi_gold", "auroc_held_out_rater", "held_out_top_half", "held_out_bottom_half"],
    )
    print("timings:", {k: fmt(v["cpu_s"]) for k, v in s["timings"].items()})
    f = r["squality_one_rater_reversed"]
    print("\n## pairwise: squality with one rater's choices reversed (mean over the 4 raters)")
    print(table(["method", "quasi-gold acc"], [[k, v] for k, v in f["methods"].items()]))
    print("Crowd-BT reliabilities:", {k: fmt(v) for k, v in f["crowd_bt_reliability"].items()})
    h = r["hh_rlhf_harmless_test"]
    print(f"\n## pairwise: hh_rlhf_harmless_test ({h['data']['pairs']} pairs, 1 label each)")
    rows = [[name, m["agreement_with_the_label"], m["ties"]] for name, m in h["methods"].items()]
    print(table(["method", "agreement with label", "ties"], rows))
    print("timings:", h["timings"])


# --------------------------------------------------------------------------------------------
# ratings: SQuALITY (0-100, 3 raters, no gold) and Snow et al.'s emotion ratings (gold)


def rating_methods(
    data: pd.DataFrame, errors: Errors, where: str
) -> dict[str, tuple[pd.Series, pd.Series | None]]:
    out: dict[str, tuple[pd.Series, pd.Series | None]] = {}
    res = errors.run("ratings", f"aggregate_ratings [{where}]", lambda: lq.aggregate_ratings(data))
    if res is not None:
        out["labelmill aggregate_ratings"] = (res.values, res.confidence)
    # The estimator before empirical-Bayes shrinkage: a fixed shrinkage of 1 pseudo-rating.
    old = errors.run(
        "ratings",
        f"aggregate_ratings(shrinkage=1) [{where}]",
        lambda: lq.aggregate_ratings(data, shrinkage=1.0),
    )
    if old is not None:
        out["labelmill, shrinkage=1 (previous default)"] = (old.values, None)
    grouped = data.groupby("task")["label"]
    out["mean"] = (grouped.mean(), None)
    out["median"] = (grouped.median(), None)
    return out


def check_values(values: pd.Series, where: str, errors: Errors) -> None:
    bad = values[~np.isfinite(values.to_numpy(dtype=np.float64))]
    if len(bad):
        errors.items.append(
            {
                "kind": "ratings",
                "what": where,
                "error": f"{len(bad)} non-finite values",
                "traceback": str(bad.head()),
            }
        )


def run_ratings(data_dir: Path, repeat: int, errors: Errors) -> dict[str, Any]:
    out: dict[str, Any] = {}
    folder = data_dir / "ratings" / "squality_ratings"
    items = pd.DataFrame(read_jsonl(folder / "items.jsonl")).set_index("task")
    labels = pd.read_csv(folder / "labels.csv")
    items["question"] = items.index.str.rsplit("/", n=1).str[0]
    is_human = items["system"] == "human"
    sq: dict[str, Any] = {}
    timings: dict[str, dict[str, float]] = {}
    for criterion in sorted(labels["criterion"].unique()):
        data = labels[labels["criterion"] == criterion].rename(columns={"score": "label"})[
            ["task", "worker", "label"]
        ]
        per: dict[str, Any] = {}
        for name, (values, _) in rating_methods(data, errors, f"squality {criterion}").items():
            check_values(values, f"squality {criterion} {name}", errors)
            v = values.reindex(items.index)
            # within each question, does the human reference score above each model summary?
            wins = []
            for _, grp in items.assign(v=v).groupby("question"):
                h = grp.loc[grp["system"] == "human", "v"]
                for mv in grp.loc[grp["system"] != "human", "v"]:
                    wins.append(1.0 if h.iloc[0] > mv else 0.5 if h.iloc[0] == mv else 0.0)
            per[name] = {
                "quasi_gold_human_above_model": float(np.mean(wins)),
                "auroc_human_vs_model": auroc(v.to_numpy(), is_human.to_numpy()),
            }
        # leave one rater out
        preds: dict[str, list[float]] = {}
        truth: list[float] = []
        rater_of: list[str] = []
        conf_rows: list[float] = []
        for r in sorted(data["worker"].unique()):
            rest = data[data["worker"] != r]
            held = data[data["worker"] == r].set_index("task")["label"]
            methods = rating_methods(rest, errors, f"squality {criterion} without {r}")
            truth.extend(held.tolist())
            rater_of.extend([r] * len(held))
            for name, (values, conf) in methods.items():
                preds.setdefault(name, []).extend(values.reindex(held.index).tolist())
                if conf is not None:
                    conf_rows.extend(conf.reindex(held.index).tolist())
        y = np.array(truth)
        raters = np.array(rater_of)
        for name, p in preds.items():
            pa = np.array(p)
            per_rater = [corr(pa[raters == r], y[raters == r]) for r in np.unique(raters)]
            per[name]["held_out_pearson_mean_over_raters"] = float(
                np.nanmean([c[0] for c in per_rater])
            )
            per[name]["held_out_spearman_mean_over_raters"] = float(
                np.nanmean([c[1] for c in per_rater])
            )
            per[name]["held_out_pearson_pooled"], per[name]["held_out_spearman_pooled"] = corr(
                pa, y
            )
            per[name]["held_out_mae"] = float(np.mean(np.abs(pa - y)))
        conf_out: dict[str, Any] = {}
        if conf_rows and "labelmill aggregate_ratings" in preds:
            err = np.abs(np.array(preds["labelmill aggregate_ratings"]) - y)
            c = pd.Series(conf_rows)
            top, bottom, tied = halves(c)
            conf_out = {
                "held_out_mae_top_half": float(err[top.to_numpy()].mean()),
                "held_out_mae_bottom_half": float(err[bottom.to_numpy()].mean()),
                "spearman_confidence_vs_abs_error": corr(c.to_numpy(), err)[1],
                "share_tied_at_cut": tied,
            }
        sq[criterion] = {"methods": per, "confidence": conf_out}
        got = errors.run(
            "ratings", "timing", lambda data=data: timed(lambda: lq.aggregate_ratings(data), repeat)
        )
        if got is not None:
            timings[criterion] = got[1]
    out["squality_ratings"] = {
        "data": {
            "responses": int(items.shape[0]),
            "questions": int(items["question"].nunique()),
            "raters": int(labels["worker"].nunique()),
            "labels": int(labels.shape[0]),
            "criteria": sorted(labels["criterion"].unique().tolist()),
            "rater_sets_per_question": int(
                labels.join(items["question"], on="task")
                .groupby("question")["worker"]
                .apply(lambda s: tuple(sorted(set(s))))
                .nunique()
            ),
        },
        "metric": "quasi-gold (no gold scores exist): share of the 200 (question, model) pairs "
        "where the human reference gets the higher aggregated score (tie = half) and AUROC "
        "of the score for human vs model; held-out rater: each of the 4 raters left out in "
        "turn, the other raters' scores aggregated, Pearson/Spearman (per left-out rater, "
        "then averaged; and pooled) and MAE against the left-out rater's score. With 2 "
        "remaining raters per response the median equals the mean in the held-out setting.",
        "criteria": sq,
        "timings": timings,
    }

    # Snow et al. (2008) emotion ratings: 10 raters per item, expert gold.
    folder = data_dir / "truth-inference" / "zheng_n_emotion"
    labels_e = pd.read_csv(folder / "labels.csv", dtype={"worker": str, "task": str})
    gold_e = pd.read_csv(folder / "gold.csv", dtype={"task": str}).set_index("task")["true_label"]
    labels_e["label"] = labels_e["label"].astype(float)
    emo: dict[str, Any] = {}
    for k in (None, 3):
        seeds = [0] if k is None else list(range(5))
        agg: dict[str, dict[str, list[float]]] = {}
        for seed in seeds:
            data = labels_e
            if k is not None:
                data = labels_e.sample(frac=1.0, random_state=seed).groupby("task").head(k)
            for name, (values, conf) in rating_methods(
                data, errors, f"emotion k={k} seed={seed}"
            ).items():
                check_values(values, f"emotion {name}", errors)
                common = gold_e.index.intersection(values.index)
                ev = values[common].to_numpy(dtype=np.float64)
                eg = gold_e[common].to_numpy(dtype=np.float64)
                pe, se = corr(ev, eg)
                acc = agg.setdefault(name, {})
                acc.setdefault("pearson", []).append(pe)
                acc.setdefault("spearman", []).append(se)
                acc.setdefault("mae", []).append(float(np.mean(np.abs(ev - eg))))
                if conf is not None:
                    err = pd.Series(np.abs(ev - eg), index=common)
                    top, bottom, tied = halves(conf[common])
                    acc.setdefault("mae_top_half", []).append(float(err[top].mean()))
                    acc.setdefault("mae_bottom_half", []).append(float(err[bottom].mean()))
                    acc.setdefault("spearman_confidence_vs_abs_error", []).append(
                        corr(conf[common].to_numpy(), err.to_numpy())[1]
                    )
                    acc.setdefault("share_tied_at_cut", []).append(tied)
        emo["all 10 raters" if k is None else f"{k} random raters per item (mean of 5 draws)"] = {
            name: {key: float(np.mean(vals)) for key, vals in m.items()} for name, m in agg.items()
        }
    # Mixed overlap (as dynamic overlap produces): 1 rating for a random half of the items, 3
    # for the rest. Does the confidence see that one rating is less sure than three?
    mixed: dict[str, list[float]] = {}
    for seed in range(5):
        rng = np.random.default_rng(seed)
        tasks_e = labels_e["task"].unique()
        single = set(rng.choice(tasks_e, size=tasks_e.size // 2, replace=False).tolist())
        shuffled = labels_e.sample(frac=1.0, random_state=seed)
        keep = shuffled.groupby("task").cumcount() < np.where(shuffled["task"].isin(single), 1, 3)
        res_m = errors.run(
            "ratings",
            f"emotion mixed overlap seed={seed}",
            lambda data=shuffled[keep]: lq.aggregate_ratings(data),
        )
        if res_m is None:
            continue
        err_m = (res_m.values - gold_e.reindex(res_m.values.index)).abs()
        one = res_m.values.index.isin(list(single))
        for label, mask in (("1 rating", one), ("3 ratings", ~one)):
            mixed.setdefault(f"MAE, {label}", []).append(float(err_m[mask].mean()))
            mixed.setdefault(f"mean confidence, {label}", []).append(
                float(res_m.confidence[mask].mean())
            )
            mixed.setdefault(f"share with confidence = 1, {label}", []).append(
                float((res_m.confidence[mask] >= 1 - 1e-12).mean())
            )
        mixed.setdefault("AUROC of confidence for 'error below median'", []).append(
            auroc(res_m.confidence.to_numpy(), (err_m < err_m.median()).to_numpy())
        )
    emo["mixed overlap: 1 rating for half the items, 3 for the rest (mean of 5 draws)"] = {
        "labelmill aggregate_ratings": {k: float(np.mean(v)) for k, v in mixed.items()}
    }
    got = errors.run(
        "ratings", "timing emotion", lambda: timed(lambda: lq.aggregate_ratings(labels_e), repeat)
    )
    out["zheng_n_emotion"] = {
        "data": {
            "items": int(labels_e["task"].nunique()),
            "items_with_gold": int(gold_e.index.isin(labels_e["task"]).sum()),
            "workers": int(labels_e["worker"].nunique()),
            "labels": int(labels_e.shape[0]),
            "scale": [float(labels_e["label"].min()), float(labels_e["label"].max())],
        },
        "metric": "Pearson, Spearman and MAE against the gold score",
        "results": emo,
        "timings": {"labelmill aggregate_ratings": got[1]} if got is not None else {},
    }
    return out


def print_ratings(r: dict[str, Any]) -> None:
    s = r["squality_ratings"]
    print(f"\n## ratings: squality_ratings {s['data']}")
    for criterion, v in s["criteria"].items():
        rows = [
            [
                name,
                m["quasi_gold_human_above_model"],
                m["auroc_human_vs_model"],
                m["held_out_pearson_mean_over_raters"],
                m["held_out_spearman_mean_over_raters"],
                m["held_out_mae"],
            ]
            for name, m in v["methods"].items()
        ]
        print(f"\ncriterion {criterion}")
        print(
            table(
                [
                    "method",
                    "human > model",
                    "AUROC human",
                    "held-out Pearson",
                    "held-out Spearman",
                    "held-out MAE",
                ],
                rows,
            )
        )
        print("confidence:", {k: fmt(x) for k, x in v["confidence"].items()})
    e = r["zheng_n_emotion"]
    print(f"\n## ratings: zheng_n_emotion {e['data']}")
    for setting, methods in e["results"].items():
        if setting.startswith("mixed"):
            print(f"\n{setting}")
            print({k: fmt(v) for k, v in methods["labelmill aggregate_ratings"].items()})
            continue
        rows = [
            [
                name,
                m["pearson"],
                m["spearman"],
                m["mae"],
                m.get("mae_top_half"),
                m.get("mae_bottom_half"),
                m.get("spearman_confidence_vs_abs_error"),
            ]
            for name, m in methods.items()
        ]
        print(f"\n{setting}")
        print(
            table(
                [
                    "method",
                    "Pearson",
                    "Spearman",
                    "MAE",
                    "MAE top half",
                    "MAE bottom half",
                    "rho(conf,|err|)",
                ],
                rows,
            )
        )


# --------------------------------------------------------------------------------------------
# rankings: SQuALITY raters' ranks of 3 responses per question (per criterion), no gold


def ranking_frames(labels: pd.DataFrame, criterion: str, source: str) -> pd.DataFrame:
    """One ranking per (question, rater): the rater's own strict ranks (``source="rank"``), or
    tiers derived from their 0-100 scores, equal scores tied (``source="score"``)."""
    sub = labels[labels["criterion"] == criterion].copy()
    sub["question"] = sub["task"].str.rsplit("/", n=1).str[0]
    rows = []
    for (question, worker), grp in sub.groupby(["question", "worker"], sort=True):
        if source == "rank":
            label: list[Any] = grp.sort_values("rank")["task"].tolist()
        else:
            tiers = grp.groupby("score")["task"].apply(sorted).sort_index(ascending=False)
            label = [list(t) for t in tiers]
        rows.append((question, worker, label))
    return pd.DataFrame(rows, columns=["task", "worker", "label"])


def pair_agreement(consensus: Sequence[Any], ranking: Sequence[Any]) -> float:
    """Share of item pairs the consensus orders as ``ranking`` does (a tier of ``ranking``
    counts half): 1 - normalised Kendall tau distance with tie penalty 1/2."""
    pos = {}
    for k, entry in enumerate(ranking):
        for item in entry if isinstance(entry, list) else [entry]:
            pos[item] = k
    score, n = 0.0, 0
    for a, b in zip(*np.triu_indices(len(consensus), 1), strict=True):
        x, y = consensus[a], consensus[b]
        n += 1
        score += 1.0 if pos[x] < pos[y] else 0.5 if pos[x] == pos[y] else 0.0
    return score / n if n else 1.0


def _human_place(ranking: Sequence[Any]) -> int:
    return next(k for k, item in enumerate(ranking) if str(item).endswith("/human"))


def ranking_methods(frame: pd.DataFrame, errors: Errors, where: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    borda = errors.run("rankings", f"borda [{where}]", lambda: lq.aggregate_rankings(frame))
    if borda is not None:
        out["labelmill Borda"] = borda
    kem = errors.run(
        "rankings",
        f"kemeny [{where}]",
        lambda: lq.aggregate_rankings(frame, method="kemeny"),
    )
    if kem is not None:
        out["labelmill Kemeny"] = kem
    return out


def run_rankings(data_dir: Path, repeat: int, errors: Errors) -> dict[str, Any]:
    folder = data_dir / "ratings" / "squality_ratings"
    labels = pd.read_csv(folder / "labels.csv")
    out: dict[str, Any] = {}
    timings: dict[str, dict[str, float]] = {}
    for source in ("rank", "score"):
        for criterion in sorted(labels["criterion"].unique()):
            frame = ranking_frames(labels, criterion, source)
            key = f"{criterion}, {'raters ranks' if source == 'rank' else 'tiers from scores'}"
            full = ranking_methods(frame, errors, key)
            per: dict[str, Any] = {}
            for name, res in full.items():
                human_first = [str(r[0]).endswith("/human") for r in res.rankings]
                human_above = [
                    np.mean([k > _human_place(r) for k in range(len(r)) if k != _human_place(r)])
                    for r in res.rankings
                ]
                per[name] = {
                    "human_first": float(np.mean(human_first)),
                    "human_above_model_pairs": float(np.mean(human_above)),
                    "total_distance": float(res.distance.sum()),
                    "mean_agreement": float(res.agreement.mean()),
                }
            if len(full) == 2:
                b, k = full["labelmill Borda"].rankings, full["labelmill Kemeny"].rankings
                per["questions where Kemeny differs from Borda"] = int(
                    sum(list(x) != list(y) for x, y in zip(b, k, strict=True))
                )
            # Held-out rater: aggregate the other raters, compare with the left-out ranking.
            held: dict[str, list[tuple[float, bool, float]]] = {}
            for r in sorted(frame["worker"].unique()):
                rest = frame[frame["worker"] != r]
                left_out = frame[frame["worker"] == r].set_index("task")["label"]
                for name, res in ranking_methods(rest, errors, f"{key} without {r}").items():
                    for question, ranking in left_out.items():
                        cons = res.rankings[question]
                        agree = pair_agreement(cons, ranking)
                        held.setdefault(name, []).append(
                            (agree, agree == 1.0, float(res.confidence[question]))
                        )
            for name, rows in held.items():
                agree = np.array([x[0] for x in rows])
                exact = np.array([x[1] for x in rows])
                conf = np.array([x[2] for x in rows])
                per[name]["held_out_pair_agreement"] = float(agree.mean())
                per[name]["held_out_exact"] = float(exact.mean())
                per[name]["auroc_confidence_held_out_exact"] = auroc(conf, exact)
            out[key] = per
            got = errors.run(
                "rankings",
                f"timing {key}",
                lambda frame=frame: timed(
                    lambda: lq.aggregate_rankings(frame, method="kemeny"), repeat
                ),
            )
            if got is not None:
                timings[f"kemeny, {key}"] = got[1]
    return {
        "data": {
            "set": "ratings/squality_ratings (rank column and scores)",
            "questions": int(labels["task"].str.rsplit("/", n=1).str[0].nunique()),
            "items_per_question": 3,
            "rankings_per_question": 3,
            "raters": int(labels["worker"].nunique()),
        },
        "metric": "no gold ranking: human_first = share of questions whose consensus puts the "
        "human reference first; human_above_model_pairs = share of (human, model) pairs "
        "ordered human first; total_distance = the Kemeny objective (sum of weighted Kendall "
        "distances, tie = 1/2); held-out rater: each rater left out in turn, the other two "
        "rankings aggregated, pair agreement (1 - normalised Kendall distance, a tie in the "
        "held-out ranking counts half) and exact match with the left-out ranking; AUROC of "
        "the method's confidence for held-out exact match",
        "results": out,
        "timings": timings,
    }


def print_rankings(r: dict[str, Any]) -> None:
    print(f"\n## rankings: {r['data']}")
    header = [
        "setting",
        "method",
        "human first",
        "human > model pairs",
        "total distance",
        "held-out pair agr.",
        "held-out exact",
        "AUROC conf",
    ]
    rows = []
    for key, per in r["results"].items():
        for name, m in per.items():
            if not isinstance(m, dict):
                continue
            rows.append(
                [
                    key,
                    name,
                    m["human_first"],
                    m["human_above_model_pairs"],
                    m["total_distance"],
                    m.get("held_out_pair_agreement"),
                    m.get("held_out_exact"),
                    m.get("auroc_confidence_held_out_exact"),
                ]
            )
    print(table(header, rows))
    print(
        "questions where Kemeny differs from Borda:",
        {k: v.get("questions where Kemeny differs from Borda") for k, v in r["results"].items()},
    )
    print("timings:", {k: fmt(v["cpu_s"]) for k, v in r["timings"].items()})


# --------------------------------------------------------------------------------------------
# boxes: pedestrians, 7 MTurk workers per image, expert gold


def match_boxes(pred: Sequence[Box], gold: Sequence[Box], threshold: float = 0.5) -> list[float]:
    """IoUs of the one-to-one matches (Hungarian on IoU) whose IoU is >= ``threshold``."""
    if not pred or not gold:
        return []
    p = np.array([[float(v) for v in b[:4]] for b in pred])
    g = np.array([[float(v) for v in b[:4]] for b in gold])
    iou = lq.iou_matrix(p, g)
    rows, cols = linear_sum_assignment(-iou)
    return [float(iou[r, c]) for r, c in zip(rows, cols, strict=True) if iou[r, c] >= threshold]


def box_scores(pred: dict[str, list[Box]], gold: dict[str, list[Box]]) -> dict[str, float]:
    tp = n_pred = n_gold = 0
    ious: list[float] = []
    exact = count_right = 0
    for task, g in gold.items():
        p = pred.get(task, [])
        m = match_boxes(p, g)
        tp += len(m)
        n_pred += len(p)
        n_gold += len(g)
        ious.extend(m)
        exact += len(m) == len(p) == len(g)
        count_right += len(p) == len(g)
    return {
        **prf(tp, n_pred, n_gold),
        "mean_iou_matched": float(np.mean(ious)) if ious else float("nan"),
        "image_exact": exact / len(gold),
        "count_right": count_right / len(gold),
    }


def run_boxes(data_dir: Path, repeat: int, errors: Errors) -> dict[str, Any]:
    folder = data_dir / "boxes" / "pedestrian_boxes_crowd"
    rows = read_jsonl(folder / "labels.jsonl")
    gold = {r["task"]: r["boxes"] for r in read_jsonl(folder / "gold.jsonl")}
    by_task: dict[str, list[tuple[str, list[Box]]]] = {}
    for r in rows:
        by_task.setdefault(r["task"], []).append((r["worker"], r["boxes"]))
    gold = {t: b for t, b in gold.items() if t in by_task}
    frame = pd.DataFrame(
        {
            "task": [r["task"] for r in rows],
            "worker": [r["worker"] for r in rows],
            "label": [r["boxes"] for r in rows],
        }
    )
    methods: dict[str, dict[str, list[Box]]] = {}
    timings: dict[str, dict[str, float]] = {}
    got = errors.run(
        "boxes", "aggregate_boxes", lambda: timed(lambda: lq.aggregate_boxes(frame), repeat)
    )
    res: lq.BoxResult | None = None
    if got is not None:
        res, timings["labelmill aggregate_boxes"] = got
        methods["labelmill aggregate_boxes"] = {str(t): list(b) for t, b in res.boxes.items()}
    methods["single worker (first in file)"] = {t: v[0][1] for t, v in by_task.items()}
    methods["worker with most boxes"] = {
        t: max(v, key=lambda wb: len(wb[1]))[1] for t, v in by_task.items()
    }

    def median_worker(v: list[tuple[str, list[Box]]]) -> list[Box]:
        counts = sorted(len(b) for _, b in v)
        target = counts[(len(counts) - 1) // 2]
        return next(b for _, b in v if len(b) == target)

    methods["worker with the median box count"] = {t: median_worker(v) for t, v in by_task.items()}
    results = {name: box_scores(pred, gold) for name, pred in methods.items()}
    # aggregate_boxes visits workers in turn (greedy clustering): how much does the order
    # matter? Same data, workers shuffled within each image.
    order: dict[str, Any] = {}
    if res is not None:
        f1s, changed = [], []
        for seed in range(3):
            shuffled = frame.sample(frac=1.0, random_state=seed).sort_values("task", kind="stable")
            res_s = errors.run(
                "boxes",
                f"aggregate_boxes shuffled {seed}",
                lambda shuffled=shuffled: lq.aggregate_boxes(shuffled),
            )
            if res_s is None:
                continue
            pred_s = {str(t): list(b) for t, b in res_s.boxes.items()}
            f1s.append(box_scores(pred_s, gold)["f1"])
            base = methods["labelmill aggregate_boxes"]
            changed.append(float(np.mean([not _same_boxes(pred_s[t], base[t]) for t in gold])))
        order = {
            "f1_min": min(f1s),
            "f1_max": max(f1s),
            "share_gold_images_changed_mean": float(np.mean(changed)),
        }
    # Mixed overlap (as dynamic overlap produces): 1 worker for a random half of the images,
    # 3 for the rest. Does the confidence see that one worker is less sure than three?
    mixed: dict[str, list[float]] = {}
    for seed in range(3):
        rng = np.random.default_rng(seed)
        images = frame["task"].unique()
        single = set(rng.choice(images, size=images.size // 2, replace=False).tolist())
        shuffled = frame.sample(frac=1.0, random_state=seed)
        keep = shuffled.groupby("task").cumcount() < np.where(shuffled["task"].isin(single), 1, 3)
        res_m = errors.run(
            "boxes",
            f"aggregate_boxes mixed overlap {seed}",
            lambda data=shuffled[keep]: lq.aggregate_boxes(data),
        )
        if res_m is None:
            continue
        pred_m = {str(t): list(b) for t, b in res_m.boxes.items()}
        conf_m = res_m.confidence
        exact_m = [
            len(match_boxes(pred_m[t], gold[t])) == len(pred_m[t]) == len(gold[t]) for t in gold
        ]
        for label, group in (
            ("1 worker", [t for t in gold if t in single]),
            ("3 workers", [t for t in gold if t not in single]),
        ):
            mixed.setdefault(f"F1, {label}", []).append(
                box_scores(pred_m, {t: gold[t] for t in group})["f1"]
            )
            mixed.setdefault(f"mean confidence, {label}", []).append(
                float(conf_m.reindex(group).mean())
            )
            mixed.setdefault(f"share with confidence = 1, {label}", []).append(
                float((conf_m.reindex(group) >= 1 - 1e-12).mean())
            )
        mixed.setdefault("AUROC of confidence for 'image exact'", []).append(
            auroc(conf_m.reindex(list(gold)).to_numpy(), exact_m)
        )
    conf_out: dict[str, Any] = {}
    if res is not None:
        pred = methods["labelmill aggregate_boxes"]
        conf = res.confidence.reindex(list(gold))
        top, bottom, tied = halves(conf)
        exact = [
            len(match_boxes(pred[t], gold[t])) == len(pred[t]) == len(gold[t]) for t in conf.index
        ]
        # per consensus box: is it a true positive?
        box_conf: list[float] = []
        box_tp: list[bool] = []
        for t in gold:
            p, g = pred[t], gold[t]
            bc = res.box_confidence[t]
            if not p:
                continue
            hit = [False] * len(p)
            if g:
                iou = lq.iou_matrix(
                    np.array([[float(v) for v in b[:4]] for b in p]),
                    np.array([[float(v) for v in b[:4]] for b in g]),
                )
                r_, c_ = linear_sum_assignment(-iou)
                for i, j in zip(r_, c_, strict=True):
                    hit[i] = bool(iou[i, j] >= 0.5)
            box_conf.extend(bc)
            box_tp.extend(hit)
        conf_out["labelmill aggregate_boxes"] = {
            "auroc_image_exact": auroc(conf.to_numpy(), exact),
            "f1_top_half": box_scores(pred, {t: gold[t] for t in top})["f1"],
            "f1_bottom_half": box_scores(pred, {t: gold[t] for t in bottom})["f1"],
            "exact_top_half": box_scores(pred, {t: gold[t] for t in top})["image_exact"],
            "exact_bottom_half": box_scores(pred, {t: gold[t] for t in bottom})["image_exact"],
            "share_tied_at_cut": tied,
            "auroc_box_true_positive": auroc(box_conf, box_tp),
        }
    n_boxes = [len(b) for v in by_task.values() for _, b in v]
    return {
        "data": {
            "set": "boxes/pedestrian_boxes_crowd",
            "images": len(by_task),
            "images_with_gold": len(gold),
            "gold_boxes": int(sum(len(b) for b in gold.values())),
            "gold_images_empty": int(sum(1 for b in gold.values() if not b)),
            "worker_labels": len(rows),
            "crowd_boxes": int(sum(n_boxes)),
            "workers": len({r["worker"] for r in rows}),
        },
        "metric": "one-to-one matching per image (Hungarian on IoU), a match counts at IoU >= "
        "0.5; micro P/R/F1 over the gold images; mean IoU of the matched pairs; image exact = "
        "every gold box matched and no extra box; count right = as many boxes as gold",
        "methods": results,
        "worker_order_sensitivity": order,
        "mixed_overlap_1_or_3_workers": {k: float(np.mean(v)) for k, v in mixed.items()},
        "confidence": conf_out,
        "timings": timings,
    }


def _same_boxes(a: Sequence[Box], b: Sequence[Box]) -> bool:
    ca, cb = _coords(a), _coords(b)
    return ca.shape == cb.shape and bool(np.allclose(ca, cb))


def _coords(boxes: Sequence[Box]) -> np.ndarray:
    """Box coordinates sorted row-wise (to compare two answers regardless of box order)."""
    arr = np.array([[float(v) for v in b[:4]] for b in boxes]).reshape(-1, 4)
    return arr[np.lexsort(arr.T[::-1])] if len(arr) else arr


def print_boxes(r: dict[str, Any]) -> None:
    d = r["data"]
    print(
        f"\n## boxes: {d['set']} ({d['images_with_gold']} gold images of {d['images']}, "
        f"{d['gold_boxes']} gold boxes, {d['crowd_boxes']} crowd boxes, {d['workers']} workers)"
    )
    rows = [
        [
            name,
            m["precision"],
            m["recall"],
            m["f1"],
            m["mean_iou_matched"],
            m["image_exact"],
            m["count_right"],
            r["timings"].get(name, {}).get("cpu_s"),
        ]
        for name, m in r["methods"].items()
    ]
    print(
        table(["method", "P", "R", "F1", "mean IoU", "image exact", "count right", "CPU s"], rows)
    )
    print_confidence(
        r["confidence"],
        ["auroc_image_exact", "f1_top_half", "f1_bottom_half", "auroc_box_true_positive"],
    )
    print(
        "mixed overlap, 1 or 3 workers per image (mean of 3 draws):",
        {k: fmt(v) for k, v in r["mixed_overlap_1_or_3_workers"].items()},
    )
    print(
        "worker order sensitivity (3 shuffles):",
        {k: fmt(v) for k, v in r["worker_order_sensitivity"].items()},
    )


# --------------------------------------------------------------------------------------------
# main


def machine() -> dict[str, Any]:
    try:  # bench/_setup.py imports httpx; fall back where it is not installed
        from _setup import git_rev, machine_info

        info: dict[str, Any] = machine_info()
        info["git"] = git_rev()
    except ImportError:
        info = {"nproc": os.cpu_count(), "python": platform.python_version()}
        info["git"] = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=False,
            cwd=REPO,
        ).stdout.strip()
    info.update(
        {
            "platform": f"{platform.system()} {platform.release()}",
            "numpy": np.__version__,
            "pandas": pd.__version__,
            "scipy": scipy.__version__,
            "crowd-kit": crowdkit_version(),
        }
    )
    return info


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--kind", choices=[*KINDS, "all"], default="all")
    parser.add_argument(
        "--repeat", type=int, default=1, help="timed runs per labelmill call (median)"
    )
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the shared data folder")
    parser.add_argument("--out", type=Path, default=None, help="JSON path (default: bench/results)")
    args = parser.parse_args()
    kinds = list(KINDS) if args.kind == "all" else [args.kind]
    errors = Errors()
    started = dt.datetime.now(dt.UTC)
    report: dict[str, Any] = {
        "benchmark": "quality_kinds",
        "command": "python bench/quality_kinds.py " + " ".join(sys.argv[1:]),
        "started": started.isoformat(timespec="seconds"),
        "data": str(args.data),
        "machine": machine(),
        "repeat": args.repeat,
        "kinds": {},
    }
    runners: dict[
        str, tuple[Callable[[Path, int, Errors], dict[str, Any]], Callable[[dict[str, Any]], None]]
    ] = {
        "spans": (run_spans, print_spans),
        "pairwise": (run_pairwise, print_pairwise),
        "ratings": (run_ratings, print_ratings),
        "rankings": (run_rankings, print_rankings),
        "boxes": (run_boxes, print_boxes),
    }
    with warnings.catch_warnings():
        warnings.simplefilter("default")
        for kind in kinds:
            run, show = runners[kind]
            c0, w0 = time.process_time(), time.perf_counter()
            result = errors.run(
                kind, "benchmark", lambda run=run: run(args.data, args.repeat, errors)
            )
            if result is None:
                continue
            result["section_cpu_s"] = time.process_time() - c0
            result["section_wall_s"] = time.perf_counter() - w0
            report["kinds"][kind] = result
            show(result)
    report["errors"] = errors.items
    report["finished"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    if errors.items:
        print("\nerrors:", json.dumps(errors.items, indent=1))
    out = args.out or RESULTS / f"quality_kinds-{started:%Y%m%dT%H%M%S}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(jsonable(report), indent=1) + "\n")
    print(f"\nwrote {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
