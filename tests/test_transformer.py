import dataclasses

import pytest
import torch

from pipelines import DiTTransformer
from pipelines.transformer_dit import get_2d_sincos_pos_embed

from .conftest import TINY


def _inputs(n=2, length=16):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, 3, 32, 32, generator=g)
    t = torch.tensor([500.0, 20.0])[:n]
    ctx = torch.randn(n, length, 384, generator=g)
    mask = torch.ones(n, length)
    mask[0, 5:] = 0
    return x, t, ctx, mask


def test_shapes_and_dtype(tiny_transformer):
    x, t, ctx, mask = _inputs()
    out = tiny_transformer(x, t, ctx, mask).sample
    assert out.shape == x.shape and out.dtype == torch.float32
    out, maps = tiny_transformer(x, t, ctx, mask, return_attention=True, return_dict=False)
    assert len(maps) == TINY["depth"]
    assert maps[0].shape == (2, TINY["num_heads"], 64, 16)  # (N, heads, 8x8 patches, tokens)
    # padding tokens get no attention, the rest sums to one
    assert torch.all(maps[0][0, :, :, 5:] == 0)
    assert torch.allclose(maps[0].sum(-1), torch.ones(()), atol=1e-5)


def test_every_block_is_identity_at_init():
    torch.manual_seed(0)
    model = DiTTransformer(**{**TINY, "depth": 4})
    x, t, ctx, mask = _inputs()
    tokens = torch.randn(2, 64, TINY["hidden_size"])
    mods = model.modulations(torch.randn(2, TINY["hidden_size"]))
    text = model.encode_text(ctx, mask)
    for i, block in enumerate(model.blocks):
        skip = torch.randn_like(tokens) if block.skip_linear is not None else None
        out, _ = block(tokens, mods[i], text.kv[i], text.bias, skip)
        assert torch.allclose(out, tokens, atol=1e-6), f"block {i} is not the identity at init"
    assert any(b.skip_linear is not None for b in model.blocks)  # the skip path was exercised
    # and the whole model predicts zero velocity until it has learnt something
    assert torch.count_nonzero(model(x, t, ctx, mask).sample) == 0


def test_conditioning_changes_output(tiny_transformer):
    x, t, ctx, mask = _inputs()
    base = tiny_transformer(x, t, ctx, mask).sample
    assert not torch.allclose(base, tiny_transformer(x, t + 100, ctx, mask).sample)
    assert not torch.allclose(base, tiny_transformer(x, t, ctx + 1, mask).sample)
    # padded text positions are ignored
    ctx2 = ctx.clone()
    ctx2[0, 10:] += 5.0
    pooled = (ctx[:, :, :] * mask[..., None]).sum(1) / mask.sum(1, keepdim=True)
    a = tiny_transformer(x, t, ctx, mask, pooled_projections=pooled).sample
    b = tiny_transformer(x, t, ctx2, mask, pooled_projections=pooled).sample
    assert torch.allclose(a[0], b[0], atol=1e-5)


def test_fused_and_explicit_attention_agree(tiny_transformer):
    x, t, ctx, mask = _inputs()
    a = tiny_transformer(x, t, ctx, mask).sample
    b = tiny_transformer(x, t, ctx, mask, return_attention=True).sample
    assert torch.allclose(a, b, atol=1e-5)


def test_save_load_identical(tmp_path, tiny_transformer):
    tiny_transformer.save_pretrained(tmp_path)
    assert (tmp_path / "diffusion_pytorch_model.safetensors").exists()
    loaded = DiTTransformer.from_pretrained(tmp_path, use_safetensors=True)
    x, t, ctx, mask = _inputs()
    assert torch.equal(tiny_transformer(x, t, ctx, mask).sample, loaded(x, t, ctx, mask).sample)


def test_config_errors():
    with pytest.raises(ValueError, match="multiple of patch_size"):
        DiTTransformer(sample_size=30, patch_size=4)
    with pytest.raises(ValueError, match="divisible by num_heads"):
        DiTTransformer(hidden_size=30, num_heads=4)


def test_sincos_positions_distinct():
    pos = torch.from_numpy(get_2d_sincos_pos_embed(32, 8))
    assert pos.shape == (64, 32)
    assert torch.cdist(pos, pos).add(torch.eye(64)).min() > 0.1


