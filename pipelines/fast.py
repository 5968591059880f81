"""Speed, in one place: the denoising step as the pipelines run it on a CPU.

`transformer_dit.py` is the model as a learner reads it. A sampler calls that model 20-40
times with the same prompt, and at 64 tokens and batch 2 a forward is about 1 GFLOP split into
a few hundred small operations, so time goes to the passes around the GEMMs. `denoising_step`
builds, once per run, a step that computes the same function faster (docs/architecture.md,
"Why it is fast"):

* the text work once per run: pooled embedding, and each block's cross-attention query and
  output projections folded into the prompt's keys and values (`fold_cross_attention`);
* every adaLN layer in one GEMM over their stacked weights;
* the patch embedding as a GEMM; explicit attention as batched GEMMs;
* on CPU, one oneDNN call per linear with the bias and GELU inside the GEMM;
* the torch.compile'd step, once `compile_in_background` has built and checked one.

The first step of each (model, batch, dtype) is checked against the plain forward; a step that
disagrees is never used (the run takes the plain model). Same maths, other rounding order.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import platform
import threading
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch
import torch.nn.functional as F

from .text_encoder import masked_mean
from .transformer_dit import DiTTransformer

logger = logging.getLogger(__name__)

# The fast step and the plain forward differ by rounding only: relative RMS error under 2 % in
# bf16 (measured about 0.5 % on the shipped weights), far less in fp32. More means a wrong graph.
AGREEMENT_RTOL = {torch.float32: 1e-3, torch.bfloat16: 2e-2, torch.float16: 2e-2}
# The compiling thread yields the cores to start-up and to requests (nice 10: a quarter of a
# default-priority thread's share when both want a core)
COMPILE_NICENESS = 10
# oneDNN's linear with bias (and GELU) inside the GEMM: in x86 CPU builds of PyTorch only
ONEDNN_LINEAR = torch.backends.mkldnn.is_available() and hasattr(torch.ops.mkldnn, "_linear_pointwise")

# Caches, both keyed weakly by the transformer, so a dropped model takes its entries along:
# _COMPILED: (batch, dtype) -> a compiled step; written only by the compile thread, after its check.
# _CHECKED: (batch, dtype, autocast) of eager fast steps already checked; written by the first run of each.
_COMPILED: "weakref.WeakKeyDictionary[DiTTransformer, dict]" = weakref.WeakKeyDictionary()
_CHECKED: "weakref.WeakKeyDictionary[DiTTransformer, set]" = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()


@dataclass
class PromptWork:
    """What the DiT computes from the prompt alone, once per run."""

    pooled: torch.Tensor  # (N, D) the pooled text embedding, added to the timestep's
    folded: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]  # per block: fold_cross_attention's (a, c, b)
    adaLN_weight: torch.Tensor  # (sum of outputs, D): every block's adaLN layer, then the final layer's
    adaLN_bias: torch.Tensor


def relative_error(got: torch.Tensor, want: torch.Tensor) -> float:
    """RMS of the difference over RMS of the reference, in fp32."""
    got, want = got.float(), want.float()
    return ((got - want).pow(2).mean().sqrt() / want.pow(2).mean().sqrt().clamp(min=1e-12)).item()


def fold_cross_attention(attn, context: torch.Tensor, bias: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Cross-attention's query and output projections folded into this prompt's keys and values.
    Per head h, with q = x Wq_h^T + bq_h and out = sum_h P_h v_h Wp_h^T:

        scores_h = x (Wq_h^T k_h^T) / sqrt(hd) + bq_h k_h^T / sqrt(hd) + mask    -> a: (N, D, H*L), c: (N, 1, H*L)
        out      = sum_h P_h (v_h Wp_h^T)                                          -> b: (N, H*L, D)

    so a step runs two small batched GEMMs over all heads instead of the two D x D projections
    and the copies to and from head-major layout. Pays while H*L <= D (4 x 16 <= 256 here)."""
    k, v = attn.heads(attn.kv(context), 2)  # (N, H, L, hd)
    n, h, length, hd = k.shape
    k = k * hd**-0.5
    wq, bq = attn.q.weight.view(h, hd, -1), attn.q.bias.view(h, hd)
    a = torch.einsum("hed,nhle->ndhl", wq, k).reshape(n, -1, h * length)
    c = (torch.einsum("he,nhle->nhl", bq, k) + bias[:, None, :]).reshape(n, 1, h * length)
    b = torch.einsum("nhle,dhe->nhld", v, attn.proj.weight.view(-1, h, hd)).reshape(n, h * length, -1)
    return a, c, b


