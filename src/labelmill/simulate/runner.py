"""Running simulated annotators concurrently against a server, over real HTTP.

Each annotator is a thread with its own SDK client (its own keep-alive connection) looping
next-task → submit. The run ends when the time or annotation budget is spent, or when no
annotator can get a task and none is holding one.

Why annotators do not quit at their first empty answer: under dynamic overlap a task's label
target can grow when someone else submits, so "nothing for me now" is not "nothing left". An
idle annotator therefore waits until another submission happens (then asks again) or until
every annotator is idle with no submission since, which is the one state in which no new
work can appear (leases expire only when their holder vanished, and simulated ones never do).
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from labelmill.client import Client, ConflictError
from labelmill.simulate.annotator import SimulatedAnnotator
from labelmill.simulate.scoring import is_right

StopReason = Literal["done", "time", "count", "error", "stopped"]


@dataclass(frozen=True, slots=True)
class SimulationConfig:
    """``worker_keys[i]`` answers with accuracy ``accuracies[i]``; ``truth`` maps task ids to
    the true category (tasks missing from it get uniform guesses)."""

    base_url: str
    project_id: int
    worker_keys: Sequence[str]
    accuracies: Sequence[float]
    truth: Mapping[int, Any] = field(default_factory=dict)
    max_seconds: float | None = None
    max_annotations: int | None = None
    seed: int = 0
    duration_ms: tuple[int, int] = (1_500, 9_000)
    """Range of the work time each submission reports (the simulator does not wait)."""

    def __post_init__(self) -> None:
        if len(self.worker_keys) != len(self.accuracies):
            raise ValueError("one accuracy per worker key is needed")
        if self.max_seconds is not None and self.max_seconds <= 0:
            raise ValueError("max_seconds must be positive")
        if self.max_annotations is not None and self.max_annotations < 0:
            raise ValueError("max_annotations must be >= 0")


@dataclass(slots=True)
class WorkerStats:
    index: int
    accuracy: float
    submitted: int = 0
    judged: int = 0
    """Submissions whose truth the simulator knew."""
    correct: int = 0
    """Of those, the ones that gave the true answer."""
    rejected: int = 0
    """Submissions the server refused with 409 (e.g. the task was finished meanwhile)."""

    @property
    def observed_accuracy(self) -> float | None:
        return self.correct / self.judged if self.judged else None


@dataclass(frozen=True, slots=True)
class SimulationResult:
    workers: list[WorkerStats]
    elapsed_s: float
    stop_reason: StopReason

    @property
    def submitted(self) -> int:
        return sum(w.submitted for w in self.workers)

    @property
    def rejected(self) -> int:
        return sum(w.rejected for w in self.workers)

    @property
    def observed_accuracy(self) -> float | None:
        judged = sum(w.judged for w in self.workers)
        return sum(w.correct for w in self.workers) / judged if judged else None

    @property
    def annotations_per_second(self) -> float:
        return self.submitted / self.elapsed_s if self.elapsed_s > 0 else 0.0


class Simulation:
    """A run of simulated annotators: ``start()``, then ``wait()`` and ``result()``.

    ``on_submit`` is called (from annotator threads) after each accepted submission with the
    task id.
    """

    def __init__(
        self, config: SimulationConfig, *, on_submit: Callable[[int], None] | None = None
    ) -> None:
        self.config = config
        self._on_submit = on_submit
        self._cond = threading.Condition()
        self._busy = len(config.worker_keys)  # annotators not waiting idle
        self._generation = 0  # bumped by every submission
        self._reserved = 0  # annotation budget taken (leases in hand + submitted)
        self._stop_reason: StopReason | None = None
        self._error: BaseException | None = None
        self._deadline: float | None = None
        self._started: float | None = None
        self._ended: float | None = None
        self._threads: list[threading.Thread] = []
        self.stats = [WorkerStats(index=i, accuracy=a) for i, a in enumerate(config.accuracies)]

    # -- control ---------------------------------------------------------------------------

    def start(self) -> None:
        if self._threads:
            raise RuntimeError("the simulation has already started")
        self._started = time.monotonic()
        if self.config.max_seconds is not None:
            self._deadline = self._started + self.config.max_seconds
        seeds = random.Random(self.config.seed)
        for index, api_key in enumerate(self.config.worker_keys):
            annotator = SimulatedAnnotator(
                self.config.accuracies[index], seed=seeds.getrandbits(64)
            )
            thread = threading.Thread(
                target=self._work,
                args=(index, api_key, annotator),
                name=f"simulated-annotator-{index}",
                daemon=True,
            )
            self._threads.append(thread)
        if not self._threads:
            self._finish("done")
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        """Ask every annotator to stop after its current call."""
        self._finish("stopped")

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the annotators to finish; ``True`` when they have."""
        limit = None if timeout is None else time.monotonic() + timeout
        for thread in self._threads:
            thread.join(None if limit is None else max(0.0, limit - time.monotonic()))
            if thread.is_alive():
                return False
        return True

    @property
    def submitted(self) -> int:
        return sum(w.submitted for w in self.stats)

    def result(self) -> SimulationResult:
        """The outcome, once ``wait()`` returned ``True``; re-raises an annotator's error."""
        if any(thread.is_alive() for thread in self._threads):
            raise RuntimeError("the simulation is still running")
        if self._error is not None:
            raise self._error
        assert self._started is not None, "the simulation was not started"
        ended = self._ended if self._ended is not None else time.monotonic()
        return SimulationResult(
            workers=list(self.stats),
            elapsed_s=ended - self._started,
            stop_reason=self._stop_reason or "done",
        )

    # -- coordination (all under self._cond) -----------------------------------------------

    def _finish(self, reason: StopReason) -> None:
        with self._cond:
            if self._stop_reason is None:
                self._stop_reason = reason
                self._ended = time.monotonic()
            self._cond.notify_all()

    def _remaining(self) -> float | None:
        return None if self._deadline is None else self._deadline - time.monotonic()

    def _begin(self) -> int | None:
        """Take one unit of budget before asking for a task; ``None``: stop working."""
        with self._cond:
            if self._stop_reason is not None:
                return None
            remaining = self._remaining()
            if remaining is not None and remaining <= 0:
                self._stop_reason, self._ended = "time", time.monotonic()
                self._cond.notify_all()
                return None
            limit = self.config.max_annotations
            if limit is not None and self._reserved >= limit:
                if self.submitted >= limit:
                    self._stop_reason, self._ended = "count", time.monotonic()
                    self._cond.notify_all()
                    return None
                # Others hold the rest of the budget; stop now, they finish their leases.
                return None
            self._reserved += 1
            return self._generation

    def _submitted(self, accepted: bool) -> None:
        with self._cond:
            if not accepted:
                self._reserved -= 1
            self._generation += 1
            limit = self.config.max_annotations
            if limit is not None and self.submitted >= limit and self._stop_reason is None:
                self._stop_reason, self._ended = "count", time.monotonic()
            self._cond.notify_all()

    def _idle(self, generation: int) -> bool:
        """Nothing was leased; ``True``: ask again, ``False``: stop working."""
        with self._cond:
            self._reserved -= 1
            self._busy -= 1
            try:
                while True:
                    if self._stop_reason is not None:
                        return False
                    if self._generation != generation:
                        return True
                    if self._busy == 0:
                        # Everyone is idle and nothing was submitted since this annotator
                        # asked: no task can become available any more.
                        if self._stop_reason is None:
                            self._stop_reason, self._ended = "done", time.monotonic()
                        self._cond.notify_all()
                        return False
                    remaining = self._remaining()
                    if remaining is not None and remaining <= 0:
                        self._stop_reason, self._ended = "time", time.monotonic()
                        self._cond.notify_all()
                        return False
                    self._cond.wait(remaining)
            finally:
                self._busy += 1

    # -- one annotator ---------------------------------------------------------------------

    def _work(self, index: int, api_key: str, annotator: SimulatedAnnotator) -> None:
        stats = self.stats[index]
        low, high = self.config.duration_ms
        rng = random.Random(index)
        try:
            with Client(self.config.base_url, api_key) as client:
                while (generation := self._begin()) is not None:
                    leased = client.next_task(self.config.project_id)
                    if leased is None:
                        if not self._idle(generation):
                            break
                        continue
                    truth = self.config.truth.get(leased.task_id)
                    response = annotator.answer(leased, truth)
                    try:
                        client.submit(
                            leased.assignment_id, response, duration_ms=rng.randint(low, high)
                        )
                    except ConflictError:
                        stats.rejected += 1
                        self._submitted(accepted=False)
                        continue
                    stats.submitted += 1
                    if truth is not None:
                        stats.judged += 1
                        stats.correct += is_right(leased.task_type, response, truth)
                    self._submitted(accepted=True)
                    if self._on_submit is not None:
                        self._on_submit(leased.task_id)
        except Exception as exc:  # any failure ends the whole run, reported by result()
            with self._cond:
                if self._error is None:
                    self._error = exc
            self._finish("error")
        finally:
            with self._cond:
                self._busy -= 1
                self._cond.notify_all()


def run_simulation(
    config: SimulationConfig, *, on_submit: Callable[[int], None] | None = None
) -> SimulationResult:
    """Run the annotators to the end and return what they did."""
    simulation = Simulation(config, on_submit=on_submit)
    simulation.start()
    simulation.wait()
    return simulation.result()
