"""The diffusers conventions a diffusers user relies on, each checked on a tiny model."""

import contextlib

import numpy as np
import PIL.Image
import pytest
import torch

from pipelines import DiTImg2ImgPipeline, DiTInpaintPipeline, DiTText2ImagePipeline, make_scheduler


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def image(seed=0):
    return PIL.Image.fromarray(np.random.default_rng(seed).integers(0, 255, (32, 32, 3), dtype=np.uint8))


def mask():
    m = np.zeros((32, 32), np.uint8)
    m[8:24, 8:24] = 255
    return PIL.Image.fromarray(m)


CALLS = {
    DiTText2ImagePipeline: lambda: {},
    DiTImg2ImgPipeline: lambda: {"image": image(), "strength": 0.5},
    DiTInpaintPipeline: lambda: {"image": image(), "mask_image": mask()},
}


@pytest.mark.parametrize("cls", list(CALLS))
def test_prompt_embeds_round_trip(make_pipe, cls):
    """1 + 2: encode_prompt's named outputs go back into __call__ and give the same image."""
    pipe = make_pipe(cls)
    pe, pm, ne, nm = pipe.encode_prompt("red heart", do_classifier_free_guidance=True, negative_prompt="blue")
    assert pe.shape == (1, 16, 384) and pm.shape == (1, 16) and ne.shape == pe.shape
    a = pipe(prompt="red heart", negative_prompt="blue", num_inference_steps=3, generator=gen(), output_type="np", **CALLS[cls]()).images
    b = pipe(prompt_embeds=pe, prompt_attention_mask=pm, negative_prompt_embeds=ne, negative_prompt_attention_mask=nm,
             num_inference_steps=3, generator=gen(), output_type="np", **CALLS[cls]()).images
    assert np.allclose(a, b, atol=1e-6)
    with pytest.raises(ValueError, match="not both"):
        pipe(prompt="x", prompt_embeds=pe, num_inference_steps=2, **CALLS[cls]())


def test_encode_prompt_repeats_per_image_and_skips_negative_when_unguided(make_pipe):
    pipe = make_pipe()
    pe, pm, ne, nm = pipe.encode_prompt(["a", "b"], do_classifier_free_guidance=False, num_images_per_prompt=3)
    assert pe.shape[0] == 6 and ne is None and nm is None
    assert torch.equal(pe[0], pe[2]) and not torch.equal(pe[0], pe[3])


@pytest.mark.parametrize("cls", list(CALLS))
def test_callback_changes_guidance_and_counts_from_zero(make_pipe, cls):
    """3: guidance_scale / do_classifier_free_guidance / num_timesteps properties, the scale read
    at every step, and the callback's index counting from 0 within the run."""
    pipe = make_pipe(cls)
    seen = []

    def cb(p, i, t, kw):
        seen.append((i, p.guidance_scale))
        p._guidance_scale += 1.0
        return kw

    pipe(prompt="x", num_inference_steps=4, guidance_scale=2.0, callback_on_step_end=cb, generator=gen(), **CALLS[cls]())
    run = pipe.num_timesteps
    assert [i for i, _ in seen] == list(range(run)) and pipe.guidance_scale == 2.0 + run
    assert [g for _, g in seen] == [2.0 + i for i in range(run)]
    assert pipe.do_classifier_free_guidance
    if cls is DiTImg2ImgPipeline:
        assert run == 2  # strength 0.5 of 4 steps


def test_switching_guidance_off_late_changes_only_the_late_steps(make_pipe):
    pipe = make_pipe()
    full = pipe("cat", num_inference_steps=4, guidance_scale=5.0, generator=gen(), output_type="pt", return_trace=True)

    def off_after_two(p, i, t, kw):
        if i == 1:
            p._guidance_scale = 1.0
        return kw

    late = pipe("cat", num_inference_steps=4, guidance_scale=5.0, generator=gen(), output_type="pt", return_trace=True,
                callback_on_step_end=off_after_two)
    assert torch.equal(full.trace[1].x_next, late.trace[1].x_next)
    assert late.trace[2].x0_uncond is None and late.trace[2].guidance_scale == 1.0
    assert late.num_model_calls == 4 and not torch.allclose(full.images, late.images)
    # what the transformer really evaluated: both halves for two steps, then the conditional one only
    with rows_seen(pipe.transformer) as rows:
        pipe("cat", num_inference_steps=4, guidance_scale=5.0, generator=gen(), callback_on_step_end=off_after_two)
    assert rows == [2, 2, 1, 1]


