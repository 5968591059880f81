import numpy as np
import PIL.Image
import pytest
import torch

from pipelines import (
    SAMPLERS,
    DiTImg2ImgPipeline,
    DiTInpaintPipeline,
    DiTText2ImagePipeline,
    make_scheduler,
)
from pipelines import schedulers as flow


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def emoji_like(seed=0, size=32) -> PIL.Image.Image:
    rng = np.random.default_rng(seed)
    arr = np.full((size, size, 3), 255, np.uint8)
    yy, xx = np.mgrid[:size, :size]
    disk = (yy - size / 2) ** 2 + (xx - size / 2) ** 2 < (size / 3) ** 2
    arr[disk] = rng.integers(0, 255, 3)
    return PIL.Image.fromarray(arr)


def test_text2image_output_types(make_pipe):
    pipe = make_pipe()
    out = pipe("red apple", num_inference_steps=3, generator=gen(), output_type="np")
    assert out.images.shape == (1, 32, 32, 3) and out.images.dtype == np.float32
    assert out.images.min() >= 0 and out.images.max() <= 1
    pil = pipe(["red apple", "cat"], num_inference_steps=3, generator=gen(), num_images_per_prompt=2).images
    assert len(pil) == 4 and all(isinstance(i, PIL.Image.Image) and i.size == (32, 32) for i in pil)
    pt = pipe("x", num_inference_steps=2, output_type="pt", generator=gen()).images
    assert pt.shape == (1, 3, 32, 32)
    images, trace = pipe("x", num_inference_steps=2, output_type="np", generator=gen(), return_dict=False)
    assert images.shape == (1, 32, 32, 3) and trace is None


def test_seed_determinism(make_pipe):
    pipe = make_pipe()
    a = pipe("pizza", num_inference_steps=4, generator=gen(1), output_type="np").images
    b = pipe("pizza", num_inference_steps=4, generator=gen(1), output_type="np").images
    c = pipe("pizza", num_inference_steps=4, generator=gen(2), output_type="np").images
    assert np.array_equal(a, b)
    assert np.abs(a - c).mean() > 1e-3


def test_batched_guidance_equals_separate_passes(make_pipe):
    pipe = make_pipe()
    pe, pm, ne, nm = pipe.encode_prompt("red heart", negative_prompt="")
    cond, uncond = pipe.prompt_text(pe, pm), pipe.prompt_text(ne, nm)
    x = torch.randn(1, 3, 32, 32, generator=gen())
    sigma = torch.tensor(0.6)
    g = 4.0
    guided, v_c, v_u = pipe.velocity_model(cond, uncond)(x, sigma, g)  # one batched forward
    sep_c, _, none = pipe.velocity_model(cond, None)(x, sigma, g)
    sep_u, _, _ = pipe.velocity_model(uncond, None)(x, sigma, g)
    assert none is None  # unguided: one forward, no unconditional half
    assert torch.allclose(v_c, sep_c, atol=1e-5) and torch.allclose(v_u, sep_u, atol=1e-5)
    assert torch.allclose(guided, sep_u + g * (sep_c - sep_u), atol=1e-5)
    # and guidance really changes the image compared with the conditional prediction alone
    assert not torch.allclose(guided, sep_c)


def test_trace_one_entry_per_step_and_matches_output(make_pipe):
    pipe = make_pipe()
    out = pipe("rocket", num_inference_steps=5, guidance_scale=3.0, generator=gen(), output_type="pt", return_trace=True)
    assert len(out.trace) == 5 and out.num_steps_run == 5
    sig = [s.sigma for s in out.trace]
    assert sig == sorted(sig, reverse=True) and sig[0] == pytest.approx(1.0)
    last = out.trace[-1]
    assert last.x0_cond is not None and last.x0_uncond is not None
    # Euler's last step goes to sigma = 0: the output is the last predicted clean image
    assert torch.allclose(((last.x0_pred + 1) / 2).clamp(0, 1), out.images, atol=1e-5)
    # the trace's formulas are the flow maths: x_t = (1 - s) x0_hat + s eps_hat
    for s in out.trace:
        assert torch.allclose((1 - s.sigma) * s.x0_pred + s.sigma * s.noise_pred, s.x_t, atol=1e-4)


