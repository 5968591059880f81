"""View · Two spaces: the same prompt and seed on the 32-px pixel model and on the 64-px latent
model, side by side per step, with what each step costs: tokens, numbers per token, GFLOP and
measured milliseconds, and what the autoencoder adds.

Why latent diffusion: the DiT's cost grows with its tokens, not with pixels. Both models see
64 tokens: the pixel model cuts 32x32x3 pixels into 4x4 patches (48 numbers a token); the
latent one cuts the autoencoder's 16x16x4 latents into 2x2 patches (16 numbers a token, each
standing for an 8x8 patch of a 64x64 image). Same transformer work, 4x the pixels; the decoder
runs once at the end. (A latent DiT grown deeper than the pixel one costs more per step; the
note then says by how much.)
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import gradio as gr
import numpy as np
import torch

from pipelines import DEFAULT_GUIDANCE, DEFAULT_SAMPLER, DiTText2ImagePipeline

from . import inputs
from .i18n import say
from .outputs import Outputs, clear_on
from .runtime import MAX_SEED, MODEL_QUEUE, Runtime, gpu, model_work, runtime
from .viz import hstack, to_uint8, upscale

OUT = Outputs("strip", "table", "note", "runs", "slider", "step_image", "step_info")
DISPLAY = 256  # both models' images shown at this side, nearest neighbour: a 32-px pixel is 8x8, a 64-px one 4x4
TIMING_REPEATS = 3
SAME_COMPUTE = 0.1  # GFLOP per step within 10 %: "the same compute"


@dataclass
class Run:
    """One model's run: x̂₀ per step as uint8 images at the model's own resolution, and its costs."""

    name: str
    x0: list[np.ndarray]
    sigmas: list[float]
    cost: dict[str, float]


def step_cost(rt: Runtime, prompt: str) -> dict[str, float]:
    """Tokens, numbers per token and GFLOP of one guided step (`Runtime.cost`), and the
    milliseconds of that step (a batch of two: with and without the prompt) and of the decoder,
    measured here on the plain forward."""
    m = rt.transformer
    cfg = m.config
    pipe = rt.pipeline(DiTText2ImagePipeline, DEFAULT_SAMPLER)
    embeds, mask, neg, neg_mask = pipe.encode_prompt(prompt, do_classifier_free_guidance=True)
    text, text_mask = torch.cat([neg, embeds]).to(m.device, m.dtype), torch.cat([neg_mask, mask]).to(m.device)
    x = torch.randn(2, cfg.in_channels, cfg.sample_size, cfg.sample_size, device=m.device, dtype=m.dtype)
    t = torch.full((2,), 500.0, device=m.device)
    with torch.no_grad(), model_work():
        ms = _best_ms(lambda: m(x, t, text, text_mask))
        decode_ms = _best_ms(lambda: rt.vae.decode(x[:1].float())) if rt.is_latent else 0.0
    return {**rt.cost, "pixels": rt.image_size, "per_token": cfg.patch_size ** 2 * cfg.in_channels, "depth": cfg.depth, "width": cfg.hidden_size, "ms": ms, "decode_ms": decode_ms}


def _best_ms(fn) -> float:
    """The fastest of a few calls, in ms: the least disturbed by other work on the machine."""
    best = float("inf")
    for _ in range(TIMING_REPEATS):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best * 1e3


@torch.no_grad()
def run_model(rt: Runtime, name: str, prompt: str, seed: int, steps: int, guidance: float) -> Run:
    pipe = rt.pipeline(DiTText2ImagePipeline, DEFAULT_SAMPLER)
    with model_work():
        out = pipe(prompt, num_inference_steps=steps, guidance_scale=guidance, generator=torch.Generator().manual_seed(seed),
                   output_type="pt", return_trace=True)
    x0 = [to_uint8(s.x0_image[0]) for s in out.trace]  # decoded x̂₀ for the latent model, pixels as they are for the other
    return Run(name, x0, [s.sigma for s in out.trace], step_cost(rt, prompt))


@gpu
def two_spaces(prompt, seed, steps, guidance):
    """The same prompt and seed on both models: x̂₀ per step side by side, and each step's cost."""
    prompt = inputs.prompt(prompt, required=True)
    seed = inputs.seed(seed)
    steps = inputs.number(steps, "Steps", 2, 30, integer=True)
    guidance = inputs.number(guidance, "Guidance scale", 1, 10)
    runs = [run_model(runtime("pixel"), say("pixels, 32 px"), prompt, seed, steps, guidance),
            run_model(runtime("latent"), say("latents, 64 px"), prompt, seed, steps, guidance)]
    table = [[r.name, f"{r.cost['pixels']}×{r.cost['pixels']}", r.cost["tokens"], r.cost["per_token"], round(r.cost["gflop"], 3),
              round(r.cost["ms"], 1), round(r.cost["decode_ms"], 1)] for r in runs]
    return OUT(strip=strip(runs), table=table, note=explain(runs, steps), runs=runs,
               slider=gr.Slider(minimum=1, maximum=steps, value=steps, interactive=True),
               **dict(zip(("step_image", "step_info"), show_step(runs, steps))))


