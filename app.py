"""DiT Lab: watch a small Diffusion Transformer generate, inpaint and denoise, step by step.

    python app.py            # http://127.0.0.1:7860

UI wiring only: every computation lives in pipelines/ (pipelines.lab for the handlers).
"""

from __future__ import annotations

import os
import random

import gradio as gr
import numpy as np
import PIL.Image

from pipelines import SAMPLERS
from pipelines.lab import DEFAULT_WEIGHTS, MAX_SEED, Lab, example_images
from pipelines.schedulers import DEFAULT_GUIDANCE, DEFAULT_SAMPLER

try:  # Hugging Face ZeroGPU: borrow a GPU only while a handler runs
    import spaces

    gpu = spaces.GPU
except ImportError:
    def gpu(fn):
        return fn

LAB = Lab(os.environ.get("DITLAB_WEIGHTS", DEFAULT_WEIGHTS))
MODEL = "model"  # every model event shares this queue slot: 2 cores do one thing at a time
SAMPLER_CHOICES = [(f"{name} — {desc.split(':')[0]}", name) for name, (desc, _) in SAMPLERS.items()]
EXAMPLES = [str(p) for p in example_images()]

INTRO = """
# 🔬 DiT Lab — watch a diffusion model work
A small **Diffusion Transformer** (trained here, on CPU, on 7,500 emoji) turns noise into a 32×32 image,
guided by your words. Every tab shows the steps, not just the result. The model predicts a *velocity*
v = ε − x₀ (rectified flow): noise minus image. Images are shown 8× enlarged, each model pixel a square.
"""


def _seed(seed: float, randomize: bool) -> int:
    return random.randint(0, MAX_SEED) if randomize else int(seed)


def _err(e: Exception) -> gr.Error:
    return gr.Error(str(e))


# ------------------------------------------------------------------ Generate
@gpu
def generate(prompt, negative, seed, randomize, steps, guidance, sampler, n_images):
    """Generate images from a prompt; streams the model's current guess of the clean image."""
    if not prompt or not prompt.strip():
        raise gr.Error("Type a prompt first, e.g. “red apple” or “cat face, noto style”.")
    used = _seed(seed, randomize)
    try:
        for ev in LAB.generate(prompt, negative, used, steps, guidance, sampler, n_images):
            if "preview" in ev:
                yield gr.skip(), ev["preview"], used, f"Step {ev['step'] + 1} of {int(steps)}…", gr.skip(), gr.skip(), gr.skip()
            else:
                frames = ev["frames"]
                yield (ev["images"], gr.skip(), used, f"Done: {ev['steps_run']} model steps, seed {used}.", frames,
                       gr.Slider(maximum=len(frames), value=len(frames), interactive=True), LAB.downloads(ev["images"]))
    except ValueError as e:
        raise _err(e)


def example_generate(prompt, seed):
    """The examples' fixed settings: 4 images, 20 steps of the default sampler and guidance."""
    *_, final = LAB.generate(prompt, "", int(seed), 20, DEFAULT_GUIDANCE, DEFAULT_SAMPLER, 4)
    return final["images"]


def scrub(frames, k):
    """Show x_t, the predicted clean image and the predicted noise at step k."""
    if frames is None:
        return None, None, None, "Generate first, then move the slider."
    v = LAB.step_view(frames, k)
    return v["x_t"], v["x0_pred"], v["noise_pred"], f"Step {int(k)} of {len(frames)} · σ = {v['sigma']:.3f}"


# ------------------------------------------------------------------ Inpaint
def _editor_parts(editor):
    if editor is None or editor.get("background") is None:
        raise gr.Error("Pick an example or upload an image, then paint over the part to redraw.")
    bg = editor["background"]
    image = PIL.Image.fromarray(bg) if isinstance(bg, np.ndarray) else bg
    layers = editor.get("layers") or []
    if not layers:
        raise gr.Error("Paint a mask with the brush: the painted area is what the model redraws.")
    alpha = np.zeros(image.size[::-1], np.float32)
    for layer in layers:
        arr = np.asarray(layer)
        if arr.ndim == 3 and arr.shape[-1] == 4:
            alpha = np.maximum(alpha, arr[..., 3].astype(np.float32) / 255)
    return image.convert("RGBA"), alpha


