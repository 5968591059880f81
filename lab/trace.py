"""Tab 4 · Forward & reverse: one slider moves through both processes at the same noise levels.
Forward: data → noise by the formula x_t = (1−σ)·x₀ + σ·ε. Reverse: noise → data by the model,
from the same ε. Beside each position: x̂₀, ε̂, guidance's parts, the equations with this
step's numbers, the schedule; play/pause; GIF/MP4 export with labels.

Data flow: a fresh DiTText2ImagePipeline runs from the seed's ε with `return_trace=True`; the
forward row comes from the same pipeline's `forward_process` with the same ε.
"""

from __future__ import annotations

import gradio as gr
import torch

from pipelines import DEFAULT_GUIDANCE, DEFAULT_STEPS, SAMPLERS, DiTText2ImagePipeline
from pipelines.image_utils import to_unit_tensor

from . import inputs
from .i18n import say, tr
from .files import new_run_dir
from .outputs import clear_on, Outputs
from .frames import Frames, add_forward, step_equations
from .runtime import DEFAULT_MODEL, MAX_SEED, MODEL_QUEUE, gpu, runtime
from .streaming import stream_outputs
from .viz import schedule_figure, titled_row, upscale, write_gif, write_mp4

UPLOAD_NOTE = ("Your image is noised by the formula (first panel). The reverse run starts from the same ε, but it is a **new "
               "sample** the model draws for the prompt, not a reconstruction of your image: at σ = 1 nothing of the image is "
               "left to recover. To see the model take back partial noise, use the Denoise tab.")
EQ_DELIMITERS = [{"left": "$$", "right": "$$", "display": True}]
PANELS = ("forward", "x_t", "x0", "eps", "x0_uncond", "x0_cond", "x0_guided", "equations", "plot", "position")  # view()'s order
OUT = Outputs("frames", "status", "slider", *PANELS)


@gpu
def run_trace(prompt, image, steps, guidance, seed, sampler="euler", model=DEFAULT_MODEL):
    """Forward-noise an image (or the generated one) and run the reverse process from the same noise."""
    prompt = inputs.prompt(prompt)
    rt = runtime(inputs.model(model))
    upload = None if image is None else inputs.load_image(image, "Image to noise", rt.image_size)
    if not prompt and upload is None:
        raise inputs.fail(say("Give a prompt (and optionally an image)."))
    steps = inputs.number(steps, "Steps", 2, 60, integer=True)
    guidance = inputs.number(guidance, "Guidance", 1, 10)
    used = inputs.seed(seed)
    sampler = inputs.choice(sampler, "Sampler", list(SAMPLERS))
    pipe = rt.pipeline(DiTText2ImagePipeline, sampler)
    cfg = pipe.transformer.config
    noise = torch.randn(1, cfg.in_channels, cfg.sample_size, cfg.sample_size, generator=torch.Generator().manual_seed(used))
    kwargs = dict(prompt=prompt, num_inference_steps=steps, guidance_scale=guidance, latents=noise.clone(), output_type="pt", return_trace=True)
    def on_step(ev):
        return OUT(status=say("Reverse step {i} of {n}…", i=ev.index + 1, n=ev.total))

    def on_done(ev):
        out = ev.output
        frames = Frames.from_trace(out.trace, sampler, space=pipe.space)
        # x_0 in model space: the upload's (latent), or the run's own final state
        x0 = pipe.encode_images(to_unit_tensor(upload, pipe.sample_size)) if upload is not None else out.trace[-1].x_next
        n = len(frames)
        fp = pipe.forward_process(None, n, steps=[n - k for k in range(n + 1)], generator=torch.Generator().manual_seed(used),
                                  output_type="latent", latents=x0)
        add_forward(frames, fp, x0)
        status = say("Ready: move the slider or press Play.") + ("\n\n" + say(UPLOAD_NOTE) if upload is not None else "")
        return OUT(frames=frames, status=status, slider=gr.Slider(maximum=n, value=0, interactive=True), **dict(zip(PANELS, view(frames, 0))))

    yield from stream_outputs(pipe, kwargs, on_step, on_done)


def view(frames: Frames | None, k) -> tuple:
    """Every panel at position k: forward x_t, reverse x_t, x̂₀, ε̂, the unconditional /
    conditional / guided x̂₀, the equations and the schedule."""
    if frames is None:
        return (None,) * 10
    k = frames.clamp(k)
    step = frames.steps[min(k, len(frames) - 1)]
    unguided = step.x0_uncond is None
    title = frames.title(k)
    plot = schedule_figure(frames.sigmas, current=k, title=title)
    return (upscale(frames.forward[k]), upscale(frames.states[k]), upscale(step.x0_pred), upscale(step.noise_pred),
            None if unguided else upscale(step.x0_uncond), upscale(step.x0_cond), upscale(step.x0_pred),
            step_equations(frames, k), plot, f"**{title}**" + frames.latent_note())


def toggle_play(playing: bool):
    return not playing, gr.Timer(active=not playing)


def tick(frames, k, playing):
    """Advance the slider one position (wrapping to the start) and show it."""
    if frames is None or not playing:
        return [gr.skip()] * (1 + len(PANELS))
    k = (int(k) + 1) % (len(frames) + 1)
    return [k, *view(frames, k)]


