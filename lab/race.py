"""View · Sampler race: the four solvers from one shared noise ε, against a many-step reference,
and their error against the number of model evaluations (NFE) on log axes, where a solver's
order shows as the slope of its line.

Data flow: one fresh pipeline per solver (lab.runtime), the same prompt embeddings and the
same starting noise; `num_model_calls` of each output is its NFE.
"""

from __future__ import annotations

import gradio as gr
import numpy as np
import torch

from pipelines import DEFAULT_GUIDANCE, SAMPLERS, DiTText2ImagePipeline

from . import inputs
from .runtime import MAX_SEED, MODEL_QUEUE, gpu, model_work, runtime
from .viz import caption_below, finished, subplots, tile_grid, to_uint8, upscale

STEP_COUNTS = (4, 8, 16, 32)
REFERENCE = ("heun", 100)  # a many-step, second-order solve: the "true" end of the ODE
EXPLAIN = """**Reading the plot.** Each line is one solver; each point one number of steps (4, 8, 16, 32). Both axes are
logarithmic, so a solver whose error shrinks like NFE^(−p) is a straight line of slope −p: **p is its order**. Euler is
first order (double the steps, halve the error); Heun, DPM-Solver++ 2M and UniPC are higher order, so their lines fall
faster — until they meet the model's own roughness, where no solver can do better than the reference. Heun spends two
model calls per step, which is why its points sit further right."""


@torch.no_grad()
def solve(prompt: str, noise: torch.Tensor, sampler: str, steps: int, guidance: float) -> tuple[torch.Tensor, int]:
    pipe = runtime().pipeline(DiTText2ImagePipeline, sampler)
    with model_work():
        out = pipe(prompt, num_inference_steps=steps, guidance_scale=guidance, latents=noise.clone(), output_type="latent")
    return out.images, out.num_model_calls


@gpu
def race(prompt, seed, steps, guidance, progress=gr.Progress()):
    """Every solver at `steps`, and every solver at 4..32 steps for the error-vs-NFE plot."""
    prompt = inputs.prompt(prompt, required=True)
    used = inputs.seed(seed)
    steps = inputs.number(steps, "Steps", 2, 50, integer=True)
    guidance = inputs.number(guidance, "Guidance", 1, 10)
    cfg = runtime().transformer.config
    noise = torch.randn(1, cfg.in_channels, cfg.sample_size, cfg.sample_size, generator=torch.Generator().manual_seed(used))
    jobs = [REFERENCE] + [(s, steps) for s in SAMPLERS] + [(s, n) for s in SAMPLERS for n in STEP_COUNTS]
    results = {}
    for i, (sampler, n) in enumerate(dict.fromkeys(jobs)):
        progress(i / len(jobs), desc=f"{sampler}, {n} steps")
        results[(sampler, n)] = solve(prompt, noise, sampler, n, guidance)
    ref = results[REFERENCE][0]
    rmse = {k: float(((x - ref) ** 2).mean().sqrt()) for k, (x, _) in results.items()}
    tiles = []
    for s in SAMPLERS:
        x, nfe = results[(s, steps)]
        tiles.append(caption_below(upscale(to_uint8(x[0]), 6), [s, f"NFE {nfe} · RMSE {rmse[(s, steps)]:.3f}"]))
    ref_img = caption_below(upscale(to_uint8(ref[0]), 6), [f"reference: {REFERENCE[0]} {REFERENCE[1]} steps", f"NFE {results[REFERENCE][1]}"])
    curves = {s: [(results[(s, n)][1], rmse[(s, n)]) for n in STEP_COUNTS] for s in SAMPLERS}
    table = [[s, steps, results[(s, steps)][1], round(rmse[(s, steps)], 4), round(order(curves[s]), 2)] for s in SAMPLERS]
    return tile_grid([ref_img, *tiles], 5), error_figure(curves), table


def order(points: list[tuple[int, float]]) -> float:
    """−slope of log(error) against log(NFE), least squares: the solver's measured order."""
    nfe, err = np.log([p[0] for p in points]), np.log([max(p[1], 1e-12) for p in points])
    return float(-np.polyfit(nfe, err, 1)[0])


def error_figure(curves: dict[str, list[tuple[int, float]]]):
    fig, ax = subplots(figsize=(6, 3.4))
    for s, pts in curves.items():
        ax.loglog([p[0] for p in pts], [p[1] for p in pts], "o-", label=f"{s} (order ≈ {order(pts):.1f})")
    ax.set_xlabel("model evaluations (NFE)")
    ax.set_ylabel("RMSE to the reference")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    return finished(fig)


def create_race() -> None:
    gr.Markdown("### Sampler race\nOne prompt, one noise ε, four solvers. Which lands closest to the true end of the ODE for the same work?")
    with gr.Row(equal_height=False):
        with gr.Column(min_width=240):
            prompt = gr.Textbox("cat face", label="Prompt", info="English.")
            seed = gr.Number(0, label="Seed", precision=0, minimum=0, maximum=MAX_SEED, info="Picks the shared ε.")
            steps = gr.Slider(2, 50, 8, step=1, label="Steps", info="Steps of each solver for the images.")
            guidance = gr.Slider(1, 10, DEFAULT_GUIDANCE, step=0.5, label="Guidance", info="The same for all.")
            go = gr.Button("Race", variant="primary", elem_id="race-button")
        with gr.Column(min_width=300, scale=2):
            gallery = gr.Image(label="reference and the four solvers", format="png", elem_id="race-images")
            plot = gr.Plot(label="Error against model evaluations")
            table = gr.Dataframe(headers=["solver", "steps", "NFE", "RMSE", "measured order"], interactive=False, elem_id="race-table")
    gr.Markdown(EXPLAIN)
    go.click(race, [prompt, seed, steps, guidance], [gallery, plot, table], api_name="race", concurrency_id=MODEL_QUEUE, preprocess=False)

