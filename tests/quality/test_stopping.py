from __future__ import annotations

import numpy as np
import pytest

from labelmill.quality import fixed_overlap_target, posterior_one_coin, should_stop


def test_posterior_hand_computed_binary() -> None:
    # P(a) ~ .9 * .8 * .4 = .288, P(b) ~ .1 * .2 * .6 = .012  ->  .96 / .04
    post = posterior_one_coin(["a", "a", "b"], [1, 2, 3], {1: 0.9, 2: 0.8, 3: 0.6}, n_classes=2)
    assert post == pytest.approx({"a": 0.96, "b": 0.04})


def test_unseen_classes_keep_their_share() -> None:
    # One answer by a 0.7 worker among 4 classes: 0.7 for it, 0.1 for each of the 3 others.
    post = posterior_one_coin(["a"], ["w"], {"w": 0.7}, n_classes=4)
    assert post == pytest.approx({"a": 0.7})


def test_unknown_worker_gets_the_default_skill() -> None:
    post = posterior_one_coin(
        ["a", "b"], ["known", "new"], {"known": 0.9}, n_classes=2, default_skill=0.6
    )
    # .9 * .4 vs .1 * .6
    assert post["a"] == pytest.approx(0.36 / 0.42)


def test_priors() -> None:
    post = posterior_one_coin(["a"], ["w"], {"w": 0.6}, priors={"a": 0.2, "b": 0.8})
    # .2 * .6 vs .8 * .4
    assert post == pytest.approx({"a": 0.12 / 0.44, "b": 0.32 / 0.44})


def test_should_stop_rules() -> None:
    skills = {"w1": 0.9, "w2": 0.9, "w3": 0.9}
    one = should_stop(["a"], ["w1"], skills, target=0.95, n_classes=2)
    assert (one.answer, one.done) == ("a", False)
    assert one.confidence == pytest.approx(0.9)
    two = should_stop(["a", "a"], ["w1", "w2"], skills, target=0.95, n_classes=2)
    assert two.done and two.confidence == pytest.approx(0.81 / 0.82)
    split = should_stop(["a", "b"], ["w1", "w2"], skills, target=0.95, n_classes=2)
    assert not split.done
    capped = should_stop(["a", "b"], ["w1", "w2"], skills, target=0.95, max_labels=2)
    assert capped.done
    early = should_stop(["a", "a"], ["w1", "w2"], skills, target=0.5, min_labels=3)
    assert not early.done


def test_should_stop_without_answers() -> None:
    decision = should_stop([], [], {})
    assert decision.answer is None and not decision.done and decision.confidence == 0.0


def test_a_perfect_worker_cannot_decide_alone() -> None:
    post = posterior_one_coin(["a", "b", "b"], [1, 2, 3], {1: 1.0, 2: 0.9, 3: 0.9}, n_classes=2)
    assert post["a"] < 1.0


def test_mismatched_lengths() -> None:
    with pytest.raises(ValueError):
        should_stop(["a"], [], {})


def test_shrunk_skill_starts_at_the_prior_and_moves_with_evidence() -> None:
    from labelmill.quality import DEFAULT_SKILL, SKILL_PRIOR_STRENGTH, shrunk_skill

    assert shrunk_skill(0, 0) == DEFAULT_SKILL
    # (x + prior * m) / (n + m) by hand: (3 + 0.7 * 4) / (3 + 4)
    assert abs(shrunk_skill(3, 3) - 5.8 / 7) < 1e-12
    assert abs(shrunk_skill(0, 3) - 2.8 / 7) < 1e-12
    many = shrunk_skill(900, 1000)
    assert abs(many - 0.9) < 0.001 and SKILL_PRIOR_STRENGTH == 4.0
    with pytest.raises(ValueError):
        shrunk_skill(4, 3)


def test_the_stopping_rule_loads_without_pandas_or_scipy() -> None:
    """The server imports it on every completed task; the rest of the library is lazy."""
    import subprocess
    import sys

    code = (
        "import sys; from labelmill.quality.stopping import should_stop; "
        "import labelmill.quality as q; q.shrunk_skill; "
        "print(sorted(m for m in ('pandas', 'scipy') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_fixed_overlap_target_hand_computed() -> None:
    # One label from a worker of skill s: the posterior on the truth is s when the answer is
    # right (probability s) and 1 - s when it is wrong, so the target is s^2 + (1 - s)^2.
    target = fixed_overlap_target([0.8], k=1, n_classes=2)
    assert target == pytest.approx(0.8**2 + 0.2**2, abs=0.01)
    # ... which is below the model's accuracy of that answer (0.8): it scores certainty too.
    assert target < 0.8


def test_fixed_overlap_target_grows_with_overlap_and_skill() -> None:
    crowd = [0.6, 0.7, 0.8, 0.9]
    by_k = [fixed_overlap_target(crowd, k=k) for k in (1, 3, 5, 9)]
    assert by_k == sorted(by_k) and by_k[0] < by_k[-1]
    assert fixed_overlap_target([0.95] * 3, k=5) > fixed_overlap_target([0.75] * 3, k=5)
    # Chance-level workers teach nothing: the posterior stays near uniform (1/K on the truth).
    assert fixed_overlap_target([0.25], k=5, n_classes=4) == pytest.approx(0.25, abs=0.01)


def test_fixed_overlap_target_weights_and_determinism() -> None:
    # A worker with no answers does not count; the result is reproducible for a given crowd.
    weighted = fixed_overlap_target([0.9, 0.55], weights=[1.0, 0.0])
    assert weighted == pytest.approx(fixed_overlap_target([0.9]), abs=1e-12)
    assert fixed_overlap_target([0.7, 0.8]) == fixed_overlap_target([0.7, 0.8])
    # No known workers: the default skill stands in.
    assert fixed_overlap_target([], default_skill=0.8) == fixed_overlap_target([0.8])


def test_fixed_overlap_target_rejects_bad_input() -> None:
    with pytest.raises(ValueError):
        fixed_overlap_target([0.8], k=0)
    with pytest.raises(ValueError):
        fixed_overlap_target([0.8, 0.9], weights=[1.0])
    with pytest.raises(ValueError):
        fixed_overlap_target([0.8], weights=[0.0])


def test_matching_fixed_overlap_on_a_simulated_crowd() -> None:
    # A crowd that follows the one-coin model, skills known: stopping at the target that
    # matches fixed overlap 5 must be at least as accurate as 5 labels, with fewer labels.
    rng = np.random.default_rng(3)
    skills = {w: float(s) for w, s in enumerate(rng.uniform(0.6, 0.9, 100))}
    target = fixed_overlap_target(list(skills.values()), k=5, n_classes=2)
    used = right_dynamic = right_fixed = 0
    n_tasks, budget = 1500, 15
    for _ in range(n_tasks):
        workers = rng.choice(len(skills), budget, replace=False).tolist()
        labels = ["t" if rng.random() < skills[w] else "f" for w in workers]  # the truth is "t"
        for i in range(1, budget + 1):
            decision = should_stop(labels[:i], workers[:i], skills, target=target, n_classes=2)
            if decision.done or i == budget:
                used += i
                right_dynamic += decision.answer == "t"
                break
        fixed = posterior_one_coin(labels[:5], workers[:5], skills, n_classes=2)
        right_fixed += max(fixed, key=lambda c: fixed[c]) == "t"
    assert right_dynamic >= right_fixed
    assert used / n_tasks < 4.0
