"""Choose sampling settings by the judge, on the tuning caption set only (never the gate's).

    python scripts/sweep.py weights/dit-emoji [--guidance 3 5 7] [--intervals none 0.1,0.9 0.2,0.8 ...]

Coordinate search: guidance scale (UniPC, 20 steps), then a guidance interval (guide only at
low <= sigma <= high; Kynkäänniemi et al. 2024), then the sampler, then the number of steps,
then the timestep shift (`--shifts`, schedulers.SAMPLERS; 1 = the plain grid).
Each stage keeps the best of the last by name top-5 + paraphrase top-5 on `--set tune`; one
JSON line per setting. The gate set (`python -m training.evaluate`) only reports the result.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as `python scripts/...` from anywhere

import argparse
import json

from pipelines import DiTText2ImagePipeline
from pipelines.hardware import set_threads
from training.data import EmojiDataset
from training.evaluate import evaluate

SETTINGS = ("sampler", "guidance", "interval", "steps", "shift")  # what a sweep row records and varies


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("weights", type=Path)
    p.add_argument("--guidance", type=float, nargs="+", default=[3.0, 5.0, 7.0])
    p.add_argument("--intervals", nargs="+", default=["none", "0.1,0.9", "0.2,0.8", "0.3,0.9"])
    p.add_argument("--samplers", nargs="+", default=["unipc", "dpm++2m", "heun", "euler"])
    p.add_argument("--steps", type=int, nargs="+", default=[20, 12, 30])
    p.add_argument("--shifts", type=float, nargs="+", default=[1.0])
    p.add_argument("--images-per-caption", type=int, default=2)
    args = p.parse_args()
    set_threads()
    pipe = DiTText2ImagePipeline.from_pretrained(args.weights, use_safetensors=True)
    pipe.set_progress_bar_config(disable=True)
    ds = EmojiDataset.load()
    best = {"sampler": args.samplers[0], "guidance": args.guidance[0], "interval": None, "steps": args.steps[0], "shift": args.shifts[0],
            "score": -1.0}

    done: dict[tuple, dict] = {}  # each stage re-measures the previous winner: measure it once

    def measure(**change) -> dict:
        s = {**best, **change}
        key = tuple(s[k] for k in SETTINGS)
        if key in done:
            return done[key]
        pipe.set_sampler(s["sampler"], s["shift"])
        m, _, _ = evaluate(pipe, ds, images_per_caption=args.images_per_caption, steps=s["steps"], guidance=s["guidance"],
                           which="tune", guidance_interval=s["interval"])
        row = {k: s[k] for k in SETTINGS} | {"images_per_caption": args.images_per_caption,
            "name_top5": m["generated_top5"], "paraphrase_top5": m["paraphrase_top5"], "score": m["generated_top5"] + m["paraphrase_top5"]}
        print(json.dumps(row), flush=True)
        done[key] = row
        return row

    def stage(key: str, values) -> None:
        rows = [measure(**{key: v}) for v in values]
        winner = max(rows, key=lambda r: r["score"])
        best.update({k: winner[k] for k in (*SETTINGS, "score")})

    stage("guidance", args.guidance)
    stage("interval", [None if v == "none" else tuple(float(x) for x in v.split(",")) for v in args.intervals])
    stage("sampler", args.samplers)
    stage("steps", args.steps)
    stage("shift", args.shifts)
    print(json.dumps({"best": best}))


if __name__ == "__main__":
    main()