@pytest.mark.parametrize("name", list(SAMPLERS))
def test_each_sampler_runs(make_pipe, name):
    pipe = make_pipe(sampler=name)
    assert pipe.sampler == name
    out = pipe("cat face", num_inference_steps=4, generator=gen(), output_type="np", return_trace=True)
    assert np.isfinite(out.images).all() and out.images.shape == (1, 32, 32, 3)
    assert out.trace[-1].sigma_next == 0.0


@pytest.mark.parametrize("name", list(SAMPLERS))
def test_a_shift_moves_every_samplers_steps_toward_noise(make_pipe, name):
    """shift s maps each step's sigma to s*sigma / (1 + (s-1)*sigma), for all four samplers; the
    sampler keeps its name, and the pipeline's trace walks the shifted grid."""
    from pipelines.schedulers import step_sigmas

    plain, shifted = step_sigmas(make_scheduler(name), 8), step_sigmas(make_scheduler(name, 3.0), 8)
    # (the flow-matching schedulers also shift the grid's end, sigma_min: hence the tolerance)
    assert torch.allclose(shifted, 3 * plain / (1 + 2 * plain), atol=1e-2) and (shifted[1:] > plain[1:]).all()
    pipe = make_pipe(sampler=name)
    pipe.set_sampler(name, 3.0)
    out = pipe("cat face", num_inference_steps=8, generator=gen(), output_type="np", return_trace=True)
    assert pipe.sampler == name and np.isfinite(out.images).all()
    assert torch.allclose(torch.tensor([s.sigma for s in out.trace]), shifted, atol=1e-4)


def test_callback_on_step_end_can_edit_and_stop(make_pipe):
    pipe = make_pipe()
    seen = []

    def cb(p, i, t, kwargs):
        seen.append((i, kwargs["x0_pred"].shape))
        if i == 2:
            p._interrupt = True
        return {"latents": kwargs["latents"]}

    out = pipe("x", num_inference_steps=6, generator=gen(), callback_on_step_end=cb,
               callback_on_step_end_tensor_inputs=["latents", "x0_pred"], output_type="np")
    assert [i for i, _ in seen] == [0, 1, 2] and out.num_steps_run == 3


def test_inpainting_keeps_unmasked_pixels_exactly(make_pipe):
    pipe = make_pipe(DiTInpaintPipeline)
    image = emoji_like(3)
    mask = np.zeros((32, 32), np.uint8)
    mask[8:20, 10:26] = 255
    for kwargs in ({}, {"jump_length": 2, "jump_n_sample": 3}):
        out = pipe(image, PIL.Image.fromarray(mask), prompt="red heart", num_inference_steps=6, generator=gen(), output_type="np", return_trace=True, **kwargs)
        res = out.images[0]
        inp = np.asarray(image, np.float32) / 255.0
        keep = mask == 0
        assert np.array_equal(res[keep], inp[keep])
        assert np.abs(res[~keep] - inp[~keep]).mean() > 0.01  # the masked part was repainted
        assert "proposal" in out.trace[0].extras and "known_noised" in out.trace[0].extras
    # 3 segments of 2 steps, each run 3 times: 18 steps, and 2 jumps back up per segment
    assert out.num_steps_run == 18 == len(out.trace)
    jumps = sum(b.sigma > a.sigma_next + 1e-6 for a, b in zip(out.trace, out.trace[1:]))
    assert jumps == 6
    pil = pipe(image, PIL.Image.fromarray(mask), num_inference_steps=3, generator=gen()).images[0]
    assert np.array_equal(np.asarray(pil)[keep], np.asarray(image)[keep])


def test_repaint_needs_first_order_sampler(make_pipe):
    pipe = make_pipe(DiTInpaintPipeline, sampler="dpm++2m")
    with pytest.raises(ValueError, match="euler"):
        pipe(emoji_like(), np.ones((32, 32)), num_inference_steps=4, jump_length=2, jump_n_sample=2)