@torch.no_grad()
def prepare(model: DiTTransformer, states: torch.Tensor, mask: torch.Tensor, pooled: torch.Tensor | None = None) -> PromptWork:
    """The text-side work of a run: states (N, L, text_dim), mask (N, L) -> PromptWork."""
    pooled = masked_mean(states, mask) if pooled is None else pooled
    context = model.caption_projection(states)
    bias = torch.zeros(mask.shape, dtype=context.dtype, device=context.device).masked_fill(mask == 0, float("-inf"))
    layers = [b.adaLN_modulation[-1] for b in model.blocks] + [model.final_layer.adaLN_modulation[-1]]
    return PromptWork(model.text_pool_embedder(pooled), [fold_cross_attention(b.cross_attn, context, bias) for b in model.blocks],
                      torch.cat([lin.weight for lin in layers]), torch.cat([lin.bias for lin in layers]))


def _onednn_linear(layer, x: torch.Tensor, gelu: bool = False) -> torch.Tensor:
    # F.linear copies the bias into the output before the GEMM, and GELU re-reads the widest
    # activation; at 64 tokens those passes cost as much as the GEMM itself
    return torch.ops.mkldnn._linear_pointwise(x, layer.weight, layer.bias, "gelu" if gelu else "none", [], "none" if gelu else "")


def _plain_linear(layer, x: torch.Tensor, gelu: bool = False) -> torch.Tensor:
    y = F.linear(x, layer.weight, layer.bias)
    return F.gelu(y) if gelu else y


def _self_attention(attn, x: torch.Tensor, linear) -> torch.Tensor:
    """softmax(q k^T / sqrt(hd)) v as two batched GEMMs over the N*H heads (below ~256 keys
    this beats the fused SDPA kernel on CPU)."""
    n, t, d = x.shape
    h, hd = attn.num_heads, attn.head_dim
    q, k, v = linear(attn.qkv, x).view(n, t, 3, h, hd).permute(2, 0, 3, 1, 4).contiguous()  # one copy
    scores = torch.baddbmm(q.new_zeros(()), q.view(n * h, t, hd), k.view(n * h, t, hd).transpose(1, 2), beta=0.0, alpha=hd**-0.5)
    out = torch.bmm(scores.softmax(dim=-1), v.view(n * h, t, hd)).view(n, h, t, hd)
    return linear(attn.proj, out.transpose(1, 2).reshape(n, t, d))


def _folded_cross_attention(attn, x: torch.Tensor, folded, residual: torch.Tensor) -> torch.Tensor:
    a, c, b = folded
    n, t, _ = x.shape
    weights = torch.baddbmm(c, x, a).view(n, t, attn.num_heads, -1).softmax(dim=-1)  # (N, T, H, L)
    return torch.baddbmm(residual + attn.proj.bias, weights.view(n, t, -1), b)


