"""The quality judge: FID needs Inception weights from a hub, so the project
trains its own small image encoder, contrastively against the frozen MiniLM embeddings of
the emoji names. It scores whether a generated image shows what its prompt says.

    python -m training.judge --steps 400          # trains and writes weights/judge/
"""

from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.modeling_utils import ModelMixin
from tqdm.auto import tqdm

from .data import DEFAULT_DATA_DIR, EmojiDataset
from pipelines.hardware import set_threads
from pipelines.text_encoder import encode_text, load_text_encoder

DEFAULT_JUDGE = Path(__file__).resolve().parent.parent / "weights" / "judge"


class EmojiJudge(ModelMixin, ConfigMixin):
    """A small CNN for 32x32 images and a linear head on the 384-d MiniLM sentence vector,
    both mapped to one normalised `embed_dim` space."""

    @register_to_config
    def __init__(self, width: int = 32, embed_dim: int = 128, text_dim: int = 384, hidden: int = 256) -> None:
        super().__init__()

        def block(cin: int, cout: int) -> nn.Sequential:
            return nn.Sequential(
                nn.Conv2d(cin, cout, 3, padding=1), nn.GroupNorm(8, cout), nn.SiLU(),
                nn.Conv2d(cout, cout, 3, padding=1), nn.GroupNorm(8, cout), nn.SiLU(),
            )

        self.image_encoder = nn.Sequential(
            block(3, width), nn.AvgPool2d(2),  # 16x16
            block(width, 2 * width), nn.AvgPool2d(2),  # 8x8
            block(2 * width, 4 * width), nn.AvgPool2d(2),  # 4x4
            nn.Flatten(), nn.Linear(4 * width * 16, hidden), nn.SiLU(), nn.Linear(hidden, embed_dim),
        )
        self.text_head = nn.Sequential(nn.Linear(text_dim, hidden), nn.SiLU(), nn.Linear(hidden, embed_dim))
        self.logit_scale = nn.Parameter(torch.tensor(np.log(1 / 0.07), dtype=torch.float32))

    def embed_images(self, x01: torch.Tensor) -> torch.Tensor:
        """(N, 3, 32, 32) in [0, 1] -> (N, embed_dim), unit norm."""
        return F.normalize(self.image_encoder(x01 * 2 - 1), dim=-1)

    def embed_text(self, pooled: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.text_head(F.normalize(pooled, dim=-1)), dim=-1)


def augment(x01: torch.Tensor, rng: torch.Generator) -> torch.Tensor:
    """Small shifts, blur and noise: generated images are grainy and a little off-centre,
    and the judge must still recognise them."""
    n = x01.shape[0]
    pad = F.pad(x01, (2, 2, 2, 2), mode="replicate")
    dx, dy = torch.randint(0, 5, (2,), generator=rng).tolist()
    x = pad[:, :, dy : dy + 32, dx : dx + 32]
    if torch.rand((), generator=rng) < 0.5:
        k = torch.tensor([1.0, 2.0, 1.0])
        k = (k[:, None] * k[None, :] / 16).expand(3, 1, 3, 3)
        x = F.conv2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), k, groups=3)
    x = x + torch.rand(n, 1, 1, 1, generator=rng) * 0.08 * torch.randn(x.shape, generator=rng)
    return x.clamp(0, 1)


def caption_embeddings(names: list[str], batch: int = 512) -> torch.Tensor:
    tok, enc = load_text_encoder()
    return torch.cat([encode_text(tok, enc, names[i : i + batch]).pooled for i in range(0, len(names), batch)])


def load_judge(path: Path | str = DEFAULT_JUDGE) -> EmojiJudge:
    path = Path(path)
    if not (path / "diffusion_pytorch_model.safetensors").exists() and not (path / "config.json").exists():
        raise FileNotFoundError(f"No judge weights in {path}: train them with `python -m training.judge`.")
    return EmojiJudge.from_pretrained(path, use_safetensors=True).float().eval()