def test_img2img_strength(make_pipe):
    pipe = make_pipe(DiTImg2ImgPipeline)
    image = emoji_like(1)
    out = pipe(image, strength=0.0, output_type="np", num_inference_steps=10)
    assert out.num_steps_run == 0
    assert np.array_equal(out.images[0], np.asarray(image, np.float32) / 255.0)
    out = pipe(image, strength=0.3, output_type="np", num_inference_steps=10, generator=gen(), return_trace=True)
    assert out.num_steps_run == 3 and len(out.trace) == 3 and out.num_steps_scheduled == 10
    assert out.trace[0].sigma < 0.35
    out = pipe(image, sigma=0.5, output_type="np", num_inference_steps=10, generator=gen(), return_trace=True)
    assert abs(out.trace[0].sigma - 0.5) <= 0.6 / 10 and out.num_steps_run == len(out.trace) == 5
    assert pipe(image, sigma=0.0, output_type="np", num_inference_steps=10).num_steps_run == 0
    # an already-noisy image is taken as it is
    noisy = pipe.forward_process(image, num_inference_steps=10, steps=[5], generator=gen(), output_type="pt").images
    out = pipe(noisy, sigma=0.5, image_is_noisy=True, output_type="np", num_inference_steps=10, return_trace=True)
    assert torch.allclose(out.trace[0].x_t, noisy * 2 - 1, atol=1e-5)


def test_forward_process_endpoints(make_pipe):
    pipe = make_pipe()
    image = emoji_like(2)
    out = pipe.forward_process(image, num_inference_steps=20, generator=gen(), output_type="pt")
    assert out.steps == list(range(21)) and out.sigmas[0] == 0.0 and out.sigmas[-1] == pytest.approx(1.0)
    x0 = torch.from_numpy(np.asarray(image, np.float32) / 255).permute(2, 0, 1)
    assert torch.allclose(out.images[0], x0, atol=1e-6)
    # at the last step x_t is the noise itself: unit variance before display clipping
    raw = flow.add_noise(x0 * 2 - 1, out.noise, out.sigmas[-1])
    assert abs(raw.std().item() - 1.0) < 0.05 and abs(raw.mean().item()) < 0.05
    assert torch.allclose(raw, out.noise, atol=1e-6)


def test_pipeline_save_load_round_trip(tmp_path, make_pipe):
    pipe = make_pipe()
    pipe.save_pretrained(tmp_path)
    names = {p.name for p in tmp_path.rglob("*") if p.is_file()}
    assert "diffusion_pytorch_model.safetensors" in names and "model_index.json" in names
    assert not any(n.endswith((".bin", ".pt", ".pkl")) for n in names)
    assert not (tmp_path / "text_encoder").exists()  # the packaged encoder is not copied
    loaded = DiTText2ImagePipeline.from_pretrained(tmp_path, use_safetensors=True)
    loaded.set_progress_bar_config(disable=True)
    a = pipe("dog face", num_inference_steps=3, generator=gen(), output_type="np").images
    b = loaded("dog face", num_inference_steps=3, generator=gen(), output_type="np").images
    assert np.array_equal(a, b)
    inpaint = DiTInpaintPipeline.from_pretrained(tmp_path)
    public = lambda c: {k: v for k, v in c.items() if not k.startswith("_")}
    assert isinstance(inpaint, DiTInpaintPipeline) and public(inpaint.transformer.config) == public(pipe.transformer.config)


def test_bad_arguments_raise_clear_errors(make_pipe):
    pipe = make_pipe()
    with pytest.raises(ValueError, match="num_inference_steps"):
        pipe("x", num_inference_steps=0)
    with pytest.raises(ValueError, match="empty list"):
        pipe([], num_inference_steps=2)
    with pytest.raises(ValueError, match="output_type"):
        pipe("x", num_inference_steps=2, output_type="jpeg")
    with pytest.raises(ValueError, match="Unknown sampler 'ddpm'"):
        make_scheduler("ddpm")
    img2img = make_pipe(DiTImg2ImgPipeline)
    with pytest.raises(ValueError, match="strength must be a number >= 0 and <= 1"):
        img2img(emoji_like(), strength=1.5)
    with pytest.raises(ValueError, match="strength"):
        img2img(emoji_like(), strength=-0.1)
    inpaint = make_pipe(DiTInpaintPipeline)
    with pytest.raises(ValueError, match="same image"):
        inpaint(emoji_like(), np.ones((16, 16)), num_inference_steps=2)
    with pytest.raises(ValueError, match="num_inference_steps"):
        inpaint(emoji_like(), np.ones((32, 32)), num_inference_steps=-1)


