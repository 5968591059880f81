"""View · The autoencoder: what the latent DiT sees instead of pixels.

An image goes through our autoencoder's encoder (64x64x3 -> 16x16x4), is shown as its latent
channels with their value ranges, and comes back through the decoder; the error map shows what
the round trip loses. The latent DiT diffuses these latents, never pixels.
"""

from __future__ import annotations

import gradio as gr
import numpy as np
import torch

from pipelines.image_utils import to_unit_tensor, unit_to_model

from . import inputs
from .i18n import say
from .outputs import clear_on
from .runtime import MODEL_QUEUE, example_images, gpu, model_work, runtime
from .viz import caption_below, channel_image, difference_map, tile_grid, to_uint8, upscale

SIZE = 64  # the autoencoder's image side, pixels
NOTE = ("**The DiT never sees pixels.** The latent model diffuses these {numbers:,} numbers ({c} channels of {g}×{g}), "
        "not the {pixels:,} pixel values: {ratio:.0f}× fewer, so each of its 64 tokens covers a 2×2 patch of latents, an 8×8 "
        "patch of pixels. Noise is added to the latents, the DiT predicts the velocity there, and only the final x̂₀ goes "
        "through the decoder. The decoder is trained to undo the encoder: what the round trip loses (the error map, ×4) is "
        "the floor of what any latent model can draw.")


@gpu
@torch.no_grad()
def autoencode(image) -> tuple:
    """(reconstruction, the input, latent channels, error map, note) for one image."""
    im = inputs.load_image(image, "Image", SIZE)
    try:
        rt = runtime("latent")
    except FileNotFoundError as e:
        raise inputs.fail(str(e)) from None
    vae, space = rt.vae, rt.space
    x = unit_to_model(to_unit_tensor(im, SIZE)).to(vae.device)
    with model_work():
        z = space.encode(x)
        recon = space.decode(z)
    x01, r01 = ((t[0].permute(1, 2, 0).cpu().numpy() + 1) / 2 for t in (x, recon.clamp(-1, 1)))
    mse = float(np.mean((np.round(r01 * 255) / 255 - np.round(x01 * 255) / 255) ** 2))
    psnr = 10 * np.log10(1 / max(mse, 1e-10))
    tiles = [caption_below(upscale(channel_image(z[0, c]), size=128), [say("channel {c}", c=c + 1), f"{float(z[0, c].min()):+.2f} … {float(z[0, c].max()):+.2f}"])
             for c in range(z.shape[1])]
    c, g = z.shape[1], z.shape[-1]
    note = say(NOTE, numbers=z[0].numel(), c=c, g=g, pixels=x[0].numel(), ratio=x[0].numel() / z[0].numel())
    note += "\n\n" + say("This image: PSNR of the round trip **{psnr:.1f} dB** (higher is closer; 30 dB is hard to tell apart by eye).", psnr=psnr)
    return (upscale(to_uint8(r01, False)), upscale(to_uint8(x01, False)), tile_grid(tiles, 4),
            upscale(difference_map(r01, x01, np.zeros(x01.shape[:2], bool))), note)


def create_autoencoder() -> None:
    examples = [str(p) for p in example_images(SIZE)]
    gr.Markdown("### The autoencoder\nThe latent model works on a compressed image: our own autoencoder squeezes each 64×64 image into "
                "16×16×4 numbers and back. Pick an image to see its latent and what the round trip loses.")
    with gr.Row(equal_height=False):
        with gr.Column(min_width=240):
            image = gr.Image(examples[0] if examples else None, type="filepath", label="Image", format="png", height=200,
                             elem_classes="fit-img")
            if examples:
                gr.Examples([[e] for e in examples], [image], label="Example emoji")
            go = gr.Button("Encode and decode", variant="primary", elem_id="ae-button")
        with gr.Column(min_width=300, scale=2):
            with gr.Row():
                original = gr.Image(label="input (64×64)", format="png", height=200, min_width=140)
                recon = gr.Image(label="decode(encode(input))", format="png", height=200, min_width=140, elem_id="ae-recon")
                error = gr.Image(label="error |reconstruction − input| ×4", format="png", height=200, min_width=140)
            latents = gr.Image(label="the latent: 4 channels of 16×16 (grey = 0, white = +3, black = −3)", format="png",
                               height=200, elem_id="ae-latents")
            note = gr.Markdown("", elem_id="ae-note")
    clear_on(go.click, note)
    go.click(autoencode, [image], [recon, original, latents, error, note], api_name="autoencoder", concurrency_id=MODEL_QUEUE,
             preprocess=False)
