"""The space the transformer works in: pixels, or an autoencoder's latents (diffusers' conventions).

With a diffusers `AutoencoderKL` the DiT sees `(z - shift_factor) * scaling_factor`, where z is
the encoder's latent: the factors, stored in the autoencoder's config, give the latents mean 0
and variance 1 over the training images, the scale the noise schedule assumes (SD's 0.18215
was found the same way). Without one (None) the DiT works on pixels in [-1, 1].
"""

from __future__ import annotations

import weakref

import torch
import torch.nn.functional as F

# vae -> (weight (3, C), bias (3,)) of the live-preview map; written by `preview` on its first
# call for that autoencoder (any thread: a recomputation gives the same numbers), read after.
_PREVIEW_MAPS: "weakref.WeakKeyDictionary[torch.nn.Module, tuple]" = weakref.WeakKeyDictionary()
DECODE_BATCH = 16  # decode in chunks: memory stays flat for long traces


class LatentSpace:
    """encode: pixels in [-1, 1] -> model space; decode: back; preview: a cheap approximate decode."""

    def __init__(self, vae=None) -> None:
        self.vae = vae

    @property
    def scale_factor(self) -> int:
        """Pixels per latent along each side: 2 ** (levels - 1) for AutoencoderKL (1 without a vae)."""
        return 1 if self.vae is None else 2 ** (len(self.vae.config.block_out_channels) - 1)

    def _factors(self) -> tuple[float, float]:
        cfg = self.vae.config
        return float(cfg.get("shift_factor") or 0.0), float(cfg.scaling_factor)

    @torch.no_grad()
    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Pixels (N, 3, H, W) in [-1, 1] -> (N, C, H/f, W/f); the latent distribution's mode,
        so the same image always gives the same latent."""
        if self.vae is None:
            return x
        shift, scale = self._factors()
        z = torch.cat([self.vae.encode(c.to(self.vae.dtype)).latent_dist.mode() for c in x.split(DECODE_BATCH)])
        return (z.float() - shift) * scale

    @torch.no_grad()
    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Model space -> pixels in [-1, 1] (clamped for a vae; pixel space is returned as it is)."""
        if self.vae is None:
            return z
        shift, scale = self._factors()
        out = [self.vae.decode((c / scale + shift).to(self.vae.dtype)).sample for c in z.split(DECODE_BATCH)]
        return torch.cat(out).float().clamp(-1.0, 1.0)

    @torch.no_grad()
    def preview(self, z: torch.Tensor) -> torch.Tensor:
        """A fast, approximate decode for live frames: each latent pixel mapped linearly to RGB
        and repeated f x f (the decoder's shapes and edges are missing; colours and layout are
        right). Pixel space returns z itself."""
        if self.vae is None:
            return z
        if self.vae not in _PREVIEW_MAPS:
            _PREVIEW_MAPS[self.vae] = self._fit_preview()
        weight, bias = _PREVIEW_MAPS[self.vae]
        rgb = torch.einsum("oc,nchw->nohw", weight, z.float()) + bias[:, None, None]
        return rgb.clamp(-1, 1).repeat_interleave(self.scale_factor, -1).repeat_interleave(self.scale_factor, -2)

    def _fit_preview(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Least squares from latent values to RGB, on the latents of flat colour patches
        (random colours in 2x2 blocks, plus white and black): a flat region is what the preview
        must get right, and no training data is needed to find it."""
        g = torch.Generator().manual_seed(0)
        side = self.vae.config.sample_size
        colours = torch.cat([torch.rand(30, 3, 2, 2, generator=g), torch.ones(1, 3, 2, 2), torch.zeros(1, 3, 2, 2)]) * 2 - 1
        images = colours.repeat_interleave(side // 2, -1).repeat_interleave(side // 2, -2)
        z = self.encode(images)
        target = F.interpolate(images, size=z.shape[-2:], mode="nearest")
        channels = z.shape[1]
        a = torch.cat([z.permute(0, 2, 3, 1).reshape(-1, channels), torch.ones(z.numel() // channels, 1)], 1)
        sol = torch.linalg.lstsq(a, target.permute(0, 2, 3, 1).reshape(-1, 3)).solution  # (C + 1, 3)
        return sol[:-1].T.contiguous(), sol[-1].contiguous()