def export(frames, fmt):
    """Every position as one labelled frame: forward x_t | reverse x_t | x̂₀ | ε̂."""
    if not isinstance(frames, Frames):
        raise inputs.fail(say("Run the forward & reverse process first, then export it."))
    fmt = inputs.choice(fmt, "Export format", ["gif", "mp4"])
    rows = []
    for k in range(len(frames) + 1):
        step = frames.steps[min(k, len(frames) - 1)]
        rows.append(titled_row([frames.forward[k], frames.states[k], step.x0_pred, step.noise_pred],
                               [say("forward x_t"), say("reverse x_t"), "x̂₀", "ε̂"], frames.title(k)))
    path = new_run_dir() / f"forward_reverse.{fmt}"
    return str(write_gif(rows, path, 4.0) if fmt == "gif" else write_mp4(rows, path, 4.0))


def create_trace(model: gr.Radio) -> None:
    gr.Markdown("**Forward**: data → noise by the formula. **Reverse**: noise → data by the model, from the same noise ε. One slider moves both.")
    # inputs in a narrow left column, the step's panels beside them: at 1280x800 the slider, Play
    # and the four images are all above the fold, so Play is seen moving the pictures
    with gr.Row(equal_height=False):
        with gr.Column(scale=1, min_width=250):
            prompt = gr.Textbox("cat face", label="Prompt", info="Conditions the reverse process (English).")
            go = gr.Button(tr("Run"), variant="primary", elem_id="trace-button")
            steps = gr.Slider(2, 60, DEFAULT_STEPS, step=1, label="Steps", info="Number of reverse steps.")
            guidance = gr.Slider(1, 10, DEFAULT_GUIDANCE, step=0.5, label="Guidance", info="g in the guidance equation below.")
            sampler = gr.Dropdown(list(SAMPLERS), value="euler", label="Sampler", info="Euler's update is the one written below.")
            seed = gr.Number(0, label="Seed", precision=0, minimum=0, maximum=MAX_SEED, info="Picks ε.")
            image = gr.Image(None, type="filepath", label="Image to noise (optional; default: the generated one)", format="png",
                             height=220, elem_classes="fit-img")
        with gr.Column(scale=3, min_width=300):
            status = gr.Markdown("", elem_id="trace-status")
            with gr.Row():
                slider = gr.Slider(0, DEFAULT_STEPS, 0, step=1, label="Steps done", interactive=False, elem_id="trace-slider",
                                   info="0: pure noise (reverse) / σ = 1 (forward). Right end: the data.")
                play = gr.Button(tr("▶ Play / ⏸ Pause"), scale=0)
            position = gr.Markdown("", elem_id="trace-position")
            with gr.Row():
                t_fwd = gr.Image(label="forward x_t (formula)", format="png", height=170, min_width=110, elem_id="trace-forward")
                t_xt = gr.Image(label="reverse x_t (model)", format="png", height=170, min_width=110)
                t_x0 = gr.Image(label="x̂₀ predicted clean", format="png", height=170, min_width=110)
                t_eps = gr.Image(label="ε̂ predicted noise", format="png", height=170, min_width=110)
            gr.Markdown("**Guidance at this step**: x̂₀ without the prompt, with it, and guided = unconditional + g·(conditional − unconditional).")
            with gr.Row():
                g_u = gr.Image(label="unconditional x̂₀", format="png", height=150, min_width=110, elem_id="trace-uncond")
                g_c = gr.Image(label="conditional x̂₀", format="png", height=150, min_width=110)
                g_g = gr.Image(label="guided x̂₀", format="png", height=150, min_width=110)
    frames = gr.State(None)
    playing = gr.State(False)
    timer = gr.Timer(0.5, active=False)  # ticks only while playing: no polling otherwise
    with gr.Row(equal_height=False):  # side by side on a wide screen, stacked on a phone
        with gr.Column(min_width=340):
            eq = gr.Markdown("", latex_delimiters=EQ_DELIMITERS, elem_id="trace-equations", min_height=120)
        with gr.Column(min_width=340):
            plot = gr.Plot(show_label=False, elem_id="trace-plot")  # titled inside
    with gr.Row():
        fmt = gr.Radio(["gif", "mp4"], value="gif", label="Export format", info="All steps as a labelled animation.")
        ex_go = gr.Button(tr("Export animation"), elem_id="export-button")
        ex_file = gr.File(label="Animation", elem_id="export-file")
    named = dict(forward=t_fwd, x_t=t_xt, x0=t_x0, eps=t_eps, x0_uncond=g_u, x0_cond=g_c, x0_guided=g_g, equations=eq, plot=plot,
                 position=position)
    panels = [named[p] for p in PANELS]
    clear_on(go.click, status, ex_file)  # a new run: no status or export of the old one stays
    go.click(run_trace, [prompt, image, steps, guidance, seed, sampler, model], OUT.components(dict(named, frames=frames, status=status, slider=slider)),
             api_name="trace", concurrency_id=MODEL_QUEUE, preprocess=False)
    slider.input(view, [frames, slider], panels, api_name=False, show_progress="hidden")
    play.click(toggle_play, playing, [playing, timer], api_name=False)
    timer.tick(tick, [frames, slider, playing], [slider, *panels], api_name=False, show_progress="hidden")
    ex_go.click(export, [frames, fmt], ex_file, api_name="export", preprocess=False)
