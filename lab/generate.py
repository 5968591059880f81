"""Tab 1 · Generate: a prompt becomes images; the model's x̂₀ streams in step by step, and a
scrubber shows what the model saw (x_t) and said (x̂₀, ε̂) at every step afterwards.

Data flow: `generate` checks the inputs (lab.inputs), asks the runtime for a fresh
DiTText2ImagePipeline with the chosen sampler, and streams it (lab.streaming); the pipeline
encodes the prompt with MiniLM and runs its denoising loop, calling the DiT twice per step
(with and without the prompt) for classifier-free guidance.
"""

from __future__ import annotations

import gradio as gr
import PIL.Image
import torch

from pipelines import DEFAULT_STEPS, SAMPLERS, DiTText2ImagePipeline

from . import inputs
from .compare import create_compare
from .reading import create_reading
from .i18n import say, tr
from .outputs import clear_on, Outputs
from .files import new_run_dir
from .frames import Frames
from .runtime import DEFAULT_IMAGES, DEFAULT_MODEL, MAX_SEED, MODEL_QUEUE, chosen_settings, gpu, runtime
from .streaming import stream_outputs
from .viz import hstack, to_uint8, upscale

SAMPLER_CHOICES = list(SAMPLERS)
EXAMPLES = [["grinning face", 0], ["red apple", 1], ["cat face, noto style", 2], ["rocket, twemoji style", 3], ["a slice of pizza", 4]]
OUT = Outputs("gallery", "live", "seed_used", "status", "frames", "slider", "files", *(SCRUB := ("x_t", "x0", "eps", "scrub_info")))
ENGLISH_ONLY = "Prompts must be in English: the text encoder (MiniLM) has no Chinese vocabulary."


def sampler_help(name: str) -> str:
    return say("**{name}** — {description}", name=name, description=SAMPLERS[name][0]) if name in SAMPLERS else ""


@gpu
def generate(prompt, negative, seed, randomize, steps, guidance, sampler, n_images, model=DEFAULT_MODEL):
    """Generate images from a prompt; streams the model's current guess of the clean image."""
    prompt = inputs.prompt(prompt, required=True)
    negative = inputs.prompt(negative, "Negative prompt")
    used = inputs.seed(seed, bool(randomize))
    steps = inputs.number(steps, "Steps", 1, 100, integer=True)
    guidance = inputs.number(guidance, "Guidance scale", 1, 10)
    n = inputs.number(n_images, "Images", 1, 8, integer=True)
    sampler = inputs.choice(sampler, "Sampler", SAMPLER_CHOICES)
    pipe = runtime(inputs.model(model)).pipeline(DiTText2ImagePipeline, sampler)
    kwargs = dict(prompt=prompt, negative_prompt=negative, num_inference_steps=steps, guidance_scale=guidance,
                  num_images_per_prompt=n, generator=[torch.Generator().manual_seed(used + k) for k in range(n)],
                  output_type="pt", return_trace=True)
    # a new run starts clean: nothing of the previous run stays beside its status
    yield OUT.reset(gallery=[], seed_used=used, status=say("Starting…"), slider=gr.Slider(value=0, maximum=steps, interactive=False),
                    scrub_info="")

    def on_step(ev):
        live = upscale(hstack([to_uint8(x) for x in ev.x0_image]), size=128 if n > 2 else 256)
        return OUT(live=live, status=say("Step {i} of {n}…", i=ev.index + 1, n=ev.total))

    def on_done(ev):
        out = ev.output
        images = [PIL.Image.fromarray(to_uint8(x, model_space=False)) for x in out.images]
        frames = Frames.from_trace(out.trace, sampler, space=pipe.space)
        n_steps = len(frames)
        status = say("Done: {n} steps ({calls} model calls), seed {seed}.", n=n_steps, calls=out.num_model_calls, seed=used)
        return OUT(gallery=images, seed_used=used, status=status, frames=frames, files=downloads(images),
                   slider=gr.Slider(maximum=n_steps, value=n_steps, interactive=True), **dict(zip(SCRUB, scrub(frames, n_steps))))

    yield from stream_outputs(pipe, kwargs, on_step, on_done)


def scrub(frames: Frames | None, k) -> tuple:
    """x_t after k steps, and the x̂₀ / ε̂ the model predicted from it (at the end: the last step's)."""
    if frames is None:
        return None, None, None, say("Generate first, then move the slider.")
    k = frames.clamp(k)
    j = min(k, len(frames) - 1)
    step = frames.steps[j]
    note = "" if k < len(frames) else say(" (x̂₀ and ε̂: the last step's predictions)")
    return (upscale(frames.states[k]), upscale(step.x0_pred), upscale(step.noise_pred),
            say("{title} · predictions of step {j}", title=frames.title(k), j=j + 1) + note + frames.latent_note())


def downloads(images: list[PIL.Image.Image]) -> list[str]:
    """Each image as a PNG at native size and at display size (nearest-neighbour)."""
    folder = new_run_dir()
    paths = []
    for i, im in enumerate(images):
        shown = upscale(im)
        native, big = folder / f"ditlab-{i}-{im.width}px.png", folder / f"ditlab-{i}-{shown.width}px.png"
        im.save(native)
        shown.save(big)
        paths += [str(native), str(big)]
    return paths


