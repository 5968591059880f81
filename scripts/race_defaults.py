"""Measure where the sampler race converges: each solver's order at several guidance scales.

    python scripts/race_defaults.py --out benchmarks/race_defaults.jsonl

At high guidance the probability-flow ODE can pass near the boundary between two images: a
100-step reference and the 4..32-step solves then land on different images, every solver's
error stays flat and its measured order is near 0. This script runs the race on tuning
prompts (not the ones the tests use) at each guidance and prints the orders, so the view's
default guidance is a measured choice (lab/race.py names the result).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as `python scripts/...` from anywhere


from lab.race import run_race  # noqa: E402

TUNING_PROMPTS = ("grinning face", "red apple", "dog face", "sun", "house", "blue car")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--guidance", type=float, nargs="+", default=[1.0, 1.5, 2.0, 3.0, 5.0])
    p.add_argument("--seeds", type=int, nargs="+", default=[0])
    p.add_argument("--out", default=None, help="append one JSON line per race here")
    args = p.parse_args()
    for g in args.guidance:
        for prompt in TUNING_PROMPTS:
            for seed in args.seeds:
                t = time.time()
                result = run_race(prompt, seed, 8, g)
                row = {"prompt": prompt, "seed": seed, "guidance": g, "orders": result.orders,
                       "rmse_at_32": result.finest_rmse, "split": result.split, "seconds": round(time.time() - t, 1)}
                print(json.dumps(row), flush=True)
                if args.out:
                    with open(args.out, "a") as f:
                        f.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
