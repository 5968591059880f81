"""The model choice at the top of the page: which DiT every tab runs, and what one step costs.

The choice is an input of every model event (the handlers' `model` parameter, also in the API),
so two visitors on two models never share anything but the loaded weights.
"""

from __future__ import annotations

import gradio as gr
from gradio.context import get_blocks_context

from . import inputs
from .i18n import say, tr
from .runtime import DEFAULT_MODEL, MODELS, runtime


def model_cost(model) -> str:
    """What the chosen model is and what a guided step of it costs (FLOPs counted by PyTorch)."""
    rt = runtime(inputs.model(model))
    cfg, cost = rt.transformer.config, rt.cost
    side, channels, patch = cfg.sample_size, cfg.in_channels, cfg.patch_size
    values = dict(tokens=cost["tokens"], per=patch * patch * channels, p=patch, side=side, c=channels, gflop=cost["gflop"],
                  image=rt.image_size)
    if rt.is_latent:
        return say("**{image}×{image} images from latents.** The DiT diffuses the autoencoder's {side}×{side}×{c} latents: {tokens} "
                   "tokens of {per} numbers ({p}×{p} patches). A guided step (a batch of two: with and without the prompt) costs "
                   "**{gflop:.2f} GFLOP**; the decoder adds {dg:.2f} GFLOP once, at the end. Explore → Two spaces times both.",
                   dg=cost["decode_gflop"], **values)
    return say("**{image}×{image} images from pixels.** The DiT diffuses the RGB pixels themselves: {tokens} tokens of {per} "
               "numbers ({p}×{p} patches). A guided step (a batch of two: with and without the prompt) costs **{gflop:.2f} GFLOP**; "
               "no decoder. Explore → Two spaces times both.", **values)


def create_model_choice() -> gr.Radio:
    """The choice (returned: every tab passes it to its handlers) and its cost line, drawn for
    each visitor in the visitor's language and again on every change."""
    with gr.Row(equal_height=False):
        model = gr.Radio([(tr(name), key) for key, (_, name) in MODELS.items()], value=DEFAULT_MODEL, label="Model",
                         info="Every tab runs the model chosen here.", elem_id="model-choice", scale=1, min_width=260)
        # drawn by the load event in the visitor's language; on a phone, where it sits above the tabs, its room
        # is kept from the start (app.py's CSS), so the tabs do not jump down under a finger when it arrives
        cost = gr.Markdown("", elem_id="model-cost")
    model.change(model_cost, model, cost, api_name=False, show_progress="hidden")
    get_blocks_context().root_block.load(model_cost, model, cost, api_name=False, show_progress="hidden")
    return model
