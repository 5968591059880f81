"""Tab 3 · Denoise: add noise of a chosen level σ to an image (or upload a noisy one) and watch
the model take it back, with honest numbers: PSNR and SSIM of the one-step guess and of the
iterative result against the clean image, and a sharpness ratio that shows what iterating buys.

Data flow: the upload passes the input gate, then a fresh DiTImg2ImgPipeline starts the shared
loop at the scheduled step nearest σ (for a noisy upload: from the upload itself, converted to
the model's noise model) and runs it down to σ = 0.
"""

from __future__ import annotations

import gradio as gr
import torch

from pipelines import DEFAULT_SAMPLER, DEFAULT_STEPS, DiTImg2ImgPipeline
from pipelines import schedulers as flow
from pipelines.image_utils import to_unit_tensor, unit_to_model

from . import inputs
from .i18n import tr
from .metrics import psnr, sharpness, ssim
from .outputs import Outputs
from .runtime import MAX_SEED, MODEL_QUEUE, example_images, gpu, runtime
from .streaming import stream_outputs
from .viz import schedule_figure, to_uint8, upscale

WHY_PSNR = """**Why the one-step x̂₀ wins on PSNR.** From a noisy image the model's single prediction x̂₀ is its estimate of
the *average* of all clean images that could lie under that noise. An average is blurry, and PSNR (pixel-wise squared
error) rewards exactly that hedging. Iterating commits to one sharp, plausible image: its details may not be the
original's, so PSNR drops, but its **sharpness** (edge strength relative to the clean image, 1 = as sharp) is back near 1,
where the one-step guess stays well below. Look at the images, not only the numbers."""

NOISY_MODEL = """**Your noisy upload.** A real noisy photo is y = x₀ + s·n (noise of strength s added to the image).
The model works on x_t = (1−σ)·x₀ + σ·ε instead. The two match with σ = s / (1 + s) and x_t = (1−σ)·y, which is
what the app does: set σ to the level that corresponds to your image's noise (s = σ / (1−σ))."""

OUT = Outputs("noisy", "one_step", "result", "table", "note", "plot")  # finish() returns them in this order


@gpu
def denoise(image, sigma, is_noisy, steps, seed, prompt):
    """Add noise of level σ (or take a noisy upload), then let the model remove it."""
    clean = inputs.load_image(image, "Image", runtime().image_size)
    sigma = inputs.number(sigma, "Noise level σ", 0, 1)
    steps = inputs.number(steps, "Steps", 1, 100, integer=True)
    used = inputs.seed(seed)
    prompt = inputs.prompt(prompt)
    is_noisy = bool(is_noisy)
    pipe = runtime().pipeline(DiTImg2ImgPipeline, DEFAULT_SAMPLER)
    kwargs = dict(image=clean, prompt=prompt, sigma=sigma, num_inference_steps=steps, guidance_scale=1.0,
                  generator=torch.Generator().manual_seed(used), output_type="pt", return_trace=True)
    if is_noisy:
        # y = x0 + s n  ->  x_t = (1 - sigma) y: a state of the model's own noise model, at the
        # scheduled level the run starts from
        _, start_sigma = pipe.start_step(steps, sigma=sigma)
        kwargs["latents"] = (1.0 - start_sigma) * unit_to_model(to_unit_tensor(clean, clean.width))
    yield OUT.reset(note="Starting…", plot=gr.skip())

    def on_step(ev):
        return OUT(result=upscale(to_uint8(ev.x0_pred[0])), note=f"Step {ev.index + 1} of {ev.total}…")

    def on_done(ev):
        return finish(ev.output, clean, sigma, steps, is_noisy)

    yield from stream_outputs(pipe, kwargs, on_step, on_done)


