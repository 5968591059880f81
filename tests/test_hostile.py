"""Hostile and unusual inputs through the launched app's API: every bad input gets a short, plain
message that names the control and shows no server path or library wording; every unusual but
valid image gives the right picture; and the server still answers afterwards."""

import io
import math
import re
import struct
import zlib

import numpy as np
import PIL.Image
import pytest
from gradio_client import Client, handle_file

from lab.runtime import DEFAULT_MODEL, example_images

pytestmark = pytest.mark.slow
EX = str(example_images()[0])


@pytest.fixture(scope="module")
def client(app_server):
    return Client(app_server.url, verbose=False)


# ------------------------------------------------------------------ files
def write(tmp, name, data: bytes) -> str:
    p = tmp / name
    p.write_bytes(data)
    return str(p)


def png_bytes(im: PIL.Image.Image, **kw) -> bytes:
    buf = io.BytesIO()
    im.save(buf, "PNG", **kw)
    return buf.getvalue()


def huge_header_png(w=20000, h=20000) -> bytes:
    """A PNG whose header claims w x h pixels (a decompression bomb's shape), with no real data."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 100)) + chunk(b"IEND", b"")


def rgba_disc() -> PIL.Image.Image:
    a = np.zeros((32, 32, 4), np.uint8)
    yy, xx = np.mgrid[:32, :32]
    a[(yy - 16) ** 2 + (xx - 16) ** 2 < 100] = [250, 200, 20, 255]  # opaque yellow disc, transparent elsewhere
    return PIL.Image.fromarray(a, "RGBA")


def exif_rotated_jpeg() -> bytes:
    """Stored sideways (left red, right blue) with EXIF orientation 6: shown as top blue? No —
    rotated 90° clockwise for display, so the left (red) half becomes the top."""
    a = np.zeros((32, 32, 3), np.uint8)
    a[:, :16] = [220, 30, 30]
    a[:, 16:] = [30, 30, 220]
    im = PIL.Image.fromarray(a)
    exif = PIL.Image.Exif()
    exif[274] = 6
    buf = io.BytesIO()
    im.save(buf, "JPEG", exif=exif, quality=95)
    return buf.getvalue()


def animated_gif() -> bytes:
    frames = [PIL.Image.new("RGB", (32, 32), c) for c in [(200, 0, 0), (0, 200, 0)]]
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:], duration=100)
    return buf.getvalue()


# ----------------------------------------------------------------- helpers
def denoise_back(client, path) -> np.ndarray:
    """Denoise at sigma = 0 returns the image as the model would see it (32x32, shown 8x)."""
    out = client.predict(handle_file(path), 0.0, False, 10, 0, "", api_name="/denoise")
    return np.asarray(PIL.Image.open(out[2]).convert("RGB"))[::8, ::8].astype(float)


def assert_clear(err: Exception, *words):
    msg = str(err)
    assert len(msg) < 300, msg
    for bad in ("/tmp", "Traceback", "Could not preprocess", "Original error", "NoneType", "object has no attribute", "site-packages",
                "validation error", "pydantic"):
        assert bad not in msg, msg
    for w in words:
        assert re.search(w, msg, re.I), (w, msg)


def editor(background, layers):
    return {"background": background, "layers": layers, "composite": None, "id": None}


def mask_file(tmp, shape, box=None, name="mask.png"):
    m = np.zeros((*shape, 4), np.uint8)
    if box is not None:
        m[box] = 255
    return write(tmp, name, png_bytes(PIL.Image.fromarray(m, "RGBA")))


GEN = ["red apple", "", 0, False, 4, 3.0, "euler", 1]


def gen_args(**change):
    names = ["prompt", "negative", "seed", "randomize", "steps", "guidance", "sampler", "n"]
    args = dict(zip(names, GEN))
    args.update(change)
    return [args[n] for n in names]


# Bad inputs: (endpoint, args builder(tmp), words the message must contain)
BAD = {
    "truncated png": ("/denoise", lambda t: [handle_file(write(t, "t.png", png_bytes(PIL.Image.open(EX))[:60])), 0.5, False, 10, 0, ""], ["damaged|incomplete"]),
    "random bytes": ("/denoise", lambda t: [handle_file(write(t, "r.png", np.random.default_rng(0).bytes(3000))), 0.5, False, 10, 0, ""], ["not an image"]),
    "text file": ("/denoise", lambda t: [handle_file(write(t, "x.txt", b"hello, not an image\n")), 0.5, False, 10, 0, ""], ["not an image"]),
    "zero bytes": ("/denoise", lambda t: [handle_file(write(t, "z.png", b"")), 0.5, False, 10, 0, ""], ["empty"]),
    "svg": ("/denoise", lambda t: [handle_file(write(t, "s.svg", b'<svg xmlns="http://www.w3.org/2000/svg"><circle r="5"/></svg>')), 0.5, False, 10, 0, ""], ["SVG"]),
    "svg on inpaint": ("/inpaint", lambda t: [editor(handle_file(write(t, "s.svg", b"<svg xmlns='http://www.w3.org/2000/svg'/>")), []), "", 1, 4, 3, 1, 1, 0], ["SVG"]),
    "decompression bomb": ("/denoise", lambda t: [handle_file(write(t, "bomb.png", huge_header_png())), 0.5, False, 10, 0, ""], ["large|megapixels"]),
    "bomb on trace": ("/trace", lambda t: ["cat", handle_file(write(t, "bomb.png", huge_header_png())), 4, 3, 0, "euler"], ["large|megapixels"]),
    "no image denoise": ("/denoise", lambda t: [None, 0.5, False, 10, 0, ""], ["upload|pick"]),
    "sigma 2": ("/denoise", lambda t: [handle_file(EX), 2.0, False, 10, 0, ""], ["Noise level", "between 0 and 1"]),
    "sigma string": ("/denoise", lambda t: [handle_file(EX), "abc", False, 10, 0, ""], ["Noise level"]),
    "denoise steps 0": ("/denoise", lambda t: [handle_file(EX), 0.5, False, 0, 0, ""], ["Steps", "between 1 and 100"]),
    "denoise seed -1": ("/denoise", lambda t: [handle_file(EX), 0.5, False, 10, -1, ""], ["Seed"]),
    "empty prompt": ("/generate", lambda t: gen_args(prompt="   "), ["prompt"]),
    "prompt not text": ("/generate", lambda t: gen_args(prompt=123), ["Prompt", "text"]),
    "prompt too long": ("/generate", lambda t: gen_args(prompt="cat " * 200), ["Prompt", "characters"]),
    "guidance nan": ("/generate", lambda t: gen_args(guidance=math.nan), ["Guidance scale"]),
    "guidance inf": ("/generate", lambda t: gen_args(guidance=math.inf), ["Guidance scale"]),
    "guidance string": ("/generate", lambda t: gen_args(guidance="high"), ["Guidance scale"]),
    "guidance 50": ("/generate", lambda t: gen_args(guidance=50), ["Guidance scale", "between 1 and 10"]),
    "seed none": ("/generate", lambda t: gen_args(seed=None), ["Seed"]),
    "seed fraction": ("/generate", lambda t: gen_args(seed=1.5), ["Seed", "whole"]),
    "seed huge": ("/generate", lambda t: gen_args(seed=2**40), ["Seed"]),
    "steps nan": ("/generate", lambda t: gen_args(steps=math.nan), ["Steps"]),
    "steps 1000": ("/generate", lambda t: gen_args(steps=1000), ["Steps", "between 1 and 100"]),
    "images 100": ("/generate", lambda t: gen_args(n=100), ["Images", "between 1 and 8"]),
    "unknown sampler": ("/generate", lambda t: gen_args(sampler="ddpm"), ["Sampler", "euler"]),
    "sampler none": ("/generate", lambda t: gen_args(sampler=None), ["Sampler"]),
    "negative not text": ("/generate", lambda t: gen_args(negative=["a"]), ["Negative prompt"]),
    "editor not a dict": ("/inpaint", lambda t: ["just a string", "", 1, 4, 3, 1, 1, 0], ["Image \\+ mask: expected the editor's value"]),
    "editor no layers": ("/inpaint", lambda t: [editor(handle_file(EX), []), "", 1, 4, 3, 1, 1, 0], ["Paint a mask"]),
    "empty mask": ("/inpaint", lambda t: [editor(handle_file(EX), [handle_file(mask_file(t, (32, 32)))]), "", 1, 4, 3, 1, 1, 0], ["mask is empty"]),
    "one-row mask": ("/inpaint", lambda t: [editor(handle_file(EX), [handle_file(mask_file(t, (1, 32), (slice(None),)))]), "", 1, 4, 3, 1, 1, 0], ["mask is 32×1", "same image"]),
    "mask other size": ("/inpaint", lambda t: [editor(handle_file(EX), [handle_file(mask_file(t, (20, 20), (slice(2, 9),)))]), "", 1, 4, 3, 1, 1, 0], ["mask is 20×20"]),
    "mask not an image": ("/inpaint", lambda t: [editor(handle_file(EX), [handle_file(write(t, "m.png", b"nope"))]), "", 1, 4, 3, 1, 1, 0], ["mask"]),
    "inpaint strength 0": ("/inpaint", lambda t: [editor(handle_file(EX), [handle_file(mask_file(t, (32, 32), (slice(4, 12),)))]), "", 0, 4, 3, 1, 1, 0], ["Strength"]),
    "inpaint guidance nan": ("/inpaint", lambda t: [editor(handle_file(EX), [handle_file(mask_file(t, (32, 32), (slice(4, 12),)))]), "", 1, 4, "NaN", 1, 1, 0], ["Guidance"]),
    "inpaint jumps 0": ("/inpaint", lambda t: [editor(handle_file(EX), [handle_file(mask_file(t, (32, 32), (slice(4, 12),)))]), "", 1, 4, 3, 0, 1, 0], ["Jump length"]),
    "trace nothing": ("/trace", lambda t: ["", None, 4, 3, 0, "euler"], ["prompt"]),
    "trace steps 1": ("/trace", lambda t: ["cat", None, 1, 3, 0, "euler"], ["Steps", "between 2 and 60"]),
    "trace guidance nan": ("/trace", lambda t: ["cat", None, 4, math.nan, 0, "euler"], ["Guidance"]),
    "attention sigma nan": ("/attention", lambda t: ["red heart", 0, math.nan], ["σ"]),
    "attention empty": ("/attention", lambda t: ["", 0, 0.5], ["prompt"]),
    "race steps nan": ("/race", lambda t: ["cat", 0, math.nan, 5.0], ["Steps"]),
    "race empty prompt": ("/race", lambda t: ["", 0, 8, 5.0], ["prompt"]),
    "flow unknown data": ("/flow2d", lambda t: ["three moons", 3.0, 20, 0], ["Data set", "two moons"]),
    "flow guidance 100": ("/flow2d", lambda t: ["spiral", 100, 20, 0], ["Guidance", "between 1 and 8"]),
    "learn too few": ("/learn", lambda t: [["cat face"], 10, 0], ["4 to 8"]),
    "learn unknown emoji": ("/learn", lambda t: [["a", "b", "c", "d"], 10, 0], ["4 to 8"]),
    "learn budget 1000": ("/learn", lambda t: [["grinning face", "red apple", "cat face", "pizza"], 1000, 0], ["Budget", "between 10 and 120"]),
    "paths no image": ("/paths", lambda t: [None, 0, 10], ["upload|pick"]),
    "paths steps 500": ("/paths", lambda t: [handle_file(EX), 0, 500], ["Steps", "between 2 and 50"]),
    "export format none": ("/export", lambda t: [None], ["Export format|forward & reverse"]),
    "unknown model": ("/generate", lambda t: gen_args() + ["dit-xl"], ["Model", "latent, pixel"]),
    "model not text": ("/denoise", lambda t: [handle_file(EX), 0.5, False, 10, 0, "", {"weights": "/etc"}], ["Model", "latent, pixel"]),
    "model on trace": ("/trace", lambda t: ["cat", None, 4, 3, 0, "euler", 7], ["Model"]),
    "export before trace": ("/export", lambda t: ["gif"], ["Run the forward"]),
}


MODEL_ENDPOINTS = {"/generate", "/inpaint", "/denoise", "/trace", "/attention", "/race", "/compare"}


def raw_call(url: str, endpoint: str, args: list) -> str:
    """POST the arguments as raw JSON (NaN and Infinity literals included, which gradio_client
    refuses to send) to the REST API and return the event stream's text."""
    import json
    import urllib.request

    body = json.dumps({"data": args}).encode()  # allow_nan: NaN -> NaN literal
    req = urllib.request.Request(f"{url}gradio_api/call{endpoint}", body, {"Content-Type": "application/json"})
    event = json.loads(urllib.request.urlopen(req, timeout=60).read())["event_id"]
    return urllib.request.urlopen(f"{url}gradio_api/call{endpoint}/{event}", timeout=120).read().decode()


