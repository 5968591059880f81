"""The pipelines in an autoencoder's latent space (a tiny random DiT and AutoencoderKL)."""

import numpy as np
import pytest
import torch

from pipelines import DiTImg2ImgPipeline, DiTInpaintPipeline, DiTText2ImagePipeline, make_scheduler
from pipelines.latents import LatentSpace


@pytest.fixture()
def latent_pipe(tiny_latent_transformer, tiny_vae, text_pair):
    def make(cls=DiTText2ImagePipeline, sampler="euler"):
        pipe = cls(transformer=tiny_latent_transformer, scheduler=make_scheduler(sampler), vae=tiny_vae)
        pipe.set_progress_bar_config(disable=True)
        return pipe

    return make


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def test_text2image_decodes_64px_and_returns_latents(latent_pipe):
    pipe = latent_pipe()
    assert pipe.vae_scale_factor == 4 and pipe.sample_size == 64
    out = pipe("red apple", num_inference_steps=3, generator=gen(), output_type="pt", return_trace=True)
    assert out.images.shape == (1, 3, 64, 64) and 0 <= out.images.min() and out.images.max() <= 1
    step = out.trace[0]
    assert step.x_t.shape == (1, 4, 16, 16) and step.x0_pred.shape == (1, 4, 16, 16)
    assert step.x0_image.shape == (1, 3, 64, 64)  # x̂0 decoded for the views
    assert torch.allclose(step.x0_image, LatentSpace(pipe.vae).decode(step.x0_pred), atol=1e-5)
    lat = pipe("red apple", num_inference_steps=3, generator=gen(), output_type="latent").images
    assert lat.shape == (1, 4, 16, 16)
    assert torch.allclose(pipe.decode_to_unit(lat), out.images, atol=1e-5)


def test_latents_are_scaled_by_the_config_factors(tiny_vae):
    space = LatentSpace(tiny_vae)
    x = torch.rand(2, 3, 64, 64) * 2 - 1
    z = tiny_vae.encode(x).latent_dist.mode()
    shift, scale = tiny_vae.config.shift_factor, tiny_vae.config.scaling_factor
    assert torch.allclose(space.encode(x), (z - shift) * scale, atol=1e-6)
    assert torch.allclose(space.decode(space.encode(x)), tiny_vae.decode(z).sample.clamp(-1, 1), atol=1e-5)
    assert space.preview(space.encode(x)).shape == (2, 3, 64, 64)


def test_img2img_in_latent_space(latent_pipe):
    pipe = latent_pipe(DiTImg2ImgPipeline)
    image = (np.random.default_rng(0).random((64, 64, 3)) * 255).astype(np.uint8)
    same = pipe(image, strength=0.0, num_inference_steps=4, output_type="np").images[0]
    assert np.abs(same - image / 255.0).max() < 1e-6  # strength 0 returns the input
    out = pipe(image, prompt="cat face", strength=0.5, num_inference_steps=4, generator=gen(), output_type="pt", return_trace=True)
    assert out.num_steps_run == 2 and out.images.shape == (1, 3, 64, 64) and out.trace[0].x_t.shape == (1, 4, 16, 16)
    with pytest.raises(ValueError, match="pixel-space"):
        pipe(image, sigma=0.5, image_is_noisy=True)


def test_inpaint_in_latent_space_keeps_outside_pixels_exactly(latent_pipe):
    pipe = latent_pipe(DiTInpaintPipeline)
    image = (np.random.default_rng(1).random((64, 64, 3)) * 255).astype(np.uint8)
    mask = np.zeros((64, 64), np.uint8)
    mask[10:30, 20:50] = 255
    for kwargs in ({}, {"jump_length": 2, "jump_n_sample": 2}):
        out = pipe(image, mask, prompt="red heart", num_inference_steps=4, generator=gen(), output_type="np", return_trace=True, **kwargs)
        res, keep = out.images[0], mask == 0
        assert np.array_equal(res[keep], image[keep] / np.float32(255.0))
        assert np.abs(res[~keep] - image[~keep] / 255.0).mean() > 0.01
        assert out.trace[0].extras["proposal"].shape == (1, 4, 16, 16)


def test_save_and_load_a_latent_pipeline(latent_pipe, tmp_path):
    pipe = latent_pipe()
    pipe.save_pretrained(tmp_path)
    assert (tmp_path / "vae" / "diffusion_pytorch_model.safetensors").exists()
    loaded = DiTText2ImagePipeline.from_pretrained(tmp_path, use_safetensors=True)
    loaded.set_progress_bar_config(disable=True)
    assert loaded.vae is not None and loaded.vae.config.scaling_factor == pipe.vae.config.scaling_factor
    a = pipe("rocket", num_inference_steps=2, generator=gen(), output_type="np").images
    b = loaded("rocket", num_inference_steps=2, generator=gen(), output_type="np").images
    assert np.allclose(a, b, atol=1e-6)


def test_forward_process_in_latent_space(latent_pipe):
    pipe = latent_pipe()
    image = (np.random.default_rng(2).random((64, 64, 3)) * 255).astype(np.uint8)
    fp = pipe.forward_process(image, num_inference_steps=4, generator=gen(), output_type="pt")
    assert fp.latents.shape == (5, 4, 16, 16) and fp.images.shape == (5, 3, 64, 64)
    assert torch.allclose(fp.latents[0], pipe.encode_images(torch.from_numpy(image / 255.0).permute(2, 0, 1)[None].float())[0], atol=1e-5)


@pytest.mark.slow
def test_the_shipped_latent_pipeline_loads_and_draws_64px():
    """weights/dit-emoji-64 loads like the 32-px model, with its autoencoder, and draws 64x64."""
    from pipelines import LATENT_WEIGHTS

    pipe = DiTText2ImagePipeline.from_pretrained(LATENT_WEIGHTS, use_safetensors=True)
    pipe.set_progress_bar_config(disable=True)
    assert pipe.vae is not None and pipe.vae_scale_factor == 4 and pipe.transformer.config.in_channels == 4
    out = pipe("red apple", num_inference_steps=4, generator=gen(), output_type="np")
    assert out.images.shape == (1, 64, 64, 3) and np.isfinite(out.images).all() and out.images.std() > 0.05
