"""DiT Lab: watch a small Diffusion Transformer generate, inpaint and denoise, step by step.

    python app.py            # http://127.0.0.1:7860 (GRADIO_SERVER_PORT picks another port)

This file only composes the model choice and the tabs; each tab's handlers and UI live in its module in lab/.
"""

from __future__ import annotations

import logging
import os

import gradio as gr

from lab.denoise import create_denoise
from lab.explain import create_explain
from lab.explore import create_explore
from lab.generate import create_generate
from lab.inpaint import create_inpaint
from lab.i18n import I18N, localize, tr
from lab.inputs import MAX_UPLOAD_MB
from lab.reading import warm_in_background
from lab.model_choice import create_model_choice
from lab.runtime import runtime
from lab.trace import create_trace

INTRO = """
# 🔬 DiT Lab — watch a diffusion model work
A small **Diffusion Transformer** (trained here, on CPU, on 7,562 images of 3,781 emoji in two styles) turns noise into an
image, guided by your words. Every tab shows the steps, not just the result. The model predicts a *velocity*
v = ε − x₀ (rectified flow): noise minus image. Images are shown enlarged, each model pixel a square.
"""

FOOTER = """
---
Models: our own DiTs and autoencoder, trained with `python -m training.train` and `python -m training.autoencoder` (model cards: `weights/dit-emoji-64/README.md`, `weights/dit-emoji/README.md`).
Data: Twemoji by Twitter, Inc and other contributors (CC-BY 4.0); Noto Emoji by Google (Apache 2.0). Text encoder: all-MiniLM-L6-v2 (Apache 2.0).
"""

# 32-pixel images enlarged by the browser stay crisp squares; on a phone the equations shrink to
# fit 400 px (the longest, with this step's numbers, is about 45 characters), scrolling only beyond that.
CSS = """
img, canvas { image-rendering: pixelated; }
.fit-img img { width: 100%; height: 100%; object-fit: contain; }
.hidden-proxy { display: none !important; }
#trace-equations { overflow-x: auto; }
#trace-equations .katex-display { overflow-x: auto; overflow-y: hidden; }
@media (max-width: 600px) { #trace-equations .katex { font-size: 0.62em !important; } }
@media (max-width: 600px) { #model-cost { min-height: 150px; } }
"""

TABS = [("1 · Generate", "generate", create_generate), ("2 · Inpaint", "inpaint", create_inpaint),
        ("3 · Denoise", "denoise", create_denoise), ("4 · Forward & reverse", "trace", create_trace),
        ("5 · How it works", "how", create_explain), ("6 · Explore", "explore", create_explore)]


def build() -> gr.Blocks:
    runtime()  # load the default model before the first request (the other loads on its first use)
    # delete_cache: every 10 minutes, files older than 30 minutes leave Gradio's cache (a Space runs for months)
    with gr.Blocks(title="DiT Lab", delete_cache=(600, 1800)) as demo:
        gr.Markdown(INTRO)
        model = create_model_choice()
        with gr.Tabs(overflow_behavior="wrap"):  # a phone shows every tab, in two rows
            for label, tab_id, create in TABS:
                with gr.Tab(tr(label), id=tab_id):
                    create(model)
        gr.Markdown(FOOTER)
        localize(demo)  # static texts to i18n keys, every handler to the request's language
    demo.queue(default_concurrency_limit=1, max_size=16)
    return demo


logging.basicConfig(format="%(name)s: %(message)s")
logging.getLogger("pipelines").setLevel(logging.INFO)  # e.g. when the background-compiled step is ready
demo = build()

if __name__ == "__main__":
    # the prompt reading's vocabulary vectors, on a daemon thread while the server starts; only
    # when serving: a process that imports the app and exits would end that thread mid-op
    warm_in_background()
    demo.launch(server_name=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"), show_error=True, css=CSS,
                max_file_size=f"{MAX_UPLOAD_MB}mb", i18n=I18N)
