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
from pipelines.image_utils import to_unit_tensor
from pipelines.latents import LatentSpace

from . import inputs
from .i18n import say, tr
from .metrics import psnr, sharpness, ssim
from .outputs import clear_on, Outputs
from .runtime import DEFAULT_MODEL, MAX_SEED, MODEL_QUEUE, example_images, gpu, model_work, runtime
from .streaming import stream_outputs
from .viz import schedule_figure, to_uint8, upscale

BLURRY, NOISY = 0.8, 1.25  # sharpness below / above these shares of the clean image's reads as blurry / grainy


def why_numbers(rows: list[list]) -> str:
    """What this run's table shows about one step against iterating, from its own numbers: the
    one-step x̂₀ is the model's estimate of the *average* clean image under the noise, which is
    blurry when much is hidden (high σ) and nearly the image when little is (low σ)."""
    _, (_, p1, _, sh1), (_, p2, _, sh2) = rows
    if sh1 > NOISY:
        return say("**The one-step x̂₀ is grainier than the clean image** (sharpness {sh1:.2f}, above 1): the model left noise in it. "
                   "Iterating gives {p2:.2f} dB against the one step's {p1:.2f} dB, at sharpness {sh2:.2f}.", sh1=sh1, p1=p1, p2=p2, sh2=sh2)
    if sh1 < BLURRY and p1 >= p2:
        return say("**Why the one-step x̂₀ wins on PSNR ({p1:.2f} vs {p2:.2f} dB) yet looks worse.** From this much noise the single "
                   "prediction x̂₀ is the model's estimate of the *average* of all clean images that could lie under it. An average is "
                   "blurry (sharpness {sh1:.2f} of the clean image's), and PSNR (pixel-wise squared error) rewards that hedging. "
                   "Iterating commits to one sharp, plausible image (sharpness {sh2:.2f}): its details may not be the original's, so "
                   "PSNR drops. Look at the images, not only the numbers.", sh1=sh1, p1=p1, p2=p2, sh2=sh2)
    if sh1 >= BLURRY:
        return say("**At this σ the noise hides little.** The one-step x̂₀ is already sharp ({sh1:.2f} of the clean image's sharpness) "
                   "and close to the original ({p1:.2f} dB); iterating gives {p2:.2f} dB at sharpness {sh2:.2f}. Raise σ to see "
                   "the one-step guess turn into a blurry average while iterating stays sharp.", sh1=sh1, p1=p1, p2=p2, sh2=sh2)
    return say("**Here iterating wins on PSNR too** ({p2:.2f} vs {p1:.2f} dB): the one-step x̂₀ is a blurry average (sharpness "
               "{sh1:.2f}), and the iterative result (sharpness {sh2:.2f}) landed close to the original.", sh1=sh1, p1=p1, p2=p2, sh2=sh2)


NOISY_MODEL = """**Your noisy upload is read as x_t at this σ**: x_t = (1−σ)·x₀ + σ·ε, exactly what the "noisy input x_t"
panel shows, so downloading that panel and uploading it back (at the same σ) repeats the run. A photo with noise added the
usual way, y = x₀ + s·n, is not dimmed like x_t: to the model its image looks (1−σ) times too bright and contrasty. For such
a photo pick σ = s / (1 + s) and expect the colours to come back stronger than they were."""

LATENT_NOISE = ("On the latent model the noise is added to the image's latent z₀, not to its pixels: the noisy panel is the "
                "decoder's drawing of z_t, and an upload marked noisy is encoded to its latent.")

OUT = Outputs("noisy", "one_step", "result", "table", "note", "plot")  # finish() returns them in this order


@gpu
def denoise(image, sigma, is_noisy, steps, seed, prompt, model=DEFAULT_MODEL):
    """Add noise of level σ (or take a noisy upload), then let the model remove it."""
    model = inputs.model(model)
    rt = runtime(model)
    clean = inputs.load_image(image, "Image", rt.image_size)
    sigma = inputs.number(sigma, "Noise level σ", 0, 1)
    steps = inputs.number(steps, "Steps", 1, 100, integer=True)
    used = inputs.seed(seed)
    prompt = inputs.prompt(prompt)
    is_noisy = bool(is_noisy)
    pipe = rt.pipeline(DiTImg2ImgPipeline, DEFAULT_SAMPLER)
    kwargs = dict(image=clean, prompt=prompt, sigma=sigma, num_inference_steps=steps, guidance_scale=1.0,
                  generator=torch.Generator().manual_seed(used), output_type="pt", return_trace=True)
    if is_noisy:
        # the upload is x_t itself (as the "noisy input x_t" panel shows it), so a downloaded
        # panel uploaded back at the same σ starts the same run (on the latent model: its latent,
        # which only approximately round-trips, as the decoder's drawing of a noisy latent is no image)
        kwargs["latents"] = pipe.encode_images(to_unit_tensor(clean, clean.width))
    yield OUT.reset(note=say("Starting…"), plot=gr.skip())

    def on_step(ev):
        return OUT(result=upscale(to_uint8(ev.x0_image[0])), note=say("Step {i} of {n}…", i=ev.index + 1, n=ev.total))

    def on_done(ev):
        return finish(ev.output, clean, sigma, steps, is_noisy, pipe.space, model)

    yield from stream_outputs(pipe, kwargs, on_step, on_done)


