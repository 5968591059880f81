"""View · Sampler race: the four solvers from one shared noise ε, against a many-step reference,
and their error against the number of model evaluations (NFE) on log axes, where a solver's
order shows as the slope of its line.

Data flow: one fresh pipeline per solver (lab.runtime), the same prompt embeddings and the
same starting noise; `num_model_calls` of each output is its NFE.
"""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr
import numpy as np
import torch

from pipelines import SAMPLERS, DiTText2ImagePipeline

from . import inputs
from .i18n import say
from .outputs import clear_on
from .runtime import DEFAULT_MODEL, MAX_SEED, MODEL_QUEUE, gpu, model_work, runtime
from .viz import caption_below, finished, subplots, tile_grid, to_uint8, upscale

STEP_COUNTS = (4, 8, 16, 32)
REFERENCE = ("heun", 100)  # a many-step, second-order solve: the "true" end of the ODE
SPLIT_RMSE = 0.15  # closest 32-step solve further than this from the reference: they ended on another image
DEFAULT_RACE_GUIDANCE = 2.0  # measured: no split on 6 tuning prompts (scripts/race_defaults.py, benchmarks/race_defaults.jsonl)
# Orders closer than this are not told apart: the default race, read on two of this project's CPUs,
# put DPM-Solver++ above Euler on one and below it on the other, every order between 1.3 and 1.4.
ORDER_RESOLUTION = 0.2
DEFAULT_RACE_PROMPT = "red apple"  # among them, the one whose four solvers all converged there
EXPLAIN = """**Reading the plot.** Each line is one solver; each point one number of steps (4, 8, 16, 32). Both axes are
logarithmic, so a solver whose error shrinks like NFE^(−p) is a straight line of slope −p: **p is its order**. In theory
Euler is first order (double the steps, halve the error) and Heun, DPM-Solver++ 2M and UniPC second order, so their lines
fall faster, until they meet the model's own roughness. The line above the plot says what this race measured.
Heun spends two model calls per step, except the last (to σ = 0, a plain Euler step): 8 Heun steps are 15 calls,
which is why its points sit further right."""


@torch.no_grad()
def solve(prompt: str, noise: torch.Tensor, sampler: str, steps: int, guidance: float, model: str | None = None) -> tuple[torch.Tensor, int]:
    """The solve's end as pixels in [-1, 1] (a latent model's decoded: errors are measured in
    one space for both models), and its model calls."""
    pipe = runtime(model).pipeline(DiTText2ImagePipeline, sampler, exact=True)  # fp32: the orders measure solvers, not bf16
    with model_work():
        out = pipe(prompt, num_inference_steps=steps, guidance_scale=guidance, latents=noise.clone(), output_type="latent")
        return pipe.space.decode(out.images), out.num_model_calls


@dataclass
class RaceResult:
    results: dict[tuple[str, int], tuple[torch.Tensor, int]]  # (sampler, steps) -> (x at σ = 0, NFE)
    rmse: dict[tuple[str, int], float]  # to the reference
    curves: dict[str, list[tuple[int, float]]]  # sampler -> [(NFE, RMSE)] over STEP_COUNTS

    @property
    def orders(self) -> dict[str, float]:
        return {s: round(order(pts), 2) for s, pts in self.curves.items()}

    @property
    def finest_rmse(self) -> float:
        """The closest any solver came to the reference, at the most steps tried."""
        return round(min(pts[-1][1] for pts in self.curves.values()), 4)

    @property
    def split(self) -> bool:
        """The solves never approach the reference: they end on another image."""
        return self.finest_rmse > SPLIT_RMSE


def run_race(prompt: str, seed: int, steps: int, guidance: float, progress=None, model: str | None = None) -> RaceResult:
    """The reference, every solver at `steps`, and every solver at STEP_COUNTS, from one ε."""
    cfg = runtime(model).transformer.config
    noise = torch.randn(1, cfg.in_channels, cfg.sample_size, cfg.sample_size, generator=torch.Generator().manual_seed(seed))
    jobs = list(dict.fromkeys([REFERENCE] + [(s, steps) for s in SAMPLERS] + [(s, n) for s in SAMPLERS for n in STEP_COUNTS]))
    results = {}
    for i, (sampler, n) in enumerate(jobs):
        if progress is not None:
            progress(i / len(jobs), desc=say("{sampler}, {n} steps", sampler=sampler, n=n))
        results[(sampler, n)] = solve(prompt, noise, sampler, n, guidance, model)
    ref = results[REFERENCE][0]
    rmse = {k: float(((x - ref) ** 2).mean().sqrt()) for k, (x, _) in results.items()}
    curves = {s: [(results[(s, n)][1], rmse[(s, n)]) for n in STEP_COUNTS] for s in SAMPLERS}
    return RaceResult(results, rmse, curves)