def fast_velocity(model: DiTTransformer, work: PromptWork, x: torch.Tensor, t: torch.Tensor, fused: bool = True) -> torch.Tensor:
    """The model's forward with the prompt's work done: the same function as DiTTransformer.forward."""
    linear = _onednn_linear if fused else _plain_linear
    cfg, n = model.config, x.shape[0]
    p, g = cfg.patch_size, cfg.sample_size // cfg.patch_size
    patches = x.reshape(n, cfg.in_channels, g, p, g, p).permute(0, 2, 4, 1, 3, 5).reshape(n, g * g, -1)
    tok = F.linear(patches, model.x_embedder.weight.flatten(1), model.x_embedder.bias) + model.pos_embed
    c = model.t_embedder(t, tok.dtype) + work.pooled
    sizes = [6 * cfg.hidden_size] * len(model.blocks) + [2 * cfg.hidden_size]
    mods = F.linear(F.silu(c), work.adaLN_weight, work.adaLN_bias).unsqueeze(1).split(sizes, dim=-1)
    skips = []
    for i, block in enumerate(model.blocks):
        if block.skip_linear is not None:
            tok = linear(block.skip_linear, torch.cat([tok, skips.pop()], dim=-1))
        shift_msa, scale_msa, gate_msa, shift_mlp, scale_mlp, gate_mlp = mods[i].chunk(6, dim=-1)
        h = torch.addcmul(shift_msa, block.norm1(tok), 1 + scale_msa)
        tok = torch.addcmul(tok, gate_msa, _self_attention(block.attn, h, linear))
        tok = _folded_cross_attention(block.cross_attn, block.norm_cross(tok), work.folded[i], tok)
        h = torch.addcmul(shift_mlp, block.norm2(tok), 1 + scale_mlp)
        tok = torch.addcmul(tok, gate_mlp, linear(block.mlp[2], linear(block.mlp[0], h, gelu=True)))
        if cfg.long_skip and i < len(model.blocks) // 2:
            skips.append(tok)
    shift, scale = mods[-1].chunk(2, dim=-1)
    out = model.unpatchify(linear(model.final_layer.linear, torch.addcmul(shift, model.final_layer.norm_final(tok), 1 + scale)))
    return out + model.out_conv(out) if model.out_conv is not None else out


def _supported(model: DiTTransformer, states: torch.Tensor, x: torch.Tensor) -> bool:
    """The fast step reads weights directly: they must be in the compute dtype (not fp8 storage
    under layerwise casting; fp32 under autocast), heads x tokens must fit the fold, no autograd."""
    weights = {p.dtype for p in model.parameters()}
    autocast = torch.is_autocast_enabled(x.device.type)
    dtype_ok = weights == {x.dtype} or (autocast and weights == {torch.float32})
    return dtype_ok and not torch.is_grad_enabled() and model.config.num_heads * states.shape[1] <= model.config.hidden_size


