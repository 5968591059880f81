"""Average saved DiT weights: a post-hoc, longer EMA over a run's snapshots.

    python scripts/average.py runs/avg --base weights/dit-emoji-64 runs/latent-p8/snap-62 runs/latent-p8/snap-105 ...

Why: a warm-started phase restarts the EMA's warm-up (decay = 1 - (step+1)^(-2/3)), so after
the ~1,500 steps of a CPU phase the exported EMA averages only its last ~130 steps. The
uniform mean of the snapshots taken every 15 minutes averages over the whole stretch they
cover (Karras et al. 2024 read such post-hoc averages off saved snapshots the same way).
Writes a whole pipeline folder: --base's scheduler and autoencoder around the mean
transformer, in fp16 like training's export, so sweep.py and evaluate read it unchanged.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as `python scripts/...` from anywhere

import argparse

import torch

from pipelines import DiTText2ImagePipeline, DiTTransformer


def mean_transformer(folders: list[Path]) -> DiTTransformer:
    """The uniform mean of several saved DiTTransformer folders of one config."""
    models = [DiTTransformer.from_pretrained(f, use_safetensors=True).float() for f in folders]
    configs = {repr({k: v for k, v in m.config.items() if not k.startswith("_")}) for m in models}  # not _name_or_path
    if len(configs) != 1:
        raise SystemExit("the snapshots differ in config: only weights of one model shape can be averaged")
    out = models[0]
    states = [m.state_dict() for m in models]
    out.load_state_dict({k: torch.stack([s[k].float() for s in states]).mean(0) for k in states[0]})
    return out


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("output", type=Path)
    p.add_argument("snapshots", type=Path, nargs="+", help="DiTTransformer folders (a pipeline's transformer/ or a run's snap-*)")
    p.add_argument("--base", type=Path, required=True, help="the pipeline whose scheduler and autoencoder go around the mean")
    args = p.parse_args()
    pipe = DiTText2ImagePipeline.from_pretrained(args.base, use_safetensors=True)
    pipe.transformer = mean_transformer(args.snapshots).to(torch.float16)
    pipe.save_pretrained(args.output)
    print(f"{args.output}: mean of {len(args.snapshots)} snapshots")


if __name__ == "__main__":
    main()
