"""The per-step record of a run (`return_trace=True`): what the model saw and said at each step.

The loop hands each step to a `TraceRecorder`; the views (scrubbers, equations, GIF export) and
`callback_on_step_end` users read the `TraceStep`s. In latent space x_t and the predictions are
latents; `x0_image` is x̂0 decoded to pixels, all steps in one batched decode at the end.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from . import schedulers as flow
from .latents import LatentSpace


@dataclass
class TraceStep:
    """One step, tensors (N, C, H, W) in model space (pixels in [-1, 1], or scaled latents)."""

    index: int  # step of this run, 0-based (a Heun step is one step, though it calls the model twice)
    timestep: float  # t = 1000 * sigma, the model's conditioning
    sigma: float  # noise level of x_t
    sigma_next: float  # noise level after this step
    x_t: torch.Tensor  # the input of this step
    x0_pred: torch.Tensor  # x0_hat = x_t - sigma * v (guided)
    noise_pred: torch.Tensor  # eps_hat = x_t + (1 - sigma) * v (guided)
    x0_cond: torch.Tensor | None = None  # x0_hat from the conditional velocity alone
    x0_uncond: torch.Tensor | None = None  # ... and from the unconditional one (None where unguided)
    guidance_scale: float = 1.0  # the scale applied at this step
    x_next: torch.Tensor | None = None  # the state after this step: after inpainting's merge and the callback
    extras: dict[str, torch.Tensor] = field(default_factory=dict)  # e.g. inpainting's proposal / known region
    x0_image: torch.Tensor | None = None  # x0_hat as pixels in [-1, 1] (3, H, W per image); = x0_pred in pixel space


class TraceRecorder:
    """Collects the loop's steps (on the CPU); `finish` decodes x̂0 for latent models."""

    def __init__(self, space: LatentSpace) -> None:
        self.space = space
        self.steps: list[TraceStep] = []

    def record(self, index: int, x_t: torch.Tensor, x_next: torch.Tensor, v_parts: tuple, sigma: float, sigma_next: float,
               guidance: float, extras: dict[str, torch.Tensor]) -> None:
        v, v_cond, v_uncond = v_parts
        self.steps.append(TraceStep(
            index=index, timestep=float(flow.timestep_from_sigma(torch.tensor(sigma))), sigma=sigma, sigma_next=sigma_next,
            x_t=x_t.cpu(), x0_pred=flow.predict_x0(x_t, v, sigma).cpu(), noise_pred=flow.predict_noise(x_t, v, sigma).cpu(),
            x0_cond=flow.predict_x0(x_t, v_cond, sigma).cpu(),
            x0_uncond=None if v_uncond is None else flow.predict_x0(x_t, v_uncond, sigma).cpu(),
            guidance_scale=guidance if v_uncond is not None else 1.0, x_next=x_next.cpu(),
            extras={name: t.cpu() for name, t in extras.items()},
        ))

    def finish(self) -> list[TraceStep]:
        if not self.steps:
            return []
        x0 = torch.cat([s.x0_pred for s in self.steps])
        images = self.space.decode(x0.to(self.space.vae.device)).cpu() if self.space.vae is not None else x0
        for s, img in zip(self.steps, images.split(self.steps[0].x0_pred.shape[0])):
            s.x0_image = img
        return self.steps
