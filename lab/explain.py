"""Tab 5 · How it works: the shipped DiT drawn with its real sizes, the maths the code runs,
each sampler's schedule, and what the DiT attends to (cross-attention per word, on one shared
colour scale).

Data flow for the attention view: a fresh DiTText2ImagePipeline makes the image, which is
noised to σ and passed once more through the transformer with `return_attention=True` (the
explicit-softmax path of its cross-attention), averaged over heads and blocks.
"""

from __future__ import annotations

import gradio as gr
from gradio.context import get_blocks_context
import numpy as np
import PIL.Image
import torch

from pipelines import DEFAULT_GUIDANCE, DEFAULT_SAMPLER, DEFAULT_STEPS, SAMPLERS, DiTText2ImagePipeline
from pipelines import schedulers as flow

from . import inputs
from .i18n import say, tr
from .runtime import DEFAULT_MODEL, MAX_SEED, MODEL_QUEUE, gpu, model_work, runtime
from .streaming import DoneEvent, stream
from .viz import architecture_svg, caption_below, colorbar, heatmap_overlay, schedule_figure, tile_grid, to_uint8, upscale

SPECIAL_TOKENS = ("[CLS]", "[SEP]")
# each word's heatmap tile, in pixels: a whole multiple of both models' sides (32 x 6, 64 x 3),
# so the two models' tiles are the same size and every image pixel stays a square
ATTENTION_TILE = 192
# "red heart" drew an orange heart; "red apple" draws red, and at σ = 0.7 its words take the most
# attention of the σ tried (0.3 / 0.5 / 0.7: "apple" 0.045 / 0.067 / 0.089 of it, shipped model)
ATTENTION_PROMPT, ATTENTION_SIGMA = "red apple", 0.7
TOKENS_NOTE = """**Reading the heatmaps.** `[CLS]` and `[SEP]` are MiniLM's start and end markers. The encoder gathers the
sentence's meaning into every token, these two included, so the DiT learned to read much of the prompt from them: most of
the attention goes there (their share is in the table). The colour scale is the words' own, so their maps can be compared
with each other; the two markers are hotter than it and clip ("off the scale"). Words that are not in MiniLM's vocabulary are
split into pieces, e.g. “noto” becomes “not” + “##o”; each piece gets its own map. At high σ the image is mostly noise and the
model leans on the words more; at low σ it mostly looks at the picture."""

HOW_TEXT = r"""
## The maths the code runs
**Forward process.** Pick a noise level $\sigma\in[0,1]$ and mix the image $x_0$ with Gaussian noise $\varepsilon$:
$$q(x_t\mid x_0)=\mathcal N\big((1-\sigma)\,x_0,\ \sigma^2 I\big),\qquad x_t=(1-\sigma)\,x_0+\sigma\,\varepsilon .$$
See it with numbers in the **Forward & reverse** tab (first panel, first equation), and beside the variance-preserving
path of DDPM in **Explore → Two paths to noise**.

**What the model learns.** Along that straight line from data to noise the velocity is $v=\frac{dx_t}{d\sigma}=\varepsilon-x_0$.
The DiT is trained to predict it: $\mathcal L=\lVert v_\theta(x_t,\sigma,\text{text})-(\varepsilon-x_0)\rVert^2$, with $\sigma$ drawn from a
logit-normal (mostly middle noise). **Explore → A flow in 2-D** trains this very loss on 2-D points in seconds and draws the
field it learns; **Explore → Watch it learn** trains a tiny DiT with it while you watch. From one prediction follow the clean image and the noise:
$\hat x_0=x_t-\sigma v$, $\hat\varepsilon=x_t+(1-\sigma)v$ — the **x̂₀** and **ε̂** panels of every tab. The **Denoise** tab shows
why one prediction is blurry and iterating is not.

**Reverse process.** Start from pure noise ($\sigma=1$) and step down: Euler's step is $x_{\sigma'}=x_\sigma+(\sigma'-\sigma)\,v_\theta$;
Heun, DPM-Solver++ and UniPC are more accurate solvers of the same equation (pick one in **Generate** or **Forward & reverse**;
**Explore → Sampler race** measures how much more accurate, as error against model evaluations).

**Classifier-free guidance.** The model runs twice per step, with the prompt ($v_c$) and with an empty prompt ($v_\varnothing$), in one batch:
$$v = v_\varnothing + g\,(v_c - v_\varnothing).$$
$g=1$ is the plain conditional model; $g>1$ exaggerates what the prompt adds. The **Forward & reverse** tab shows the
unconditional, conditional and guided x̂₀ of each step, and this equation with the step's numbers.

**Inpainting.** After every step the pixels outside the mask are replaced by the original noised to the new level, so the model
only has to make the inside agree (the **Inpaint** tab's per-step view shows the proposal, the known part and the merge).
"""