@pytest.mark.parametrize("case", list(BAD))
def test_bad_input_gets_a_clear_message(client, app_server, tmp_path, case):
    endpoint, build, words = BAD[case]
    args = build(tmp_path)
    if any(isinstance(a, float) and not math.isfinite(a) for a in args):
        # raw REST calls send every input; the model choice is the last of a model endpoint's
        args = args + [DEFAULT_MODEL] if endpoint in MODEL_ENDPOINTS else args
        text = raw_call(app_server.url, endpoint, args)
        assert "event: error" in text, text
        import json

        data = text.split("event: error", 1)[1].split("data:", 1)[1].strip().splitlines()[0]
        assert_clear(Exception(json.loads(data)["error"]), *words)
        return
    if case == "export before trace":
        client = Client(client.src, verbose=False)  # a fresh session has no run to export
    with pytest.raises(Exception) as info:
        client.predict(*args, api_name=endpoint)
    assert_clear(info.value, *words)


# Unusual but valid images: the picture the model gets must be the right one.
def test_rgba_on_transparent_is_composited_on_white(client, tmp_path):
    got = denoise_back(client, write(tmp_path, "a.png", png_bytes(rgba_disc())))
    assert got[0, 0].tolist() == [255, 255, 255] and np.abs(got[16, 16] - [250, 200, 20]).max() <= 2


