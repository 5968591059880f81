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
