"""View · A flow in 2-D: a tiny MLP velocity field, trained live with the same rectified-flow
maths as the DiT (`pipelines.schedulers`: σ ~ logit-normal, x_t = (1−σ)·x₀ + σ·ε, target
v = ε − x₀), moves particles from N(0, I) to a 2-D data set the learner picks. Beside them: the
straight lines of the training coupling, the learned paths, the velocity field at the current
σ, and classifier-free guidance (g = 1 against g > 1) when the data has two classes.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass

import gradio as gr
import numpy as np
import PIL.Image
import torch
import torch.nn as nn

from pipelines import schedulers as flow

from . import inputs
from .i18n import say
from .files import new_run_dir
from .outputs import clear_on
from .runtime import MAX_SEED, MODEL_QUEUE, example_images
from .viz import finished, subplots, write_gif

DATASETS = ["two moons", "spiral", "emoji silhouette"]
TRAIN_STEPS = 4000  # a fixed number of steps, so a seed gives the same field on any machine and under any load
TRAIN_SECONDS_MAX = 20.0  # only a safety cap: the note shows the seconds the 4000 steps took
N_PARTICLES = 600
SAME_MATHS = ("**Same maths as the big model.** The MLP learns v(x, σ, class) with exactly the DiT's objective and σ sampling; "
              "sampling is the same Euler ODE solve from σ = 1 to 0, and guidance the same v = v∅ + g·(v_c − v∅). Only the data "
              "is two-dimensional, so every particle's path can be drawn.")


class VelocityMLP(nn.Module):
    """v(x, σ, class) for 2-D points; class 2 is "no class", for classifier-free guidance.

    x enters also as sin/cos at 4 frequencies: a plain MLP learns smooth fields first, and in
    4000 steps it drew the spiral as a filled disc (Chamfer 0.193 -> 0.084); with these features
    and a third layer, 0.044, as close as the two moons get (0.035). Measured with seed 0."""

    def __init__(self, width: int = 128, classes: int = 2, x_freqs: int = 4) -> None:
        super().__init__()
        self.classes = classes
        self.x_freqs = torch.arange(1, x_freqs + 1, dtype=torch.float32)
        self.embed = nn.Embedding(classes + 1, 16)
        self.net = nn.Sequential(nn.Linear(2 + 4 * x_freqs + 16 + 16, width), nn.SiLU(), nn.Linear(width, width), nn.SiLU(),
                                 nn.Linear(width, width), nn.SiLU(), nn.Linear(width, 2))

    def forward(self, x: torch.Tensor, sigma: torch.Tensor, cls: torch.Tensor) -> torch.Tensor:
        s = sigma[:, None] * torch.arange(1, 9, dtype=x.dtype) * torch.pi  # (N, 8)
        xf = (x[:, :, None] * self.x_freqs.to(x.dtype)).flatten(1)  # (N, 2 * x_freqs)
        return self.net(torch.cat([x, torch.sin(xf), torch.cos(xf), torch.sin(s), torch.cos(s), self.embed(cls)], dim=1))


def sample_data(name: str, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(points (n, 2) roughly in [-2, 2], class labels (n,))."""
    if name == "two moons":
        cls = rng.integers(0, 2, n)
        a = rng.uniform(0, np.pi, n)
        pts = np.stack([np.cos(a) - cls * 1.0 + 0.5, np.sin(a) * np.where(cls, -1, 1) + cls * 0.5 - 0.25], 1) * 1.3
    elif name == "spiral":
        cls = np.zeros(n, int)
        r = rng.uniform(0.15, 1.0, n)
        pts = np.stack([r * np.cos(4 * np.pi * r), r * np.sin(4 * np.pi * r)], 1) * 2.0
    elif name == "emoji silhouette":
        arr = np.asarray(PIL.Image.open(silhouette_source()).convert("L"), np.float32)
        ys, xs = np.nonzero(arr < 235)  # every non-background pixel of the red heart
        pick = rng.integers(0, len(xs), n)
        pts = np.stack([xs[pick], -ys[pick]], 1).astype(np.float64) + rng.uniform(-0.5, 0.5, (n, 2))
        pts = (pts - pts.mean(0)) / 8.0
        cls = np.zeros(n, int)
    else:
        raise inputs.fail(say("{control} must be one of: {allowed}.", control="Data set", allowed=", ".join(DATASETS)))
    return (pts + rng.normal(0, 0.04, pts.shape)).astype(np.float32), cls


def silhouette_source():
    """The red heart: its outline reads at a glance as points (the cat face's was a blob)."""
    return next(p for p in example_images() if p.stem.endswith("red_heart"))


