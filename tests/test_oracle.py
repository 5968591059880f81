"""With the exact velocity, every sampler in every pipeline lands on x0, in pixel and latent space."""

import numpy as np
import pytest
import torch

from pipelines import SAMPLERS, DiTImg2ImgPipeline, DiTInpaintPipeline, DiTText2ImagePipeline, make_scheduler
from pipelines.latents import LatentSpace

from .conftest import OracleTransformer


def _image(size: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.rand(1, 3, size, size, generator=g)


def _pipe(cls, target: torch.Tensor, sampler: str, vae=None):
    pipe = cls(transformer=OracleTransformer(target), scheduler=make_scheduler(sampler), vae=vae)
    pipe.set_progress_bar_config(disable=True)
    return pipe


@pytest.mark.parametrize("sampler", list(SAMPLERS))
@pytest.mark.parametrize("latent", [False, True], ids=["pixels", "latents"])
def test_every_sampler_in_every_pipeline_lands_on_x0(sampler, latent, tiny_vae):
    vae = tiny_vae if latent else None
    space = LatentSpace(vae)
    size = 64 if latent else 32
    x01 = _image(size)
    target = space.encode(x01 * 2 - 1)  # the oracle's x0, in the model's space
    want = space.decode(target).add(1).div(2).clamp(0, 1)  # decode(encode(x)): what a perfect model returns
    kw = dict(num_inference_steps=6, generator=torch.Generator().manual_seed(0), output_type="pt", prompt_embeds=torch.zeros(1, 4, 384))

    t2i = _pipe(DiTText2ImagePipeline, target, sampler, vae)(**kw)
    assert torch.allclose(t2i.images, want, atol=2e-4), (t2i.images - want).abs().max()

    i2i = _pipe(DiTImg2ImgPipeline, target, sampler, vae)(x01, strength=0.7, **kw)
    assert torch.allclose(i2i.images, want, atol=2e-4)

    mask = np.zeros((size, size), np.float32)
    mask[size // 4 : size // 2, size // 4 :] = 1
    inp = _pipe(DiTInpaintPipeline, target, sampler, vae)(x01, mask, **kw).images
    keep = torch.from_numpy(mask == 0)
    assert torch.equal(inp[0][:, keep], x01[0][:, keep])  # outside: the original, exactly
    inside = torch.from_numpy(mask == 1)
    assert torch.allclose(inp[0][:, inside], want[0][:, inside], atol=2e-4)


def test_repaint_with_the_oracle_lands_on_x0():
    x01 = _image(32)
    target = x01 * 2 - 1
    mask = np.ones((32, 32), np.float32)
    pipe = _pipe(DiTInpaintPipeline, target, "euler")
    out = pipe(x01, mask, num_inference_steps=6, jump_length=2, jump_n_sample=3, generator=torch.Generator().manual_seed(0),
               output_type="pt", prompt_embeds=torch.zeros(1, 4, 384))
    assert out.num_steps_run == 18 and torch.allclose(out.images, x01, atol=2e-4)
