"""View · Two paths to noise: the same image and the same ε under the variance-preserving path
most articles teach (DDPM: x_t = √ᾱ·x₀ + √(1−ᾱ)·ε, cosine ᾱ) and under the straight
rectified-flow path this model uses (x_t = (1−σ)·x₀ + σ·ε), step by step, with both
schedules' signal and noise weights on one plot. Pure arithmetic: no model runs here.
"""

from __future__ import annotations

import math

import gradio as gr
import numpy as np
import torch

from pipelines import schedulers as flow
from pipelines.image_utils import to_unit_tensor, unit_to_model

from . import inputs
from .i18n import say
from .outputs import clear_on
from .runtime import MAX_SEED, example_images
from .viz import finished, subplots, to_uint8, upscale

NOTE = r"""**What the model learns differs too.** A DDPM network is trained to predict the noise, $\hat\varepsilon\approx\varepsilon$;
ours predicts the velocity $v=\varepsilon-x_0$ along the straight line. Both give $\hat x_0$, but the straight path's
velocity is the same at every point of one line, which is why few steps already land near the data.

**Common misreadings.**
- *An update like $x_{t+1} = x_t + \alpha\,(x_0 - x_t)$ is "diffusion".* It is not: it is a deterministic interpolation
  toward the data. It has no noise and needs $x_0$ — there is nothing left for a model to learn.
- *The VP path just adds noise.* It also **shrinks** the image by $\sqrt{\bar\alpha}$, so that the total variance stays 1:
  $\bar\alpha + (1-\bar\alpha) = 1$. The rectified-flow weights instead add up to one: $(1-\sigma) + \sigma = 1$.
- *Both paths end in the same place.* They do (pure noise at $t=1$), and both start at the data, but in between the VP
  image stays recognisable longer: its signal weight falls slowly at first (cosine)."""


def cosine_alpha_bar(t: np.ndarray | float, s: float = 0.008) -> np.ndarray:
    """Nichol & Dhariwal's cosine schedule, ᾱ(t) = cos²(((t + s)/(1 + s))·π/2) / ᾱ(0), t in [0, 1]."""
    f = lambda u: np.cos((np.asarray(u, np.float64) + s) / (1 + s) * math.pi / 2) ** 2  # noqa: E731
    return np.clip(f(t) / f(0.0), 0.0, 1.0)


def vp_noise(x0: torch.Tensor, eps: torch.Tensor, t: float) -> torch.Tensor:
    a = float(cosine_alpha_bar(t))
    return math.sqrt(a) * x0 + math.sqrt(1 - a) * eps


def paths(image, seed, steps) -> tuple:
    """Both paths at every step, as (VP images, RF images, weights) for the slider."""
    clean = inputs.load_image(image, "Image")  # pure arithmetic on the image: no model, any size would do
    x0 = unit_to_model(to_unit_tensor(clean, clean.width))
    steps = inputs.number(steps, "Steps", 2, 50, integer=True)
    eps = torch.randn(x0.shape, generator=torch.Generator().manual_seed(inputs.seed(seed)))
    ts = np.linspace(0.0, 1.0, steps + 1)
    vp = np.stack([to_uint8(vp_noise(x0, eps, t)) for t in ts])
    rf = np.stack([to_uint8(flow.add_noise(x0, eps, float(t))) for t in ts])
    return {"vp": vp, "rf": rf, "t": ts.tolist()}, gr.Slider(maximum=steps, value=steps // 2, interactive=True), *show({"vp": vp, "rf": rf, "t": ts.tolist()}, steps // 2)


def show(state, k) -> tuple:
    if not state:
        return None, None, None, ""
    k = int(np.clip(int(k), 0, len(state["t"]) - 1))
    t = state["t"][k]
    a = float(cosine_alpha_bar(t))
    text = say("**t = {t:.2f}** — VP: $x_t = {sa:.3f}\\,x_0 + {sn:.3f}\\,\\varepsilon$ (weights² sum to {one:.0f}); "
               "RF: $x_t = {rs:.3f}\\,x_0 + {t:.3f}\\,\\varepsilon$ (weights sum to 1)",
               t=t, sa=math.sqrt(a), sn=math.sqrt(1 - a), one=a + (1 - a), rs=1 - t)
    return upscale(state["vp"][k]), upscale(state["rf"][k]), weights_figure(t), text


def weights_figure(current: float):
    t = np.linspace(0, 1, 200)
    a = cosine_alpha_bar(t)
    fig, ax = subplots(figsize=(6, 2.8))
    ax.plot(t, np.sqrt(a), color="#1f77b4", label=say("VP signal √ᾱ"))
    ax.plot(t, np.sqrt(1 - a), color="#d62728", label=say("VP noise √(1−ᾱ)"))
    ax.plot(t, 1 - t, "--", color="#1f77b4", label=say("RF signal 1−σ"))
    ax.plot(t, t, "--", color="#d62728", label=say("RF noise σ"))
    ax.axvline(current, color="k", lw=1)
    ax.set_xlabel(say("t (RF: σ = t)"))
    ax.set_ylim(-0.02, 1.02)
    ax.set_title(say("Signal and noise weights"), fontsize=10, pad=30)
    ax.legend(fontsize=7, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=2, frameon=False)  # above the axes, on no curve
    ax.grid(alpha=0.3)
    return finished(fig)


def create_paths() -> None:
    examples = [str(p) for p in example_images()]
    gr.Markdown("### Two paths to noise\nThe same image and the same noise ε, under the variance-preserving (DDPM, cosine) path and under "
                "the straight rectified-flow path this model uses.")
    with gr.Row(equal_height=False):
        with gr.Column(min_width=240):
            image = gr.Image(examples[2] if len(examples) > 2 else None, type="filepath", label="Image", format="png", height=160,
                             elem_classes="fit-img")
            seed = gr.Number(0, label="Seed", precision=0, minimum=0, maximum=MAX_SEED, info="Picks ε.")
            steps = gr.Slider(2, 50, 10, step=1, label="Steps", info="Points along each path.")
            go = gr.Button("Show both paths", variant="primary", elem_id="paths-button")
        with gr.Column(min_width=300):
            with gr.Row():
                vp = gr.Image(label="variance-preserving (DDPM)", format="png", height=200, min_width=140)
                rf = gr.Image(label="rectified flow (ours)", format="png", height=200, min_width=140)
            slider = gr.Slider(0, 10, 5, step=1, label="Step along the path", interactive=False, elem_id="paths-slider")
            text = gr.Markdown("", latex_delimiters=[{"left": "$", "right": "$", "display": False}], elem_id="paths-text")
            plot = gr.Plot(show_label=False, elem_id="paths-plot")  # titled inside
    gr.Markdown(NOTE, latex_delimiters=[{"left": "$", "right": "$", "display": False}])
    state = gr.State(None)
    clear_on(go.click, text)
    go.click(paths, [image, seed, steps], [state, slider, vp, rf, plot, text], api_name="paths", preprocess=False)
    slider.input(show, [state, slider], [vp, rf, plot, text], api_name=False, show_progress="hidden")