@contextmanager
def one_thread():
    """A 2-D MLP's ops are microseconds long: a second OpenMP thread only adds fork/join, and when
    the other core is busy, waiting for it made each step many times slower.
    The views share one model queue, so nothing else runs in this process meanwhile."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def train(points: np.ndarray, labels: np.ndarray, steps: int, seed: int,
          max_seconds: float = TRAIN_SECONDS_MAX) -> tuple[VelocityMLP, list[float]]:
    """The rectified-flow loss on 2-D points, 10% of labels dropped for guidance, Adam."""
    torch.manual_seed(seed)
    model = VelocityMLP()
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    x_all, c_all = torch.from_numpy(points), torch.from_numpy(labels)
    losses, start = [], time.time()
    while len(losses) < steps and time.time() - start < max_seconds:
        idx = torch.randint(0, len(x_all), (256,))
        x0, cls = x_all[idx], c_all[idx].clone()
        cls[torch.rand(256) < 0.1] = model.classes  # "no class"
        eps = torch.randn_like(x0)
        sigma = flow.sample_training_sigmas(256)
        xt = flow.add_noise(x0, eps, sigma)
        loss = ((model(xt, sigma, cls) - flow.flow_target(x0, eps)) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return model.eval(), losses


@torch.no_grad()
def velocity(model: VelocityMLP, x: torch.Tensor, sigma: float, cls: torch.Tensor, g: float) -> torch.Tensor:
    s = torch.full((len(x),), sigma)
    v_c = model(x, s, cls)
    if g == 1.0:
        return v_c
    v_u = model(x, s, torch.full_like(cls, model.classes))
    return v_u + g * (v_c - v_u)


@torch.no_grad()
def integrate(model: VelocityMLP, start: torch.Tensor, cls: torch.Tensor, steps: int, g: float) -> np.ndarray:
    """Euler from σ = 1 to 0, as the DiT's Euler sampler: positions (steps + 1, N, 2)."""
    sig = np.linspace(1.0, 0.0, steps + 1)
    xs = [start]
    for s, s_next in zip(sig[:-1], sig[1:]):
        xs.append(xs[-1] + (s_next - s) * velocity(model, xs[-1], float(s), cls, g))
    return torch.stack(xs).numpy()


def chamfer(a: np.ndarray, b: np.ndarray) -> float:
    """Mean nearest-neighbour distance, both ways: how far two point clouds are apart."""
    d = np.sqrt(((a[:, None, :] - b[None, :, :]) ** 2).sum(-1))
    return float(d.min(1).mean() + d.min(0).mean()) / 2


@dataclass
class Flow2D:
    data: np.ndarray
    labels: np.ndarray
    paths: dict[float, np.ndarray]  # guidance -> (steps + 1, N, 2)
    classes: np.ndarray  # particle classes
    coupling: tuple[np.ndarray, np.ndarray]  # (ε, x0) pairs of training, for the straight lines
    model: VelocityMLP
    losses: list[float]

    @property
    def steps(self) -> int:
        return len(next(iter(self.paths.values()))) - 1


def run_flow(dataset, guidance, steps, seed) -> tuple:
    """Train the field, then move particles with g = 1 and with the chosen g."""
    dataset = inputs.choice(dataset, "Data set", DATASETS)
    g = inputs.number(guidance, "Guidance", 1, 8)
    steps = inputs.number(steps, "Steps", 4, 60, integer=True)
    used = inputs.seed(seed)
    rng = np.random.default_rng(used)
    data, labels = sample_data(dataset, 4000, rng)
    began = time.time()
    with one_thread():
        model, losses = train(data, labels, TRAIN_STEPS, used)
        seconds = time.time() - began
        gen = torch.Generator().manual_seed(used)
        start = torch.randn(N_PARTICLES, 2, generator=gen)
        cls = torch.arange(N_PARTICLES) % (2 if labels.max() > 0 else 1)
        paths = {1.0: integrate(model, start, cls, steps, 1.0), g: integrate(model, start, cls, steps, g)}
    pick = rng.integers(0, len(data), 40)
    state = Flow2D(data, labels, paths, cls.numpy(), (rng.normal(size=(40, 2)).astype(np.float32), data[pick]), model, losses)
    before, after = chamfer(paths[1.0][0], data[:N_PARTICLES]), chamfer(paths[1.0][-1], data[:N_PARTICLES])
    note = say("Trained {n} steps in {t:.1f} s (loss {first:.3f} at the first step → {last:.3f}, mean of the last 20). Chamfer "
               "distance to the data: {before:.3f} at the start (Gaussian), **{after:.3f}** after the flow.", n=len(losses), t=seconds,
               first=losses[0], last=np.mean(losses[-20:]), before=before, after=after)
    if dataset == "emoji silhouette":
        note += " " + say("The data: every drawn pixel of the ❤️ red heart emoji (32×32), as a point.")
    if labels.max() == 0:
        note += " " + say("**Why both panels look the same:** this data set has one class, so the conditional and the unconditional "
                          "field learn the same thing, v_c ≈ v∅, and v∅ + g·(v_c − v∅) ≈ v for any g: only their small training "
                          "differences get amplified. Guidance needs classes to pull apart: try two moons.")
    return state, note, gr.Slider(maximum=steps, value=steps, interactive=True), figure(state, steps)


