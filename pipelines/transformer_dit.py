"""The DiT Lab transformer: a small, text-conditioned Diffusion Transformer on pixels.

One file, read top to bottom: embedders, the block, the final layer, the model.
Names follow the DiT paper (Peebles & Xie, 2023); the additions are the ones a CPU budget at
patch 4 needs (docs/architecture.md says why):

* adaLN-Zero conditioning on (timestep embedding + pooled text embedding), as in DiT;
* cross-attention from image tokens to the text tokens, as in PixArt-alpha, so that
  "red heart" and "blue heart" can differ;
* U-ViT long skips (block i of the first half feeds block depth-1-i) and a 3x3 conv on
  the output, which give back the locality that 4x4 patches lose.

The network predicts the rectified-flow velocity v = noise - x0 (see schedulers.py).
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from diffusers.configuration_utils import ConfigMixin, register_to_config
from dataclasses import dataclass

from diffusers.utils import BaseOutput
from diffusers.models.modeling_utils import ModelMixin


@dataclass
class DiTTransformerOutput(BaseOutput):
    """`sample`: the predicted velocity (N, C, H, W). `attention_maps`: when asked for, the
    cross-attention weights of every block, each (N, heads, T image tokens, L text tokens)."""

    sample: torch.Tensor
    attention_maps: list[torch.Tensor] | None = None


@dataclass
class TextConditioning:
    """What the DiT derives from the prompt alone (see DiTTransformer.encode_text)."""

    pooled: torch.Tensor  # (N, D) the pooled text embedding, added to the timestep's
    kv: list[tuple[torch.Tensor, torch.Tensor]]  # per block: cross-attention keys, values (N, H, L, hd)
    bias: torch.Tensor  # (N, H, 1, L) additive attention bias: 0 for a real token, -inf for padding
    # per block, at inference: the query and output projections folded into the keys and values
    # (Attention.fold_text); None under autograd, where the blocks run their plain modules
    folded: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]] | None = None


# Below this many keys, explicit matmul-softmax attention beats the fused SDPA kernel on CPU
# (64 image tokens: 1.3-1.8x per call, measured in benchmarks/README.md); above it the fused
# kernel's memory savings win.
EXPLICIT_ATTENTION_MAX_KEYS = 256


# oneDNN's linear with the bias (and optionally GELU) applied inside the GEMM: in x86 CPU builds
# of PyTorch, absent in some others.
ONEDNN_LINEAR = torch.backends.mkldnn.is_available() and hasattr(torch.ops.mkldnn, "_linear_pointwise")


def linear(layer: nn.Linear, x: torch.Tensor, gelu: bool = False) -> torch.Tensor:
    """layer(x), then GELU if asked. At CPU inference this is one oneDNN call: F.linear first
    copies the bias into the output and lets the GEMM accumulate onto it, and GELU would
    write and re-read the widest activation; at 64 tokens those passes cost as much as the
    GEMM (benchmarks/README.md). Training, autocast (which must pick the dtype), other devices
    and torch.compile (which makes its own fusions from the plain ops) take the modules."""
    if (ONEDNN_LINEAR and x.device.type == "cpu" and layer.weight.dtype == x.dtype and not torch.is_grad_enabled()
            and not torch.is_autocast_enabled("cpu") and not torch.compiler.is_compiling()):
        return torch.ops.mkldnn._linear_pointwise(x, layer.weight, layer.bias, "gelu" if gelu else "none", [], "none" if gelu else "")
    y = layer(x)
    return F.gelu(y) if gelu else y


def modulate(x: torch.Tensor, shift: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    # x: (N, T, D); shift, scale: (N, 1, D). One fused multiply-add instead of a multiply and an add.
    return torch.addcmul(shift, x, 1 + scale)


def gated(x: torch.Tensor, gate: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
    # the adaLN-Zero residual x + gate * out, fused; gate: (N, 1, D)
    return torch.addcmul(x, gate, out)


def get_2d_sincos_pos_embed(embed_dim: int, grid_size: int) -> np.ndarray:
    """Fixed 2D sin-cos positions, (grid_size**2, embed_dim), as in MAE and DiT."""
    grid_h = np.arange(grid_size, dtype=np.float64)
    grid_w = np.arange(grid_size, dtype=np.float64)
    grid = np.stack(np.meshgrid(grid_w, grid_h), axis=0)  # (2, G, G), w first as in DiT

    def one_axis(dim: int, pos: np.ndarray) -> np.ndarray:
        omega = 1.0 / 10000 ** (np.arange(dim // 2, dtype=np.float64) / (dim / 2.0))
        out = np.einsum("m,d->md", pos.reshape(-1), omega)  # (G*G, dim/2)
        return np.concatenate([np.sin(out), np.cos(out)], axis=1)

    return np.concatenate([one_axis(embed_dim // 2, grid[0]), one_axis(embed_dim // 2, grid[1])], axis=1)


class TimestepEmbedder(nn.Module):
    """Scalar timesteps -> vectors: sinusoidal frequencies, then a 2-layer MLP."""

    def __init__(self, hidden_size: int, frequency_embedding_size: int = 256) -> None:
        super().__init__()
        self.frequency_embedding_size = frequency_embedding_size
        self.mlp = nn.Sequential(
            nn.Linear(frequency_embedding_size, hidden_size),
            nn.SiLU(),
            nn.Linear(hidden_size, hidden_size),
        )

    @staticmethod
    def timestep_embedding(t: torch.Tensor, dim: int, max_period: float = 10000.0) -> torch.Tensor:
        # computed in fp32 at every call: a buffer would be rounded by model.to(bfloat16)
        half = dim // 2
        freqs = torch.exp(-math.log(max_period) * torch.arange(half, dtype=torch.float32, device=t.device) / half)
        args = t[:, None].float() * freqs[None]  # (N, half)
        return torch.cat([torch.cos(args), torch.sin(args)], dim=-1)  # (N, dim)

    def forward(self, t: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
        # `dtype` is the compute dtype (the image tokens'), not the weights' storage dtype,
        # which under layerwise casting is fp8
        t_freq = self.timestep_embedding(t, self.frequency_embedding_size)
        return self.mlp(t_freq.to(dtype))


class Attention(nn.Module):
    """Multi-head attention, self- or (with `context_dim`) cross-attention to the text.

    Short key sequences (this model's 64 image tokens, 16 text tokens) take the explicit
    softmax(q k^T / sqrt(d)) v, which is also what returns the maps the app shows; longer
    ones take F.scaled_dot_product_attention's fused kernel.
    """

    def __init__(self, dim: int, num_heads: int, context_dim: int | None = None) -> None:
        super().__init__()
        if dim % num_heads != 0:
            raise ValueError(f"hidden_size {dim} must be divisible by num_heads {num_heads}")
        self.num_heads = num_heads
        self.head_dim = dim // num_heads
        self.is_cross = context_dim is not None
        if self.is_cross:
            self.q = nn.Linear(dim, dim)
            self.kv = nn.Linear(context_dim, 2 * dim)
        else:
            self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def kv_heads(self, context: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Cross-attention keys and values of the text, each (N, H, L, hd), contiguous. They
        depend only on the prompt, so a sampler computes them once per run, not once per step."""
        n, length, _ = context.shape
        k, v = self.kv(context).view(n, length, 2, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4).contiguous()
        return k, v

    def fold_text(self, k: torch.Tensor, v: torch.Tensor, attn_bias: torch.Tensor
                  ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Cross-attention's query and output projections folded into this prompt's keys and
        values, once per run. Per head h, with q = x Wq_h^T + bq_h and out = sum_h P_h v_h Wp_h^T:

            scores_h = x (Wq_h^T k_h^T) / sqrt(hd) + bq_h k_h^T / sqrt(hd) + mask    -> a: (N, D, H*L), c: (N, 1, H*L)
            out      = sum_h P_h (v_h Wp_h^T)                                          -> b: (N, H*L, D)

        so each step runs two small batched GEMMs over all heads at once, instead of the two
        D x D projections and a copy to and from head-major layout. The same sums in another
        order: equal up to rounding. Worth it while H*L <= D (DiTTransformer.encode_text checks)."""
        n, h, length, hd = k.shape
        k = k * hd**-0.5
        wq, bq = self.q.weight.view(h, hd, -1), self.q.bias.view(h, hd)  # (H, hd, D), (H, hd)
        a = torch.einsum("hed,nhle->ndhl", wq, k).reshape(n, -1, h * length)
        c = (torch.einsum("he,nhle->nhl", bq, k) + attn_bias.view(n, h, length)).reshape(n, 1, h * length)
        b = torch.einsum("nhle,dhe->nhld", v, self.proj.weight.view(-1, h, hd)).reshape(n, h * length, -1)
        return a, c, b

    def folded_attention(self, x: torch.Tensor, folded: tuple[torch.Tensor, torch.Tensor, torch.Tensor],
                         residual: torch.Tensor | None, return_weights: bool) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Cross-attention from fold_text's tensors: x (N, T, D) -> (N, T, D) [+ residual]."""
        a, c, b = folded
        n, t, _ = x.shape
        weights = torch.baddbmm(c, x, a).view(n, t, self.num_heads, -1).softmax(dim=-1)  # (N, T, H, L)
        base = self.proj.bias if residual is None else residual + self.proj.bias
        out = torch.baddbmm(base, weights.view(n, t, -1), b)
        return out, weights.transpose(1, 2) if return_weights else None  # weights as (N, H, T, L)

    def forward(
        self,
        x: torch.Tensor,
        kv: tuple[torch.Tensor, torch.Tensor] | None = None,
        attn_bias: torch.Tensor | None = None,  # (N, H, 1, L), added to the scores
        return_weights: bool = False,
        residual: torch.Tensor | None = None,  # added to the output
        folded: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None = None,  # from fold_text
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        if folded is not None:
            return self.folded_attention(x, folded, residual, return_weights)
        n, t, d = x.shape
        h, hd = self.num_heads, self.head_dim
        if self.is_cross:
            q = linear(self.q, x).view(n, t, h, hd).transpose(1, 2).contiguous()  # (N, H, T, hd)
            k, v = kv
        else:  # one copy puts q, k, v each contiguous in (N, H, T, hd)
            q, k, v = linear(self.qkv, x).view(n, t, 3, h, hd).permute(2, 0, 3, 1, 4).contiguous()
        weights = None
        if return_weights or k.shape[-2] <= EXPLICIT_ATTENTION_MAX_KEYS:
            length = k.shape[-2]
            # scores = bias + (q k^T) / sqrt(hd), as one batched GEMM over the N*H heads
            bias = q.new_zeros(()) if attn_bias is None else attn_bias.view(n * h, 1, length)
            scores = torch.baddbmm(bias, q.view(n * h, t, hd), k.reshape(n * h, length, hd).transpose(1, 2),
                                   beta=0.0 if attn_bias is None else 1.0, alpha=hd**-0.5)
            weights = scores.softmax(dim=-1)
            out = torch.bmm(weights, v.reshape(n * h, length, hd)).view(n, h, t, hd)
            weights = weights.view(n, h, t, length)
        else:
            out = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_bias)
        out = out.transpose(1, 2).reshape(n, t, d)
        out = linear(self.proj, out)
        return out if residual is None else residual + out, weights if return_weights else None


class DiTBlock(nn.Module):
    """Self-attention and MLP under adaLN-Zero, with cross-attention to the text between them."""

    def __init__(self, hidden_size: int, num_heads: int, mlp_ratio: float = 4.0, skip: bool = False) -> None:
        super().__init__()
        # U-ViT long skip: fuse [x, skip] back to hidden_size before the block proper.
        self.skip_linear = nn.Linear(2 * hidden_size, hidden_size) if skip else None
        self.norm1 = nn.LayerNorm(hidden_size, elementwise_affine=False, eps=1e-6)
        self.attn = Attention(hidden_size, num_heads)
        self.norm_cross = nn.LayerNorm(hidden_size, eps=1e-6)
        self.cross_attn = Attention(hidden_size, num_heads, context_dim=hidden_size)
        self.norm2 = nn.LayerNorm(hidden_size, elementwise_affine=False, eps=1e-6)
        mlp_hidden = int(hidden_size * mlp_ratio)
        self.mlp = nn.Sequential(
            nn.Linear(hidden_size, mlp_hidden),
            nn.GELU(),  # exact GELU: on CPU its kernel is ~5x the tanh approximation's (docs/architecture.md)
            nn.Linear(mlp_hidden, hidden_size),
        )
        self.adaLN_modulation = nn.Sequential(nn.SiLU(), nn.Linear(hidden_size, 6 * hidden_size))

    def forward(
        self,
        x: torch.Tensor,  # (N, T, D) image tokens
        mod: torch.Tensor,  # (N, 1, 6D) this block's adaLN output (DiTTransformer.modulations)
        kv: tuple[torch.Tensor, torch.Tensor],  # this block's cross-attention keys/values of the text
        attn_bias: torch.Tensor | None,  # (N, H, 1, L) 0 = attend, -inf = padding
        skip: torch.Tensor | None = None,  # (N, T, D) from the mirrored block
        return_weights: bool = False,
        folded: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None = None,  # TextConditioning.folded[i]
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        if self.skip_linear is not None:
            x = linear(self.skip_linear, torch.cat([x, skip], dim=-1))
        shift_msa, scale_msa, gate_msa, shift_mlp, scale_mlp, gate_mlp = mod.chunk(6, dim=-1)
        attn_out, _ = self.attn(modulate(self.norm1(x), shift_msa, scale_msa))
        x = gated(x, gate_msa, attn_out)
        x, weights = self.cross_attn(self.norm_cross(x), kv, attn_bias, return_weights, residual=x, folded=folded)
        x = gated(x, gate_mlp, self.feed_forward(modulate(self.norm2(x), shift_mlp, scale_mlp)))
        return x, weights

    def feed_forward(self, x: torch.Tensor) -> torch.Tensor:
        fc1, _, fc2 = self.mlp  # self.mlp(x), with the first GEMM and the GELU fused where possible
        return linear(fc2, linear(fc1, x, gelu=True))


class FinalLayer(nn.Module):
    """adaLN, then a linear map from each token to its patch of pixels."""

    def __init__(self, hidden_size: int, patch_size: int, out_channels: int) -> None:
        super().__init__()
        self.norm_final = nn.LayerNorm(hidden_size, elementwise_affine=False, eps=1e-6)
        self.linear = nn.Linear(hidden_size, patch_size * patch_size * out_channels)
        self.adaLN_modulation = nn.Sequential(nn.SiLU(), nn.Linear(hidden_size, 2 * hidden_size))

    def forward(self, x: torch.Tensor, mod: torch.Tensor) -> torch.Tensor:
        shift, scale = mod.chunk(2, dim=-1)  # mod: (N, 1, 2D), this layer's adaLN output
        return linear(self.linear, modulate(self.norm_final(x), shift, scale))


class DiTTransformer(ModelMixin, ConfigMixin):
    """Text-conditioned DiT that maps (x_t, t, text) to the flow velocity v = noise - x0.

    Inputs follow diffusers' transformer conventions: `hidden_states` (N, C, H, W) in
    [-1, 1] units, `timestep` (N,) in [0, num_train_timesteps] (t = 1000 * sigma),
    `encoder_hidden_states` (N, L, text_dim) token states of the frozen text encoder with
    `encoder_attention_mask` (N, L), and optionally `pooled_projections` (N, text_dim);
    when omitted, the pooled vector is the masked mean of the token states, which is
    exactly how the sentence encoder pools.
    """

    _supports_gradient_checkpointing = False
    _skip_layerwise_casting_patterns = ["pos_embed", "norm"]  # kept in full precision, as diffusers' PixArt does

    @register_to_config
    def __init__(
        self,
        sample_size: int = 32,
        in_channels: int = 3,
        patch_size: int = 4,
        hidden_size: int = 256,
        depth: int = 8,
        num_heads: int = 4,
        mlp_ratio: float = 4.0,
        text_dim: int = 384,
        max_text_length: int = 16,
        long_skip: bool = True,
        output_conv: bool = True,
    ) -> None:
        super().__init__()
        if sample_size % patch_size != 0:
            raise ValueError(f"sample_size {sample_size} must be a multiple of patch_size {patch_size}")
        if long_skip and depth % 2 != 0:
            raise ValueError(f"long_skip needs an even depth, got {depth}")
        self.out_channels = in_channels
        self.grid_size = sample_size // patch_size
        self.num_patches = self.grid_size**2

        self.x_embedder = nn.Conv2d(in_channels, hidden_size, kernel_size=patch_size, stride=patch_size)
        # Fixed positions: a buffer, rebuilt from the config, so it is not in the weights file.
        pos = torch.from_numpy(get_2d_sincos_pos_embed(hidden_size, self.grid_size)).float()
        self.register_buffer("pos_embed", pos.unsqueeze(0), persistent=False)  # (1, T, D)
        self.t_embedder = TimestepEmbedder(hidden_size)
        self.text_pool_embedder = nn.Sequential(nn.Linear(text_dim, hidden_size), nn.SiLU(), nn.Linear(hidden_size, hidden_size))
        self.caption_projection = nn.Sequential(
            nn.Linear(text_dim, hidden_size), nn.GELU(), nn.Linear(hidden_size, hidden_size)
        )
        half = depth // 2
        self.blocks = nn.ModuleList(
            [
                DiTBlock(hidden_size, num_heads, mlp_ratio, skip=long_skip and i >= half)
                for i in range(depth)
            ]
        )
        self.final_layer = FinalLayer(hidden_size, patch_size, self.out_channels)
        self.out_conv = nn.Conv2d(self.out_channels, self.out_channels, 3, padding=1) if output_conv else None
        self.initialize_weights()
        # (batch, dtype) -> a compiled `velocity`, filled by pipelines.compiled once verified
        self.compiled_steps: dict[tuple[int, torch.dtype], object] = {}

    def initialize_weights(self) -> None:
        """DiT's init, plus zeros wherever a new path must start as a no-op.

        With the adaLN gates, the cross-attention output, the final layer and the output
        conv at zero, and each skip fusion at [I | 0], every block is the identity and the
        model predicts 0 at step 0: training starts from a stable point.
        """

        def _basic_init(module: nn.Module) -> None:
            if isinstance(module, nn.Linear):
                nn.init.xavier_uniform_(module.weight)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)

        self.apply(_basic_init)
        w = self.x_embedder.weight.data
        nn.init.xavier_uniform_(w.view(w.shape[0], -1))
        nn.init.zeros_(self.x_embedder.bias)
        nn.init.normal_(self.t_embedder.mlp[0].weight, std=0.02)
        nn.init.normal_(self.t_embedder.mlp[2].weight, std=0.02)
        hidden = self.config.hidden_size
        for block in self.blocks:
            nn.init.zeros_(block.adaLN_modulation[-1].weight)
            nn.init.zeros_(block.adaLN_modulation[-1].bias)
            nn.init.zeros_(block.cross_attn.proj.weight)
            nn.init.zeros_(block.cross_attn.proj.bias)
            if block.skip_linear is not None:
                with torch.no_grad():
                    block.skip_linear.weight.zero_()
                    block.skip_linear.weight[:, :hidden].copy_(torch.eye(hidden))
                    block.skip_linear.bias.zero_()
        nn.init.zeros_(self.final_layer.adaLN_modulation[-1].weight)
        nn.init.zeros_(self.final_layer.adaLN_modulation[-1].bias)
        nn.init.zeros_(self.final_layer.linear.weight)
        nn.init.zeros_(self.final_layer.linear.bias)
        if self.out_conv is not None:
            nn.init.zeros_(self.out_conv.weight)
            nn.init.zeros_(self.out_conv.bias)

    def modulations(self, c: torch.Tensor) -> list[torch.Tensor]:
        """Every block's adaLN output (N, 1, 6D), then the final layer's (N, 1, 2D), from c (N, D);
        the token axis is there once, so the blocks broadcast over tokens without reshaping.

        They all read the same c, so at inference one GEMM over the layers' stacked weights
        computes them (one call instead of depth + 1 small ones). Training, torch.compile (its
        graph must not depend on a cache) and weights stored in another dtype (layerwise
        casting) take the per-layer modules."""
        layers = [b.adaLN_modulation for b in self.blocks] + [self.final_layer.adaLN_modulation]
        linears = [layer[-1] for layer in layers]
        if (torch.is_grad_enabled() or torch.compiler.is_compiling()
                or any(lin.weight.dtype != c.dtype for lin in linears)):
            return [layer(c).unsqueeze(1) for layer in layers]
        weight, bias = self._stacked_adaLN(linears)
        return list(F.linear(F.silu(c), weight, bias).unsqueeze(1).split([lin.out_features for lin in linears], dim=-1))

    def _stacked_adaLN(self, linears: list[nn.Linear]) -> tuple[torch.Tensor, torch.Tensor]:
        # Rebuilt whenever a weight is replaced or changed in place (load, .to(), an optimizer
        # step): the key holds each tensor's storage and version counter.
        key = tuple((lin.weight.data_ptr(), lin.weight._version, lin.bias.data_ptr(), lin.bias._version) for lin in linears)
        cached = getattr(self, "_adaLN_cache", None)
        if cached is None or cached[0] != key:
            cached = (key, torch.cat([lin.weight for lin in linears]), torch.cat([lin.bias for lin in linears]))
            self._adaLN_cache = cached
        return cached[1], cached[2]

    def patchify(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C, H, W) -> (N, T, D): the patch embedding as one GEMM over the flattened patches.
        The same numbers as running x_embedder (a stride-p conv), which on CPU costs more
        than the GEMM; the weights stay a Conv2d so checkpoints keep DiT's layout."""
        if self.x_embedder.weight.dtype != x.dtype:  # stored in another dtype: the module's hooks cast it
            return self.x_embedder(x).flatten(2).transpose(1, 2)
        n, c, h, _ = x.shape
        p, g = self.config.patch_size, h // self.config.patch_size
        patches = x.reshape(n, c, g, p, g, p).permute(0, 2, 4, 1, 3, 5).reshape(n, g * g, c * p * p)
        return F.linear(patches, self.x_embedder.weight.flatten(1), self.x_embedder.bias)

    def unpatchify(self, x: torch.Tensor) -> torch.Tensor:
        # (N, T, p*p*C) -> (N, C, H, W)
        c, p, g = self.out_channels, self.config.patch_size, self.grid_size
        x = x.reshape(x.shape[0], g, g, p, p, c).permute(0, 5, 1, 3, 2, 4)  # (N, C, g, p, g, p)
        return x.reshape(x.shape[0], c, g * p, g * p)

    def encode_text(self, encoder_hidden_states: torch.Tensor, encoder_attention_mask: torch.Tensor | None = None,
                    pooled_projections: torch.Tensor | None = None, fold: bool = True) -> TextConditioning:
        """Everything the DiT computes from the text alone: the pooled embedding added to the
        timestep's, every block's cross-attention keys/values and (`fold`, at inference) their
        folded projections. A sampler calls this once per run and passes the result to every
        step (`text_conditioning=`); folding costs about what it saves in one step, so a
        single call does not fold."""
        if encoder_attention_mask is None:
            encoder_attention_mask = torch.ones(encoder_hidden_states.shape[:2], device=encoder_hidden_states.device)
        if pooled_projections is None:
            m = encoder_attention_mask.unsqueeze(-1).to(encoder_hidden_states.dtype)
            pooled_projections = (encoder_hidden_states * m).sum(1) / m.sum(1).clamp(min=1.0)
        context = self.caption_projection(encoder_hidden_states)  # (N, L, D)
        bias = torch.zeros(encoder_attention_mask.shape, dtype=context.dtype, device=context.device)
        # one row per head, made once per run, so every step's attention reads it as a view
        heads = self.config.num_heads
        bias = bias.masked_fill(encoder_attention_mask == 0, float("-inf"))[:, None, None, :].expand(-1, heads, 1, -1).contiguous()
        kv = [b.cross_attn.kv_heads(context) for b in self.blocks]
        folded = None
        if fold and self.can_fold_text(context):
            folded = [b.cross_attn.fold_text(k, v, bias) for b, (k, v) in zip(self.blocks, kv)]
        return TextConditioning(self.text_pool_embedder(pooled_projections), kv, bias, folded)

    def can_fold_text(self, context: torch.Tensor) -> bool:
        """Attention.fold_text pays at inference while heads x text tokens <= width (here
        4 x 16 <= 256), with weights in the compute dtype (not fp8 storage under layerwise casting)."""
        q = self.blocks[0].cross_attn.q.weight
        same_dtype = q.dtype == context.dtype or (torch.is_autocast_enabled(context.device.type) and q.dtype == torch.float32)
        return (not torch.is_grad_enabled() and same_dtype
                and self.config.num_heads * context.shape[1] <= self.config.hidden_size)

    def velocity(self, hidden_states: torch.Tensor, timestep: torch.Tensor, text: TextConditioning,
                 return_attention: bool = False) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """The network proper: (x_t (N, C, H, W), t (N,), the text's conditioning) -> v (N, C, H, W),
        and each block's cross-attention weights when asked for."""
        x = self.patchify(hidden_states) + self.pos_embed  # (N, T, D)
        c = self.t_embedder(timestep, x.dtype) + text.pooled  # (N, D)
        mods = self.modulations(c)

        half = len(self.blocks) // 2
        skips: list[torch.Tensor] = []
        attention_maps = []
        for i, block in enumerate(self.blocks):
            skip = skips.pop() if block.skip_linear is not None else None
            x, weights = block(x, mods[i], text.kv[i], text.bias, skip, return_attention, text.folded and text.folded[i])
            if self.config.long_skip and i < half:
                skips.append(x)
            if return_attention:
                attention_maps.append(weights)

        x = self.final_layer(x, mods[-1])  # (N, T, p*p*C)
        x = self.unpatchify(x)  # (N, C, H, W)
        if self.out_conv is not None:
            x = x + self.out_conv(x)
        return x, attention_maps

    def forward(
        self,
        hidden_states: torch.Tensor,
        timestep: torch.Tensor,
        encoder_hidden_states: torch.Tensor | None = None,
        encoder_attention_mask: torch.Tensor | None = None,
        pooled_projections: torch.Tensor | None = None,
        return_attention: bool = False,
        return_dict: bool = True,
        text_conditioning: TextConditioning | None = None,
    ) -> DiTTransformerOutput | tuple:
        n = hidden_states.shape[0]
        if timestep.ndim == 0:
            timestep = timestep.expand(n)
        text = text_conditioning or self.encode_text(encoder_hidden_states, encoder_attention_mask, pooled_projections, fold=False)
        # A graph compiled for this batch and dtype (pipelines.compiled), when one is ready
        compiled = None if return_attention or torch.is_grad_enabled() else self.compiled_steps.get((n, hidden_states.dtype))
        x, attention_maps = (compiled or self.velocity)(hidden_states, timestep, text, return_attention)
        if not return_dict:
            return (x, attention_maps) if return_attention else (x,)
        return DiTTransformerOutput(sample=x, attention_maps=attention_maps if return_attention else None)
