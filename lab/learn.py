"""View · Watch it learn: a tiny DiT (about 0.4M parameters) trains on the emoji the learner picks,
with the project's real training code (the trainer's rectified-flow loss),
and every few seconds the loss curve and a fixed-seed sample grid stream in: noise, then
blobs, then shapes. It runs in the model queue, stops with Stop, and writes nothing to disk.
"""

from __future__ import annotations

import contextlib
import time

import gradio as gr
import numpy as np
import torch

from pipelines import DiTText2ImagePipeline, DiTTransformer, make_scheduler
from pipelines.text_encoder import encode_text, packaged_text_encoder
from pipelines.training_utils import flow_matching_loss

from . import inputs
from .i18n import say
from .outputs import clear_on
from .runtime import MAX_SEED, MODEL_QUEUE, example_images, gpu, model_work
from .viz import caption_below, finished, subplots, tile_grid, to_uint8, upscale

TINY = dict(sample_size=32, patch_size=4, hidden_size=64, depth=4, num_heads=4)
REFRESH_S = 3.0  # a new grid and curve this often
BATCH = 32


def emoji_choices() -> list[str]:
    return [p.stem.split("_", 1)[1].replace("_", " ") for p in example_images()]


def tiny_dataset(names: list[str]) -> torch.Tensor:
    """The picked example emoji as (N, 3, 32, 32) in [-1, 1], in the order of `names`."""
    by_name = {p.stem.split("_", 1)[1].replace("_", " "): p for p in example_images()}
    images = np.stack([np.asarray(inputs.load_image(str(by_name[n]), "Emoji")) for n in names])
    return torch.from_numpy(images).permute(0, 3, 1, 2).float() / 127.5 - 1.0


@torch.no_grad()
def sample_grid(model: DiTTransformer, names: list[str]) -> np.ndarray:
    """One fixed-seed sample per picked emoji (10 Euler steps, guidance 3), side by side, each
    enlarged 4x with the name it was asked for written under it."""
    model.eval()
    pipe = DiTText2ImagePipeline(transformer=model, scheduler=make_scheduler("euler"))
    pipe.set_progress_bar_config(disable=True)
    gens = [torch.Generator().manual_seed(i) for i in range(len(names))]
    out = pipe(names, num_inference_steps=10, guidance_scale=3.0, generator=gens, output_type="pt").images
    model.train()
    tiles = [caption_below(upscale(to_uint8(x, model_space=False), 4), [name[:16]], size=12) for x, name in zip(out, names)]
    return np.asarray(tile_grid(tiles, len(tiles)))


@gpu
def learn(picked, seconds, seed, *, min_steps: int = 0):
    """Train the tiny DiT for `seconds` (and at least `min_steps` steps: tests on a busy machine),
    yielding (status, loss curve, grid) every few seconds."""
    choices = emoji_choices()
    if not isinstance(picked, list) or not 4 <= len(picked) <= 8 or any(p not in choices for p in picked):
        raise inputs.fail(say("Pick 4 to 8 emoji from: {names}.", names=", ".join(choices)))
    seconds = inputs.number(seconds, "Budget (seconds)", 10, 120)
    torch.manual_seed(inputs.seed(seed))
    x_all = tiny_dataset(picked)
    text = encode_text(*packaged_text_encoder(), [*picked, ""])  # each emoji's name, and "" for the dropped captions
    model = DiTTransformer(**TINY)
    opt = torch.optim.AdamW(model.parameters(), lr=2e-3, betas=(0.9, 0.95))
    losses = []
    with model_work():
        first = sample_grid(model, picked)
    start = last = time.time()
    yield say("Training…"), curve(losses), first, first
    while time.time() - start < seconds or len(losses) < min_steps:
        with model_work():
            idx = torch.randint(0, len(picked), (BATCH,))
            caption = torch.where(torch.rand(BATCH) < 0.1, len(picked), idx)  # 10 % unconditional, as in training
            loss = flow_matching_loss(model, x_all[idx], text.hidden_states[caption], text.attention_mask[caption],
                                      contextlib.nullcontext)  # fp32: tiny model
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
        losses.append(loss.item())
        if time.time() - last >= REFRESH_S:
            last = time.time()
            with model_work():
                grid = sample_grid(model, picked)
            yield say("{n} steps, {t:.0f} of {budget:.0f} s, loss {loss:.3f}", n=len(losses), t=last - start, budget=seconds, loss=np.mean(losses[-20:])), curve(losses), gr.skip(), grid
    with model_work():
        final = sample_grid(model, picked)
    # the curve's grey line starts at the first step's loss: the words quote that same number
    yield (say("Done: {n} steps in {budget:.0f} s; loss {first:.3f} at the first step → {last:.3f} (mean of the last {k}). Nothing was saved.",
               n=len(losses), budget=seconds, first=losses[0], last=np.mean(losses[-20:]), k=min(20, len(losses))), curve(losses), first, final)


def curve(losses: list[float]):
    fig, ax = subplots(figsize=(5, 2.6))
    if losses:
        ax.plot(losses, color="#bbbbbb", lw=0.8, label=say("loss per step"))
        k = max(1, len(losses) // 30)
        ax.plot(np.convolve(losses, np.ones(k) / k, mode="valid"), color="#d62728", label=say("mean of {k}", k=k))
        ax.legend(fontsize=8, loc="upper right", framealpha=0.9)
    ax.set_title(say("Loss"), fontsize=10)
    ax.set_xlabel(say("training step"))
    ax.set_ylabel(say("rectified-flow loss"))
    ax.grid(alpha=0.3)
    return finished(fig)


def create_learn() -> None:
    choices = emoji_choices()
    gr.Markdown("### Watch a DiT learn\nA tiny DiT starts from random weights and learns the emoji you pick, with this project's own "
                "training code. Every few seconds: the loss and one sample per emoji, always from the same noise.")
    with gr.Row(equal_height=False):
        with gr.Column(min_width=240):
            picked = gr.CheckboxGroup(choices, value=choices[:4], label="Emoji to learn", info="Pick 4 to 8.")
            seconds = gr.Slider(10, 120, 30, step=5, label="Budget (seconds)", info="How long it trains.")
            seed = gr.Number(0, label="Seed", precision=0, minimum=0, maximum=MAX_SEED, info="Initial weights.")
            with gr.Row():
                go = gr.Button("Train", variant="primary", elem_id="learn-button")
                stop = gr.Button("Stop", variant="stop")
            status = gr.Markdown("", elem_id="learn-status")
        with gr.Column(min_width=320, scale=2):
            plot = gr.Plot(show_label=False, elem_id="learn-plot")  # titled inside
            first = gr.Image(label="samples before training", format="png", height=150)
            grid = gr.Image(label="samples now (same noise)", format="png", height=150, elem_id="learn-grid")
    clear_on(go.click, status)
    ev = go.click(learn, [picked, seconds, seed], [status, plot, first, grid], api_name="learn", concurrency_id=MODEL_QUEUE, preprocess=False)
    stop.click(lambda: "Stopped.", None, status, cancels=[ev], api_name=False)