def figure(state: Flow2D | None, k):
    if state is None:
        return None
    k = int(np.clip(int(k), 0, state.steps))
    sigma = 1.0 - k / state.steps
    gs = sorted(state.paths)
    fig, axes = subplots(1, len(gs), figsize=(4.2 * len(gs), 4.2), squeeze=False)
    grid = np.stack(np.meshgrid(np.linspace(-3, 3, 15), np.linspace(-3, 3, 15)), -1).reshape(-1, 2).astype(np.float32)
    for ax, g in zip(axes[0], gs):
        p = state.paths[g]
        ax.scatter(state.data[:1500, 0], state.data[:1500, 1], s=2, color="#cccccc", zorder=0)
        eps, x0 = state.coupling
        for e, x in zip(eps[:25], x0[:25]):
            ax.plot([e[0], x[0]], [e[1], x[1]], color="#999999", lw=0.6, ls="--", zorder=1)
        for i in range(0, len(p[0]), 15):
            ax.plot(p[: k + 1, i, 0], p[: k + 1, i, 1], color="#1f77b4" if state.classes[i] == 0 else "#d62728", lw=0.6, alpha=0.6)
        v = velocity(state.model, torch.from_numpy(grid), sigma, torch.zeros(len(grid), dtype=torch.long), g).numpy()
        ax.quiver(grid[:, 0], grid[:, 1], -v[:, 0], -v[:, 1], color="#2ca02c", alpha=0.5, width=0.003)
        ax.scatter(p[k, :, 0], p[k, :, 1], s=5, c=np.where(state.classes == 0, "#1f77b4", "#d62728"), zorder=3)
        ax.set_xlim(-3, 3)
        ax.set_ylim(-3, 3)
        ax.set_aspect("equal")
        ax.set_title(say("g = {g:g} · step {k} of {n} · σ = {sigma:.2f}", g=g, k=k, n=state.steps, sigma=sigma), fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
    return finished(fig)


def export_gif(state) -> str:
    if not isinstance(state, Flow2D):
        raise inputs.fail(say("Train the flow first, then export it."))
    frames = []
    for k in range(state.steps + 1):
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        canvas = FigureCanvasAgg(figure(state, k))
        canvas.draw()
        frames.append(np.asarray(canvas.buffer_rgba())[..., :3].copy())
    return str(write_gif(frames, new_run_dir() / "flow2d.gif", 6.0))


def create_flow2d() -> None:
    gr.Markdown("### A flow in 2-D\nParticles start as Gaussian noise and follow a learned velocity field to the data. "
                "Dashed grey: straight lines of the training coupling (noise ε ↔ data x₀). Coloured: the learned paths. "
                "Green arrows: the direction the field moves points toward the data at this σ.")
    with gr.Row(equal_height=False):
        with gr.Column(min_width=240):
            dataset = gr.Radio(DATASETS, value="two moons", label="Data set", info="Two moons has two classes (blue, red) for guidance.")
            guidance = gr.Slider(1, 8, 3, step=0.5, label="Guidance", info="Right panel: this g; left panel: g = 1.")
            steps = gr.Slider(4, 60, 30, step=1, label="Steps", info="Euler steps from σ = 1 to 0.")
            seed = gr.Number(0, label="Seed", precision=0, minimum=0, maximum=MAX_SEED)
            go = gr.Button("Train and flow", variant="primary", elem_id="flow-button")
            note = gr.Markdown("", elem_id="flow-note")
        with gr.Column(min_width=320, scale=2):
            plot = gr.Plot(show_label=False, elem_id="flow-plot")  # each panel has its title
            with gr.Row():
                slider = gr.Slider(0, 30, 30, step=1, label="Step", interactive=False, elem_id="flow-slider")
                play = gr.Button("▶ / ⏸", scale=0)
            with gr.Row():
                gif_go = gr.Button("Export GIF", elem_id="flow-export")
                gif = gr.File(label="Animation")
    gr.Markdown(SAME_MATHS)
    state, playing = gr.State(None), gr.State(False)
    timer = gr.Timer(0.4, active=False)
    clear_on(go.click, note)
    go.click(run_flow, [dataset, guidance, steps, seed], [state, note, slider, plot], api_name="flow2d",
             concurrency_id=MODEL_QUEUE, preprocess=False)
    slider.input(figure, [state, slider], plot, api_name=False, show_progress="hidden")
    play.click(lambda p: (not p, gr.Timer(active=not p)), playing, [playing, timer], api_name=False)
    timer.tick(lambda s, k, p: ((int(k) + 1) % (s.steps + 1), figure(s, (int(k) + 1) % (s.steps + 1))) if s is not None and p else (gr.skip(), gr.skip()),
               [state, slider, playing], [slider, plot], api_name=False, show_progress="hidden")
    gif_go.click(export_gif, state, gif, api_name="flow2d_export")