def finish(out, clean_pil, sigma: float, steps: int, is_noisy: bool, space: LatentSpace, model: str = DEFAULT_MODEL) -> tuple:
    """The panels, table and note of a finished run; on the latent model the noisy input is the
    decoder's drawing of the noisy latent z_t, the state the model started from."""
    clean = to_unit_tensor(clean_pil, clean_pil.width)[0]
    plot = schedule_point(steps, sigma, model)
    if not out.trace:
        note = say("σ = {sigma:.2f} is nearer 0 than any scheduled step: nothing to denoise, the image is returned as it is.", sigma=sigma)
        return upscale(to_uint8(clean, False)), None, upscale(to_uint8(clean, False)), [], note, plot
    first = out.trace[0]
    with model_work():
        noisy = space.decode(first.x_t[:1].to(out.images.device))
    noisy, one, result = (((t[0] + 1) / 2).clamp(0, 1) for t in (noisy, first.x0_image, out.images * 2 - 1))
    rows = []
    if not is_noisy:
        for name, x in ((say("noisy input"), noisy), (say("one-step x̂₀"), one), (say("iterative result"), result)):
            rows.append([name, round(psnr(x, clean), 2), round(ssim(x, clean), 4), round(sharpness(x) / max(sharpness(clean), 1e-8), 2)])
    used = first.sigma
    note = say("Ran **{ran} of the {steps} scheduled steps**. You asked for σ = {sigma:.2f}; the run starts at the nearest scheduled "
               "level, **σ = {used:.3f}**.", ran=out.num_steps_run, steps=steps, sigma=sigma, used=used)
    if not is_noisy:
        note += " " + say("The noise was added at that level.")
    if space.vae is not None:
        note += " " + say(LATENT_NOISE)
    note += ("\n\n" + say(NOISY_MODEL) + " " + say("No clean image to compare with, so no PSNR/SSIM.")) if is_noisy else "\n\n" + why_numbers(rows)
    return upscale(to_uint8(noisy, False)), upscale(to_uint8(one, False)), upscale(to_uint8(result, False)), rows, note, plot


def schedule_point(steps, sigma, model=DEFAULT_MODEL):
    """The schedule the model's denoising walks (the default sampler at the model's timestep
    shift) with the noise level σ marked."""
    steps = inputs.number(steps, "Steps", 1, 100, integer=True)
    sigma = inputs.number(sigma, "Noise level σ", 0, 1)
    grid = flow.step_sigmas(runtime(inputs.model(model)).scheduler(DEFAULT_SAMPLER), steps).tolist() + [0.0]
    return schedule_figure(grid, current_sigma=sigma, title=say("σ = {sigma:.2f} on the {steps}-step schedule", sigma=sigma, steps=steps))


def create_denoise(model: gr.Radio) -> None:
    examples = [str(p) for p in example_images(runtime().image_size)]  # the default model's size; the other resizes them
    gr.Markdown("Add noise of a chosen level σ to an image — x_t = (1−σ)·x₀ + σ·ε — and watch the model take it back.")
    with gr.Row(equal_height=False):
        with gr.Column(min_width=300):
            image = gr.Image(examples[1] if len(examples) > 1 else None, type="filepath", label="Clean image (or a noisy upload)",
                                format="png", height=256, elem_classes="fit-img", elem_id="denoise-image")
            go = gr.Button(tr("Add noise and denoise"), variant="primary", elem_id="denoise-button")
            if examples:
                gr.Examples([[e] for e in examples], [image], label="Example emoji")
            sigma = gr.Slider(0.0, 1.0, 0.5, step=0.01, label="Noise level σ", info=tr("0 = clean, 1 = pure noise."))
            noisy = gr.Checkbox(False, label="My image is already noisy", info="Then no noise is added: the upload is taken as x_t at this σ (like the noisy input panel).")
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
            plot = gr.Plot(show_label=False, elem_id="denoise-plot")  # titled inside
    clear_on(go.click, note)
    go.click(denoise, [image, sigma, noisy, steps, seed, prompt, model],
             OUT.components(dict(noisy=shown_in, one_step=one, result=result, table=table, note=note, plot=plot)),
             api_name="denoise", concurrency_id=MODEL_QUEUE, preprocess=False)
    sigma.release(schedule_point, [steps, sigma, model], plot, api_name=False, show_progress="hidden", preprocess=False)