@pytest.mark.parametrize("cls", list(CALLS))
def test_latent_output_is_the_final_model_space_tensor(make_pipe, cls):
    """4: output_type='latent' returns the loop's final state, before any post-processing."""
    pipe = make_pipe(cls)

    def zero_last(p, i, t, kw):
        if i == p.num_timesteps - 1:
            kw["latents"] = torch.zeros_like(kw["latents"])
        return kw

    out = pipe(prompt="x", num_inference_steps=3, generator=gen(), output_type="latent", callback_on_step_end=zero_last, **CALLS[cls]())
    assert out.images.shape == (1, 3, 32, 32) and out.images.abs().sum() == 0
    raw = pipe(prompt="x", num_inference_steps=3, generator=gen(), output_type="latent", **CALLS[cls]()).images
    pt = pipe(prompt="x", num_inference_steps=3, generator=gen(), output_type="pt", **CALLS[cls]()).images
    if cls is not DiTInpaintPipeline:
        assert torch.allclose(((raw + 1) / 2).clamp(0, 1), pt, atol=1e-6)


def test_optional_text_encoder_stays_none_and_loads_lazily(tiny_transformer, tmp_path):
    """5: None components work (with prompt_embeds, nothing is loaded), survive save/load as None."""
    import pipelines.text_encoder as te

    te.packaged_text_encoder.cache_clear()
    pipe = DiTText2ImagePipeline(transformer=tiny_transformer, scheduler=make_scheduler("euler"), tokenizer=None, text_encoder=None)
    pipe.set_progress_bar_config(disable=True)
    pipe(prompt_embeds=torch.randn(1, 16, 384), guidance_scale=1.0, num_inference_steps=2, output_type="np")
    assert te.packaged_text_encoder.cache_info().currsize == 0  # no prompt, no encoder
    pipe("red heart", num_inference_steps=2, output_type="np")
    assert te.packaged_text_encoder.cache_info().currsize == 1 and pipe.text_encoder is None
    pipe.save_pretrained(tmp_path)
    loaded = DiTText2ImagePipeline.from_pretrained(tmp_path)
    assert loaded.tokenizer is None and loaded.text_encoder is None


def test_dtype_reaches_the_packaged_text_encoder(make_pipe, tmp_path):
    """6: from_pretrained's dtype (or its dict) also sets the lazily loaded encoder's dtype."""
    make_pipe().save_pretrained(tmp_path)
    pipe = DiTText2ImagePipeline.from_pretrained(tmp_path, dtype={"transformer": torch.bfloat16, "default": torch.bfloat16})
    assert pipe.transformer.dtype == torch.bfloat16
    assert pipe.text_encoder_pair()[1].dtype == torch.bfloat16
    pipe = DiTText2ImagePipeline.from_pretrained(tmp_path, dtype=torch.float32)
    assert pipe.text_encoder_pair()[1].dtype == torch.float32


def test_layerwise_casting_runs(make_pipe, tiny_transformer):
    """7: fp8 storage with bf16 compute: the timestep embedding casts to the compute dtype."""
    import copy

    pipe = make_pipe()
    pipe.transformer = copy.deepcopy(tiny_transformer).to(torch.bfloat16)
    pipe.transformer.enable_layerwise_casting(storage_dtype=torch.float8_e4m3fn, compute_dtype=torch.bfloat16)
    out = pipe("x", num_inference_steps=2, output_type="np", generator=gen()).images
    assert np.isfinite(out).all()


