"""Train the DiT with the rectified-flow objective (why: docs/architecture.md).

    python -m training.train --max-minutes 120 --output weights/dit-emoji
    accelerate launch -m training.train --max-minutes 120      # same script, CPU or multi-GPU
    python -m training.train --resume --max-minutes 60          # continue the run in --run-dir
    python -m training.train --vae weights/dit-emoji-64/vae --patch-size 2 --init-blocks-from weights/dit-emoji \
        --run-dir runs/latent --output weights/dit-emoji-64       # the latent model: 64-px emoji as 16x16x4 latents

Every `--checkpoint-minutes` it writes, into --run-dir: a resumable checkpoint
(model, EMA, optimizer, step; safetensors + JSON), the EMA pipeline, and a fixed-seed
sample grid PNG. At the end the EMA weights go to --output with save_pretrained.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from tqdm.auto import tqdm

from pipelines import schedulers as flow
from .data import DEFAULT_DATA_DIR, EmojiDataset
from pipelines.hardware import best_autocast_dtype, set_threads
from pipelines.text_encoder import encode_text, load_text_encoder
from pipelines.training_utils import EMA, flow_matching_loss
from pipelines.transformer_dit import DiTTransformer

VAL_SIGMAS = (0.2, 0.5, 0.8)
DEFAULT_DEPTH = 8  # the 32-px model's; a latent model grown deeper keeps its own (model_depth)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="Train the DiT Lab model (rectified flow).")
    p.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR, help="emoji cache dir, or a folder with metadata.jsonl")
    p.add_argument("--run-dir", type=Path, default=Path("runs/dit-emoji"), help="checkpoints, grids and log")
    p.add_argument("--output", type=Path, default=None, help="save_pretrained the EMA pipeline here at the end")
    p.add_argument("--max-minutes", type=float, default=120.0, help="time budget of this invocation")
    p.add_argument("--max-steps", type=int, default=None)
    p.add_argument("--checkpoint-minutes", type=float, default=5.0)
    p.add_argument("--snapshots", action="store_true",
                   help="also keep each checkpoint's EMA weights as run-dir/snap-<minutes> (for scripts/curve.py)")
    p.add_argument("--resume", action="store_true", help="continue from run-dir/checkpoint")
    p.add_argument("--vae", type=Path, default=None,
                   help="an AutoencoderKL folder: train on the 64-px emoji's latents (encoded once and cached), not on pixels")
    p.add_argument("--init-blocks-from", type=Path, default=None,
                   help="a pipeline folder of another resolution or space: copy every weight whose shape matches "
                        "(blocks, text and timestep embedders); the patch embedding, final linear and output conv stay new")
    p.add_argument("--init-from", type=Path, default=None,
                   help="warm-start: a saved pipeline (e.g. weights/dit-emoji) whose transformer weights start this run; "
                        "the optimizer starts fresh, so keep a short --warmup-steps; a larger --depth "
                        "grows the saved model, new middle blocks starting as the identity")
    p.add_argument("--compile", action=argparse.BooleanOptionalAction, default=True,
                   help="torch.compile the training forward: about a minute of compilation at start, then "
                        "1.2x the images per second (benchmarks/README.md); --no-compile for short runs")
    p.add_argument("--dump-weights", type=Path, default=None, help="write each process's final weights here (checks multi-process runs)")
    p.add_argument("--export-only", action="store_true", help="write run-dir's latest EMA weights to --output and stop")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=5e-4)
    p.add_argument("--warmup-steps", type=int, default=300)
    p.add_argument("--cooldown-fraction", type=float, default=0.15, help="last fraction of the budget with linearly decaying lr")
    p.add_argument("--weight-decay", type=float, default=0.0)
    p.add_argument("--caption-dropout", type=float, default=0.1)
    p.add_argument("--sigma-location", type=float, default=0.0,
                   help="mean of logit(sigma) in training; > 0 trains more at high noise, where layout (and so identity) is decided")
    p.add_argument("--name-caption-fraction", type=float, default=None,
                   help="chance that a (non-dropped) caption says the emoji's name; default: as often as its caption list "
                        "does (about 64 %%). Higher teaches names more, everyday words less")
    p.add_argument("--ema-max-decay", type=float, default=0.999)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--precision", choices=["auto", "fp32", "bf16"], default="auto")
    p.add_argument("--balance-variants", action=argparse.BooleanOptionalAction, default=True,
                   help="sample each emoji equally often, however many skin-tone variants it has")
    # model config
    p.add_argument("--patch-size", type=int, default=4)
    p.add_argument("--hidden-size", type=int, default=256)
    p.add_argument("--depth", type=int, default=None,
                   help=f"blocks; default: the depth of what the run continues (--resume, --init-from), else {DEFAULT_DEPTH}")
    p.add_argument("--num-heads", type=int, default=4)
    p.add_argument("--grid-steps", type=int, default=20)
    return p.parse_args(argv)


def lr_at(step: int, elapsed_frac: float, args: argparse.Namespace, first_step: int = 0) -> float:
    """Warm-up, constant, then a linear cool-down over the last part of the budget.
    A resumed run warms up again from its first step: the checkpoint may have been cooled."""
    warm = min(1.0, (step - first_step + 1) / max(1, args.warmup_steps))
    cool_start = 1.0 - args.cooldown_fraction
    cool = 1.0 if elapsed_frac < cool_start else max(0.02, (1.0 - elapsed_frac) / max(args.cooldown_fraction, 1e-8))
    return args.lr * warm * cool


class CaptionBank:
    """Every caption the templates can produce, encoded once by the frozen text encoder."""

    def __init__(self, dataset: EmojiDataset, tokenizer, text_encoder, cache: Path | None) -> None:
        captions = {""}
        for caps in dataset.caption_lists:
            captions.update(caps)
        self.captions = sorted(captions)
        self.index = {c: i for i, c in enumerate(self.captions)}
        key = hashlib.sha1("\n".join(self.captions).encode()).hexdigest()[:12]
        path = cache / f"text-{key}.safetensors" if cache else None
        if path and path.exists():
            t = load_file(path)
        else:
            states, masks = [], []
            for i in tqdm(range(0, len(self.captions), 512), desc="encoding captions", leave=False):
                e = encode_text(tokenizer, text_encoder, self.captions[i : i + 512])
                states.append(e.hidden_states.half())
                masks.append(e.attention_mask.to(torch.uint8))
            t = {"states": torch.cat(states), "masks": torch.cat(masks)}
            if path:
                path.parent.mkdir(parents=True, exist_ok=True)
                save_file(t, path)
        self.states, self.masks = t["states"], t["masks"]

    def lookup(self, captions: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        idx = torch.tensor([self.index[c] for c in captions])
        return self.states[idx].float(), self.masks[idx].float()


def sample_weights(dataset: EmojiDataset, balance: bool) -> np.ndarray:
    if not balance:
        return np.full(len(dataset), 1.0 / len(dataset))
    from collections import Counter

    counts = Counter((r.base_name, r.style) for r in dataset.records)
    w = np.array([1.0 / counts[(r.base_name, r.style)] for r in dataset.records])
    return w / w.sum()


def save_checkpoint(run_dir: Path, model, ema: EMA, opt, step: int, images_seen: int, minutes: float, config: dict,
                    extra: dict | None = None) -> None:
    tensors = {f"model.{k}": v.contiguous() for k, v in model.state_dict().items()}
    tensors.update({f"ema.{k}": v.contiguous() for k, v in ema.shadow.items()})
    names = {id(p): n for n, p in model.named_parameters()}
    for group in opt.param_groups:
        for p in group["params"]:
            for k, v in opt.state.get(p, {}).items():
                if torch.is_tensor(v):
                    tensors[f"opt.{names[id(p)]}.{k}"] = v.contiguous().float()
    tmp = run_dir / "checkpoint.tmp.safetensors"
    save_file(tensors, tmp)
    os.replace(tmp, run_dir / "checkpoint.safetensors")  # never a half-written checkpoint
    info = {"step": step, "images_seen": images_seen, "train_minutes": minutes, "config": config, **(extra or {})}
    (run_dir / "checkpoint.json").write_text(json.dumps(info, indent=1))


def load_checkpoint(run_dir: Path, model, ema: EMA, opt) -> dict:
    t = load_file(run_dir / "checkpoint.safetensors")
    model.load_state_dict({k[6:]: v for k, v in t.items() if k.startswith("model.")})
    ema.shadow = {k[4:]: v.float() for k, v in t.items() if k.startswith("ema.")}
    params = dict(model.named_parameters())
    for name, p in params.items():
        state = {k.split(".")[-1]: t[k] for k in (f"opt.{name}.exp_avg", f"opt.{name}.exp_avg_sq", f"opt.{name}.step") if k in t}
        if state:
            opt.state[p] = state
    return json.loads((run_dir / "checkpoint.json").read_text())


@torch.no_grad()
def validation_loss(model, x0: torch.Tensor, states, masks, noise: torch.Tensor, autocast) -> dict[str, float]:
    """Loss at fixed sigmas with fixed noise: comparable across runs and configs."""
    model.eval()
    out = {}
    for s in VAL_SIGMAS:
        sigma = torch.full((x0.shape[0],), s)
        xt = flow.add_noise(x0, noise, sigma)
        with autocast():
            v = model(xt, flow.timestep_from_sigma(sigma), states, masks).sample.float()
        out[f"val_loss@{s}"] = F.mse_loss(v, flow.flow_target(x0, noise)).item()
    model.train()
    return out


def write_grid(pipe_cls, model, path: Path, steps: int, vae=None) -> None:
    """Fixed-seed samples of the grid prompts in both styles, for people to look at."""
    from .evaluate import GRID_PROMPTS, prompt_grid, save_grid

    model.eval()
    pipe = pipe_cls(transformer=model, scheduler=flow.make_scheduler(flow.DEFAULT_SAMPLER), vae=vae)
    pipe.set_progress_bar_config(disable=True)
    prompts = [f"{p}, {s}" for s in ("twemoji style", "noto style") for p in GRID_PROMPTS]
    save_grid(prompt_grid(pipe, prompts, steps), path)
    model.train()


# sizes a warm start needs equal (depth may grow: grown_block_names)
WARM_KEYS = ("sample_size", "in_channels", "patch_size", "hidden_size", "num_heads")


def warm_start(model: DiTTransformer, pipeline_dir: Path, blocks_only: bool = False) -> list[str]:
    """Copy a saved pipeline's transformer weights (any dtype) into `model`. `blocks_only`: the
    saved model may work on another resolution or space; every weight of the same name and
    shape is copied, and the names of those left at their initial values are returned. A deeper
    `model` grows from the saved one (grown_block_names) and starts as the same function."""
    saved = DiTTransformer.from_pretrained(Path(pipeline_dir) / "transformer", use_safetensors=True)
    keys = WARM_KEYS[3:] if blocks_only else WARM_KEYS
    grow = model.config["depth"] - saved.config["depth"]
    if any(saved.config[k] != model.config[k] for k in keys) or grow < 0:
        flag = "--init-blocks-from" if blocks_only else "--init-from"
        raise SystemExit(f"{flag} {pipeline_dir}: its config {({k: saved.config[k] for k in (*WARM_KEYS, 'depth')})} does not fit the "
                         "arguments' (the same sizes, and a depth the same or larger)")
    mine, theirs = model.state_dict(), grown_block_names(saved.state_dict(), saved.config["depth"], grow)
    copied = {k: v.float() for k, v in theirs.items() if k in mine and v.shape == mine[k].shape}
    model.load_state_dict(copied, strict=not (blocks_only or grow))
    return sorted(set(mine) - set(copied))


def grown_block_names(state: dict, depth: int, grow: int) -> dict:
    """Rename a depth-`depth` model's weights for one `grow` blocks deeper: its second half moves
    up by `grow`, so every U-ViT long skip still pairs the same two trained blocks (i with
    depth-1-i), and the new middle blocks keep DiT's init, under which a block is the identity
    (adaLN-zero gates, skip fusion [I | 0]): the grown model computes what the saved one did."""
    def moved(name: str) -> str:
        if not name.startswith("blocks."):
            return name
        _, i, rest = name.split(".", 2)
        return f"blocks.{int(i) + grow if int(i) >= depth // 2 else i}.{rest}"

    return {moved(k): v for k, v in state.items()}


def load_vae(path: Path | None):
    from diffusers import AutoencoderKL

    return None if path is None else AutoencoderKL.from_pretrained(path, use_safetensors=True).eval().requires_grad_(False)


def model_space_images(dataset: EmojiDataset, vae, cache: Path) -> torch.Tensor:
    """The training targets x0 as float16 (N, C, H, W): pixels in [-1, 1], or the autoencoder's
    scaled latents, encoded once per autoencoder (cached under a hash of its weights)."""
    from pipelines.latents import LatentSpace

    pixels = torch.from_numpy(dataset.images).permute(0, 3, 1, 2).contiguous()
    if vae is None:
        return (pixels.float() / 127.5 - 1.0).half()
    digest = hashlib.sha1(b"".join(p.detach().float().numpy().tobytes() for p in vae.parameters()))
    digest.update(json.dumps(dict(vae.config), sort_keys=True, default=str).encode() + pixels.numpy().tobytes())
    path = cache / f"latents-{digest.hexdigest()[:12]}.safetensors"
    if path.exists():
        return load_file(path)["latents"]
    space = LatentSpace(vae)
    with torch.no_grad():
        z = torch.cat([space.encode(pixels[i : i + 256].float() / 127.5 - 1.0) for i in tqdm(range(0, len(pixels), 256), desc="encoding latents", leave=False)])
    cache.mkdir(parents=True, exist_ok=True)
    save_file({"latents": z.half().contiguous()}, path)
    return z.half()


def export_pipeline(run_dir: Path, output: Path) -> Path:
    """The run's EMA weights as a pipeline folder: fp16 safetensors (half the size; loaded
    back as fp32), a scheduler, the autoencoder of a latent run (fp32), model_index.json. The
    scheduler is the one `output` already holds, if any (a phase continuing a model keeps the
    sampler and timestep shift chosen for it until a sweep chooses again), else the default."""
    import diffusers

    from pipelines import DiTText2ImagePipeline

    model = DiTTransformer.from_pretrained(run_dir / "ema", use_safetensors=True).to(torch.float16)
    info = json.loads((run_dir / "checkpoint.json").read_text())
    vae = load_vae(Path(info["vae"])) if info.get("vae") else None
    saved = Path(output) / "scheduler" / "scheduler_config.json"
    scheduler = (getattr(diffusers, json.loads(saved.read_text())["_class_name"]).from_pretrained(saved.parent) if saved.exists()
                 else flow.make_scheduler(flow.DEFAULT_SAMPLER))
    DiTText2ImagePipeline(transformer=model, scheduler=scheduler, vae=vae).save_pretrained(output)
    return output


@dataclass
class Run:
    """Everything one training invocation holds: data, model, optimizer, counters."""

    args: argparse.Namespace
    accelerator: object
    dataset: EmojiDataset
    bank: CaptionBank
    images: torch.Tensor  # float16 (N, C, H, W) in model space: pixels in [-1, 1] or scaled latents
    vae: object  # the AutoencoderKL of a latent run (None: pixels)
    weights: np.ndarray  # sampling probability per image
    config: dict
    model: torch.nn.Module  # as prepared by accelerate (DDP-wrapped with several processes)
    raw: DiTTransformer
    ema: EMA
    opt: torch.optim.Optimizer
    step: int = 0
    images_seen: int = 0
    prior_minutes: float = 0.0
    first_step: int = 0
    start: float = field(default_factory=time.time)
    forward: torch.nn.Module | None = None  # the model, or its compiled graph

    @property
    def is_main(self) -> bool:
        return self.accelerator.is_main_process

    @property
    def local_batch(self) -> int:
        return self.args.batch_size // self.accelerator.num_processes


def model_depth(args: argparse.Namespace) -> int:
    """--depth, else the depth of what this run continues (its checkpoint, or the --init-from
    model), else DEFAULT_DEPTH: continuing a grown model needs no flag to stay grown."""
    if args.depth is not None:
        return args.depth
    if args.resume and (args.run_dir / "checkpoint.json").exists():
        return json.loads((args.run_dir / "checkpoint.json").read_text())["config"]["depth"]
    if args.init_from is not None:
        return json.loads((Path(args.init_from) / "transformer" / "config.json").read_text())["depth"]
    return DEFAULT_DEPTH


def setup(args: argparse.Namespace) -> Run:
    """Data, captions (encoded once), model (fresh, warm-started or resumed), optimizer."""
    from accelerate import Accelerator

    if not torch.cuda.is_available():
        set_threads()
    device_type = "cuda" if torch.cuda.is_available() else "cpu"
    precision = args.precision
    if precision == "auto":
        precision = "bf16" if best_autocast_dtype(device_type) == torch.bfloat16 else "fp32"
    args.precision = precision
    accelerator = Accelerator(mixed_precision="bf16" if precision == "bf16" else "no", cpu=device_type == "cpu")
    if args.batch_size % accelerator.num_processes:
        raise SystemExit(f"--batch-size {args.batch_size} must split evenly over {accelerator.num_processes} processes.")
    torch.manual_seed(args.seed)  # the same initial weights on every process
    vae = load_vae(args.vae)
    dataset = EmojiDataset.load(args.data_dir, resolution=64 if vae is not None else 32)
    tok, enc = load_text_encoder()
    bank = CaptionBank(dataset, tok, enc, Path(args.data_dir) / "text-cache")
    images = model_space_images(dataset, vae, Path(args.data_dir) / "latent-cache")
    config = dict(sample_size=images.shape[-1], in_channels=images.shape[1], patch_size=args.patch_size, hidden_size=args.hidden_size,
                  depth=model_depth(args), num_heads=args.num_heads)
    model = DiTTransformer(**config)
    if args.init_from is not None:
        warm_start(model, args.init_from)
    elif args.init_blocks_from is not None:
        fresh = warm_start(model, args.init_blocks_from, blocks_only=True)
        print(f"warm start from {args.init_blocks_from}: all but {', '.join(fresh)}")
    ema = EMA(model, args.ema_max_decay)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, betas=(0.9, 0.95), weight_decay=args.weight_decay)
    args.run_dir.mkdir(parents=True, exist_ok=True)
    counters = {}
    if args.resume and (args.run_dir / "checkpoint.safetensors").exists():
        saved = json.loads((args.run_dir / "checkpoint.json").read_text())["config"]
        if saved != config:
            raise SystemExit(f"--resume: the checkpoint's model config {saved} differs from the arguments {config}.")
        info = load_checkpoint(args.run_dir, model, ema, opt)
        counters = dict(step=info["step"], images_seen=info["images_seen"], prior_minutes=info["train_minutes"], first_step=info["step"])
    prepared, opt = accelerator.prepare(model, opt)
    return Run(args, accelerator, dataset, bank, images, vae, sample_weights(dataset, args.balance_variants), config, prepared,
               accelerator.unwrap_model(prepared), ema, opt, **counters)


def progress(run: Run) -> tuple[float, bool]:
    """(fraction of the budget used, stop?), agreed by all processes: each takes the maximum,
    so every process uses the same learning rate and stops at the same step."""
    args = run.args
    elapsed = (time.time() - run.start) / (args.max_minutes * 60)
    frac = elapsed if args.max_steps is None else max(elapsed, run.step / args.max_steps)
    stop = elapsed >= 1.0 or (args.max_steps is not None and run.step >= args.max_steps)
    if run.accelerator.num_processes > 1:
        t = run.accelerator.reduce(torch.tensor([frac, float(stop)], device=run.accelerator.device), reduction="max")
        frac, stop = float(t[0]), bool(t[1] > 0)
    return frac, stop


def train_step(run: Run, rng: np.random.Generator, pyrng: random.Random, frac: float) -> float:
    args, acc = run.args, run.accelerator
    for group in run.opt.param_groups:
        group["lr"] = lr_at(run.step, frac, args, run.first_step)
    idx = rng.choice(len(run.dataset), size=run.local_batch, p=run.weights)  # each process its own part of the global batch
    x0 = run.images[idx].float().to(acc.device)
    caps = ["" if pyrng.random() < args.caption_dropout else run.dataset.caption(int(i), pyrng, args.name_caption_fraction) for i in idx]
    states, masks = (t.to(acc.device) for t in run.bank.lookup(caps))
    loss = flow_matching_loss(run.forward, x0, states, masks, acc.autocast, args.sigma_location)
    run.opt.zero_grad(set_to_none=True)
    acc.backward(loss)
    acc.clip_grad_norm_(run.model.parameters(), 1.0)
    run.opt.step()
    run.ema.update(run.raw, run.step)
    run.step += 1
    run.images_seen += args.batch_size
    return loss.item()


def validation_batch(run: Run) -> tuple:
    """256 fixed images with fixed captions and noise: comparable across runs and configs."""
    g = torch.Generator().manual_seed(1234)
    idx = torch.randperm(len(run.dataset), generator=g)[:256]
    x0 = run.images[idx].float()
    states, masks = run.bank.lookup([run.dataset.caption(int(i), random.Random(int(i))) for i in idx])
    return x0, states, masks, torch.randn(x0.shape, generator=g)


def checkpoint(run: Run, val: tuple, final: bool = False) -> None:
    """Checkpoint, EMA weights, sample grid and validation loss (main process only)."""
    if not run.is_main:
        return
    from pipelines import DiTText2ImagePipeline

    args = run.args
    minutes = run.prior_minutes + (time.time() - run.start) / 60
    extra = {"num_processes": run.accelerator.num_processes, "local_batch": run.local_batch,
             "vae": str(args.vae) if args.vae else None}
    save_checkpoint(args.run_dir, run.raw, run.ema, run.opt, run.step, run.images_seen, minutes, run.config, extra)
    ema_model = DiTTransformer(**run.config)
    run.ema.copy_to(ema_model)
    write_grid(DiTText2ImagePipeline, ema_model, args.run_dir / f"grid-{run.step:07d}.png", args.grid_steps, run.vae)
    rec = {"step": run.step, "images_seen": run.images_seen, "train_minutes": round(minutes, 2),
           **validation_loss(ema_model, *val, run.accelerator.autocast)}
    with open(args.run_dir / "log.jsonl", "a") as f:
        f.write(json.dumps(rec) + "\n")
    tqdm.write(json.dumps(rec))
    ema_model.save_pretrained(args.run_dir / "ema")
    if args.snapshots:  # accuracy over time needs the weights as they were, not only the latest
        ema_model.save_pretrained(args.run_dir / f"snap-{round(minutes)}")
    if final and args.output:
        export_pipeline(args.run_dir, args.output)
        tqdm.write(f"saved EMA pipeline to {args.output}")


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.export_only:
        if args.output is None:
            raise SystemExit("--export-only needs --output")
        print("exported", export_pipeline(args.run_dir, args.output))
        return
    run = setup(args)
    rank = run.accelerator.process_index
    rng, pyrng = np.random.default_rng(args.seed + rank), random.Random(args.seed + rank)
    torch.manual_seed(args.seed + rank)  # each process its own noise and sigmas
    run.forward = torch.compile(run.model) if args.compile else run.model  # same parameters, compiled graph
    val = validation_batch(run)
    if run.is_main:
        print(f"{len(run.dataset)} images, {len(run.bank.captions)} captions, {sum(p.numel() for p in run.raw.parameters()) / 1e6:.2f}M params, "
              f"precision {args.precision}, {torch.get_num_threads()} threads, {run.accelerator.num_processes} process(es)")
    bar = tqdm(total=int(args.max_minutes * 60), disable=not run.is_main, unit="s", bar_format="{l_bar}{bar}| {elapsed}<{remaining} {postfix}")
    ema_loss, window_t, window_n, last_ckpt = None, time.time(), 0, time.time()
    run.model.train()
    while True:
        frac, stop = progress(run)
        if stop:
            break
        loss = train_step(run, rng, pyrng, frac)
        window_n += args.batch_size
        ema_loss = loss if ema_loss is None else 0.98 * ema_loss + 0.02 * loss
        if run.step % 10 == 0 and run.is_main:
            now = time.time()
            bar.n = int(min(now - run.start, args.max_minutes * 60))
            bar.set_postfix_str(f"step {run.step} loss {ema_loss:.4f} {window_n / (now - window_t):.1f} img/s lr {run.opt.param_groups[0]['lr']:.2e}")
            bar.refresh()
            window_t, window_n = now, 0
            if now - last_ckpt >= args.checkpoint_minutes * 60:
                checkpoint(run, val)
                last_ckpt = window_t = time.time()
    bar.close()
    run.accelerator.wait_for_everyone()
    checkpoint(run, val, final=True)
    if args.dump_weights is not None:  # for checking a multi-process run: each process's final weights
        args.dump_weights.mkdir(parents=True, exist_ok=True)
        save_file({k: v.contiguous() for k, v in run.raw.state_dict().items()}, args.dump_weights / f"rank{rank}.safetensors")


if __name__ == "__main__":
    main()