LATENT_TEXT = r"""
**Latent diffusion.** The 64-px model runs all of the above on a compressed image: our autoencoder's encoder $E$ turns a
64×64×3 image into a 16×16×4 latent $z_0=E(x_0)$, the noise, the loss and the solver work on $z$ exactly as written with $z$ in
place of $x$, and only the end goes through the decoder: image $=D(\hat z_0)$. The DiT's cost grows with its tokens, and a
2×2 patch of latents stands for 8×8 pixels, so it draws 4× the pixels for the same work per step (the model choice at the top
shows each model's cost; **Explore → The autoencoder** and **Two spaces** show the rest).
"""


def architecture(model: str | None = DEFAULT_MODEL) -> str:
    """The chosen model's DiT drawn with its real sizes, as an SVG."""
    m = runtime(inputs.model(model)).transformer
    counts = {
        "patch + text embedders": sum(p.numel() for n, p in m.named_parameters() if not n.startswith(("blocks", "final_layer", "out_conv"))),
        "DiT blocks": sum(p.numel() for p in m.blocks.parameters()),
        "final layer + conv": sum(p.numel() for n, p in m.named_parameters() if n.startswith(("final_layer", "out_conv"))),
        "total": sum(p.numel() for p in m.parameters()),
    }
    return architecture_svg(dict(m.config), counts)


def schedule(sampler, steps, model=DEFAULT_MODEL):
    """The σ grid the sampler walks on the chosen model (at the timestep shift saved with it)."""
    sampler = inputs.choice(sampler, "Sampler", list(SAMPLERS))
    steps = inputs.number(steps, "Steps", 2, 60, integer=True)
    rt = runtime(inputs.model(model))
    grid = flow.step_sigmas(rt.scheduler(sampler), steps).tolist() + [0.0]
    title = say("{sampler}, {steps} steps: the σ at the start of each step", sampler=sampler, steps=steps)
    if rt.shift != 1.0:  # a shifted grid is this model's choice: say so, or the plot contradicts the other model's
        title += say(" (shift {shift:g}: more steps at high noise)", shift=rt.shift)
    return schedule_figure(grid, title=title)


@gpu
@torch.no_grad()
def attention(prompt, seed, sigma, model=DEFAULT_MODEL):
    """Cross-attention of the image tokens to each word, averaged over heads and blocks,
    measured on the generated image re-noised to σ (its latent, on the latent model)."""
    prompt = inputs.prompt(prompt, required=True)
    used = inputs.seed(seed)
    sigma = inputs.number(sigma, "σ", 0.05, 0.95)
    pipe = runtime(inputs.model(model)).pipeline(DiTText2ImagePipeline, DEFAULT_SAMPLER)
    try:
        done = [ev for ev in stream(pipe, prompt=prompt, num_inference_steps=DEFAULT_STEPS, guidance_scale=DEFAULT_GUIDANCE,
                                    generator=torch.Generator().manual_seed(used), output_type="pt") if isinstance(ev, DoneEvent)]
    except ValueError as e:
        raise inputs.fail(str(e)) from None
    image01 = done[0].output.images
    with model_work():
        x0 = pipe.encode_images(image01)
        noise = torch.randn(x0.shape, generator=torch.Generator().manual_seed(used + 1))
        maps, tokens = pipe.cross_attention(prompt, flow.add_noise(x0, noise, sigma), sigma)
    m = pipe.transformer
    g = m.grid_size
    img = image01[0].permute(1, 2, 0).numpy()
    heats = [maps[:, i].reshape(g, g).numpy() for i in range(len(tokens))]
    vmax = colour_scale(tokens, heats)
    tiles, rows = [], []
    for tok, heat, share in zip(tokens, heats, maps[:, : len(tokens)].mean(0).tolist()):
        clipped = say("(off the scale)") if heat.max() > vmax * 1.001 else ""
        tiles.append(caption_below(upscale(heatmap_overlay(img, heat, vmax), size=ATTENTION_TILE), [tok, say("{share:.2f} of attention", share=share), clipped], 15))
        rows.append([tok, round(share, 3)])
    legend = colorbar(vmax, label=say("the words' scale"))
    return upscale(PIL.Image.fromarray(to_uint8(image01[0], False))), tile_grid(tiles, 4), legend, rows