def test_negative_embeddings_are_checked_and_broadcast_like_positive_ones(make_pipe):
    """One row of (negative) embeddings serves every prompt or image; a wrong row count or an
    all-zero mask is a clear ValueError before any model work, not a crash or NaN inside it."""
    pipe = make_pipe()
    pe, pm, ne, nm = pipe.encode_prompt("cat face", negative_prompt="")
    two = pipe(prompt_embeds=pe.repeat(2, 1, 1), prompt_attention_mask=pm.repeat(2, 1), negative_prompt_embeds=ne,
               negative_prompt_attention_mask=nm, num_inference_steps=2, generator=gen(), output_type="np").images
    assert two.shape == (2, 32, 32, 3) and np.isfinite(two).all()
    i2i = make_pipe(DiTImg2ImgPipeline)([emoji_like(1), emoji_like(2)], prompt_embeds=pe, prompt_attention_mask=pm,
                                        negative_prompt_embeds=ne, negative_prompt_attention_mask=nm, guidance_scale=3.0,
                                        strength=0.5, num_inference_steps=4, generator=gen(), output_type="np").images
    assert i2i.shape == (2, 32, 32, 3) and np.isfinite(i2i).all()
    with pytest.raises(ValueError, match="no token"):
        pipe(prompt_embeds=pe, prompt_attention_mask=torch.zeros_like(pm), num_inference_steps=2)
    with pytest.raises(ValueError, match="negative_prompt_embeds"):
        pipe(prompt_embeds=pe.repeat(3, 1, 1), negative_prompt_embeds=ne.repeat(2, 1, 1), num_inference_steps=2)
    with pytest.raises(ValueError, match="prompt_attention_mask must have shape"):
        pipe(prompt_embeds=pe, prompt_attention_mask=pm[:, :5], num_inference_steps=2)


@pytest.mark.parametrize("strength, steps_run", [(0.25, 3), (0.35, 4), (0.45, 5), (0.5, 5), (1.0, 10)])
def test_strength_counts_steps_as_diffusers_flow_pipelines(make_pipe, strength, steps_run):
    """diffusers' SD3/Flux img2img: t_start = int(N - N * strength); no banker's rounding."""
    out = make_pipe(DiTImg2ImgPipeline)(emoji_like(), strength=strength, num_inference_steps=10, generator=gen(), output_type="np")
    assert out.num_steps_run == steps_run


def test_callback_returns_are_used_and_the_trace_records_them(make_pipe, monkeypatch):
    """Returned latents are the state the next step starts from and what the trace records as
    this step's result; returned prompt_embeds condition every later step."""
    import pipelines.pipeline_base as base

    pipe = make_pipe()
    dog, dog_mask, _, _ = pipe.encode_prompt("dog face", do_classifier_free_guidance=False)
    built = []
    real = base.denoising_step
    monkeypatch.setattr(base, "denoising_step", lambda model, states, *a: built.append(states) or real(model, states, *a))
    replaced = {}

    def cb(p, i, t, kw):
        if i == 1:
            replaced["latents"] = kw["latents"] * 0.5
            return {"latents": replaced["latents"], "prompt_embeds": dog}
        return {}

    out = pipe("cat face", num_inference_steps=4, guidance_scale=3.0, generator=gen(), return_trace=True, output_type="pt",
               callback_on_step_end=cb, callback_on_step_end_tensor_inputs=["latents", "prompt_embeds"])
    assert torch.equal(out.trace[1].x_next, replaced["latents"]) and torch.equal(out.trace[2].x_t, replaced["latents"])
    assert len(built) == 2 and torch.equal(built[1][1:], dog.to(built[1].dtype))  # [uncond, cond]: the new cond half


def test_training_sigmas_are_logit_normal_around_their_location():
    """sigma ~ logit-normal(location, 1): the median noise level is sigmoid(location), so a positive
    location trains more at high noise; every sigma stays in (0, 1)."""
    g = torch.Generator().manual_seed(0)
    plain = flow.sample_training_sigmas(20000, generator=g)
    high = flow.sample_training_sigmas(20000, generator=g, location=1.0)
    assert ((plain > 0) & (plain < 1)).all() and ((high > 0) & (high < 1)).all()
    assert abs(plain.median().item() - 0.5) < 0.02 and abs(high.median().item() - torch.sigmoid(torch.tensor(1.0)).item()) < 0.02
