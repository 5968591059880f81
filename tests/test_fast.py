"""The fast denoising step (pipelines/fast.py) computes the plain model's function."""

import pytest
import torch

from pipelines import DiTTransformer, fast
from pipelines.hardware import cpu_has_native_bf16

from .conftest import TINY, TINY_LATENT, random_transformer

DTYPE = torch.bfloat16 if cpu_has_native_bf16() else torch.float32


def _model(dtype=torch.float32) -> DiTTransformer:
    return random_transformer(TINY, dtype=dtype)


def test_fast_step_matches_the_plain_forward_and_builds_the_text_work_once(monkeypatch):
    model = _model()
    states, mask, x, t = fast.example_inputs(model, 2, torch.float32)
    step = fast.denoising_step(model, states, mask)
    prepared, real = [], fast.prepare
    monkeypatch.setattr(fast, "prepare", lambda *a, **k: prepared.append(1) or real(*a, **k))
    with torch.no_grad():
        want = model(x, t, states, mask).sample
        for shift in (0.0, 0.3, -0.2):  # three steps of one run
            got = step(x + shift, t)
            assert fast.relative_error(got, model(x + shift, t, states, mask).sample) < 1e-5
    assert len(prepared) == 1  # the prompt's work is done once per run, not per step
    assert want.abs().mean() > 1e-3


def test_fast_step_uses_fused_kernels_only_where_they_keep_autocast():
    """Under bf16 autocast the fast step must compute in bf16 like the plain model does, not in
    fp32: both are then about equally far from the fp32 result."""
    model = _model()
    states, mask, x, t = fast.example_inputs(model, 2, torch.float32)
    with torch.no_grad():
        fp32 = model(x, t, states, mask).sample
        with torch.autocast("cpu", dtype=torch.bfloat16):
            plain = model(x, t, states, mask).sample.float()
            quick = fast.denoising_step(model, states, mask)(x, t).float()
    far = fast.relative_error(plain, fp32)
    assert far > 1e-3
    assert 0.2 * far < fast.relative_error(quick, fp32) < 5 * far


def test_a_step_that_disagrees_with_the_plain_model_is_never_used(monkeypatch, caplog):
    model = _model()
    states, mask, x, t = fast.example_inputs(model, 2, torch.float32)
    monkeypatch.setattr(fast, "fast_velocity", lambda *a, **k: torch.zeros_like(x))  # a broken fast path
    with torch.no_grad():
        got = fast.denoising_step(model, states, mask)(x, t)
        assert torch.equal(got, model(x, t, states, mask).sample)
    assert "disagrees" in caplog.text


def test_unsupported_cases_run_the_plain_model():
    """Texts longer than the fold pays for, and autograd, take the plain forward."""
    model = _model()
    states = torch.randn(2, TINY["hidden_size"], 384)  # heads x tokens > width
    mask = torch.ones(2, TINY["hidden_size"])
    x, t = torch.randn(2, 3, 32, 32), torch.tensor([100.0, 800.0])
    with torch.no_grad():
        assert torch.equal(fast.denoising_step(model, states, mask)(x, t), model(x, t, states, mask).sample)
    assert not fast._supported(model, states, x)


def test_transformer_has_no_runtime_state():
    """The model file holds no caches or registries: a model's __dict__ after a fast run holds
    nothing the constructor did not put there."""
    model = _model()
    before = set(vars(model))
    states, mask, x, t = fast.example_inputs(model, 2, torch.float32)
    with torch.no_grad():
        fast.denoising_step(model, states, mask)(x, t)
    assert set(vars(model)) == before


@pytest.fixture()
def compile_on(monkeypatch):
    monkeypatch.setenv("DITLAB_COMPILE", "1")  # conftest turns it off for the app's tests


@pytest.mark.parametrize("config", [TINY, TINY_LATENT], ids=["pixel", "latent"])
def test_compiled_step_is_checked_registered_and_used(compile_on, config):
    """For both of the app's kinds of model: 3-channel pixels with patch 4, 4-channel latents with patch 2."""
    model = random_transformer(config, dtype=DTYPE)
    err = fast.compile_step(model, 2, DTYPE)
    assert 0 <= err <= fast.AGREEMENT_RTOL[DTYPE]
    assert fast.compiled_batches(model) == {(2, DTYPE)}
    states, mask, x, t = fast.example_inputs(model, 2, DTYPE)
    x = x + 0.5  # not the inputs it was checked on
    with torch.no_grad():
        got = fast.denoising_step(model, states, mask)(x, t)
        want = model(x, t, states, mask).sample
    assert fast.relative_error(got, want) <= fast.AGREEMENT_RTOL[DTYPE]
    # another batch size runs eager: nothing new is compiled on the caller's thread
    states3, mask3, x3, t3 = fast.example_inputs(model, 3, DTYPE)
    graphs = torch._dynamo.utils.counters["stats"]["unique_graphs"]
    with torch.no_grad():
        fast.denoising_step(model, states3, mask3)(x3, t3)
    assert torch._dynamo.utils.counters["stats"]["unique_graphs"] == graphs


def test_background_compile_swaps_in_while_eager_calls_run(compile_on):
    model = _model(DTYPE)
    thread = fast.compile_in_background(model, batch_sizes=(2,))
    states, mask, x, t = fast.example_inputs(model, 2, DTYPE)
    calls = 0
    with torch.no_grad():
        while thread.is_alive() or calls == 0:  # requests are served meanwhile
            fast.denoising_step(model, states, mask)(x, t)
            calls += 1
    thread.join()
    assert (2, DTYPE) in fast.compiled_batches(model) and calls >= 1


def test_a_disagreeing_graph_is_never_registered(compile_on, monkeypatch, caplog):
    model = _model(DTYPE)
    monkeypatch.setattr(fast, "AGREEMENT_RTOL", {DTYPE: -1.0})  # every graph "disagrees"
    fast.compile_in_background(model, batch_sizes=(2,)).join()
    assert fast.compiled_batches(model) == set()
    assert "staying eager" in caplog.text


def test_compile_can_be_turned_off(monkeypatch):
    monkeypatch.setenv("DITLAB_COMPILE", "0")
    model = _model(DTYPE)
    assert fast.compile_in_background(model) is None and fast.compiled_batches(model) == set()


def test_under_autocast_the_check_allows_bf16_rounding_and_a_failed_check_is_final(monkeypatch, caplog):
    """fp32 weights under bf16 autocast compute in bf16: the check uses bf16's tolerance (the
    fp32 one refused every step and re-ran the check at each call). A step that disagreed
    stays plain for the rest of the run: one warning, not one per step."""
    model = _model()
    states, mask, x, t = fast.example_inputs(model, 2, torch.float32)
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        fast.denoising_step(model, states, mask)(x, t)
    assert "disagrees" not in caplog.text
    monkeypatch.setattr(fast, "fast_velocity", lambda *a, **k: torch.zeros_like(x))
    step = fast.denoising_step(_model(), states, mask)
    with torch.no_grad():
        for _ in range(3):
            step(x, t)
    assert caplog.text.count("disagrees") == 1