def test_la_and_palette_with_transparency(client, tmp_path):
    la = rgba_disc().convert("LA")
    got = denoise_back(client, write(tmp_path, "la.png", png_bytes(la)))
    assert got[0, 0].tolist() == [255, 255, 255] and got[16, 16].mean() < 250
    pal = rgba_disc().convert("P")
    pal.info["transparency"] = pal.getpixel((0, 0))
    got = denoise_back(client, write(tmp_path, "p.png", png_bytes(pal, transparency=pal.getpixel((0, 0)))))
    assert got[0, 0].tolist() == [255, 255, 255]


def test_16_bit_grey_keeps_its_brightness(client, tmp_path):
    arr = np.full((32, 32), 32768, np.uint16)  # mid grey in 16 bits
    got = denoise_back(client, write(tmp_path, "g16.png", png_bytes(PIL.Image.fromarray(arr))))
    assert abs(got.mean() - 127.5) < 3


def test_cmyk_jpeg(client, tmp_path):
    im = PIL.Image.new("RGB", (40, 40), (30, 120, 220)).convert("CMYK")
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=95)
    got = denoise_back(client, write(tmp_path, "c.jpg", buf.getvalue()))
    assert np.abs(got[16, 16] - [30, 120, 220]).max() < 25


def test_exif_orientation_is_applied(client, tmp_path):
    got = denoise_back(client, write(tmp_path, "rot.jpg", exif_rotated_jpeg()))
    top, bottom = got[:12].mean((0, 1)), got[-12:].mean((0, 1))
    assert top[0] > top[2] + 100 and bottom[2] > bottom[0] + 100  # red on top, blue below: rotated for display


