"""A run's trace as what the tabs show: images per step, the numbers of one probe pixel, and
the equations with those numbers filled in.

Step language, the same in every panel: a run of N steps has positions k = 0..N, "k of N
steps done". Position 0 is the starting noise, position N the result. Step k + 1 (1-based)
takes the state at position k to position k + 1; its predictions (x̂₀, ε̂, guidance's parts)
are shown beside position k.

On the latent model the state x_t, ε̂ and inpainting's merge are latents: they are shown as
their 4 channels (`viz.latent_tiles`), and x̂₀ and guidance's parts decoded to pixels, as the
model's own decoder would draw them. The equations' probe is then a latent number.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from pipelines import ForwardProcessOutput, TraceStep
from pipelines.latents import LatentSpace

from .i18n import say
from .runtime import model_work
from .viz import channel_grid, latent_tiles, to_uint8


def probe(t: torch.Tensor, image: int = 0) -> float:
    """The number the equations follow: channel 0 (red, for pixels) at the centre of the grid."""
    return float(t[image, 0, t.shape[-2] // 2, t.shape[-1] // 2])


LATENT_PANELS = ("latent model: x_t and ε̂ are latents, shown as their 4 channels (grey 0, white +3, black −3); x̂₀ and "
                 "guidance's parts are decoded to pixels.")


@dataclass
class StepPanels:
    """One step's predictions as uint8 images, and its numbers at the probe pixel."""

    x0_pred: np.ndarray
    noise_pred: np.ndarray
    x0_cond: np.ndarray
    x0_uncond: np.ndarray | None  # None where the step ran unguided
    numbers: dict[str, float]
    proposal: np.ndarray | None = None  # inpainting: the sampler's update before the merge
    known: np.ndarray | None = None  # inpainting: the original noised to the next level
    merged: np.ndarray | None = None  # the state after this step (inpainting: the merge). Not states[k + 1]:
    # after a RePaint jump the next position is the re-noised state, not this step's result


@dataclass
class Frames:
    states: np.ndarray  # (N + 1, H, W, 3): the state after k steps, k = 0..N
    steps: list[StepPanels]  # N entries
    sigmas: list[float]  # N + 1 noise levels of the positions (last 0)
    sampler: str
    mask: np.ndarray | None = None  # inpainting: 1 = repainted, on the state panels' layout (a latent's: per channel tile)
    forward: np.ndarray | None = None  # (N + 1, H, W, 3): the forward process at the same sigmas
    forward_numbers: list[dict[str, float]] | None = None
    latent: bool = False  # states are latents (shown as channels), x̂₀ decoded

    def latent_note(self) -> str:
        """What the panels of a latent run are (appended to a position's title), or ""."""
        return " · " + say(LATENT_PANELS) if self.latent else ""

    @property
    def symbol(self) -> str:
        """The state's name in the equations: z for a latent, x for pixels."""
        return "z" if self.latent else "x"

    def __len__(self) -> int:
        return len(self.steps)

    def clamp(self, k) -> int:
        return int(np.clip(int(k), 0, len(self)))

    def title(self, k: int) -> str:
        return say("{k} of {n} steps done · σ = {sigma:.3f}", k=k, n=len(self), sigma=self.sigmas[k])

    @classmethod
    def from_trace(cls, trace: list[TraceStep], sampler: str, image: int = 0, mask: np.ndarray | None = None,
                   space: LatentSpace | None = None) -> "Frames":
        """The run's trace for one of its images; `space` is the pipeline's (None: pixels)."""
        if not trace:
            raise ValueError("The run has no steps to show.")
        space = space or LatentSpace()
        latent = space.vae is not None
        state = show_state(latent)
        states = [state(s.x_t[image]) for s in trace] + [state(trace[-1].x_next[image])]
        guided = [s.x0_uncond is not None for s in trace]
        # guidance's parts as pixels: the conditional x̂₀ of every step, then the unconditional of the guided ones
        parts = iter(_images(space, [s.x0_cond[image] for s in trace] + [s.x0_uncond[image] for s in trace if s.x0_uncond is not None]))
        cond = [next(parts) for _ in trace]
        steps = [_panels(s, image, state, c, next(parts) if g else None) for s, c, g in zip(trace, cond, guided)]
        if mask is not None and latent:
            mask = _latent_mask(mask, trace[0].x_t.shape)
        return cls(np.stack(states), steps, [s.sigma for s in trace] + [trace[-1].sigma_next], sampler, mask, latent=latent)


