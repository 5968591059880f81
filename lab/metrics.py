"""Image quality numbers shown in the Denoise tab."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F


def _as_chw(x: np.ndarray | torch.Tensor) -> torch.Tensor:
    t = torch.as_tensor(np.asarray(x, dtype=np.float32)) if not torch.is_tensor(x) else x.float()
    if t.ndim == 3 and t.shape[-1] == 3:  # (H, W, 3)
        t = t.permute(2, 0, 1)
    return t


def psnr(a: np.ndarray | torch.Tensor, b: np.ndarray | torch.Tensor) -> float:
    """Peak signal-to-noise ratio in dB for images in [0, 1] (inf when identical)."""
    mse = F.mse_loss(_as_chw(a), _as_chw(b)).item()
    return float("inf") if mse == 0 else 10.0 * np.log10(1.0 / mse)


def ssim(a: np.ndarray | torch.Tensor, b: np.ndarray | torch.Tensor, window: int = 7, sigma: float = 1.5) -> float:
    """Structural similarity (Wang et al. 2004) with a Gaussian window, averaged over RGB.
    A 7-pixel window rather than the usual 11 because the images are only 32 pixels wide."""
    x, y = _as_chw(a)[None], _as_chw(b)[None]
    c = x.shape[1]
    coords = torch.arange(window, dtype=torch.float32) - (window - 1) / 2
    g = torch.exp(-(coords**2) / (2 * sigma**2))
    g = g / g.sum()
    k = (g[:, None] * g[None, :]).expand(c, 1, window, window)

    def blur(t: torch.Tensor) -> torch.Tensor:
        return F.conv2d(t, k, groups=c)

    mu_x, mu_y = blur(x), blur(y)
    sxx = blur(x * x) - mu_x**2
    syy = blur(y * y) - mu_y**2
    sxy = blur(x * y) - mu_x * mu_y
    c1, c2 = 0.01**2, 0.03**2
    s = ((2 * mu_x * mu_y + c1) * (2 * sxy + c2)) / ((mu_x**2 + mu_y**2 + c1) * (sxx + syy + c2))
    return float(s.mean())


def sharpness(a: np.ndarray | torch.Tensor) -> float:
    """Mean gradient magnitude (finite differences, all channels): how much edge an image has.
    Blur lowers it; the Denoise tab shows it relative to the clean image's."""
    x = _as_chw(a)
    dx, dy = x[:, :, 1:] - x[:, :, :-1], x[:, 1:, :] - x[:, :-1, :]
    return float(dx.abs().mean() + dy.abs().mean())