def test_big_photo_one_pixel_and_animated_gif(client, tmp_path):
    photo = PIL.Image.fromarray(np.random.default_rng(1).integers(0, 255, (1500, 2000, 3), dtype=np.uint8))
    buf = io.BytesIO()
    photo.save(buf, "JPEG", quality=80)
    assert denoise_back(client, write(tmp_path, "big.jpg", buf.getvalue())).shape == (32, 32, 3)
    one = denoise_back(client, write(tmp_path, "one.png", png_bytes(PIL.Image.new("RGB", (1, 1), (10, 200, 30)))))
    assert np.abs(one - [10, 200, 30]).max() <= 2
    gif = denoise_back(client, write(tmp_path, "anim.gif", animated_gif()))
    assert gif[..., 0].mean() > 150 and gif[..., 1].mean() < 60  # the first (red) frame


def test_mask_at_display_size_and_on_a_rotated_image(client, tmp_path):
    big = mask_file(tmp_path, (256, 256), (slice(40, 120), slice(40, 200)), "big.png")  # the editor's 8x display size
    out = client.predict(editor(handle_file(EX), [handle_file(big)]), "", 1, 4, 3, 1, 1, 0, api_name="/inpaint")
    assert "exactly unchanged" in out[3]
    rot = write(tmp_path, "rot.jpg", exif_rotated_jpeg())
    m = mask_file(tmp_path, (32, 32), (slice(0, 10), slice(None)), "rm.png")  # painted on the displayed (rotated) image
    out = client.predict(editor(handle_file(rot), [handle_file(m)]), "", 1, 4, 3, 1, 1, 0, api_name="/inpaint")
    assert "exactly unchanged" in out[3]


def test_server_still_answers(client):
    out = client.predict(*GEN, api_name="/generate")
    assert "Done" in out[3]


def test_uploads_over_the_size_limit_are_refused(app_server, tmp_path):
    import httpx

    big = write(tmp_path, "big.png", b"\x89PNG" + bytes(12 * 2**20))  # over the 10 MB limit
    with open(big, "rb") as f:
        r = httpx.post(f"{app_server.url}gradio_api/upload", files={"files": ("big.png", f, "image/png")}, timeout=60)
    assert r.status_code == 413 and "/tmp" not in r.text, (r.status_code, r.text[:200])