@gpu
def inpaint(editor, prompt, strength, steps, guidance, jump_length, jump_n_sample, seed):
    """Repaint the masked region; pixels outside the mask are returned unchanged."""
    image, mask = _editor_parts(editor)
    try:
        for ev in LAB.inpaint_run(image, mask, prompt, strength, steps, guidance, jump_length, jump_n_sample, seed):
            if "preview" in ev:
                yield gr.skip(), ev["preview"], gr.skip(), f"Step {ev['step'] + 1}…", gr.skip(), gr.skip()
            else:
                msg = (f"Done ({ev['steps_run']} model steps). Largest change outside the mask: "
                       f"{ev['max_outside_diff']:.6f} — {'exactly unchanged' if ev['max_outside_diff'] == 0 else 'CHANGED'}.")
                frames = ev["frames"]
                yield (ev["result"], gr.skip(), ev["diff"], msg, frames,
                       gr.Slider(maximum=len(frames) - 1, value=len(frames) - 1, interactive=True))
    except ValueError as e:
        raise _err(e)


def inpaint_scrub(frames, k):
    if frames is None:
        return None, None, None
    v = LAB.inpaint_step_view(frames, k)
    return v["proposal"], v["known"], v["merged"]


# ------------------------------------------------------------------ Denoise
@gpu
def denoise(image, sigma, is_noisy, steps, seed, prompt):
    """Add noise of level σ (or take a noisy upload), then let the model remove it."""
    if image is None:
        raise gr.Error("Pick an example or upload an image first.")
    try:
        for ev in LAB.denoise(image, sigma, is_noisy, steps, seed, prompt):
            if "preview" in ev:
                yield gr.skip(), gr.skip(), ev["preview"], gr.skip(), f"Step {ev['step'] + 1}…", gr.skip()
            else:
                note = (f"Ran **{ev['steps_run']} of the {ev['steps_scheduled']} scheduled steps**: the run starts at the "
                        f"scheduled σ nearest {sigma:.2f} (σ = {ev['sigma_start']:.3f}) and goes down to 0.")
                if is_noisy:
                    note += " No clean image to compare with, so no PSNR/SSIM."
                yield (LAB.display(ev["noisy"]), LAB.display(ev["one_step"]), LAB.display(ev["result"]), ev["metrics"], note,
                       LAB.schedule_point(steps, sigma))
    except ValueError as e:
        raise _err(e)


# ------------------------------------------------------- Forward & reverse
@gpu
def run_trace(prompt, image, steps, guidance, seed):
    """Forward-noise an image (or the generated one) and run the reverse process from the same noise."""
    if (not prompt or not prompt.strip()) and image is None:
        raise gr.Error("Give a prompt (and optionally an image).")
    try:
        for ev in LAB.forward_reverse(prompt or "", image, steps, guidance, seed):
            if "preview" in ev:
                yield gr.skip(), f"Reverse step {ev['step'] + 1}…", *([gr.skip()] * 8)
            else:
                frames = ev["frames"]
                v = LAB.step_view(frames, 0)
                yield (frames, "Ready: move the slider or press Play.", gr.Slider(maximum=len(frames), value=0, interactive=True),
                       v["forward"], v["x_t"], v["x0_pred"], v["noise_pred"], _guidance_panel(v), v["equations"], v["plot"])
    except ValueError as e:
        raise _err(e)


def _guidance_panel(v):
    if v["x0_cond"] is None:
        return None
    return [(v["x0_uncond"], "unconditional x̂₀"), (v["x0_cond"], "conditional x̂₀"), (v["x0_pred"], "guided x̂₀")]


def trace_step(frames, k):
    if frames is None:
        return [None] * 7
    v = LAB.step_view(frames, k)
    return v["forward"], v["x_t"], v["x0_pred"], v["noise_pred"], _guidance_panel(v), v["equations"], v["plot"]


def toggle_play(playing):
    return not playing, gr.Timer(active=not playing)


def tick(frames, k, playing):
    """Advance the slider one step (wrapping to the start) and show that step."""
    if frames is None or not playing:
        return [gr.skip()] * 8
    k = (int(k) + 1) % (len(frames) + 1)
    return [k, *trace_step(frames, k)]


def export(frames, fmt):
    if frames is None:
        raise gr.Error("Run the forward & reverse process first.")
    return str(LAB.export(frames, fmt))


# ------------------------------------------------------------ How it works
@gpu
def attention(prompt, seed, sigma):
    if not prompt or not prompt.strip():
        raise gr.Error("Type a prompt to see which image patches attend to which word.")
    return LAB.attention_maps(prompt, seed, sigma)