def colour_scale(tokens: list[str], heats: list[np.ndarray]) -> float:
    """The heatmaps' one scale: the hottest patch of any word. [CLS] and [SEP] take most of the
    attention (MiniLM pools the sentence into them) and would wash every word's map out to black,
    so they clip at the words' scale instead of setting it."""
    words = [h for t, h in zip(tokens, heats) if t not in SPECIAL_TOKENS] or heats
    return max(float(h.max()) for h in words)


def create_explain(model: gr.Radio) -> None:
    gr.Markdown("## The model\nThe chosen model's DiT, drawn with its real sizes.")
    drawing = gr.HTML(architecture(), elem_id="architecture")
    # drawn again for each visitor, in the visitor's language (the page's copy is English), and for each model chosen
    get_blocks_context().root_block.load(architecture, model, drawing, api_name=False, show_progress="hidden")
    model.change(architecture, model, drawing, api_name=False, show_progress="hidden")
    maths = [{"left": "$$", "right": "$$", "display": True}, {"left": "$", "right": "$", "display": False}]
    gr.Markdown(HOW_TEXT, latex_delimiters=maths)
    gr.Markdown(LATENT_TEXT, latex_delimiters=maths)
    with gr.Row():
        sampler = gr.Dropdown(list(SAMPLERS), value=DEFAULT_SAMPLER, label="Sampler", info="Each solver visits its own σ values.")
        steps = gr.Slider(2, 60, DEFAULT_STEPS, step=1, label="Steps", info="How many σ values it visits.")
    plot = gr.Plot(schedule(DEFAULT_SAMPLER, DEFAULT_STEPS), show_label=False)  # titled inside
    for c in (sampler, steps, model):
        c.change(schedule, [sampler, steps, model], plot, api_name=False, show_progress="hidden")
    gr.Markdown("## What the DiT attends to\nCross-attention from the image patches to each word (token) of the prompt, averaged over heads and blocks, "
                "on the generated image noised to σ.")
    with gr.Row(equal_height=False):
        prompt = gr.Textbox(ATTENTION_PROMPT, label="Prompt", info="Each token gets its own heatmap (English).", min_width=200)
        seed = gr.Number(0, label="Seed", precision=0, minimum=0, maximum=MAX_SEED, info="Which image to generate.", min_width=120)
        sigma = gr.Slider(0.05, 0.95, ATTENTION_SIGMA, step=0.05, label="σ", info="Noise level at which attention is measured.", min_width=200)
        go = gr.Button(tr("Show attention"), variant="primary", elem_id="attention-button")
    with gr.Row(equal_height=False):
        with gr.Column(scale=1, min_width=200):
            image = gr.Image(label="generated image", format="png", height=200)
            legend = gr.Image(label="colour scale (the words'; markers clip)", format="png", height=80, elem_id="attention-legend")
        with gr.Column(scale=3, min_width=300):
            tiles = gr.Image(label="attention per token (one colour scale)", format="png", elem_id="attention-tiles")
            shares = gr.Dataframe(headers=["token", "share of attention"], interactive=False, elem_id="attention-shares")
    gr.Markdown(TOKENS_NOTE)
    go.click(attention, [prompt, seed, sigma, model], [image, tiles, legend, shares], api_name="attention", concurrency_id=MODEL_QUEUE, preprocess=False)
