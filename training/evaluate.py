"""Evaluate a trained pipeline with the judge (docs/architecture.md, "How quality is measured").

    python -m pipelines.evaluate weights/dit-emoji [--images-per-caption 4] [--json out.json]

Prints: prompt top-1/top-5 accuracy of generated images for the 64 fixed captions, ranked
among all captions, beside the same for the real images (the ceiling); the Fréchet distance
in judge space between generated and real images (beside that of the real images of the 64
captions, the floor for a content-matched sample); the mean distance from each generated
image to its nearest training image (memorisation); and writes a sample grid.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from .data import DEFAULT_DATA_DIR, EmojiDataset
from pipelines.hardware import set_threads
from pipelines.schedulers import DEFAULT_GUIDANCE, DEFAULT_SAMPLER, make_scheduler
from .judge import DEFAULT_JUDGE, caption_embeddings, load_judge, rank_accuracy

GRID_PROMPTS = [
    "grinning face", "red apple", "cat face", "pizza",
    "red heart", "dog face", "rocket", "smiling face with sunglasses",
]


def fixed_captions(dataset: EmojiDataset, n: int = 64) -> list[str]:
    """The 8 grid prompts, then a fixed, seeded draw of emoji without skin tones, spread over
    categories (flags are capped: 250 of them would crowd out everything else)."""
    base = sorted({r.name for r in dataset.records if r.name == r.base_name and "skin tone" not in r.name})
    flags = [c for c in base if c.startswith("flag")]
    rest = [c for c in base if not c.startswith("flag") and c not in GRID_PROMPTS]
    rng = np.random.default_rng(0)
    picked = list(GRID_PROMPTS) + list(rng.choice(flags, 4, replace=False)) + list(rng.choice(rest, n - len(GRID_PROMPTS) - 4, replace=False))
    return picked[:n]


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    from scipy import linalg

    mu1, mu2 = a.mean(0), b.mean(0)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    covmean, _ = linalg.sqrtm(s1 @ s2, disp=False)
    covmean = covmean.real
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1 + s2 - 2 * covmean))


@torch.no_grad()
def generate(pipe, captions: list[str], images_per_caption: int, steps: int, guidance: float, batch: int = 64) -> torch.Tensor:
    """(len(captions) * images_per_caption, 3, 32, 32) in [0, 1]; seed k for the k-th image of a caption."""
    jobs = [(c, k) for k in range(images_per_caption) for c in captions]
    out = []
    for i in range(0, len(jobs), batch):
        chunk = jobs[i : i + batch]
        gens = [torch.Generator().manual_seed(1000 * k + j) for j, (c, k) in enumerate(chunk, start=i)]
        out.append(pipe([c for c, _ in chunk], num_inference_steps=steps, guidance_scale=guidance, generator=gens, output_type="pt").images)
    return torch.cat(out)


@torch.no_grad()
def evaluate(pipe, dataset: EmojiDataset, judge_path: Path | str = DEFAULT_JUDGE, images_per_caption: int = 2,
             steps: int = 20, guidance: float = DEFAULT_GUIDANCE, n_captions: int = 64) -> tuple[dict, torch.Tensor, list[str]]:
    judge = load_judge(judge_path)
    names = sorted(set(dataset.canonical_captions()))
    name_idx = {n: i for i, n in enumerate(names)}
    text = caption_embeddings(names)
    captions = fixed_captions(dataset, n_captions)

    real = torch.from_numpy(dataset.images).permute(0, 3, 1, 2).float() / 255
    real_labels = torch.tensor([name_idx[r.name] for r in dataset.records])
    in_set = torch.tensor([r.name in set(captions) for r in dataset.records])
    ceiling = rank_accuracy(judge, real[in_set], real_labels[in_set], text)

    gen = generate(pipe, captions, images_per_caption, steps, guidance)
    gen_labels = torch.tensor([name_idx[c] for _ in range(images_per_caption) for c in captions])
    acc = rank_accuracy(judge, gen, gen_labels, text)

    def feats(x: torch.Tensor) -> np.ndarray:
        return torch.cat([judge.embed_images(x[i : i + 512]) for i in range(0, len(x), 512)]).numpy().astype(np.float64)

    real_f = feats(real)
    fd = frechet_distance(feats(gen), real_f)
    fd_real = frechet_distance(real_f[in_set.numpy()], real_f)
    # memorisation: RMSE in [0, 1] pixels to the nearest training image
    flat_real = real.flatten(1)
    nn_dist = torch.cat([torch.cdist(g[None].flatten(1), flat_real).min(1).values for g in gen]) / np.sqrt(flat_real.shape[1])
    metrics = {
        "captions": len(captions),
        "images_per_caption": images_per_caption,
        "steps": steps,
        "guidance_scale": guidance,
        "sampler": pipe.sampler,
        "generated_top1": round(acc["top1"], 4),
        "generated_top5": round(acc["top5"], 4),
        "real_top1": round(ceiling["top1"], 4),
        "real_top5": round(ceiling["top5"], 4),
        "top5_vs_ceiling": round(acc["top5"] / max(ceiling["top5"], 1e-8), 4),
        "judge_fd_generated_vs_real": round(fd, 4),
        "judge_fd_real_subset_vs_real": round(fd_real, 4),
        "nearest_train_rmse_mean": round(nn_dist.mean().item(), 4),
        "num_distinct_captions": len(names),
    }
    return metrics, gen, captions


def grid_array(images01: torch.Tensor, cols: int = 8) -> np.ndarray:
    """(N, 3, H, W) in [0, 1] -> one uint8 image, `cols` per row, at native resolution."""
    arr = (images01.permute(0, 2, 3, 1).float().numpy() * 255).round().astype(np.uint8)
    return np.concatenate([np.concatenate(list(arr[r : r + cols]), axis=1) for r in range(0, len(arr), cols)], axis=0)


def save_grid(images01: torch.Tensor, path: Path, cols: int = 8, scale: int = 4) -> None:
    grid = grid_array(images01, cols)
    Image.fromarray(grid).resize((grid.shape[1] * scale, grid.shape[0] * scale), Image.NEAREST).save(path)


@torch.no_grad()
def prompt_grid(pipe, prompts: list[str] = GRID_PROMPTS, steps: int = 20, guidance: float = DEFAULT_GUIDANCE) -> torch.Tensor:
    """The fixed-seed sample grid: prompt i with seed i, default sampler, in the pipeline's precision."""
    scheduler, pipe.scheduler = pipe.scheduler, make_scheduler(DEFAULT_SAMPLER)
    try:
        gens = [torch.Generator().manual_seed(i) for i in range(len(prompts))]
        return pipe(list(prompts), num_inference_steps=steps, guidance_scale=guidance, generator=gens, output_type="pt").images
    finally:
        pipe.scheduler = scheduler