def show_state(latent: bool):
    """How a state (C, h, w) is drawn: pixels as they are, a latent as its channels."""
    return latent_tiles if latent else to_uint8


def _latent_mask(mask: np.ndarray, shape: torch.Size) -> np.ndarray:
    """A pixel mask as the latent panels show it: max-pooled to the latent grid (the pipeline's
    own rule), one copy per channel tile (the gaps between tiles count as inside)."""
    grid = F.adaptive_max_pool2d(torch.as_tensor(mask, dtype=torch.float32)[None, None], shape[-1])[0, 0].numpy()
    plane = np.repeat(grid[..., None] * 255, 3, -1).astype(np.uint8)
    return channel_grid([plane] * shape[1])[..., 0] > 127


def _images(space: LatentSpace, xs: list[torch.Tensor]) -> list[np.ndarray]:
    """Model-space predictions as pixels (one batched decode for a latent model)."""
    if not xs:
        return []
    if space.vae is not None:
        with model_work():  # the autoencoder is model work: one at a time (lab.runtime.MODEL_LOCK)
            xs = space.decode(torch.stack(xs).to(space.vae.device)).cpu()
    return [to_uint8(x) for x in xs]


def _panels(s: TraceStep, i: int, state, x0_cond: np.ndarray, x0_uncond: np.ndarray | None) -> StepPanels:
    px = lambda t: probe(t, i)  # noqa: E731
    v = (px(s.x_t) - px(s.x0_pred)) / max(s.sigma, 1e-8)
    num = {"sigma": s.sigma, "sigma_next": s.sigma_next, "t": s.timestep, "x_t": px(s.x_t), "x0_pred": px(s.x0_pred),
           "noise_pred": px(s.noise_pred), "v": v, "x0_cond": px(s.x0_cond), "g": s.guidance_scale, "x_next": px(s.x_next)}
    if s.x0_uncond is not None:
        num["x0_uncond"] = px(s.x0_uncond)
    ex = s.extras
    return StepPanels(
        to_uint8(s.x0_image[i]), state(s.noise_pred[i]), x0_cond, x0_uncond, num,
        state(ex["proposal"][i]) if "proposal" in ex else None, state(ex["known_noised"][i]) if "known_noised" in ex else None,
        state(s.x_next[i]),
    )


def add_forward(frames: Frames, fp: ForwardProcessOutput, x0: torch.Tensor) -> None:
    """Attach the pipeline's forward process (`forward_process(..., output_type="latent")` at
    forward steps N..0, so that position k of both processes has the same noise level); `x0`
    is the clean start in model space (the image's latent, for a latent model)."""
    if len(fp.steps) != len(frames) + 1:
        raise ValueError("the forward process must cover every position of the run")
    frames.forward = np.stack([show_state(frames.latent)(x) for x in fp.images])
    frames.forward_numbers = [{"sigma": s, "x0": probe(x0), "eps": probe(fp.noise)} for s in fp.sigmas]


# ---------------------------------------------------------------- equations
def forward_equation(sigma: float, x0: float, eps: float, x: str = "x") -> str:
    """The forward process at the probe, with this position's numbers filled in; `x` names the
    state (z for a latent)."""
    xt = (1 - sigma) * x0 + sigma * eps
    return (f"$${x}_t = (1-\\sigma)\\,{x}_0 + \\sigma\\,\\varepsilon = (1-{sigma:.3f})\\cdot({x0:+.3f}) + {sigma:.3f}\\cdot({eps:+.3f})"
            f" = {xt:+.3f}$$")