def test_inpaint_takes_lists_and_per_image_masks(make_pipe):
    """8: lists of images and masks, with a prompt per image."""
    pipe = make_pipe(DiTInpaintPipeline)
    m1 = np.zeros((32, 32), np.uint8)
    m1[:16] = 255
    m2 = np.zeros((32, 32), np.uint8)
    m2[16:] = 255
    out = pipe([image(1), image(2)], [PIL.Image.fromarray(m1), PIL.Image.fromarray(m2)], prompt=["red heart", "cat"],
               num_inference_steps=2, generator=gen(), output_type="np").images
    for res, src, m in zip(out, (image(1), image(2)), (m1, m2)):
        keep = m == 0
        assert np.array_equal(res[keep], np.asarray(src, np.float32)[keep] / 255)
    both = pipe([image(1), image(2)], mask(), prompt="x", num_images_per_prompt=2, num_inference_steps=2, output_type="np").images
    assert both.shape[0] == 4
    with pytest.raises(ValueError, match="masks"):
        pipe([image(1), image(2)], [mask()] * 3, prompt="x", num_inference_steps=2)


def test_unknown_callback_tensor_and_read_only_interrupt(make_pipe):
    """9: a ValueError listing the allowed names; `interrupt` is a property set through _interrupt."""
    pipe = make_pipe()
    with pytest.raises(ValueError, match="allowed: \\['latents'"):
        pipe("x", num_inference_steps=2, callback_on_step_end=lambda *a: {}, callback_on_step_end_tensor_inputs=["nope"])
    assert isinstance(type(pipe).interrupt, property) and pipe.interrupt is False
    with pytest.raises(AttributeError):
        pipe.interrupt = True


def test_heun_counts_steps_not_model_calls(make_pipe):
    pipe = make_pipe(sampler="heun")
    seen = []
    out = pipe("x", num_inference_steps=5, generator=gen(), return_trace=True, output_type="pt",
               callback_on_step_end=lambda p, i, t, kw: seen.append(i) or kw)
    assert seen == [0, 1, 2, 3, 4] and len(out.trace) == 5 and out.num_steps_run == 5
    assert out.num_model_calls == 9  # predictor + corrector, but the last step to sigma = 0 is Euler only
    sig = [s.sigma for s in out.trace] + [out.trace[-1].sigma_next]
    assert len(set(sig)) == 6 and sig == sorted(sig, reverse=True)


@pytest.mark.parametrize("sampler", ["euler", "heun", "dpm++2m", "unipc"])
def test_forward_process_has_one_frame_per_step(make_pipe, sampler):
    pipe = make_pipe(sampler=sampler)
    out = pipe.forward_process(image(), num_inference_steps=4, generator=gen(), output_type="pt")
    assert len(out.sigmas) == 5 and len(set(out.sigmas)) == 5 and out.sigmas == sorted(out.sigmas)


@pytest.mark.parametrize("bad", [float("nan"), None, "5", float("inf"), -1.0])
def test_numbers_are_checked(make_pipe, bad):
    pipe = make_pipe()
    with pytest.raises(ValueError, match="guidance_scale"):
        pipe("x", num_inference_steps=2, guidance_scale=bad)
    with pytest.raises(ValueError, match="strength"):
        make_pipe(DiTImg2ImgPipeline)(image(), strength=bad if bad is not None else "x", num_inference_steps=2)


def test_guidance_interval_skips_the_unconditional_pass_outside_it(make_pipe):
    pipe = make_pipe()
    out = pipe("cat", num_inference_steps=6, guidance_scale=4.0, guidance_interval=(0.3, 0.8), generator=gen(), return_trace=True)
    guided = [s.x0_uncond is not None for s in out.trace]
    assert guided == [0.3 <= s.sigma <= 0.8 for s in out.trace] and any(guided) and not all(guided)
    assert out.num_model_calls == 6
    with rows_seen(pipe.transformer) as rows:  # one row per image where unguided, two where guided
        pipe("cat", num_inference_steps=6, guidance_scale=4.0, guidance_interval=(0.3, 0.8), generator=gen())
    assert rows == [2 if g else 1 for g in guided]


@contextlib.contextmanager
def rows_seen(transformer):
    """The batch size of every transformer evaluation (its timestep embedder sees one row per
    image and half of guidance), whichever path (plain or fast) ran it."""
    rows = []
    handle = transformer.t_embedder.register_forward_hook(lambda mod, args, out: rows.append(args[0].shape[0]))
    try:
        yield rows
    finally:
        handle.remove()
