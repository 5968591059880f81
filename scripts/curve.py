"""Judge accuracy over training time: evaluate saved EMA snapshots of a run.

    python scripts/curve.py runs/v2/snap-* [--set gate] > curve.jsonl
    python scripts/curve.py runs/latent/snap-* --vae weights/dit-emoji-64/vae --set tune   # a latent run

Each argument is a saved DiTTransformer folder whose name ends in the training minutes
(snap-<minutes>); one JSON line each: minutes, name and paraphrase top-5 and their ceilings.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as `python scripts/...` from anywhere

import argparse
import json
import re

from diffusers import AutoencoderKL

from pipelines import DEFAULT_GUIDANCE, DEFAULT_SAMPLER, DiTText2ImagePipeline, DiTTransformer, make_scheduler
from pipelines.hardware import set_threads
from training.data import EmojiDataset
from training.evaluate import evaluate


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("snapshots", type=Path, nargs="+")
    p.add_argument("--set", dest="which", default="gate", choices=["gate", "tune"])
    p.add_argument("--guidance", type=float, default=DEFAULT_GUIDANCE, help="the same for every snapshot")
    p.add_argument("--vae", type=Path, default=None, help="the autoencoder of a latent run's snapshots")
    args = p.parse_args()
    set_threads()
    ds = EmojiDataset.load()
    for snap in sorted(args.snapshots, key=lambda s: int(re.findall(r"\d+", s.name)[-1])):
        vae = AutoencoderKL.from_pretrained(args.vae).eval() if args.vae else None
        pipe = DiTText2ImagePipeline(DiTTransformer.from_pretrained(snap).eval(), make_scheduler(DEFAULT_SAMPLER), vae=vae)
        pipe.set_progress_bar_config(disable=True)
        m, _, _ = evaluate(pipe, ds, which=args.which, guidance=args.guidance)
        keys = ("generated_top5", "real_top5", "top5_vs_ceiling", "paraphrase_top5", "paraphrase_real_top5", "paraphrase_top5_vs_ceiling")
        print(json.dumps({"minutes": int(re.findall(r"\d+", snap.name)[-1]), **{k: m[k] for k in keys}}), flush=True)


if __name__ == "__main__":
    main()
