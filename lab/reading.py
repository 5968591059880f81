"""How the model reads a prompt: the word pieces the tokenizer makes, and the emoji names and
everyday words the model was trained on that lie nearest, by the text encoder's own similarity
(cosine of MiniLM's pooled sentence vectors, the measure it was trained for).

The model can only draw what its captions taught it; a prompt far from every one of them gets
a guess, and the reading says so before the learner wonders why "xqzv blorp" drew a shoe.
"""

from __future__ import annotations

import functools
import json
import threading
from pathlib import Path

import gradio as gr
import torch

from pipelines import DiTText2ImagePipeline
from pipelines.text_encoder import MAX_TEXT_LENGTH, encode_text, masked_mean, packaged_text_encoder

from . import inputs
from .i18n import say
from .runtime import runtime

VOCABULARY = Path(__file__).resolve().parent.parent / "assets" / "vocabulary.json"  # python -m training.data --write-vocabulary
# Below this cosine to everything the model learned, the words are unknown to it. Measured with
# `python -m lab.reading`: names and caption words 1.0, paraphrases 0.76-0.80, a vague phrase 0.56,
# keyboard nonsense 0.43-0.49: the threshold sits between the last two.
UNKNOWN_BELOW = 0.52
NEIGHBOURS = 5
UNKNOWN_NOTE = "The model has not seen anything like these words; expect a guess."


_BANK_LOCK = threading.Lock()  # two first requests encode the bank once, not twice


def _bank() -> tuple[list[str], list[str], torch.Tensor]:
    with _BANK_LOCK:
        return _encoded_bank()


@functools.cache
def _encoded_bank() -> tuple[list[str], list[str], torch.Tensor]:
    """(texts, kinds, unit vectors) of every name and word: encoded once per process (5,700
    short texts, 10-40 s on 2 cores; `warm_in_background` starts it with the app), then read only."""
    vocab = json.loads(VOCABULARY.read_text())
    texts = vocab["names"] + vocab["words"]
    kinds = ["emoji name"] * len(vocab["names"]) + ["caption word"] * len(vocab["words"])
    tokenizer, encoder = packaged_text_encoder()
    # sorted by length, so each batch pads only to its own longest text
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    vectors = torch.empty(len(texts), encoder.config.hidden_size)
    with torch.no_grad():
        for i in range(0, len(order), 256):
            idx = order[i:i + 256]
            tok = tokenizer([texts[j].lower() for j in idx], padding=True, truncation=True, max_length=MAX_TEXT_LENGTH, return_tensors="pt")
            states = encoder(input_ids=tok.input_ids, attention_mask=tok.attention_mask).last_hidden_state
            vectors[idx] = masked_mean(states.float(), tok.attention_mask)
    return texts, kinds, torch.nn.functional.normalize(vectors, dim=-1)


def warm_in_background() -> None:
    """Encode the bank on a daemon thread at start-up, so the first reading is quick."""
    threading.Thread(target=_bank, name="prompt-reading-bank", daemon=True).start()


def nearest(prompt: str, k: int = NEIGHBOURS) -> list[tuple[str, str, float]]:
    """The k nearest names/words to the prompt: (text, kind, cosine), nearest first."""
    texts, kinds, bank = _bank()
    query = torch.nn.functional.normalize(encode_text(*packaged_text_encoder(), [prompt]).pooled.float(), dim=-1)
    sims, idx = (bank @ query[0]).topk(k)
    return [(texts[i], kinds[i], float(s)) for s, i in zip(sims.tolist(), idx.tolist())]


def read_prompt(prompt) -> str:
    """Markdown: the tokens, the nearest things the model knows, and a note when nothing is near."""
    prompt = inputs.prompt(prompt)
    if not prompt:
        return say("Type a prompt to see how the model reads it.")
    pipe = runtime().pipeline(DiTText2ImagePipeline, "euler")
    tokens = pipe.tokens(prompt)
    pieces = " ".join(f"`{t}`" for t in tokens)
    cut = len(pipe.text_encoder_pair()[0](prompt.lower())["input_ids"]) > MAX_TEXT_LENGTH
    near = nearest(prompt)
    lines = [say("**Word pieces** ({n} of at most {limit}): {pieces}", n=len(tokens), limit=MAX_TEXT_LENGTH, pieces=pieces)]
    if cut:
        lines.append(say("The prompt is longer than {limit} word pieces: the model reads only these.", limit=MAX_TEXT_LENGTH))
    lines.append(say("**Nearest things the model learned** (text-encoder similarity): ") +
                 ", ".join(f"{text} ({say(kind)}, {sim:.2f})" for text, kind, sim in near))
    if near[0][2] < UNKNOWN_BELOW:
        lines.append("⚠️ " + say(UNKNOWN_NOTE) + " " + say("(best match {best:.3f}, below {limit})", best=near[0][2], limit=UNKNOWN_BELOW))
    return "\n\n".join(lines)


def create_reading(prompt: gr.Textbox) -> gr.Markdown:
    """The reading under a prompt box: filled when the page loads, updated when the prompt
    changes (no DiT call: the tokenizer and the text encoder only)."""
    from gradio.context import get_blocks_context

    out = gr.Markdown(elem_id="prompt-reading")
    prompt.change(read_prompt, prompt, out, api_name="read_prompt", trigger_mode="always_last", show_progress="hidden")
    get_blocks_context().root_block.load(read_prompt, prompt, out, api_name=False, show_progress="hidden")
    return out


if __name__ == "__main__":  # the measurement behind UNKNOWN_BELOW
    for p in ["red apple", "grinning face", "kitty", "a slice of pizza", "something to drink when it is hot",
              "xqzv blorp flimflam", "qwrtp zzk", "asdf ghjk", "the concept of tuesday"]:
        print(f"{nearest(p, 1)[0][2]:.3f}  {p!r:40} -> {nearest(p, 1)[0][0]}")
