"""Tab 6 · Explore: six views no other diffusion demo has, one module each."""

from __future__ import annotations

import gradio as gr

from .autoencoder import create_autoencoder
from .flow2d import create_flow2d
from .learn import create_learn
from .paths import create_paths
from .race import create_race
from .twospaces import create_two_spaces

VIEWS = [("Sampler race", create_race), ("A flow in 2-D", create_flow2d), ("Watch it learn", create_learn),
         ("Two paths to noise", create_paths), ("The autoencoder", create_autoencoder),
         ("Two spaces", create_two_spaces)]


def create_explore() -> None:
    with gr.Tabs():
        for label, create in VIEWS:
            with gr.Tab(label):
                create()
