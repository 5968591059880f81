"""A run's trace as what the tabs show: images per step, the numbers of one probe pixel, and
the equations with those numbers filled in.

Step language, the same in every panel: a run of N steps has positions k = 0..N, "k of N
steps done". Position 0 is the starting noise, position N the result. Step k + 1 (1-based)
takes the state at position k to position k + 1; its predictions (x̂₀, ε̂, guidance's parts)
are shown beside position k.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from pipelines import ForwardProcessOutput, TraceStep

from .i18n import say
from .viz import to_uint8

PROBE_PIXEL = (16, 16)  # (row, col) whose red-channel numbers the equations show


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
    mask: np.ndarray | None = None  # inpainting: (H, W), 1 = repainted
    forward: np.ndarray | None = None  # (N + 1, H, W, 3): the forward process at the same sigmas
    forward_numbers: list[dict[str, float]] | None = None

    def __len__(self) -> int:
        return len(self.steps)

    def clamp(self, k) -> int:
        return int(np.clip(int(k), 0, len(self)))

    def title(self, k: int) -> str:
        return say("{k} of {n} steps done · σ = {sigma:.3f}", k=k, n=len(self), sigma=self.sigmas[k])

    @classmethod
    def from_trace(cls, trace: list[TraceStep], sampler: str, image: int = 0, mask: np.ndarray | None = None) -> "Frames":
        if not trace:
            raise ValueError("The run has no steps to show.")
        states = [to_uint8(s.x_t[image]) for s in trace] + [to_uint8(trace[-1].x_next[image])]
        steps = [_panels(s, image) for s in trace]
        return cls(np.stack(states), steps, [s.sigma for s in trace] + [trace[-1].sigma_next], sampler, mask)


def _panels(s: TraceStep, i: int) -> StepPanels:
    r, c = PROBE_PIXEL
    px = lambda t: float(t[i, 0, r, c])  # noqa: E731
    v = (px(s.x_t) - px(s.x0_pred)) / max(s.sigma, 1e-8)
    num = {"sigma": s.sigma, "sigma_next": s.sigma_next, "t": s.timestep, "x_t": px(s.x_t), "x0_pred": px(s.x0_pred),
           "noise_pred": px(s.noise_pred), "v": v, "x0_cond": px(s.x0_cond), "g": s.guidance_scale, "x_next": px(s.x_next)}
    if s.x0_uncond is not None:
        num["x0_uncond"] = px(s.x0_uncond)
    ex = s.extras
    return StepPanels(
        to_uint8(s.x0_pred[i]), to_uint8(s.noise_pred[i]), to_uint8(s.x0_cond[i]),
        None if s.x0_uncond is None else to_uint8(s.x0_uncond[i]), num,
        to_uint8(ex["proposal"][i]) if "proposal" in ex else None, to_uint8(ex["known_noised"][i]) if "known_noised" in ex else None,
        to_uint8(s.x_next[i]),
    )


def add_forward(frames: Frames, fp: ForwardProcessOutput, x0: torch.Tensor) -> None:
    """Attach the pipeline's forward process (`forward_process(..., output_type="latent")` at
    forward steps N..0, so that position k of both processes has the same noise level)."""
    if len(fp.steps) != len(frames) + 1:
        raise ValueError("the forward process must cover every position of the run")
    frames.forward = np.stack([to_uint8(x) for x in fp.images])
    r, c = PROBE_PIXEL
    frames.forward_numbers = [{"sigma": s, "x0": float(x0[0, 0, r, c]), "eps": float(fp.noise[0, 0, r, c])} for s in fp.sigmas]


# ---------------------------------------------------------------- equations
def forward_equation(sigma: float, x0: float, eps: float) -> str:
    """The forward process at the probe pixel, with this position's numbers filled in."""
    xt = (1 - sigma) * x0 + sigma * eps
    return f"$$x_t = (1-\\sigma)\\,x_0 + \\sigma\\,\\varepsilon = (1-{sigma:.3f})\\cdot({x0:+.3f}) + {sigma:.3f}\\cdot({eps:+.3f}) = {xt:+.3f}$$"


def reverse_equations(num: dict[str, float], sampler: str) -> str:
    """One reverse step at the probe pixel: prediction, guidance, update — the run's numbers.
    The update line is Euler's rule; for another sampler it says what that sampler really did."""
    s, sn, xt, v = num["sigma"], num["sigma_next"], num["x_t"], num["v"]
    lines = [
        f"$$\\hat x_0 = x_t - \\sigma\\,v = {xt:+.3f} - {s:.3f}\\cdot({v:+.3f}) = {num['x0_pred']:+.3f}$$",
        f"$$\\hat\\varepsilon = x_t + (1-\\sigma)\\,v = {xt:+.3f} + {1 - s:.3f}\\cdot({v:+.3f}) = {num['noise_pred']:+.3f}$$",
    ]
    if "x0_uncond" in num:
        g, u, cnd = num["g"], num["x0_uncond"], num["x0_cond"]
        lines.append(
            f"$$\\hat x_0^{{\\text{{guided}}}} = \\hat x_0^{{\\varnothing}} + g\\,(\\hat x_0^{{c}} - \\hat x_0^{{\\varnothing}}) = "
            f"{u:+.3f} + {g:g}\\cdot({cnd:+.3f} - ({u:+.3f})) = {u + g * (cnd - u):+.3f}$$")
    else:
        lines.append(say("*This step ran unguided (one model call): the conditional prediction is used as it is.*"))
    euler = xt + (sn - s) * v
    lines.append(f"$$\\text{{Euler: }} x_{{\\text{{next}}}} = x_t + (\\sigma_{{\\text{{next}}}} - \\sigma)\\,v = {xt:+.3f} + ({sn:.3f} - {s:.3f})\\cdot({v:+.3f}) = {euler:+.3f}$$")
    if sn == 0 and 0 < s < 0.01:
        lines.append(say("*The last step: {sampler}'s schedule (as diffusers' flow-matching schedulers) ends at σ = {s:.3f}, not 0, "
                         "because the model never trained exactly at σ = 0; this step removes that sliver of noise and changes "
                         "the image by well under one grey level.*", sampler=sampler, s=s))
    if sampler != "euler":
        lines.append(say("*That is Euler's rule. This run's sampler, **{sampler}**, also uses earlier steps or a second model call, "
                         "and moved the pixel to **{x:+.3f}**.*", sampler=sampler, x=num["x_next"]))
    return "\n".join(lines)


def step_equations(frames: Frames, k: int) -> str:
    """The equations beside position k: the forward process there, and the step taken from it."""
    k = frames.clamp(k)
    n = len(frames)
    parts = []
    if frames.forward_numbers:
        f = frames.forward_numbers[k]
        parts.append(say("**Forward** at position {k} (red channel of the centre pixel):", k=k) + "\n" + forward_equation(f["sigma"], f["x0"], f["eps"]))
    j = min(k, n - 1)
    head = say("**Reverse, step {i} of {n}** (from {j} to {i} steps done)", i=j + 1, n=n, j=j) + (say(" — the last step, which made the result") if k == n else "")
    parts.append(head + ":\n" + reverse_equations(frames.steps[j].numbers, frames.sampler))
    return "\n\n".join(parts)