def finish(out, clean_pil, sigma: float, steps: int, is_noisy: bool) -> tuple:
    clean = to_unit_tensor(clean_pil, clean_pil.width)[0]
    plot = schedule_point(steps, sigma)
    if not out.trace:
        note = f"σ = {sigma:.2f} is nearer 0 than any scheduled step: nothing to denoise, the image is returned as it is."
        return upscale(to_uint8(clean, False)), None, upscale(to_uint8(clean, False)), [], note, plot
    first = out.trace[0]
    noisy, one, result = (((t[0] + 1) / 2).clamp(0, 1) for t in (first.x_t, first.x0_pred, out.images * 2 - 1))
    rows = []
    if not is_noisy:
        for name, x in (("noisy input", noisy), ("one-step x̂₀", one), ("iterative result", result)):
            rows.append([name, round(psnr(x, clean), 2), round(ssim(x, clean), 4), round(sharpness(x) / max(sharpness(clean), 1e-8), 2)])
    used = first.sigma
    note = (f"Ran **{out.num_steps_run} of the {steps} scheduled steps**. You asked for σ = {sigma:.2f}; the run starts at the "
            f"nearest scheduled level, **σ = {used:.3f}**" + ("" if is_noisy else ", and the noise was added at that level") + ".")
    note += ("\n\n" + NOISY_MODEL + " No clean image to compare with, so no PSNR/SSIM.") if is_noisy else "\n\n" + WHY_PSNR
    return upscale(to_uint8(noisy, False)), upscale(to_uint8(one, False)), upscale(to_uint8(result, False)), rows, note, plot


def schedule_point(steps, sigma):
    """The default sampler's schedule with the noise level σ marked."""
    steps = inputs.number(steps, "Steps", 1, 100, integer=True)
    sigma = inputs.number(sigma, "Noise level σ", 0, 1)
    grid = flow.step_sigmas(DEFAULT_SAMPLER, steps).tolist() + [0.0]
    return schedule_figure(grid, current_sigma=sigma, title=f"σ = {sigma:.2f} on the {steps}-step schedule")


def create_denoise() -> None:
    examples = [str(p) for p in example_images()]
    gr.Markdown("Add noise of a chosen level σ to an image — x_t = (1−σ)·x₀ + σ·ε — and watch the model take it back.")
    with gr.Row(equal_height=False):
        with gr.Column(min_width=300):
            image = gr.Image(examples[1] if len(examples) > 1 else None, type="filepath", label="Clean image (or a noisy upload)",
                                format="png", height=256, elem_classes="fit-img", elem_id="denoise-image")
            go = gr.Button(tr("Add noise and denoise"), variant="primary", elem_id="denoise-button")
            if examples:
                gr.Examples([[e] for e in examples], [image], label="Example emoji")
            sigma = gr.Slider(0.0, 1.0, 0.5, step=0.01, label="Noise level σ", info=tr("0 = clean, 1 = pure noise."))
            noisy = gr.Checkbox(False, label="My image is already noisy", info="Then no noise is added: y = x₀ + s·n is converted to the model's x_t at this σ.")
            steps = gr.Slider(1, 100, DEFAULT_STEPS, step=1, label="Steps of the full schedule", info="The run uses the part of this schedule below σ.")
            prompt = gr.Textbox("", label="Prompt (optional)", info="What the image shows, in English; empty = unconditional.")
            seed = gr.Number(0, label="Seed", precision=0, minimum=0, maximum=MAX_SEED, info="Fixes the added noise.")
        with gr.Column(min_width=300):
            with gr.Row():
                shown_in = gr.Image(label="noisy input x_t", format="png", height=200)
                one = gr.Image(label="one step: x̂₀", format="png", height=200)
                result = gr.Image(label="iterative result", format="png", height=200, elem_id="denoise-result")
            table = gr.Dataframe(headers=["image", "PSNR (dB) ↑", "SSIM ↑", "sharpness (clean = 1)"], label="Against the clean image", interactive=False)
            note = gr.Markdown("", elem_id="denoise-note")
            plot = gr.Plot(label="Where σ sits on the schedule")
    go.click(denoise, [image, sigma, noisy, steps, seed, prompt],
             OUT.components(dict(noisy=shown_in, one_step=one, result=result, table=table, note=note, plot=plot)),
             api_name="denoise", concurrency_id=MODEL_QUEUE, preprocess=False)
    sigma.release(schedule_point, [steps, sigma], plot, api_name=False, show_progress="hidden", preprocess=False)
