import json
import random

import numpy as np
import PIL.Image
import pytest

from training import data


def test_custom_folder(tmp_path):
    for i, colour in enumerate([(255, 0, 0), (0, 0, 255)]):
        PIL.Image.new("RGB", (64, 48), colour).save(tmp_path / f"{i}.png")
    (tmp_path / "metadata.jsonl").write_text(
        json.dumps({"file_name": "0.png", "text": "A Red Square"}) + "\n\n" + json.dumps({"file_name": "1.png", "text": "blue square"}) + "\n"
    )
    ds = data.EmojiDataset.load(tmp_path)
    assert ds.images.shape == (2, 32, 32, 3) and ds.images.dtype == np.uint8
    assert ds.images[0, 16, 16].tolist() == [255, 0, 0]
    assert ds.caption(0, random.Random(0)) == "a red square"
    (tmp_path / "metadata.jsonl").write_text('{"file": "0.png"}\n')
    with pytest.raises(ValueError, match="line 1"):
        data.EmojiDataset.from_folder(tmp_path)


def test_npm_missing_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr(data.shutil, "which", lambda name: None)
    with pytest.raises(RuntimeError, match="npm is needed"):
        data.build(tmp_path)


def test_labels_use_everyday_names():
    cldr = {"2764": "red heart", "1F44B-1F3FF": "waving hand: dark skin tone"}
    assert data._label("2764-FE0F", "HEAVY BLACK HEART", cldr) == "red heart"
    assert data._label("1F44B-1F3FF", None, cldr) == "waving hand, dark skin tone"
    assert data._label("1F600", "GRINNING FACE", cldr) == "grinning face"


@pytest.fixture(scope="session")
def emoji():
    return data.EmojiDataset.load()  # builds data/ from the pinned npm packages on first use


def test_built_emoji_dataset(emoji):
    names = {r.name for r in emoji.records}
    assert {"grinning face", "red apple", "cat face", "red heart", "rocket"} <= names
    assert "heavy black heart" not in names
    assert any("skin tone" in n for n in names)
    assert {r.style for r in emoji.records} == {"twemoji style", "noto style"}
    assert not any(r.category == "Component" for r in emoji.records)
    assert emoji.images.shape[1:] == (32, 32, 3) and len(emoji) > 7000
    # white background where the emoji is transparent
    assert (emoji.images[:, 0, 0] == 255).all(axis=-1).mean() > 0.9
    caps = {emoji.caption(0, random.Random(s)) for s in range(50)}
    assert len(caps) > 3 and any("style" in c for c in caps) and any("style" not in c for c in caps)


def test_build_is_idempotent(emoji):
    out = data.build()
    before = (out / "images.npy").stat().st_mtime_ns
    assert data.build() == out and (out / "images.npy").stat().st_mtime_ns == before


def test_paraphrases_and_free_prompts_are_never_training_captions(emoji):
    from training.paraphrases import GATE, OOV_PROMPTS, TUNE

    bank = {c.lower() for caps in emoji.caption_lists for c in caps}
    held = [p for p, _ in GATE + TUNE] + OOV_PROMPTS
    assert len(GATE) == 64 and not [p for p in held if p.lower() in bank]
    names = {r.name for r in emoji.records}
    assert all(target in names for _, target in GATE + TUNE)  # each means a real emoji
    # and the filter is what keeps them out: without it, some would be captions
    raw = {c.lower() for r in emoji.records for c in r.captions()}
    assert any(p.lower() in raw for p in held)


def test_captions_cover_everyday_words(emoji):
    i = next(i for i, r in enumerate(emoji.records) if r.name == "cat face")
    caps = emoji.caption_lists[i]
    assert "cat face" in caps and any("kitten" in c or "kitty" in c for c in caps) and len(caps) >= 15


