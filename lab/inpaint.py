"""Tab 2 · Inpaint: paint a mask, the model redraws only the painted region; every pixel outside
it is returned exactly. Per step: the sampler's proposal inside the mask, the original noised
to the same level outside it, and their merge, which is the state the next step starts from.

Data flow: the editor's background and mask layers pass the input gate (lab.inputs), then a
fresh DiTInpaintPipeline runs the shared denoising loop, which after every step replaces the
outside of the mask by the forward-noised original (RePaint: also jumps back up in noise).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import gradio as gr
import numpy as np
import PIL.Image
import torch

from pipelines import DEFAULT_GUIDANCE, DEFAULT_SAMPLER, DEFAULT_STEPS, DiTInpaintPipeline

from . import inputs
from .i18n import say, tr
from .frames import Frames
from .outputs import clear_on, Outputs
from .runtime import DEFAULT_MODEL, MAX_SEED, MODEL_QUEUE, example_images, gpu, runtime
from .streaming import stream_outputs
from .viz import DISPLAY_PIXELS, difference_map, to_uint8, upscale


OUT = Outputs("result", "live", "diff", "status", "frames", "slider", *(STEP := ("proposal", "known", "merged", "info")))


@gpu
def inpaint(editor, prompt, strength, steps, guidance, jump_length, jump_n_sample, seed, model=DEFAULT_MODEL):
    """Repaint the masked region; pixels outside the mask are returned unchanged."""
    rt = runtime(inputs.model(model))
    image, mask = inputs.editor_image_and_mask(editor, size=rt.image_size)
    prompt = inputs.prompt(prompt)
    strength = inputs.number(strength, "Strength", 0.05, 1)
    steps = inputs.number(steps, "Steps", 2, 100, integer=True)
    guidance = inputs.number(guidance, "Guidance", 1, 10)
    jl = inputs.number(jump_length, "Jump length", 1, 10, integer=True)
    jn = inputs.number(jump_n_sample, "Resamples", 1, 10, integer=True)
    used = inputs.seed(seed)
    sampler = "euler" if jn > 1 else DEFAULT_SAMPLER  # RePaint's jumps need a first-order sampler
    pipe = rt.pipeline(DiTInpaintPipeline, sampler)
    kwargs = dict(image=image, mask_image=mask, prompt=prompt, strength=strength, num_inference_steps=steps, guidance_scale=guidance,
                  jump_length=jl, jump_n_sample=jn, generator=torch.Generator().manual_seed(used), output_type="pt", return_trace=True)
    yield OUT.reset(status=say("Starting…"), slider=gr.Slider(value=1, interactive=False), info="")

    def on_step(ev):
        return OUT(live=upscale(to_uint8(ev.x0_image[0])), status=say("Step {i} of {n}…", i=ev.index + 1, n=ev.total))

    def on_done(ev):
        out = ev.output
        original = np.asarray(image, np.float32) / 255.0
        result = out.images[0].permute(1, 2, 0).numpy()
        outside = np.abs(result - original)[mask == 0]
        largest = float(outside.max()) if outside.size else 0.0
        frames = Frames.from_trace(out.trace, sampler, mask=mask, space=pipe.space)
        msg = say("Done ({n} steps, sampler {sampler}). Largest change outside the mask: {largest:.6f} — {verdict}.", n=len(frames),
                  sampler=sampler, largest=largest, verdict=say("exactly unchanged") if largest == 0 else say("CHANGED"))
        last = len(frames)
        return OUT(result=upscale(PIL.Image.fromarray(to_uint8(out.images[0], False))), diff=upscale(difference_map(result, original, mask)),
                   status=msg, frames=frames, slider=gr.Slider(minimum=1, maximum=last, value=last, interactive=True),
                   **dict(zip(STEP, step_view(frames, last))))

    yield from stream_outputs(pipe, kwargs, on_step, on_done)


LATENT_MERGE = ("latent model: these panels are the latent's 4 channels; the merge happens on the latent grid (the mask "
                "max-pooled to it), and the exact pixels are pasted back outside the mask at the end.")
WAIT_THEN_RUN = """async () => {
  await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
  await new Promise((r) => setTimeout(r, 250));
  document.querySelector('#inpaint-run').click();
}"""


def step_view(frames: Frames | None, k) -> tuple:
    """Step k (1..N, as the slider and every "Step k of N" count): the proposal (inside the mask), the known region noised to the step's new
    level (outside), and their merge — this step's result (the next step starts from it, or,
    after a RePaint jump, from it re-noised)."""
    if frames is None:
        return None, None, None, ""
    j = min(max(frames.clamp(k), 1), len(frames)) - 1
    m = frames.mask[..., None].astype(bool)
    grey = lambda a, keep: np.where(keep, a, (a.astype(np.float32) * 0.25 + 191).astype(np.uint8))  # noqa: E731
    step = frames.steps[j]
    info = say("Step {i} of {n}: σ {a:.3f} → {b:.3f}", i=j + 1, n=len(frames), a=frames.sigmas[j], b=step.numbers["sigma_next"])
    if frames.latent:
        info += " · " + say(LATENT_MERGE)
    return upscale(grey(step.proposal, m)), upscale(grey(step.known, ~m)), upscale(step.merged), info


def display_examples(size: int = 32) -> list[str]:
    """The `size`-px example emoji enlarged to the display size, nearest neighbour, for the
    editor: its canvas smooths a small image it enlarges itself (a blur at 931 %), while these
    stay crisp squares, and `inputs.shrink_enlargement` takes them back to the exact pixels."""
    folder = Path(tempfile.gettempdir()) / f"ditlab-examples-{size}px-{DISPLAY_PIXELS}"
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for src in example_images(size):
        dst = folder / src.name
        if not dst.exists():
            with PIL.Image.open(src) as im:
                upscale(im.convert("RGB")).save(dst)
        paths.append(str(dst))
    return paths


def create_inpaint(model: gr.Radio) -> None:
    examples = display_examples(runtime().image_size)  # the default model's size; the other resizes them
    gr.Markdown("Paint over part of the image (magenta brush; white is there for dark images). The model redraws **only** the painted region; every pixel outside it is kept exactly.")
    with gr.Row(equal_height=False):
        with gr.Column(min_width=300):
            editor = inputs.MaskEditor(
                value=examples[0] if examples else None, type="filepath", image_mode="RGBA", label="Image + mask",
                brush=gr.Brush(default_size=4, colors=["#ff00ff", "#ffffff"], color_mode="fixed"),  # magenta first: white vanishes on white emoji
                eraser=gr.Eraser(default_size=4), transforms=(), layers=False, canvas_size=(256, 256), height=360,
                sources=("upload", "clipboard"), elem_id="inpaint-editor", format="png",
            )
            with gr.Row():
                go = gr.Button(tr("Inpaint"), variant="primary", elem_id="inpaint-button")
                run = gr.Button("run inpaint", elem_id="inpaint-run", elem_classes="hidden-proxy")
                stop = gr.Button(tr("Stop"), variant="stop")
            if examples:
                gr.Examples([[e] for e in examples], [editor], label="Example emoji")
            prompt = gr.Textbox("", label="Prompt (optional)", info="What should appear in the painted region (English).")
            strength = gr.Slider(0.05, 1.0, 1.0, step=0.05, label="Strength", info="1 = redraw from pure noise; lower keeps more of the old colours inside the mask.")
            with gr.Row():
                steps = gr.Slider(2, 100, DEFAULT_STEPS, step=1, label="Steps", info="Denoising steps.")
                guidance = gr.Slider(1, 10, DEFAULT_GUIDANCE, step=0.5, label="Guidance", info="How strongly to follow the prompt.")
            with gr.Accordion("RePaint resampling", open=False):
                gr.Markdown("Go back up `jump length` steps and down again, `resamples` times, so the inside and outside agree better (uses the Euler sampler).")
                jl = gr.Slider(1, 10, 1, step=1, label="Jump length", info="Steps to go back each time.")
                jn = gr.Slider(1, 10, 1, step=1, label="Resamples", info="1 = off; n = each stretch is denoised n times.")
            seed = gr.Number(0, label="Seed", precision=0, minimum=0, maximum=MAX_SEED, info="Fixes the noise.")
        with gr.Column(min_width=300):
            result = gr.Image(label="Result (enlarged; each square is one model pixel)", format="png", height=280, elem_id="inpaint-result")
            live = gr.Image(label="Live x̂₀", format="png", height=160)
            diff = gr.Image(label="Difference |result − input| (red), mask border (blue)", format="png", height=280, elem_id="inpaint-diff")
            status = gr.Markdown("", elem_id="inpaint-status")
    frames = gr.State(None)
    gr.Markdown("### Per step: the model's proposal inside the mask, the re-noised known region outside, and their merge")
    slider = gr.Slider(1, DEFAULT_STEPS, 1, step=1, label="Step", interactive=False, elem_id="inpaint-slider")
    with gr.Row():
        pa = gr.Image(label="proposal (the sampler's update)", format="png", height=200, elem_id="inpaint-proposal")
        pb = gr.Image(label="known region, noised to the next level", format="png", height=200)
        pc = gr.Image(label="merged: this step's result", format="png", height=200, elem_id="inpaint-merged")
    info = gr.Markdown("")
    # A click right after a brush stroke could read the editor before the stroke is in its
    # layer (the editor commits it on a later animation frame): the visible button waits two
    # frames and a moment in the browser, then clicks the hidden one that runs the model.
    clear_on(go.click, status)
    go.click(None, js=WAIT_THEN_RUN)
    ev = run.click(inpaint, [editor, prompt, strength, steps, guidance, jl, jn, seed, model],
                  OUT.components(dict(result=result, live=live, diff=diff, status=status, frames=frames, slider=slider, proposal=pa,
                                      known=pb, merged=pc, info=info)), api_name="inpaint", concurrency_id=MODEL_QUEUE, preprocess=False)
    stop.click(lambda: "Stopped. Press Inpaint to start again.", None, status, cancels=[ev], api_name=False)
    slider.input(step_view, [frames, slider], [pa, pb, pc, info], api_name=False, show_progress="hidden")