@gpu
def race(prompt, seed, steps, guidance, model=DEFAULT_MODEL, progress=gr.Progress()):
    """Every solver at `steps`, and every solver at 4..32 steps for the error-vs-NFE plot."""
    prompt = inputs.prompt(prompt, required=True)
    used = inputs.seed(seed)
    steps = inputs.number(steps, "Steps", 2, 50, integer=True)
    guidance = inputs.number(guidance, "Guidance", 1, 10)
    r = run_race(prompt, used, steps, guidance, progress, inputs.model(model))
    tiles = []
    for s in SAMPLERS:
        x, nfe = r.results[(s, steps)]
        tiles.append(caption_below(upscale(to_uint8(x[0]), size=192), [s, f"NFE {nfe} · RMSE {r.rmse[(s, steps)]:.3f}"]))
    ref, ref_nfe = r.results[REFERENCE]
    ref_img = caption_below(upscale(to_uint8(ref[0]), size=192), [say("reference: {sampler} {n} steps", sampler=REFERENCE[0], n=REFERENCE[1]), f"NFE {ref_nfe}"])
    table = [[s, steps, r.results[(s, steps)][1], round(r.rmse[(s, steps)], 4), r.orders[s]] for s in SAMPLERS]
    # three to a row: the captions stay readable when a phone shrinks the image to its width
    return tile_grid([ref_img, *tiles], 3), error_figure(r.curves), table, verdict(r, guidance)


def verdict(r: RaceResult, guidance: float) -> str:
    """What this race measured, in words that agree with its own numbers."""
    o = r.orders
    measured = ", ".join(f"{s} {o[s]:.1f}" for s in SAMPLERS)
    if r.split:
        return say("**The paths split here.** Even at {n} steps every solver ends {rmse:.2f} (RMSE) from the reference, so the "
                   "measured orders ({measured}) mean nothing. At guidance {g:g} the trajectories pass near a boundary between "
                   "two images: a tiny difference in the early steps decides which image a solve lands on, and the 100-step "
                   "reference chose another one. Lower the guidance (the default, {default:g}, was measured not to split) to see "
                   "the solvers converge.", n=STEP_COUNTS[-1], rmse=r.finest_rmse, measured=measured, g=guidance,
                   default=DEFAULT_RACE_GUIDANCE)
    head = say("**The solvers converge**: at {n} steps the closest one is {rmse:.3f} from the reference. Measured orders: {measured}.",
               n=STEP_COUNTS[-1], rmse=r.finest_rmse, measured=measured)
    below = [s for s in SAMPLERS if s != "euler" and o[s] < o["euler"] - ORDER_RESOLUTION]
    level = [s for s in SAMPLERS if s != "euler" and o["euler"] - ORDER_RESOLUTION <= o[s] < o["euler"]]
    if below:
        return head + " " + say("Here {names} measure{s} below Euler, against the theory. The theory assumes a smooth velocity field; "
                                "a small network's is rough at low σ, where the last steps are taken, so errors stop shrinking at the "
                                "rate an order promises. Try another seed or prompt.", names=", ".join(below), s="s" * (len(below) == 1))
    if level:
        return head + " " + say("Here {names} and Euler measure alike: within {tol:.1f}, closer than a slope fitted to four points can "
                                "tell apart. The higher orders need a smooth velocity field; a small network's is rough at low σ, "
                                "where the last steps are taken, so every solver's errors shrink at about the same rate here.",
                                names=", ".join(level), tol=ORDER_RESOLUTION)
    return head + " " + say("Euler's is the lowest, as the theory orders them.")


def order(points: list[tuple[int, float]]) -> float:
    """−slope of log(error) against log(NFE), least squares: the solver's measured order."""
    nfe, err = np.log([p[0] for p in points]), np.log([max(p[1], 1e-12) for p in points])
    return float(-np.polyfit(nfe, err, 1)[0])


def error_figure(curves: dict[str, list[tuple[int, float]]]):
    fig, ax = subplots(figsize=(6, 3.4))
    for s, pts in curves.items():
        ax.loglog([p[0] for p in pts], [p[1] for p in pts], "o-", label=say("{s} (order ≈ {p:.1f})", s=s, p=order(pts)))
    ax.set_xlabel(say("model evaluations (NFE)"))
    ax.set_ylabel(say("RMSE to the reference"))
    ax.set_title(say("Error against model evaluations"), fontsize=10, pad=34)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=2, frameon=False)  # above the axes, on no line
    return finished(fig)


def create_race(model: gr.Radio) -> None:
    gr.Markdown("### Sampler race\nOne prompt, one noise ε, four solvers. Which lands closest to the true end of the ODE for the same work?")
    with gr.Row(equal_height=False):
        with gr.Column(min_width=240):
            prompt = gr.Textbox(DEFAULT_RACE_PROMPT, label="Prompt", info="English.")
            seed = gr.Number(0, label="Seed", precision=0, minimum=0, maximum=MAX_SEED, info="Picks the shared ε.")
            steps = gr.Slider(2, 50, 8, step=1, label="Steps", info="Steps of each solver for the images.")
            guidance = gr.Slider(1, 10, DEFAULT_RACE_GUIDANCE, step=0.5, label="Guidance", info="The same for all. Above about 3 the paths can split (see below).")
            go = gr.Button("Race", variant="primary", elem_id="race-button")
        with gr.Column(min_width=300, scale=2):
            gallery = gr.Image(label="reference and the four solvers", format="png", elem_id="race-images")
            summary = gr.Markdown("", elem_id="race-verdict")
            plot = gr.Plot(show_label=False, elem_id="race-plot")  # the figure has its title: a label would cover it
            table = gr.Dataframe(headers=["solver", "steps", "NFE", "RMSE", "measured order"], interactive=False, elem_id="race-table")
    gr.Markdown(EXPLAIN)
    clear_on(go.click, summary)
    go.click(race, [prompt, seed, steps, guidance, model], [gallery, plot, table, summary], api_name="race", concurrency_id=MODEL_QUEUE,
             preprocess=False)

