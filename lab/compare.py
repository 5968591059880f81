"""Generate · Compare two prompts: one seed, one starting noise ε, two prompts, and the model's
x̂₀ for each side by side at every step, with how far apart they are. A learner sees where in
the schedule the prompts part ways: early steps decide the layout, late ones only details.

Data flow: both prompts go through one DiTText2ImagePipeline call as a batch of two, with the
same noise for both rows (`latents`), so any difference comes from the words alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr
import numpy as np
import torch

from pipelines import DEFAULT_GUIDANCE, DEFAULT_SAMPLER, DEFAULT_STEPS, SAMPLERS, DiTText2ImagePipeline

from . import inputs
from .i18n import say
from .outputs import clear_on, Outputs
from .runtime import DEFAULT_MODEL, MAX_SEED, MODEL_QUEUE, gpu, model_work, runtime
from .viz import finished, hstack, subplots, to_uint8, upscale

OUT = Outputs("strip", "plot", "status", "pairs", "slider", "step_image", "step_info")
PART_WAYS = 0.5  # "parted" once the states' distance reaches this share of its final value (see Pairs.parting_step)


@dataclass
class Pairs:
    """Per step k (0-based): x̂₀ of each prompt (uint8 images), the RMSE between the two x̂₀
    (pixels in [0, 1]) and between the two states after the step (model space)."""

    x0_a: list[np.ndarray]
    x0_b: list[np.ndarray]
    sigmas: list[float]
    distance: list[float]
    state_distance: list[float]

    def parting_step(self) -> int:
        """The first step after which the two states are PART_WAYS of their final distance apart.
        Not x̂₀'s: at σ = 1 each x̂₀ is already its prompt's average image, so those differ from
        the first step; the states start equal (one ε) and drift apart as the words steer them."""
        final = self.state_distance[-1]
        return next((k for k, d in enumerate(self.state_distance) if d >= PART_WAYS * final), 0)


@torch.no_grad()
def run_pair(prompt_a: str, prompt_b: str, seed: int, steps: int, guidance: float, sampler: str, model: str | None = None) -> Pairs:
    pipe = runtime(model).pipeline(DiTText2ImagePipeline, sampler)
    cfg = pipe.transformer.config
    noise = torch.randn(1, cfg.in_channels, cfg.sample_size, cfg.sample_size, generator=torch.Generator().manual_seed(seed))
    with model_work():
        out = pipe([prompt_a, prompt_b], num_inference_steps=steps, guidance_scale=guidance, latents=noise.repeat(2, 1, 1, 1),
                   output_type="pt", return_trace=True)
    x0 = [((s.x0_image.float() + 1) / 2).clamp(0, 1) for s in out.trace]  # pixels, (2, 3, H, W)
    return Pairs(x0_a=[to_uint8(x[0], model_space=False) for x in x0], x0_b=[to_uint8(x[1], model_space=False) for x in x0],
                 sigmas=[s.sigma for s in out.trace], distance=[float(((x[0] - x[1]) ** 2).mean().sqrt()) for x in x0],
                 state_distance=[float(((s.x_next[0] - s.x_next[1]).float() ** 2).mean().sqrt()) for s in out.trace])


@gpu
def compare(prompt_a, prompt_b, seed, steps, guidance, sampler, model=DEFAULT_MODEL):
    """Two prompts from one noise: x̂₀ of both at every step, and where they part ways."""
    prompt_a = inputs.prompt(prompt_a, "First prompt", required=True)
    prompt_b = inputs.prompt(prompt_b, "Second prompt", required=True)
    seed = inputs.seed(seed)
    steps = inputs.number(steps, "Steps", 2, 50, integer=True)
    guidance = inputs.number(guidance, "Guidance scale", 1, 10)
    sampler = inputs.choice(sampler, "Sampler", list(SAMPLERS))
    pairs = run_pair(prompt_a, prompt_b, seed, steps, guidance, sampler, inputs.model(model))
    k = pairs.parting_step()
    return OUT(strip=strip(pairs), plot=distance_figure(pairs, k), status=parting_words(pairs, seed), pairs=pairs,
               slider=gr.Slider(minimum=1, maximum=len(pairs.distance), value=k + 1, interactive=True),
               **dict(zip(("step_image", "step_info"), show_step(pairs, k + 1))))


def parting_words(pairs: Pairs, seed: int) -> str:
    if pairs.state_distance[-1] < 1e-6:
        return say("The two prompts read the same to the model (same word pieces, same noise): the two runs are identical.")
    k, n = pairs.parting_step(), len(pairs.distance)
    after = pairs.sigmas[k + 1] if k + 1 < n else 0.0
    return say("Both runs start from the same ε (seed {seed}), {n} steps. The two states part ways at **step {k}** (σ = {a:.2f} → "
               "{b:.2f}): after it they are half as far apart as they end. Their x̂₀ differ from step 1 ({d0:.3f}): at σ = 1 the model "
               "can only guess each prompt's average picture; by the end they are {d1:.3f} apart.", seed=seed, n=n, k=k + 1,
               a=pairs.sigmas[k], b=after, d0=pairs.distance[0], d1=pairs.distance[-1])


def show_step(pairs: Pairs | None, step) -> tuple:
    """Step `step` (1-based): x̂₀ of the first prompt | of the second | |difference| × 4."""
    if pairs is None:
        return None, say("Compare first, then move the slider.")
    k = int(np.clip(int(step), 1, len(pairs.distance))) - 1
    a, b = pairs.x0_a[k], pairs.x0_b[k]
    diff = np.clip(np.abs(a.astype(np.int16) - b.astype(np.int16)) * 4, 0, 255).astype(np.uint8)
    info = say("Step {i} of {n} · σ = {sigma:.3f} · x̂₀ distance {d:.3f}", i=k + 1, n=len(pairs.distance), sigma=pairs.sigmas[k], d=pairs.distance[k])
    return upscale(hstack([a, b, diff], gap=4)), info


def strip(pairs: Pairs, columns: int = 8) -> np.ndarray:
    """Both prompts' x̂₀ at up to `columns` steps spread over the run: first row, second row."""
    idx = np.unique(np.linspace(0, len(pairs.distance) - 1, min(columns, len(pairs.distance))).round().astype(int))
    rows = [hstack([pairs.x0_a[i] for i in idx], gap=2), hstack([pairs.x0_b[i] for i in idx], gap=2)]
    grid = np.concatenate([rows[0], np.full((2, rows[0].shape[1], 3), 255, np.uint8), rows[1]])
    return np.asarray(upscale(grid, size=256))  # each image about 128 px