@torch.no_grad()
def caption_ranks(judge: EmojiJudge, images01: torch.Tensor, true_idx: torch.Tensor, text_emb: torch.Tensor) -> torch.Tensor:
    """(N,): how many captions the judge ranks above each image's right one (0 = it comes first; ties count for it)."""
    img = torch.cat([judge.embed_images(images01[i : i + 256]) for i in range(0, len(images01), 256)])
    sims = img @ judge.embed_text(text_emb).T  # (N, C)
    return (sims > sims.gather(1, true_idx[:, None])).sum(1)


def rank_accuracy(judge: EmojiJudge, images01: torch.Tensor, true_idx: torch.Tensor, text_emb: torch.Tensor) -> dict[str, float]:
    """Top-1/top-5: how often the right caption is ranked first / in the first five among all."""
    ranks = caption_ranks(judge, images01, true_idx, text_emb)
    return {"top1": (ranks < 1).float().mean().item(), "top5": (ranks < 5).float().mean().item()}


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description="Train the emoji judge (image encoder vs frozen MiniLM names).")
    p.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    p.add_argument("--output", type=Path, default=DEFAULT_JUDGE)
    p.add_argument("--steps", type=int, default=400, help="training steps (fixed, so a rerun gives the same judge)")
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    set_threads()
    torch.manual_seed(args.seed)
    rng = torch.Generator().manual_seed(args.seed)
    pyrng = random.Random(args.seed)

    ds = EmojiDataset.load(args.data_dir)
    names = sorted(set(ds.canonical_captions()))
    name_idx = {n: i for i, n in enumerate(names)}
    labels = torch.tensor([name_idx[r.name] for r in ds.records])
    by_name: dict[int, list[int]] = {}
    for i, lab in enumerate(labels.tolist()):
        by_name.setdefault(lab, []).append(i)
    images = torch.from_numpy(ds.images).permute(0, 3, 1, 2).float() / 255
    text = caption_embeddings(names)

    judge = EmojiJudge()
    opt = torch.optim.AdamW(judge.parameters(), lr=args.lr, weight_decay=0.05)
    start = time.time()
    bar = tqdm(total=args.steps, unit="step")
    for step in range(args.steps):
        frac = step / args.steps
        for g in opt.param_groups:
            g["lr"] = args.lr * min(1.0, (step + 1) / 100) * 0.5 * (1 + np.cos(np.pi * frac))
        # one image per distinct name, so every other caption in the batch is a true negative
        batch_names = pyrng.sample(range(len(names)), args.batch_size)
        idx = torch.tensor([pyrng.choice(by_name[n]) for n in batch_names])
        x = augment(images[idx], rng)
        img = judge.embed_images(x)
        txt = judge.embed_text(text[batch_names])
        logits = judge.logit_scale.exp().clamp(max=100) * img @ txt.T
        target = torch.arange(len(idx))
        loss = (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target)) / 2
        opt.zero_grad()
        loss.backward()
        opt.step()
        bar.update()
        bar.set_postfix_str(f"loss {loss.item():.3f}", refresh=False)
    bar.close()
    judge.eval()
    acc = rank_accuracy(judge, images, labels, text)
    args.output.mkdir(parents=True, exist_ok=True)
    # fp16 on disk keeps the judge under 5 MB; it is loaded back as fp32
    judge.to(torch.float16).save_pretrained(args.output)
    info = {"steps": args.steps, "train_minutes": round((time.time() - start) / 60, 1), "real_top1": acc["top1"], "real_top5": acc["top5"],
            "num_captions": len(names), "command": f"python -m training.judge --steps {args.steps} --seed {args.seed}"}
    (args.output / "training.json").write_text(json.dumps(info, indent=1))
    print(json.dumps(info, indent=1))


if __name__ == "__main__":
    main()
