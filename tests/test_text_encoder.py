import torch

from pipelines.text_encoder import MAX_TEXT_LENGTH, PromptCache, encode_text, minilm_path


def test_loads_offline_from_package():
    assert minilm_path().endswith("model")


def test_encode_shapes_and_truncation(text_pair):
    tok, enc = text_pair
    e = encode_text(tok, enc, ["red apple", "", " ".join(["word"] * 40)])
    assert e.hidden_states.shape == (3, MAX_TEXT_LENGTH, 384)
    assert e.attention_mask.sum(1).tolist()[:2] == [4, 2]  # [CLS] red apple [SEP]; [CLS] [SEP]
    assert e.attention_mask[2].sum() == MAX_TEXT_LENGTH
    assert e.pooled.shape == (3, 384)


def test_semantics_kitty_near_cat(text_pair):
    tok, enc = text_pair
    e = encode_text(tok, enc, ["cat face", "kitty", "rocket"]).pooled
    e = torch.nn.functional.normalize(e, dim=-1)
    assert e[0] @ e[1] > e[0] @ e[2]


def test_prompt_cache_encodes_once(text_pair):
    tok, enc = text_pair
    calls = []
    orig = enc.forward

    def counting(*a, **k):
        calls.append(k["input_ids"].shape[0])
        return orig(*a, **k)

    enc.forward = counting
    try:
        cache = PromptCache()
        a = cache(tok, enc, ["red apple", "red apple", "pizza"])
        b = cache(tok, enc, ["Red Apple ", "pizza"])
    finally:
        enc.forward = orig
    assert calls == [2]  # two distinct prompts, one call
    assert torch.equal(a.hidden_states[0], b.hidden_states[0])
    assert len(cache) == 2
