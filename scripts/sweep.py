"""Pick the default sampler and guidance scale by the judge: prompt top-5 for each setting.

    python scripts/sweep.py weights/dit-emoji [--guidance 2 3 4 5] [--samplers euler heun dpm++2m unipc]
"""

import argparse
import json
from pathlib import Path

from pipelines import DiTText2ImagePipeline
from pipelines.data import EmojiDataset
from pipelines.evaluate import evaluate
from pipelines.hardware import set_threads


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("weights", type=Path)
    p.add_argument("--guidance", type=float, nargs="+", default=[2.0, 3.0, 4.0, 5.0])
    p.add_argument("--samplers", nargs="+", default=["euler", "heun", "dpm++2m", "unipc"])
    p.add_argument("--steps", type=int, default=20)
    args = p.parse_args()
    set_threads()
    pipe = DiTText2ImagePipeline.from_pretrained(args.weights, use_safetensors=True)
    pipe.set_progress_bar_config(disable=True)
    ds = EmojiDataset.load()
    rows = []
    for sampler in args.samplers:
        pipe.set_sampler(sampler)
        for g in args.guidance if sampler == args.samplers[0] else [None]:
            g = g if g is not None else best_g
            m, _, _ = evaluate(pipe, ds, images_per_caption=1, steps=args.steps, guidance=g)
            rows.append({"sampler": sampler, "guidance": g, "top1": m["generated_top1"], "top5": m["generated_top5"], "fd": m["judge_fd_generated_vs_real"]})
            print(json.dumps(rows[-1]), flush=True)
        if sampler == args.samplers[0]:
            best_g = max(rows, key=lambda r: (r["top5"], r["top1"]))["guidance"]


if __name__ == "__main__":
    main()
