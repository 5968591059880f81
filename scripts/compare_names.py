"""Two models, emoji by emoji: name top-5 hits on the tuning set, each model sampled as its gate was
(its folder's scheduler, the guidance of its evaluation/gate.json), the same seeds for both.

    python scripts/compare_names.py weights/dit-emoji-64 weights/dit-emoji --images-per-caption 8

Shows where two models' name scores come from: a few emoji that both miss, or many small differences.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as `python scripts/...` from anywhere

import argparse
import json

from pipelines import DiTText2ImagePipeline
from pipelines.hardware import set_threads
from training.data import EmojiDataset
from training.evaluate import name_hits


def hits_of(folder: Path, dataset: EmojiDataset, images_per_caption: int) -> dict[str, int]:
    pipe = DiTText2ImagePipeline.from_pretrained(folder, use_safetensors=True)
    pipe.set_progress_bar_config(disable=True)
    guidance = json.loads((folder / "evaluation" / "gate.json").read_text())["guidance_scale"]
    return name_hits(pipe, dataset, images_per_caption, guidance)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("a", type=Path)
    p.add_argument("b", type=Path)
    p.add_argument("--images-per-caption", type=int, default=8)
    p.add_argument("--json", type=Path, default=None, help="also write {name: [hits of a, hits of b]} here")
    args = p.parse_args(argv)
    set_threads()
    ds = EmojiDataset.load()
    a, b = (hits_of(f, ds, args.images_per_caption) for f in (args.a, args.b))
    k = args.images_per_caption
    print(f"| emoji (tuning set) | {args.a.name} | {args.b.name} |\n|---|---|---|")
    for name in sorted(a, key=lambda n: (a[n] - b[n], a[n])):
        if a[name] < k or b[name] < k:
            print(f"| {name} | {a[name]}/{k} | {b[name]}/{k} |")
    total = len(a) * k
    print(f"| **all {len(a)} emoji** | {sum(a.values())}/{total} ({sum(a.values()) / total:.1%}) | "
          f"{sum(b.values())}/{total} ({sum(b.values()) / total:.1%}) |")
    if args.json:
        args.json.write_text(json.dumps({n: [a[n], b[n]] for n in a}, indent=1))


if __name__ == "__main__":
    main()