def reverse_equations(num: dict[str, float], sampler: str, x: str = "x") -> str:
    """One reverse step at the probe: prediction, guidance, update — the run's numbers. The
    update line is Euler's rule; for another sampler it says what that sampler really did."""
    s, sn, xt, v = num["sigma"], num["sigma_next"], num["x_t"], num["v"]
    lines = [
        f"$$\\hat {x}_0 = {x}_t - \\sigma\\,v = {xt:+.3f} - {s:.3f}\\cdot({v:+.3f}) = {num['x0_pred']:+.3f}$$",
        f"$$\\hat\\varepsilon = {x}_t + (1-\\sigma)\\,v = {xt:+.3f} + {1 - s:.3f}\\cdot({v:+.3f}) = {num['noise_pred']:+.3f}$$",
    ]
    if "x0_uncond" in num:
        g, u, cnd = num["g"], num["x0_uncond"], num["x0_cond"]
        lines.append(
            f"$$\\hat {x}_0^{{\\text{{guided}}}} = \\hat {x}_0^{{\\varnothing}} + g\\,(\\hat {x}_0^{{c}} - \\hat {x}_0^{{\\varnothing}}) = "
            f"{u:+.3f} + {g:g}\\cdot({cnd:+.3f} - ({u:+.3f})) = {u + g * (cnd - u):+.3f}$$")
    else:
        lines.append(say("*This step ran unguided (one model call): the conditional prediction is used as it is.*"))
    euler = xt + (sn - s) * v
    lines.append(f"$$\\text{{Euler: }} {x}_{{\\text{{next}}}} = {x}_t + (\\sigma_{{\\text{{next}}}} - \\sigma)\\,v = {xt:+.3f} + ({sn:.3f} - {s:.3f})"
                 f"\\cdot({v:+.3f}) = {euler:+.3f}$$")
    if sn == 0 and 0 < s < 0.01:
        lines.append(say("*The last step: {sampler}'s schedule (as diffusers' flow-matching schedulers) ends at σ = {s:.3f}, not 0, "
                         "because the model never trained exactly at σ = 0; this step removes that sliver of noise and changes "
                         "the image by well under one grey level.*", sampler=sampler, s=s))
    if sampler != "euler":
        moved = ("*That is Euler's rule. This run's sampler, **{sampler}**, also uses earlier steps or a second model call, "
                 "and moved the pixel to **{x:+.3f}**.*") if x == "x" else (
                 "*That is Euler's rule. This run's sampler, **{sampler}**, also uses earlier steps or a second model call, "
                 "and moved the latent number to **{x:+.3f}**.*")
        lines.append(say(moved, sampler=sampler, x=num["x_next"]))
    return "\n".join(lines)


LATENT_NOTE = ("*In latent space: z is the autoencoder's latent, z₀ = E(x₀) for an image x₀. The noise, the model and the "
               "solver all work on z (16×16×4 numbers); only x̂₀ = D(ẑ₀) goes through the decoder, to be shown.*")


def step_equations(frames: Frames, k: int) -> str:
    """The equations beside position k: the forward process there, and the step taken from it."""
    k = frames.clamp(k)
    n = len(frames)
    parts = []
    if frames.forward_numbers:
        f = frames.forward_numbers[k]
        where = say("**Forward** at position {k} (channel 1 of the centre latent position):", k=k) if frames.latent else \
            say("**Forward** at position {k} (red channel of the centre pixel):", k=k)
        parts.append(where + "\n" + forward_equation(f["sigma"], f["x0"], f["eps"], frames.symbol))
    j = min(k, n - 1)
    head = say("**Reverse, step {i} of {n}** (from {j} to {i} steps done)", i=j + 1, n=n, j=j) + (say(" — the last step, which made the result") if k == n else "")
    parts.append(head + ":\n" + reverse_equations(frames.steps[j].numbers, frames.sampler, frames.symbol))
    if frames.latent:
        parts.append(say(LATENT_NOTE))
    return "\n\n".join(parts)
