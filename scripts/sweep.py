"""Pick the default sampler and guidance scale by the judge's prompt accuracy.

    python scripts/sweep.py weights/dit-emoji [--guidance 3 4 5 6 7] [--samplers unipc euler heun dpm++2m]

First every guidance scale with the first sampler, then every sampler at the best scale;
one JSON line per setting (the 64 fixed captions, 2 images each, 20 steps).
"""

import argparse
import json
from pathlib import Path

from pipelines import DiTText2ImagePipeline
from training.data import EmojiDataset
from training.evaluate import evaluate
from pipelines.hardware import set_threads


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("weights", type=Path)
    p.add_argument("--guidance", type=float, nargs="+", default=[3.0, 4.0, 5.0, 6.0, 7.0])
    p.add_argument("--samplers", nargs="+", default=["unipc", "euler", "heun", "dpm++2m"])
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--images-per-caption", type=int, default=2)
    args = p.parse_args()
    set_threads()
    pipe = DiTText2ImagePipeline.from_pretrained(args.weights, use_safetensors=True)
    pipe.set_progress_bar_config(disable=True)
    ds = EmojiDataset.load()

    def measure(sampler: str, g: float) -> dict:
        pipe.set_sampler(sampler)
        m, _, _ = evaluate(pipe, ds, images_per_caption=args.images_per_caption, steps=args.steps, guidance=g)
        row = {"sampler": sampler, "guidance": g, "top1": m["generated_top1"], "top5": m["generated_top5"], "fd": m["judge_fd_generated_vs_real"]}
        print(json.dumps(row), flush=True)
        return row

    first = [measure(args.samplers[0], g) for g in args.guidance]
    best_g = max(first, key=lambda r: (r["top5"], r["top1"]))["guidance"]
    for sampler in args.samplers[1:]:
        measure(sampler, best_g)


if __name__ == "__main__":
    main()