def build() -> gr.Blocks:
    with gr.Blocks(title="DiT Lab") as demo:
        gr.Markdown(INTRO)
        with gr.Tabs():
            # ---------------------------------------------------------- Generate
            with gr.Tab("1 · Generate", id="generate"):
                with gr.Row():
                    with gr.Column(scale=2):
                        prompt = gr.Textbox("red apple", label="Prompt", info="What to draw: an emoji name works best. Add “noto style” or “twemoji style” to pick a look.", elem_id="gen-prompt")
                        negative = gr.Textbox("", label="Negative prompt", info="What to steer away from; guidance pushes the image away from this text.")
                        with gr.Row():
                            seed = gr.Number(0, label="Seed", precision=0, minimum=0, maximum=MAX_SEED, info="Same seed + same settings = same image.")
                            randomize = gr.Checkbox(False, label="Randomize seed", info="Pick a new seed each run (the one used is shown).")
                        steps = gr.Slider(1, 100, 20, step=1, label="Steps", info="How many denoising steps: more = finer, slower.")
                        guidance = gr.Slider(1, 10, DEFAULT_GUIDANCE, step=0.5, label="Guidance scale", info="How strongly to follow the prompt (1 = not guided).")
                        sampler = gr.Dropdown(SAMPLER_CHOICES, value=DEFAULT_SAMPLER, label="Sampler", info="The ODE solver that walks from noise to image.")
                        n_images = gr.Slider(1, 8, 4, step=1, label="Images", info="How many images (seeds seed, seed+1, …).")
                        with gr.Row():
                            go = gr.Button("Generate", variant="primary", elem_id="gen-button")
                            stop = gr.Button("Stop", variant="stop")
                    with gr.Column(scale=3):
                        gallery = gr.Gallery(label="Images (PNG, download at 32 px)", columns=4, height=300, format="png", elem_id="gen-gallery", object_fit="contain")
                        live = gr.Image(label="Live: the model's current guess x̂₀", type="pil", format="png", height=160)
                        seed_used = gr.Number(label="Seed used", interactive=False)
                        status = gr.Markdown("")
                        downloads = gr.Files(label="Download: native 32 px and display-size PNGs")
                gen_frames = gr.State(None)
                gr.Markdown("### Step scrubber: what the model saw and said at each step (first image)")
                gen_slider = gr.Slider(0, 20, 0, step=1, label="Step", info="0 = pure noise; the last step is the finished image.", interactive=False)
                with gr.Row():
                    sx = gr.Image(label="x_t (input of this step)", format="png", height=200)
                    s0 = gr.Image(label="x̂₀ (predicted clean image)", format="png", height=200)
                    se = gr.Image(label="ε̂ (predicted noise)", format="png", height=200)
                scrub_info = gr.Markdown("")
                ev = go.click(generate, [prompt, negative, seed, randomize, steps, guidance, sampler, n_images],
                              [gallery, live, seed_used, status, gen_frames, gen_slider, downloads], api_name="generate",
                              concurrency_id=MODEL, concurrency_limit=1)
                prompt.submit(generate, [prompt, negative, seed, randomize, steps, guidance, sampler, n_images],
                              [gallery, live, seed_used, status, gen_frames, gen_slider, downloads], api_name=False, concurrency_id=MODEL)
                ev.then(scrub, [gen_frames, gen_slider], [sx, s0, se, scrub_info], api_name=False, show_progress="hidden")
                stop.click(None, cancels=[ev])
                gen_slider.input(scrub, [gen_frames, gen_slider], [sx, s0, se, scrub_info], api_name=False, show_progress="hidden")
                gr.Examples(
                    [["grinning face", 0], ["red apple", 1], ["cat face, noto style", 2], ["rocket, twemoji style", 3], ["red heart", 4]],
                    [prompt, seed], [gallery], fn=example_generate, cache_examples=True, cache_mode="lazy",
                    label="Try (each is generated once, then served from the cache)",
                )

            # ---------------------------------------------------------- Inpaint
            with gr.Tab("2 · Inpaint", id="inpaint"):
                gr.Markdown("Paint over part of the image (white brush). The model redraws **only** the painted region; every pixel outside it is kept exactly.")
                with gr.Row():
                    with gr.Column():
                        editor = gr.ImageEditor(
                            value=EXAMPLES[0] if EXAMPLES else None, type="numpy", image_mode="RGBA", label="Image + mask",
                            brush=gr.Brush(default_size=4, colors=["#ffffff", "#ff00ff"], color_mode="fixed"),
                            eraser=gr.Eraser(default_size=4), transforms=(), layers=False, canvas_size=(256, 256), height=360,
                            sources=("upload", "clipboard"), elem_id="inpaint-editor", format="png",
                        )
                        if EXAMPLES:
                            gr.Examples([[e] for e in EXAMPLES], [editor], label="Example emoji")
                        ip_prompt = gr.Textbox("", label="Prompt (optional)", info="What should appear in the painted region.")
                        ip_strength = gr.Slider(0.05, 1.0, 1.0, step=0.05, label="Strength", info="1 = redraw from pure noise; lower keeps more of the old colours inside the mask.")
                        with gr.Row():
                            ip_steps = gr.Slider(2, 100, 20, step=1, label="Steps", info="Denoising steps.")
                            ip_guid = gr.Slider(1, 10, DEFAULT_GUIDANCE, step=0.5, label="Guidance", info="How strongly to follow the prompt.")
                        with gr.Accordion("RePaint resampling", open=False):
                            gr.Markdown("Go back up `jump length` steps and down again, `resamples` times, so the inside and outside agree better (uses the Euler sampler).")
                            ip_jl = gr.Slider(1, 10, 1, step=1, label="Jump length", info="Steps to go back each time.")
                            ip_jn = gr.Slider(1, 10, 1, step=1, label="Resamples", info="1 = off; n = each stretch is denoised n times.")
                        ip_seed = gr.Number(0, label="Seed", precision=0, minimum=0, maximum=MAX_SEED, info="Fixes the noise.")
                        with gr.Row():
                            ip_go = gr.Button("Inpaint", variant="primary", elem_id="inpaint-button")
                            ip_stop = gr.Button("Stop", variant="stop")
                    with gr.Column():
                        ip_result = gr.Image(label="Result", format="png", height=256, elem_id="inpaint-result")
                        ip_live = gr.Image(label="Live x̂₀", format="png", height=160)
                        ip_diff = gr.Image(label="Difference |result − input| (red), mask border (blue)", format="png", height=256)
                        ip_status = gr.Markdown("", elem_id="inpaint-status")
                ip_frames = gr.State(None)
                gr.Markdown("### Per step: the model's proposal inside the mask, the re-noised known region outside, and their merge")
                ip_slider = gr.Slider(0, 20, 0, step=1, label="Step", interactive=False)
                with gr.Row():
                    ipa = gr.Image(label="model proposal", format="png", height=200, elem_id="inpaint-proposal")
                    ipb = gr.Image(label="known region, noised to this level", format="png", height=200)
                    ipc = gr.Image(label="merged: next x_t", format="png", height=200)
                ip_ev = ip_go.click(inpaint, [editor, ip_prompt, ip_strength, ip_steps, ip_guid, ip_jl, ip_jn, ip_seed],
                                    [ip_result, ip_live, ip_diff, ip_status, ip_frames, ip_slider], api_name="inpaint", concurrency_id=MODEL)
                ip_ev.then(inpaint_scrub, [ip_frames, ip_slider], [ipa, ipb, ipc], api_name=False, show_progress="hidden")
                ip_stop.click(None, cancels=[ip_ev])
                ip_slider.input(inpaint_scrub, [ip_frames, ip_slider], [ipa, ipb, ipc], api_name=False, show_progress="hidden")

            # ---------------------------------------------------------- Denoise
            with gr.Tab("3 · Denoise", id="denoise"):
                gr.Markdown("Add noise of a chosen level σ to an image — x_t = (1−σ)·x₀ + σ·ε — and watch the model take it back.")
                with gr.Row():
                    with gr.Column():
                        dn_image = gr.Image(EXAMPLES[1] if len(EXAMPLES) > 1 else None, type="pil", label="Clean image (or a noisy upload)", format="png", height=256, image_mode="RGB", elem_classes="fit-img")
                        if EXAMPLES:
                            gr.Examples([[e] for e in EXAMPLES], [dn_image], label="Example emoji")
                        dn_sigma = gr.Slider(0.0, 1.0, 0.5, step=0.01, label="Noise level σ", info="0 = clean, 1 = pure noise.")
                        dn_noisy = gr.Checkbox(False, label="My image is already noisy (at level σ)", info="Then no noise is added; the model starts from your image.")
                        dn_steps = gr.Slider(1, 100, 20, step=1, label="Steps of the full schedule", info="The run uses the part of this schedule below σ.")
                        dn_prompt = gr.Textbox("", label="Prompt (optional)", info="What the image shows; empty = unconditional.")
                        dn_seed = gr.Number(0, label="Seed", precision=0, minimum=0, maximum=MAX_SEED, info="Fixes the added noise.")
                        dn_go = gr.Button("Add noise and denoise", variant="primary", elem_id="denoise-button")
                    with gr.Column():
                        with gr.Row():
                            dn_in = gr.Image(label="noisy input x_t", format="png", height=200)
                            dn_one = gr.Image(label="one step: x̂₀", format="png", height=200)
                            dn_out = gr.Image(label="iterative result", format="png", height=200, elem_id="denoise-result")
                        dn_table = gr.Dataframe(headers=["image", "PSNR (dB) ↑", "SSIM ↑"], label="Against the clean image", interactive=False)
                        dn_note = gr.Markdown("", elem_id="denoise-note")
                        dn_plot = gr.Plot(label="Where σ sits on the schedule")
                dn_go.click(denoise, [dn_image, dn_sigma, dn_noisy, dn_steps, dn_seed, dn_prompt],
                            [dn_in, dn_one, dn_out, dn_table, dn_note, dn_plot], api_name="denoise", concurrency_id=MODEL)
                dn_sigma.release(LAB.schedule_point, [dn_steps, dn_sigma], dn_plot, api_name=False, show_progress="hidden")

            # ------------------------------------------------- Forward & reverse
            with gr.Tab("4 · Forward & reverse", id="trace"):
                gr.Markdown("**Forward**: data → noise by the formula. **Reverse**: noise → data by the model, from the same noise ε. One slider moves both.")
                with gr.Row():
                    tr_prompt = gr.Textbox("cat face", label="Prompt", info="Conditions the reverse process.")
                    tr_image = gr.Image(None, type="pil", label="Image to noise (optional; default: the generated one)", format="png", height=140, elem_classes="fit-img")
                    with gr.Column():
                        tr_steps = gr.Slider(2, 60, 20, step=1, label="Steps", info="Number of reverse steps.")
                        tr_guid = gr.Slider(1, 10, DEFAULT_GUIDANCE, step=0.5, label="Guidance", info="g in the guidance equation below.")
                        tr_seed = gr.Number(0, label="Seed", precision=0, minimum=0, maximum=MAX_SEED, info="Picks ε.")
                        tr_go = gr.Button("Run", variant="primary", elem_id="trace-button")
                tr_frames = gr.State(None)
                tr_status = gr.Markdown("")
                with gr.Row():
                    tr_slider = gr.Slider(0, 20, 0, step=1, label="Step", interactive=False, elem_id="trace-slider", info="Left: noise. Right: data.")
                    play = gr.Button("▶ Play / ⏸ Pause", scale=0)
                playing = gr.State(False)
                timer = gr.Timer(0.5, active=False)  # ticks only while playing: no polling otherwise
                with gr.Row():
                    t_fwd = gr.Image(label="forward x_t (formula)", format="png", height=180)
                    t_xt = gr.Image(label="reverse x_t (model)", format="png", height=180)
                    t_x0 = gr.Image(label="x̂₀ predicted clean", format="png", height=180)
                    t_eps = gr.Image(label="ε̂ predicted noise", format="png", height=180)
                t_guid = gr.Gallery(label="Guidance: unconditional, conditional, guided x̂₀", columns=3, height=220, format="png", object_fit="contain")
                with gr.Row():
                    t_eq = gr.Markdown("", latex_delimiters=[{"left": "$$", "right": "$$", "display": True}], elem_id="trace-equations")
                    t_plot = gr.Plot(label="Schedule")
                with gr.Row():
                    fmt = gr.Radio(["gif", "mp4"], value="gif", label="Export format", info="All steps as an animation.")
                    ex_go = gr.Button("Export animation", elem_id="export-button")
                    ex_file = gr.File(label="Animation", elem_id="export-file")
                tr_go.click(run_trace, [tr_prompt, tr_image, tr_steps, tr_guid, tr_seed],
                            [tr_frames, tr_status, tr_slider, t_fwd, t_xt, t_x0, t_eps, t_guid, t_eq, t_plot], api_name="trace", concurrency_id=MODEL)
                step_panels = [t_fwd, t_xt, t_x0, t_eps, t_guid, t_eq, t_plot]
                tr_slider.input(trace_step, [tr_frames, tr_slider], step_panels, api_name=False, show_progress="hidden")
                play.click(toggle_play, playing, [playing, timer], api_name=False)
                timer.tick(tick, [tr_frames, tr_slider, playing], [tr_slider, *step_panels], api_name=False, show_progress="hidden")
                ex_go.click(export, [tr_frames, fmt], ex_file, api_name="export")

            # ---------------------------------------------------------- How it works
            with gr.Tab("5 · How it works", id="how"):
                gr.Markdown("## The model\nThe DiT of the shipped weights, drawn with its real sizes.")
                gr.HTML(LAB.architecture())
                gr.Markdown(HOW_TEXT, latex_delimiters=[{"left": "$$", "right": "$$", "display": True}, {"left": "$", "right": "$", "display": False}])
                with gr.Row():
                    hw_sampler = gr.Dropdown(SAMPLER_CHOICES, value=DEFAULT_SAMPLER, label="Sampler", info="Each solver visits its own σ values.")
                    hw_steps = gr.Slider(2, 60, 20, step=1, label="Steps", info="How many σ values it visits.")
                hw_plot = gr.Plot(LAB.schedule(DEFAULT_SAMPLER, 20), label="Noise schedule")
                for c in (hw_sampler, hw_steps):
                    c.change(LAB.schedule, [hw_sampler, hw_steps], hw_plot, api_name=False, show_progress="hidden")
                gr.Markdown("## What the DiT attends to\nCross-attention from the image patches to each word of the prompt, averaged over heads and blocks, on the generated image noised to σ.")
                with gr.Row():
                    at_prompt = gr.Textbox("red heart", label="Prompt", info="Each word (token) gets its own heatmap.")
                    at_seed = gr.Number(0, label="Seed", precision=0, minimum=0, maximum=MAX_SEED, info="Which image to generate.")
                    at_sigma = gr.Slider(0.05, 0.95, 0.5, step=0.05, label="σ", info="Noise level at which attention is measured.")
                    at_go = gr.Button("Show attention", variant="primary")
                with gr.Row():
                    at_img = gr.Image(label="generated image", format="png", height=200)
                    at_gallery = gr.Gallery(label="attention per token", columns=6, height=240, format="png", object_fit="contain")
                at_go.click(attention, [at_prompt, at_seed, at_sigma], [at_img, at_gallery], api_name="attention", concurrency_id=MODEL)
        gr.Markdown(FOOTER)
    return demo