def explain(runs: list[Run], steps: int) -> str:
    pixel, latent = (r.cost for r in runs)
    ratio = (latent["pixels"] / pixel["pixels"]) ** 2
    total_p = steps * pixel["ms"]
    total_l = steps * latent["ms"] + latent["decode_ms"]
    compute = latent["gflop"] / max(pixel["gflop"], 1e-9)
    # The headline follows the models loaded: the latent DiT may be deeper or wider than the pixel
    # one (a grown model), and then "same compute" would be false.
    if abs(compute - 1) < SAME_COMPUTE:
        head = say("**Same compute, {ratio:.0f}× the pixels.** Both DiTs see {tokens} tokens, so a step costs about the same:",
                   ratio=ratio, tokens=pixel["tokens"])
    else:
        head = say("**{ratio:.0f}× the pixels for {compute:.2f}× the compute.** Both DiTs see {tokens} tokens; the latent DiT "
                   "has {dl} blocks of width {wl} to the pixel DiT's {dp} of width {wp}, so its step costs {compute:.2f}× as much:",
                   ratio=ratio, compute=compute, tokens=pixel["tokens"], dl=latent["depth"], dp=pixel["depth"],
                   wl=latent["width"], wp=pixel["width"])
    return head + " " + say(
        "{gp:.2f} vs {gl:.2f} GFLOP, {mp:.1f} vs {ml:.1f} ms here. The pixel model's token is a 4×4 patch of RGB "
        "({pp} numbers); the latent model's is a 2×2 patch of latents ({pl} numbers), which the decoder turns into an "
        "8×8 patch of pixels. **What the autoencoder costs:** one decode at the end, {dg:.2f} GFLOP, {dm:.1f} ms, "
        "about {steps_equiv:.1f} DiT steps. {n} steps: {tp:.0f} ms of DiT for 32 px, {tl:.0f} ms with the decode for 64 px "
        "(timings: the best of {k} eager calls each, on this machine, now).",
        gp=pixel["gflop"], gl=latent["gflop"], mp=pixel["ms"], ml=latent["ms"],
        pp=pixel["per_token"], pl=latent["per_token"], dg=latent["decode_gflop"], dm=latent["decode_ms"],
        steps_equiv=latent["decode_ms"] / max(latent["ms"], 1e-6), n=steps, tp=total_p, tl=total_l, k=TIMING_REPEATS)


def _shown(image: np.ndarray) -> np.ndarray:
    """An image at the display side, each model pixel a square."""
    return np.asarray(upscale(image, DISPLAY // image.shape[0]))


def strip(runs: list[Run], columns: int = 5) -> np.ndarray:
    """One row per model: x̂₀ at `columns` steps spread over the run, all at the display size."""
    n = len(runs[0].x0)
    idx = np.unique(np.linspace(0, n - 1, min(columns, n)).round().astype(int))
    rows = [hstack([_shown(r.x0[i]) for i in idx], gap=6) for r in runs]
    return np.concatenate([rows[0], np.full((6, rows[0].shape[1], 3), 255, np.uint8), rows[1]])


def show_step(runs: list[Run] | None, step) -> tuple:
    """Step `step` (1-based): the pixel model's x̂₀ beside the latent model's, at one display size."""
    if not runs:
        return None, say("Run both models first, then move the slider.")
    n = len(runs[0].x0)
    k = int(np.clip(int(step), 1, n)) - 1
    info = say("Step {i} of {n} · σ = {sigma:.3f} · left: {a} · right: {b}", i=k + 1, n=n, sigma=runs[0].sigmas[k],
               a=runs[0].name, b=runs[1].name)
    return hstack([_shown(r.x0[k]) for r in runs], gap=8), info


def create_two_spaces() -> None:
    gr.Markdown("### Two spaces\nThe same prompt and seed on the 32-px model, which diffuses pixels, and on the 64-px model, "
                "which diffuses an autoencoder's latents. The same number of tokens: what does each step cost?")
    with gr.Row(equal_height=False):
        with gr.Column(min_width=240):
            prompt = gr.Textbox("red apple", label="Prompt", max_length=inputs.MAX_PROMPT_CHARS, info="English.")
            seed = gr.Number(0, label="Seed", precision=0, minimum=0, maximum=MAX_SEED)
            steps = gr.Slider(2, 30, 12, step=1, label="Steps")
            guidance = gr.Slider(1, 10, DEFAULT_GUIDANCE, step=0.5, label="Guidance scale")
            go = gr.Button("Run both models", variant="primary", elem_id="spaces-button")
        with gr.Column(scale=2, min_width=300):
            strip_image = gr.Image(label="x̂₀ over the run: pixel model (top), latent model (bottom)", format="png", elem_id="spaces-strip")
            table = gr.Dataframe(headers=["model", "image", "tokens", "numbers per token", "GFLOP per step", "ms per step",
                                          "decode ms"], interactive=False, elem_id="spaces-table")
            note = gr.Markdown("", elem_id="spaces-note")
    runs = gr.State(None)
    slider = gr.Slider(1, 12, 12, step=1, label="Step", interactive=False, elem_id="spaces-slider")
    step_image = gr.Image(label="this step's x̂₀: pixel model | latent model", format="png", elem_id="spaces-step")
    step_info = gr.Markdown("", elem_id="spaces-step-info")
    clear_on(go.click, note)
    go.click(two_spaces, [prompt, seed, steps, guidance],
             OUT.components(dict(strip=strip_image, table=table, note=note, runs=runs, slider=slider, step_image=step_image,
                                 step_info=step_info)),
             api_name="two_spaces", concurrency_id=MODEL_QUEUE, preprocess=False)
    slider.input(show_step, [runs, slider], [step_image, step_info], api_name=False, show_progress="hidden")

