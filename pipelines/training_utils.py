"""What training needs that is not data: the rectified-flow loss and the EMA of the weights.

Here, not in training/, because the app's "watch it learn" view trains a tiny DiT with the same
code, and lab/ never imports training/ (docs/architecture.md, "Layers").
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from . import schedulers as flow


def flow_matching_loss(model, x0: torch.Tensor, states: torch.Tensor, masks: torch.Tensor, autocast,
                       sigma_location: float = 0.0) -> torch.Tensor:
    """The rectified-flow objective: ||v_theta(x_t, sigma, text) - (eps - x0)||^2, sigma ~ logit-normal(sigma_location, 1)."""
    noise = torch.randn_like(x0)
    sigma = flow.sample_training_sigmas(x0.shape[0], device=x0.device, location=sigma_location)
    xt = flow.add_noise(x0, noise, sigma)
    with autocast():
        v = model(xt, flow.timestep_from_sigma(sigma), states, masks).sample
    return F.mse_loss(v.float(), flow.flow_target(x0, noise))


class EMA:
    """Exponential moving average with a warm-up: decay = min(max, 1 - (step+1)^(-2/3)).
    A fixed 0.9999 would average over more steps than a whole CPU run has."""

    def __init__(self, model: torch.nn.Module, max_decay: float) -> None:
        self.max_decay = max_decay
        self.shadow = {k: v.detach().clone().float() for k, v in model.state_dict().items()}

    @torch.no_grad()
    def update(self, model: torch.nn.Module, step: int) -> None:
        decay = min(self.max_decay, 1.0 - (step + 1) ** (-2.0 / 3.0))
        for k, v in model.state_dict().items():
            if v.dtype.is_floating_point:
                self.shadow[k].lerp_(v.float(), 1.0 - decay)

    def copy_to(self, model: torch.nn.Module) -> None:
        model.load_state_dict(self.shadow)