def test_text_conditioning_once_per_run_is_exact(tiny_transformer):
    """The text-side work done once and reused gives bit-identical outputs to doing it per call
    (a single call does not fold the projections; the folded run agrees up to rounding)."""
    torch.manual_seed(3)
    x, t = torch.randn(2, 3, 32, 32), torch.tensor([300.0, 700.0])
    ctx, mask = torch.randn(2, 16, 384), torch.ones(2, 16)
    mask[1, 9:] = 0
    with torch.no_grad():
        assert tiny_transformer.encode_text(ctx, mask, fold=False).folded is None
        a = tiny_transformer(x, t, ctx, mask).sample
        b = tiny_transformer(x, t, text_conditioning=tiny_transformer.encode_text(ctx, mask, fold=False)).sample
        folded = tiny_transformer(x, t, text_conditioning=tiny_transformer.encode_text(ctx, mask)).sample
    assert torch.equal(a, b)
    assert torch.allclose(a, folded, atol=1e-5, rtol=1e-4)


def test_inference_fast_paths_match_the_plain_modules(tiny_transformer):
    """No-grad inference takes oneDNN's fused linears, explicit attention and one stacked adaLN
    GEMM; with autograd on, the model runs its plain modules. Same maths, so same numbers."""
    x, t, ctx, mask = _inputs()
    with torch.no_grad():
        fast = tiny_transformer(x, t, ctx, mask).sample
    with torch.enable_grad():
        plain = tiny_transformer(x, t, ctx, mask).sample.detach()
    assert torch.allclose(fast, plain, atol=1e-5, rtol=1e-4)
    assert fast.abs().mean() > 1e-3  # a real output, not zeros


def test_autocast_still_computes_in_bf16(tiny_transformer):
    """The fused path must not bypass autocast: under bf16 autocast, inference gives what the
    plain modules give under autocast (bf16 GEMMs), not what fp32 GEMMs give."""
    x, t, ctx, mask = _inputs()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        with torch.no_grad():
            fast = tiny_transformer(x, t, ctx, mask).sample.float()
        with torch.enable_grad():
            plain = tiny_transformer(x, t, ctx, mask).sample.detach().float()
    with torch.no_grad():
        fp32 = tiny_transformer(x, t, ctx, mask).sample
    rel = lambda a, b: ((a - b).norm() / b.norm()).item()  # noqa: E731
    # Both paths round at bf16, in a different order (the fast one folds the cross-attention
    # projections), so each is as far from fp32 as the other; had the fast path run fp32 GEMMs,
    # its distance would be fp32 rounding, orders of magnitude smaller.
    assert rel(plain, fp32) > 1e-3
    assert 0.33 * rel(plain, fp32) < rel(fast, fp32) < 3 * rel(plain, fp32), (rel(fast, fp32), rel(plain, fp32))


def test_folded_cross_attention_matches_the_plain_one(tiny_transformer):
    """At inference, encode_text folds the cross-attention's query and output projections into
    the text's keys and values; outputs and attention maps are the plain ones up to rounding.
    With more heads x tokens than width, folding would cost more than it saves: none is made."""
    x, t, ctx, mask = _inputs()
    with torch.no_grad():
        text = tiny_transformer.encode_text(ctx, mask)
        assert text.folded is not None and len(text.folded) == TINY["depth"]
        fast, fast_maps = tiny_transformer(x, t, text_conditioning=text, return_attention=True, return_dict=False)
        unfolded = dataclasses.replace(text, folded=None)
        plain, plain_maps = tiny_transformer(x, t, text_conditioning=unfolded, return_attention=True, return_dict=False)
        assert torch.allclose(fast, plain, atol=1e-5, rtol=1e-4)
        for a, b in zip(fast_maps, plain_maps):
            assert a.shape == b.shape and torch.allclose(a, b, atol=1e-6)
        assert torch.all(fast_maps[0][0, :, :, 5:] == 0)  # padding still gets no attention
        long = torch.randn(2, TINY["hidden_size"], 384)  # heads x tokens > width
        assert tiny_transformer.encode_text(long, torch.ones(2, TINY["hidden_size"])).folded is None
    with torch.enable_grad():
        assert tiny_transformer.encode_text(ctx, mask).folded is None  # training runs the modules