class DenoisingStep:
    """(x_t (N, C, H, W), t (N,)) -> v for one run's prompt: the fast step (compiled when a
    checked graph exists for this batch and dtype), checked on its first call."""

    def __init__(self, model: DiTTransformer, states: torch.Tensor, mask: torch.Tensor, pooled: torch.Tensor | None = None) -> None:
        self.model, self.states, self.mask, self.pooled = model, states, mask, pooled
        self.work: PromptWork | None = None
        self.plain_only = False  # set when the fast step disagreed: the rest of the run takes the plain model

    def plain(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return self.model(x, t, self.states, self.mask, self.pooled).sample

    def __call__(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        if self.plain_only or not _supported(self.model, self.states, x):
            return self.plain(x, t)
        if self.work is None:
            self.work = prepare(self.model, self.states, self.mask, self.pooled)
        autocast = torch.is_autocast_enabled(x.device.type)
        compiled = None if autocast else _COMPILED.get(self.model, {}).get((x.shape[0], x.dtype))
        if compiled is not None:
            return compiled(self.work, x, t)
        fused = ONEDNN_LINEAR and x.device.type == "cpu" and not autocast  # autocast must pick the GEMMs' dtype
        v = fast_velocity(self.model, self.work, x, t, fused)
        key = (x.shape[0], x.dtype, autocast)
        with _LOCK:
            checked = key in _CHECKED.setdefault(self.model, set())
        if not checked:
            err = relative_error(v, self.plain(x, t))
            compute = torch.get_autocast_dtype(x.device.type) if autocast else x.dtype  # the dtype the GEMMs rounded to
            if not err <= AGREEMENT_RTOL.get(compute, 2e-2):
                logger.warning("fast step disagrees with the plain forward (relative error %.3g): using the plain model", err)
                self.plain_only = True
                return self.plain(x, t)
            with _LOCK:
                _CHECKED[self.model].add(key)
        return v


def denoising_step(model: DiTTransformer, states: torch.Tensor, mask: torch.Tensor, pooled: torch.Tensor | None = None) -> Callable:
    """The step a sampler calls for one prompt batch: see DenoisingStep."""
    return DenoisingStep(model, states, mask, pooled)


# ----------------------------------------------------------------- the compiled step
def cache_dir() -> Path:
    """~/.cache/dit-lab/inductor-<torch>-<cpu>: Inductor's caches never mix torch versions or CPUs."""
    cpu = platform.processor() or platform.machine()
    try:
        cpu = next(line for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith(("model name", "flags")))
    except (OSError, StopIteration):
        pass
    key = hashlib.sha1(f"{torch.__version__}|{cpu}".encode()).hexdigest()[:12]
    root = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return root / "dit-lab" / f"inductor-{torch.__version__.replace('+', '_')}-{key}"


def example_inputs(model: DiTTransformer, batch: int, dtype: torch.dtype) -> tuple:
    """Random (states, mask, x, t) of the denoising step's shapes (texts of half the maximum length)."""
    cfg = model.config
    g = torch.Generator().manual_seed(0)
    x = torch.randn(batch, cfg.in_channels, cfg.sample_size, cfg.sample_size, generator=g).to(dtype)
    states = torch.randn(batch, cfg.max_text_length, cfg.text_dim, generator=g).to(dtype)
    mask = torch.ones(batch, cfg.max_text_length)
    mask[:, cfg.max_text_length // 2:] = 0
    return states, mask, x, torch.linspace(100.0, 900.0, batch)


def compile_step(model: DiTTransformer, batch: int, dtype: torch.dtype) -> float:
    """Compile the step for one batch size and dtype, check it against the plain forward, and
    register it. Returns the relative error; raises if they disagree."""
    compiled = torch.compile(functools.partial(fast_velocity, model, fused=False), dynamic=False)
    states, mask, x, t = example_inputs(model, batch, dtype)
    with torch.no_grad():
        got = compiled(prepare(model, states, mask), x, t)
        want = model(x, t, states, mask).sample
    err = relative_error(got, want)
    if not err <= AGREEMENT_RTOL.get(dtype, 2e-2):
        raise RuntimeError(f"compiled step disagrees with the plain forward: relative error {err:.3g}")
    with _LOCK:
        _COMPILED.setdefault(model, {})[(batch, dtype)] = compiled
    return err


def compiled_batches(model: DiTTransformer) -> set[tuple[int, torch.dtype]]:
    """The (batch, dtype) pairs that have a checked compiled step."""
    with _LOCK:
        return set(_COMPILED.get(model, {}))


def forget_compiled(model: DiTTransformer) -> dict:
    """Drop (and return) the model's compiled steps: runs go eager again (benchmarks compare both)."""
    with _LOCK:
        return _COMPILED.pop(model, {})


def restore_compiled(model: DiTTransformer, steps: dict) -> None:
    with _LOCK:
        _COMPILED[model] = dict(steps)


def compile_in_background(model: DiTTransformer, batch_sizes: tuple[int, ...] = (2,),
                          dtype: torch.dtype | None = None) -> threading.Thread | None:
    """Compile the step for each batch size (2 = one image with guidance) in a low-priority daemon
    thread while requests run eager; returns the thread, or None when DITLAB_COMPILE=0."""
    if os.environ.get("DITLAB_COMPILE", "1") == "0":
        return None
    os.environ.setdefault("TORCHINDUCTOR_CACHE_DIR", str(cache_dir()))
    dtype = dtype or model.dtype

    def work() -> None:
        try:  # below the requests' priority, with the compiler processes it forks (Linux: per thread)
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), COMPILE_NICENESS)
        except (AttributeError, OSError):
            pass
        for batch in batch_sizes:
            try:
                err = compile_step(model, batch, dtype)
                logger.info("compiled denoising step for batch %d (%s), relative error %.2g", batch, dtype, err)
            except Exception as exc:  # any failure: that batch size stays eager
                logger.warning("torch.compile unavailable for batch %d, staying eager: %s", batch, exc)

    thread = threading.Thread(target=work, name="dit-compile", daemon=True)
    thread.start()
    return thread