def main(argv: list[str] | None = None) -> None:
    from pipelines.pipeline_dit import DiTText2ImagePipeline

    p = argparse.ArgumentParser(description="Judge-based evaluation of a DiT Lab pipeline.")
    p.add_argument("weights", type=Path)
    p.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    p.add_argument("--judge", type=Path, default=DEFAULT_JUDGE)
    p.add_argument("--images-per-caption", type=int, default=2)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--guidance-scale", type=float, default=DEFAULT_GUIDANCE)
    p.add_argument("--sampler", default=None, help="override the saved scheduler")
    p.add_argument("--grid", type=Path, default=None, help="PNG of the 64 captions' first images (default: <weights>/eval_grid.png)")
    p.add_argument("--json", type=Path, default=None)
    p.add_argument("--write-card", action="store_true", help="rewrite <weights>/README.md with these metrics")
    p.add_argument("--run-dir", type=Path, default=Path("runs/dit-emoji"), help="for the card: the run's checkpoint.json")
    p.add_argument("--train-command", default="python -m pipelines.train --max-minutes 120 --output weights/dit-emoji")
    p.add_argument("--hardware", default="2 CPU cores (x86-64 with AVX-512 BF16 / AMX), no GPU")
    p.add_argument("--comparison", default="see the closing note of the training issue")
    args = p.parse_args(argv)
    set_threads()
    pipe = DiTText2ImagePipeline.from_pretrained(args.weights, use_safetensors=True)
    if args.sampler:
        pipe.set_sampler(args.sampler)
    pipe.set_progress_bar_config(disable=True)
    ds = EmojiDataset.load(args.data_dir)
    metrics, gen, captions = evaluate(pipe, ds, args.judge, args.images_per_caption, args.steps, args.guidance_scale)
    save_grid(gen[: len(captions)], args.grid or args.weights / "eval_grid.png")
    save_grid(prompt_grid(pipe), args.weights / "grid.png")  # the quality gate compares against this
    metrics["num_images"] = len(ds)
    print(json.dumps(metrics, indent=1))
    if args.json:
        args.json.write_text(json.dumps(metrics, indent=1))
    if args.write_card:
        from .model_card import write_model_card

        print("wrote", write_model_card(args.weights, metrics, args.run_dir, args.train_command, args.hardware, args.comparison))


if __name__ == "__main__":
    main()