def test_every_caption_names_its_emoji_with_a_specific_word(emoji):
    """A caption of widely shared words only ("food, hungry") names no emoji; the bank has none."""
    common = data.common_words(emoji.records)
    assert {"food", "face", "animal"} <= common and "pepperoni" not in common

    def vague(r, c):  # neither the name nor a word few emoji share
        return r.name.lower() not in c.lower() and not any(w in c.lower() for w in {t.lower() for t in r.tags} - common)

    sample = list(zip(emoji.records, emoji.caption_lists))[::7]
    assert not [(r.name, c) for r, caps in sample for c in caps if vague(r, c)]
    # the rule is what keeps them out: without `common`, such captions appear
    assert any(vague(r, c) for r, _ in sample for c in r.captions())


def test_name_fraction_sets_how_often_a_training_caption_says_the_name(emoji):
    i = next(i for i, r in enumerate(emoji.records) if r.name == "cat face")
    named, worded = emoji.caption_parts[i]
    assert named and worded and sorted(named + worded) == sorted(emoji.caption_lists[i])
    assert all("cat face" in c for c in named) and not any("cat face" in c for c in worded)

    def share(fraction):
        rng = random.Random(0)
        return np.mean(["cat face" in emoji.caption(i, rng, fraction) for _ in range(4000)])

    assert abs(share(None) - len(named) / len(emoji.caption_lists[i])) < 0.03  # default: the list's own mix
    assert abs(share(0.9) - 0.9) < 0.03 and share(1.0) == 1.0 and share(0.0) == 0.0


@pytest.mark.slow
def test_64px_set_is_the_packages_own_64px_art_with_the_same_records():
    """The 64-px set holds the same emoji, in the same order, as the 32-px one; the 32-px images
    are its LANCZOS downsampling (so neither is an upsampled copy of the other)."""
    small, big = data.EmojiDataset.load(resolution=32), data.EmojiDataset.load(resolution=64)
    assert big.images.shape[1:] == (64, 64, 3) and len(big) == len(small) > 7000
    assert [r.name for r in big.records] == [r.name for r in small.records]
    for i in (0, 1234, len(big) - 1):
        down = np.asarray(PIL.Image.fromarray(big.images[i]).resize((32, 32), PIL.Image.LANCZOS))
        assert np.array_equal(down, small.images[i])
        assert len(np.unique(big.images[i].reshape(-1, 3), axis=0)) > 4 * 16  # real 64-px detail, not 2x2 blocks
        assert not np.array_equal(big.images[i][::2, ::2], big.images[i][1::2, 1::2])


@pytest.mark.slow
def test_blocked_emoji_are_never_trained_at_any_resolution():
    """The middle finger (every skin tone) and the other BLOCKED_EMOJI are in the npm packages but
    in no loaded training set, and no caption of any image names them."""
    import json as _json

    meta = _json.loads((data.build(resolution=64) / "meta.json").read_text())
    assert {"middle finger", "cigarette"} <= {r["base_name"] for r in meta}  # the packages ship them
    for res in data.RESOLUTIONS:
        ds = data.EmojiDataset.load(resolution=res)
        assert not {r.base_name for r in ds.records} & data.BLOCKED_EMOJI
        assert len(ds) == len(meta) - sum(r["base_name"] in data.BLOCKED_EMOJI for r in meta)
    captions = {c for caps in ds.caption_lists for c in caps}
    assert not [c for c in captions if "middle finger" in c]


@pytest.mark.slow
def test_autoencoder_held_out_sets_are_whole_emoji_and_disjoint():
    from training.autoencoder import split

    ds = data.EmojiDataset.load(resolution=64)
    parts = split(ds)
    names = {k: {ds.records[i].base_name for i in v} for k, v in parts.items()}
    assert len(names["tune"]) == 100 and len(names["gate"]) == 200
    assert not names["train"] & names["tune"] and not names["train"] & names["gate"] and not names["tune"] & names["gate"]
    assert sum(len(v) for v in parts.values()) == len(ds)
    assert np.array_equal(split(ds)["gate"], parts["gate"])  # fixed by its seed
