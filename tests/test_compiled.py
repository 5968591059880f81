"""The compiled denoising step: it agrees with eager, is only used once checked, and never
compiles on a caller's thread."""

import pytest
import torch

from pipelines import compiled
from pipelines.compiled import AGREEMENT_RTOL, compile_in_background, compile_step, example_inputs, relative_error
from pipelines import DiTTransformer
from pipelines.hardware import cpu_has_native_bf16

from .conftest import TINY

DTYPE = torch.bfloat16 if cpu_has_native_bf16() else torch.float32


@pytest.fixture(autouse=True)
def compile_on(monkeypatch):
    monkeypatch.setenv("DITLAB_COMPILE", "1")  # conftest turns it off for the app's tests


def _model() -> DiTTransformer:
    torch.manual_seed(0)
    model = DiTTransformer(**TINY).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.05 * torch.randn_like(p))
    return model.to(DTYPE)


def test_compiled_and_eager_agree_and_forward_uses_the_compiled_step():
    model = _model()
    err = compile_step(model, 2, DTYPE)
    assert 0 <= err <= AGREEMENT_RTOL
    x, t, text = example_inputs(model, 2, DTYPE)
    x = x + 0.5  # not the inputs it was checked on
    with torch.no_grad():
        eager, _ = model.velocity(x, t, text)
        graph, _ = model.compiled_steps[(2, DTYPE)](x, t, text)
        routed = model(x, t, text_conditioning=text).sample
    assert relative_error(graph, eager) <= AGREEMENT_RTOL
    assert torch.equal(routed, graph)  # forward took the compiled step
    # another batch size runs eager: nothing new is compiled on the caller's thread
    x3, t3, text3 = example_inputs(model, 3, DTYPE)
    frames_before = torch._dynamo.utils.counters["stats"]["unique_graphs"]
    with torch.no_grad():
        out3 = model(x3, t3, text_conditioning=text3).sample
        assert torch.equal(out3, model.velocity(x3, t3, text3)[0])
    assert torch._dynamo.utils.counters["stats"]["unique_graphs"] == frames_before


def test_background_compile_swaps_in_while_eager_calls_run():
    model = _model()
    thread = compile_in_background(model, batch_sizes=(2,))
    x, t, text = example_inputs(model, 2, DTYPE)
    calls = 0
    with torch.no_grad():
        while thread.is_alive() or calls == 0:  # requests are served meanwhile
            model(x, t, text_conditioning=text)
            calls += 1
    thread.join()
    assert (2, DTYPE) in model.compiled_steps and calls >= 1


def test_a_disagreeing_graph_is_never_used(monkeypatch, caplog):
    model = _model()
    monkeypatch.setattr(compiled, "AGREEMENT_RTOL", -1.0)  # every graph "disagrees"
    compile_in_background(model, batch_sizes=(2,)).join()
    assert model.compiled_steps == {}
    assert "staying eager" in caplog.text


def test_compile_can_be_turned_off(monkeypatch):
    monkeypatch.setenv("DITLAB_COMPILE", "0")
    model = _model()
    assert compile_in_background(model) is None and model.compiled_steps == {}