def model_settings(model) -> tuple[float, str]:
    """Guidance and sampler for a newly chosen model: the ones its gate ran with (lab.runtime)."""
    return chosen_settings(inputs.model(model))


def create_generate(model: gr.Radio) -> None:
    guidance0, sampler0 = model_settings(DEFAULT_MODEL)
    with gr.Row(equal_height=False):
        with gr.Column(scale=2, min_width=300):
            prompt = gr.Textbox("red apple", label="Prompt", elem_id="gen-prompt", max_length=inputs.MAX_PROMPT_CHARS,
                                info=tr("What to draw, in English: an emoji name or everyday words. Add “noto style” or “twemoji style” to pick a look."))
            create_reading(prompt)
            with gr.Row():
                go = gr.Button(tr("Generate"), variant="primary", elem_id="gen-button")
                stop = gr.Button(tr("Stop"), variant="stop")
            negative = gr.Textbox("", label="Negative prompt", info="What to steer away from; guidance pushes the image away from this text.")
            with gr.Row():
                seed = gr.Number(0, label="Seed", precision=0, minimum=0, maximum=MAX_SEED, info=tr("Same seed + same settings = same image."))
                randomize = gr.Checkbox(False, label="Randomize seed", info="Pick a new seed each run (the one used is shown).")
            steps = gr.Slider(1, 100, DEFAULT_STEPS, step=1, label="Steps", info=tr("How many denoising steps: more = finer, slower."))
            guidance = gr.Slider(1, 10, guidance0, step=0.5, label="Guidance scale", info=tr("How strongly to follow the prompt (1 = not guided)."))
            sampler = gr.Dropdown(SAMPLER_CHOICES, value=sampler0, label="Sampler", info=tr("The ODE solver that walks from noise to image."))
            sampler_info = gr.Markdown(sampler_help(sampler0))
            n_images = gr.Slider(1, 8, DEFAULT_IMAGES, step=1, label="Images", info="How many images (seeds seed, seed+1, …).")
            gr.Markdown(tr(ENGLISH_ONLY))
        with gr.Column(scale=3, min_width=300):
            gallery = gr.Gallery(label="Images (PNG)", columns=4, height=300, format="png", elem_id="gen-gallery", object_fit="contain")
            live = gr.Image(label="Live: the model's current guess x̂₀", type="pil", format="png", height=160)
            seed_used = gr.Number(label="Seed used", interactive=False)
            status = gr.Markdown("", elem_id="gen-status")
            files = gr.Files(label="Download: native-size and display-size PNGs")
    frames = gr.State(None)
    gr.Markdown("### Step scrubber: what the model saw and said at each step (first image)")
    slider = gr.Slider(0, DEFAULT_STEPS, 0, step=1, label="Steps done", info="0 = pure noise; the last position is the finished image.",
                       interactive=False, elem_id="gen-slider")
    with gr.Row():
        sx = gr.Image(label="x_t (the state after these steps)", format="png", height=200)
        s0 = gr.Image(label="x̂₀ (predicted clean image)", format="png", height=200)
        se = gr.Image(label="ε̂ (predicted noise)", format="png", height=200)
    scrub_info = gr.Markdown("", elem_id="gen-scrub-info")
    ins = [prompt, negative, seed, randomize, steps, guidance, sampler, n_images, model]
    outs = OUT.components(dict(gallery=gallery, live=live, seed_used=seed_used, status=status, frames=frames, slider=slider,
                               files=files, x_t=sx, x0=s0, eps=se, scrub_info=scrub_info))
    clear_on(go.click, status)
    clear_on(prompt.submit, status)
    ev = go.click(generate, ins, outs, api_name="generate", concurrency_id=MODEL_QUEUE, concurrency_limit=1, preprocess=False)
    sub = prompt.submit(generate, ins, outs, api_name=False, concurrency_id=MODEL_QUEUE, preprocess=False)
    stop.click(lambda: "Stopped. Press Generate to start again.", None, status, cancels=[ev, sub], api_name=False)
    slider.input(scrub, [frames, slider], [sx, s0, se, scrub_info], api_name=False, show_progress="hidden")
    sampler.change(sampler_help, sampler, sampler_info, api_name=False, show_progress="hidden")
    # each model starts from the settings its gate ran with (chosen on the tuning set; they differ
    # between the models); the user's changes hold until the next switch
    model.change(model_settings, model, [guidance, sampler], api_name=False, show_progress="hidden")
    examples = gr.Examples(EXAMPLES, [prompt, seed], label="Try (click one: it fills the prompt and seed, and runs)")
    examples.load_input_event.then(generate, ins, outs, api_name=False, concurrency_id=MODEL_QUEUE, preprocess=False)
    with gr.Accordion("Compare two prompts, step by step", open=False, elem_id="cmp-accordion"):
        create_compare(model)