def distance_figure(pairs: Pairs, parting: int):
    fig, ax = subplots(figsize=(6, 3))
    steps = np.arange(1, len(pairs.distance) + 1)
    ax.plot(steps, pairs.distance, "o-", ms=3, label=say("x̂₀ distance (RMSE, pixels 0..1)"))
    ax.plot(steps, pairs.state_distance, "s-", ms=3, label=say("distance of the states after the step (model space)"))
    ax.axvline(parting + 1, color="tab:red", ls="--", lw=1, label=say("the states part ways: step {k}", k=parting + 1))
    ax.set_title(say("How far apart the two x̂₀ are, step by step"), fontsize=10, pad=44)
    ax.set_xlabel(say("step"))
    ax.set_ylabel("RMSE")
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower center", bbox_to_anchor=(0.5, 1.0), frameon=False)  # above the axes, on no curve
    return finished(fig)


def create_compare(model: gr.Radio) -> None:
    gr.Markdown("### Compare two prompts\nOne seed, one starting noise ε, two prompts. Where in the schedule do they part ways?")
    with gr.Row(equal_height=False):
        with gr.Column(min_width=260):
            a = gr.Textbox("cat face", label="First prompt", max_length=inputs.MAX_PROMPT_CHARS, elem_id="cmp-a")
            b = gr.Textbox("dog face", label="Second prompt", max_length=inputs.MAX_PROMPT_CHARS, elem_id="cmp-b")
            seed = gr.Number(0, label="Seed", precision=0, minimum=0, maximum=MAX_SEED, info="Picks the one ε both start from.")
            steps = gr.Slider(2, 50, DEFAULT_STEPS, step=1, label="Steps")
            guidance = gr.Slider(1, 10, DEFAULT_GUIDANCE, step=0.5, label="Guidance scale")
            sampler = gr.Dropdown(list(SAMPLERS), value=DEFAULT_SAMPLER, label="Sampler")
            go = gr.Button("Compare", variant="primary", elem_id="cmp-button")
        with gr.Column(scale=2, min_width=300):
            strip_image = gr.Image(label="x̂₀ over the run: first prompt (top), second (bottom)", format="png", elem_id="cmp-strip")
            status = gr.Markdown("", elem_id="cmp-status")
            plot = gr.Plot(show_label=False, elem_id="cmp-plot")  # titled inside: a label would cover the title
    pairs = gr.State(None)
    slider = gr.Slider(1, DEFAULT_STEPS, 1, step=1, label="Step", interactive=False, elem_id="cmp-slider")
    step_image = gr.Image(label="x̂₀ of the first prompt | of the second | difference × 4", format="png", elem_id="cmp-step")
    step_info = gr.Markdown("", elem_id="cmp-step-info")
    outs = OUT.components(dict(strip=strip_image, plot=plot, status=status, pairs=pairs, slider=slider,
                               step_image=step_image, step_info=step_info))
    clear_on(go.click, status)
    go.click(compare, [a, b, seed, steps, guidance, sampler, model], outs, api_name="compare", concurrency_id=MODEL_QUEUE, preprocess=False)
    slider.input(show_step, [pairs, slider], [step_image, step_info], api_name=False, show_progress="hidden")
