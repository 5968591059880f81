"""The app's input gate (lab.inputs) as plain functions: decoding, modes, limits, masks, numbers."""

import io
import math

import gradio as gr
import numpy as np
import PIL.Image
import pytest

from lab import inputs


def save(tmp_path, im, name="x.png", **kw):
    p = tmp_path / name
    im.save(p, **kw)
    return str(p)


@pytest.mark.parametrize("mode", ["RGBA", "LA", "P", "L", "1", "CMYK", "I;16", "I", "F", "RGB"])
def test_every_mode_becomes_rgb_on_white(mode):
    base = PIL.Image.new("RGBA", (8, 8), (0, 0, 0, 0))
    base.paste((200, 100, 50, 255), (2, 2, 6, 6))
    im = base.convert(mode) if mode not in ("I;16", "I", "F") else PIL.Image.fromarray(np.full((8, 8), 40000 if mode != "F" else 0.5, {"I;16": np.uint16, "I": np.int32, "F": np.float32}[mode]))
    out = inputs.rgb_on_white(im)
    assert out.mode == "RGB" and out.size == (8, 8)
    if mode in ("RGBA", "LA"):
        assert out.getpixel((0, 0)) == (255, 255, 255)
    if mode in ("I;16", "I"):
        assert 150 <= out.getpixel((0, 0))[0] <= 160  # 40000 / 65535 of full scale
    if mode == "F":
        assert 125 <= out.getpixel((0, 0))[0] <= 130


def test_load_image_crops_to_a_square_and_resizes(tmp_path):
    a = np.zeros((40, 80, 3), np.uint8)
    a[:, 20:60] = 255  # the centre square is white, the sides black
    got = inputs.load_image(save(tmp_path, PIL.Image.fromarray(a)), "Image")
    assert got.size == (32, 32) and np.asarray(got).min() == 255


def test_file_problems_are_named(tmp_path):
    (tmp_path / "empty.png").write_bytes(b"")
    (tmp_path / "junk.png").write_bytes(b"\x00\x01junk" * 100)
    (tmp_path / "d.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>")
    buf = io.BytesIO()
    PIL.Image.new("RGB", (64, 64), "red").save(buf, "PNG")
    (tmp_path / "cut.png").write_bytes(buf.getvalue()[:50])
    for name, words in [("empty.png", "empty"), ("junk.png", "not an image"), ("d.svg", "SVG"), ("cut.png", "damaged")]:
        with pytest.raises(gr.Error, match=words):
            inputs.load_image(str(tmp_path / name), "Image")
    with pytest.raises(gr.Error, match="no image arrived. Pick an example"):
        inputs.load_image(None, "Image")


def test_numbers(monkeypatch):
    assert inputs.number("3", "Steps", 1, 10, integer=True) == 3
    for bad in (math.nan, None, "x", 11, 2.5, [1]):
        with pytest.raises(gr.Error, match="Steps must be a whole number between 1 and 10"):
            inputs.number(bad, "Steps", 1, 10, integer=True)
    assert 0 <= inputs.seed(0, randomize=True) < 2**31


def test_editor_masks(tmp_path):
    bg = save(tmp_path, PIL.Image.new("RGB", (32, 32), "blue"), "bg.png")
    big = np.zeros((256, 256, 4), np.uint8)
    big[:64, :128] = 255  # painted on the 8x display
    image, mask = inputs.editor_image_and_mask({"background": bg, "layers": [save(tmp_path, PIL.Image.fromarray(big), "m.png")]})
    assert image.size == (32, 32) and mask.shape == (32, 32) and mask[:8, :16].all() and mask.sum() == 8 * 16
    thin = np.zeros((256, 256, 4), np.uint8)
    thin[100, :] = 255  # a one-pixel stroke on the display still masks a row of model pixels
    _, m = inputs.editor_image_and_mask({"background": bg, "layers": [save(tmp_path, PIL.Image.fromarray(thin), "t.png")]})
    assert m.sum() == 32
    odd = save(tmp_path, PIL.Image.fromarray(np.full((20, 30, 4), 255, np.uint8)), "o.png")
    with pytest.raises(gr.Error, match="mask is 30×20 but the image is 32×32"):
        inputs.editor_image_and_mask({"background": bg, "layers": [odd]})
    with pytest.raises(gr.Error, match="expected the editor's value"):
        inputs.editor_image_and_mask("nope")


def test_bounds_are_written_as_people_write_them():
    from lab import inputs

    with pytest.raises(Exception) as err:
        inputs.seed(-1)
    assert "between 0 and 2147483647" in str(err.value) and "e+" not in str(err.value)
    with pytest.raises(Exception, match="between 0.05 and 1"):
        inputs.number(2, "Strength", 0.05, 1)