HOW_TEXT = r"""
## The maths the code runs
**Forward process.** Pick a noise level $\sigma\in[0,1]$ and mix the image $x_0$ with Gaussian noise $\varepsilon$:
$$q(x_t\mid x_0)=\mathcal N\big((1-\sigma)\,x_0,\ \sigma^2 I\big),\qquad x_t=(1-\sigma)\,x_0+\sigma\,\varepsilon .$$
**What the model learns.** Along that straight line from data to noise the velocity is $v=\frac{dx_t}{d\sigma}=\varepsilon-x_0$.
The DiT is trained to predict it: $\mathcal L=\lVert v_\theta(x_t,\sigma,\text{text})-(\varepsilon-x_0)\rVert^2$, with $\sigma$ drawn from a logit-normal (mostly middle noise).
From one prediction follow the clean image and the noise: $\hat x_0=x_t-\sigma v$, $\hat\varepsilon=x_t+(1-\sigma)v$.

**Reverse process.** Start from pure noise ($\sigma=1$) and step down: Euler's step is $x_{\sigma'}=x_\sigma+(\sigma'-\sigma)\,v_\theta$;
Heun, DPM-Solver++ and UniPC are more accurate solvers of the same equation.

**Classifier-free guidance.** The model runs twice per step, with the prompt ($v_c$) and with an empty prompt ($v_\varnothing$), in one batch:
$$v = v_\varnothing + g\,(v_c - v_\varnothing).$$
$g=1$ is the plain conditional model; $g>1$ exaggerates what the prompt adds. The Forward & reverse tab shows this with the numbers of each step.
"""

FOOTER = """
---
Model: our own DiT, trained with `python -m pipelines.train` (see the model card in `weights/dit-emoji/README.md`).
Data: Twemoji by Twitter, Inc and other contributors (CC-BY 4.0); Noto Emoji by Google (Apache 2.0). Text encoder: all-MiniLM-L6-v2 (Apache 2.0).
"""

demo = build()
demo.queue(default_concurrency_limit=1, max_size=16)

# 32-pixel images enlarged by the browser must stay crisp squares, not blur
CSS = """
img, canvas { image-rendering: pixelated; }
.fit-img img { width: 100%; height: 100%; object-fit: contain; }
"""

if __name__ == "__main__":
    demo.launch(server_name=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"), show_error=True, css=CSS)
