"""Tab 6 · Explore: six views no other diffusion demo has, one module each."""

from __future__ import annotations

import gradio as gr

from .autoencoder import create_autoencoder
from .flow2d import create_flow2d
from .learn import create_learn
from .paths import create_paths
from .race import create_race
from .twospaces import create_two_spaces

# (name, builder, whether it runs the model chosen at the top); the others train their own toy
# model, or show both models, or the autoencoder
VIEWS = [("Sampler race", create_race, True), ("A flow in 2-D", create_flow2d, False), ("Watch it learn", create_learn, False),
         ("Two paths to noise", create_paths, False), ("The autoencoder", create_autoencoder, False),
         ("Two spaces", create_two_spaces, False)]


def create_explore(model: gr.Radio) -> None:
    with gr.Tabs():
        for label, create, uses_model in VIEWS:
            with gr.Tab(label):
                create(model) if uses_model else create()
