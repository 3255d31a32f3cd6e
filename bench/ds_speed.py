"""DawidSkene speed only: the synthetic part of ``bench/quality.py``, on its own.

Same data, same timing rule (CPU seconds of this process, labelmill median of ``--runs`` runs,
crowd-kit one run, both in this process, DataFrame encoding included):

    python bench/ds_speed.py                      # 1M and 10M, with crowd-kit
    python bench/ds_speed.py --sizes 1000000 --no-crowdkit
"""

from __future__ import annotations

import argparse
import gc
import sys
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import labelmill.quality as lq
from quality import _peak_memory, median_time, synthetic, timed  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-crowdkit", action="store_true")
    parser.add_argument("--memory", action="store_true", help="also measure peak allocation")
    args = parser.parse_args()
    for n_labels in args.sizes:
        data, truth = synthetic(n_labels // 5)
        model = lq.DawidSkene()
        pred = model.fit_predict(data)
        lm_acc = float((pred.sort_index().to_numpy() == truth).mean())
        lm_cpu, lm_wall = median_time(
            lambda data=data: lq.DawidSkene().fit_predict(data), args.runs
        )
        line = (
            f"{n_labels:,} labels: labelmill DS CPU {lm_cpu:.3f}s (wall {lm_wall:.3f}s), "
            f"{model.n_iter_} iterations, accuracy {lm_acc:.4f}"
        )
        if args.memory:
            peak = _peak_memory(lambda data=data: lq.DawidSkene().fit_predict(data))
            line += f", peak {peak:.2f} GiB"
        if not args.no_crowdkit:
            from crowdkit.aggregation import DawidSkene as CkDawidSkene

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ck_pred, ck_cpu, ck_wall = timed(lambda data=data: CkDawidSkene().fit_predict(data))
            ck_acc = float((ck_pred.sort_index().to_numpy() == truth).mean())
            line += (
                f"; crowd-kit CPU {ck_cpu:.2f}s (wall {ck_wall:.2f}s), accuracy {ck_acc:.4f}; "
                f"speed-up CPU {ck_cpu / lm_cpu:.1f}x (wall {ck_wall / lm_wall:.1f}x)"
            )
        print(line, flush=True)
        del data
        gc.collect()


if __name__ == "__main__":
    main()
