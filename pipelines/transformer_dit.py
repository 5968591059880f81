"""The DiT Lab transformer: a small, text-conditioned Diffusion Transformer.

One file, read top to bottom like DiT's `models.py`: embedders, attention, the block, the final
layer, the model. It runs on 32x32 pixels (patch 4) or on an autoencoder's 16x16x4 latents
(patch 2); both are 64 tokens. Plain PyTorch only: the CPU fast path that the pipelines run
lives in `pipelines/fast.py` and is checked against this forward.
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
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn as nn
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.modeling_utils import ModelMixin
from diffusers.utils import BaseOutput

from .text_encoder import masked_mean


@dataclass
class DiTTransformerOutput(BaseOutput):
    """`sample`: the predicted velocity (N, C, H, W). `attention_maps`: when asked for, the
    cross-attention weights of every block, each (N, heads, T image tokens, L text tokens)."""

    sample: torch.Tensor
    attention_maps: list[torch.Tensor] | None = None


def modulate(x: torch.Tensor, shift: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    # x: (N, T, D); shift, scale: (N, 1, D)
    return x * (1 + scale) + shift


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
    """Multi-head attention: self-attention over the image tokens, or (with `context_dim`)
    cross-attention from the image tokens to the text tokens.

    Written out as softmax(q k^T / sqrt(d) + bias) v, the formula a learner reads, which also
    gives the attention maps the app draws.
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

    def heads(self, x: torch.Tensor, parts: int) -> tuple[torch.Tensor, ...]:
        # (N, L, parts*D) -> parts tensors of (N, H, L, hd)
        n, length, _ = x.shape
        return x.view(n, length, parts, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4).unbind(0)

    def forward(
        self,
        x: torch.Tensor,  # (N, T, D) image tokens
        context: torch.Tensor | None = None,  # (N, L, D) text tokens, for cross-attention
        attn_bias: torch.Tensor | None = None,  # (N, 1, 1, L): 0 = attend, -inf = padding
        return_weights: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        n, t, d = x.shape
        if self.is_cross:
            (q,), (k, v) = self.heads(self.q(x), 1), self.heads(self.kv(context), 2)
        else:
            q, k, v = self.heads(self.qkv(x), 3)  # each (N, H, T, hd)
        scores = q @ k.transpose(-2, -1) * self.head_dim**-0.5  # (N, H, T, L)
        if attn_bias is not None:
            scores = scores + attn_bias
        weights = scores.softmax(dim=-1)
        out = (weights @ v).transpose(1, 2).reshape(n, t, d)  # (N, T, D)
        return self.proj(out), weights if return_weights else None


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
            nn.GELU(),  # exact GELU (DiT uses the tanh approximation): on CPU its kernel is the faster one
            nn.Linear(mlp_hidden, hidden_size),
        )
        self.adaLN_modulation = nn.Sequential(nn.SiLU(), nn.Linear(hidden_size, 6 * hidden_size))

    def forward(
        self,
        x: torch.Tensor,  # (N, T, D) image tokens
        c: torch.Tensor,  # (N, D) conditioning: timestep + pooled text
        context: torch.Tensor,  # (N, L, D) projected text tokens
        attn_bias: torch.Tensor | None,  # (N, 1, 1, L)
        skip: torch.Tensor | None = None,  # (N, T, D) from the mirrored block
        return_weights: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        if self.skip_linear is not None:
            x = self.skip_linear(torch.cat([x, skip], dim=-1))
        mod = self.adaLN_modulation(c).unsqueeze(1)  # (N, 1, 6D)
        shift_msa, scale_msa, gate_msa, shift_mlp, scale_mlp, gate_mlp = mod.chunk(6, dim=-1)
        x = x + gate_msa * self.attn(modulate(self.norm1(x), shift_msa, scale_msa))[0]
        cross, weights = self.cross_attn(self.norm_cross(x), context, attn_bias, return_weights)
        x = x + cross
        x = x + gate_mlp * self.mlp(modulate(self.norm2(x), shift_mlp, scale_mlp))
        return x, weights


class FinalLayer(nn.Module):
    """adaLN, then a linear map from each token to its patch of pixels (or latent values)."""

    def __init__(self, hidden_size: int, patch_size: int, out_channels: int) -> None:
        super().__init__()
        self.norm_final = nn.LayerNorm(hidden_size, elementwise_affine=False, eps=1e-6)
        self.linear = nn.Linear(hidden_size, patch_size * patch_size * out_channels)
        self.adaLN_modulation = nn.Sequential(nn.SiLU(), nn.Linear(hidden_size, 2 * hidden_size))

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        shift, scale = self.adaLN_modulation(c).unsqueeze(1).chunk(2, dim=-1)  # each (N, 1, D)
        return self.linear(modulate(self.norm_final(x), shift, scale))


class DiTTransformer(ModelMixin, ConfigMixin):
    """Text-conditioned DiT that maps (x_t, t, text) to the flow velocity v = noise - x0.

    Inputs follow diffusers' transformer conventions: `hidden_states` (N, C, H, W) in model
    units, `timestep` (N,) in [0, num_train_timesteps] (t = 1000 * sigma),
    `encoder_hidden_states` (N, L, text_dim) token states of the frozen text encoder with
    `encoder_attention_mask` (N, L), and optionally `pooled_projections` (N, text_dim);
    when omitted, the pooled vector is the masked mean of the token states, which is
    exactly how the sentence encoder pools.
    """

    _supports_gradient_checkpointing = False
    _skip_layerwise_casting_patterns = ["pos_embed", "norm"]  # kept in full precision (PixArt keeps these and its adaln_single)

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
        self.caption_projection = nn.Sequential(nn.Linear(text_dim, hidden_size), nn.GELU(), nn.Linear(hidden_size, hidden_size))
        half = depth // 2
        self.blocks = nn.ModuleList([DiTBlock(hidden_size, num_heads, mlp_ratio, skip=long_skip and i >= half) for i in range(depth)])
        self.final_layer = FinalLayer(hidden_size, patch_size, self.out_channels)
        self.out_conv = nn.Conv2d(self.out_channels, self.out_channels, 3, padding=1) if output_conv else None
        self.initialize_weights()

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
            for layer in (block.adaLN_modulation[-1], block.cross_attn.proj):
                nn.init.zeros_(layer.weight)
                nn.init.zeros_(layer.bias)
            if block.skip_linear is not None:
                with torch.no_grad():
                    block.skip_linear.weight.zero_()
                    block.skip_linear.weight[:, :hidden].copy_(torch.eye(hidden))
                    block.skip_linear.bias.zero_()
        for layer in (self.final_layer.adaLN_modulation[-1], self.final_layer.linear, self.out_conv):
            if layer is not None:
                nn.init.zeros_(layer.weight)
                nn.init.zeros_(layer.bias)

    def unpatchify(self, x: torch.Tensor) -> torch.Tensor:
        # (N, T, p*p*C) -> (N, C, H, W)
        c, p, g = self.out_channels, self.config.patch_size, self.grid_size
        x = x.reshape(x.shape[0], g, g, p, p, c).permute(0, 5, 1, 3, 2, 4)  # (N, C, g, p, g, p)
        return x.reshape(x.shape[0], c, g * p, g * p)

    def forward(
        self,
        hidden_states: torch.Tensor,
        timestep: torch.Tensor,
        encoder_hidden_states: torch.Tensor,
        encoder_attention_mask: torch.Tensor | None = None,
        pooled_projections: torch.Tensor | None = None,
        return_attention: bool = False,
        return_dict: bool = True,
    ) -> DiTTransformerOutput | tuple:
        n = hidden_states.shape[0]
        timestep = timestep.expand(n) if timestep.ndim == 0 else timestep
        if encoder_attention_mask is None:
            encoder_attention_mask = torch.ones(encoder_hidden_states.shape[:2], device=hidden_states.device)
        if pooled_projections is None:
            pooled_projections = masked_mean(encoder_hidden_states, encoder_attention_mask)
        # 1. patchify: (N, C, H, W) -> (N, T, D) tokens with fixed 2-D positions
        x = self.x_embedder(hidden_states).flatten(2).transpose(1, 2) + self.pos_embed
        # 2. conditioning: c (N, D) for adaLN; the text tokens (N, L, D) for cross-attention
        c = self.t_embedder(timestep, x.dtype) + self.text_pool_embedder(pooled_projections)
        context = self.caption_projection(encoder_hidden_states)
        attn_bias = torch.zeros(encoder_attention_mask.shape, dtype=x.dtype, device=x.device)
        attn_bias = attn_bias.masked_fill(encoder_attention_mask == 0, float("-inf"))[:, None, None, :]  # (N, 1, 1, L)
        # 3. the blocks, with U-ViT long skips from the first half to the mirrored second half
        skips, attention_maps = [], []
        for i, block in enumerate(self.blocks):
            skip = skips.pop() if block.skip_linear is not None else None
            x, weights = block(x, c, context, attn_bias, skip, return_attention)
            if self.config.long_skip and i < len(self.blocks) // 2:
                skips.append(x)
            attention_maps.append(weights)
        # 4. the final layer and unpatchify: tokens -> (N, C, H, W), then the 3x3 output conv
        x = self.unpatchify(self.final_layer(x, c))
        if self.out_conv is not None:
            x = x + self.out_conv(x)
        maps = attention_maps if return_attention else None
        if not return_dict:
            return (x, maps) if return_attention else (x,)
        return DiTTransformerOutput(sample=x, attention_maps=maps)
