"""Every named endpoint of the launched app, through gradio_client (as the README shows)."""

import numpy as np
import PIL.Image
import pytest
from gradio_client import Client, handle_file

from lab.runtime import DEFAULT_MODEL, example_images

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def client(app_server):
    return Client(app_server.url, verbose=False)


def test_named_endpoints_exist(client):
    names = set(client.view_api(print_info=False, return_format="dict")["named_endpoints"])
    assert {"/generate", "/inpaint", "/denoise", "/trace", "/export", "/attention", "/autoencoder", "/compare", "/read_prompt"} <= names


def test_compare_two_prompts_and_read_a_prompt(client):
    strip, plot, status, slider, step_image, step_info = client.predict("cat face", "dog face", 0, 8, 3.0, "euler", "pixel", api_name="/compare")
    assert "part ways at **step" in status and "of 8" in step_info
    assert PIL.Image.open(strip).size[0] > 4 * PIL.Image.open(strip).size[1] / 2
    reading = client.predict("kitty", api_name="/read_prompt")
    assert "`kitty`" in reading and "Nearest things the model learned" in reading


def test_generate(client):
    gallery, live, seed, status, step, files, *scrubber = client.predict("red apple", "", 7, False, 6, 3.0, "euler", 2, "pixel", api_name="/generate")
    assert len(gallery) == 2 and seed == 7 and "Done: 6 steps" in status and step["value"] == 6
    sizes = sorted(PIL.Image.open(f).size for f in files)
    assert sizes == [(32, 32), (32, 32), (256, 256), (256, 256)]  # native and display size
    im = PIL.Image.open(gallery[0]["image"])
    assert im.size == (32, 32) and im.format == "PNG"
    assert scrubber[-1].startswith("6 of 6 steps done")
    # same seed, same image
    again = client.predict("red apple", "", 7, False, 6, 3.0, "euler", 2, "pixel", api_name="/generate")[0]
    assert np.array_equal(np.asarray(im), np.asarray(PIL.Image.open(again[0]["image"])))


def test_a_left_out_model_is_the_apps_default(client):
    """The model is every model endpoint's last parameter and may be left out: then the app's default
    runs (the pixel tests above and below name theirs, so they hold whichever is the default)."""
    gallery, *_ = client.predict("red apple", "", 7, False, 2, 3.0, "euler", 1, api_name="/generate")
    assert PIL.Image.open(gallery[0]["image"]).size == {"latent": (64, 64), "pixel": (32, 32)}[DEFAULT_MODEL]


def test_generate_inpaint_and_trace_on_the_latent_model(client, tmp_path):
    """The `model` parameter of every model endpoint: 64-px images from the shipped latent DiT,
    inpainting exact outside the mask there too, the trace speaking of latents."""
    gallery, *_, files, x_t, x0, eps, info = client.predict("red apple", "", 7, False, 4, 3.0, "euler", 1, "latent", api_name="/generate")
    assert PIL.Image.open(gallery[0]["image"]).size == (64, 64)
    assert sorted(PIL.Image.open(f).size for f in files) == [(64, 64), (256, 256)]
    src = example_images(64)[0]
    mask = np.zeros((64, 64, 4), np.uint8)
    mask[10:40, 12:50] = 255
    PIL.Image.fromarray(mask).save(tmp_path / "mask.png")
    editor = {"background": handle_file(str(src)), "layers": [handle_file(str(tmp_path / "mask.png"))], "composite": None, "id": None}
    result, live, diff, status, *_ = client.predict(editor, "red heart", 1.0, 4, 3.0, 1, 1, 0, "latent", api_name="/inpaint")
    res = np.asarray(PIL.Image.open(result).convert("RGB"))[::4, ::4]  # shown 4x: one pixel per square
    keep = mask[..., 3] == 0
    assert "exactly unchanged" in status and np.array_equal(res[keep], np.asarray(PIL.Image.open(src).convert("RGB"))[keep])
    status, step, fwd, xt, x0, eps, *_, eq, plot, position = client.predict("cat face", None, 4, 3.0, 0, "euler", "latent", api_name="/trace")
    assert "z_t" in eq and "latent" in position and PIL.Image.open(x0).size == (256, 256)


def test_inpaint(client, tmp_path):
    src = example_images()[0]
    mask = np.zeros((32, 32, 4), np.uint8)
    mask[6:18, 6:26] = 255
    PIL.Image.fromarray(mask).save(tmp_path / "mask.png")
    editor = {"background": handle_file(str(src)), "layers": [handle_file(str(tmp_path / "mask.png"))], "composite": None, "id": None}
    result, live, diff, status, *_ = client.predict(editor, "red heart", 1.0, 6, 3.0, 1, 1, 0, "pixel", api_name="/inpaint")
    assert "exactly unchanged" in status
    res = np.asarray(PIL.Image.open(result).convert("RGB"))[::8, ::8]  # shown 8x: one pixel per square
    orig = np.asarray(PIL.Image.open(src).convert("RGB"))
    keep = mask[..., 3] == 0
    assert np.array_equal(res[keep], orig[keep]) and not np.array_equal(res[~keep], orig[~keep])


def test_denoise(client):
    noisy, one, result, table, note, plot = client.predict(handle_file(str(example_images()[1])), 0.3, False, 10, 0, "red apple", "pixel", api_name="/denoise")
    assert "3 of the 10 scheduled steps" in note  # the step nearest sigma = 0.3 and the two after it
    rows = table["data"]
    assert [r[0] for r in rows] == ["noisy input", "one-step x̂₀", "iterative result"]
    assert all(float(r[1]) > 0 for r in rows)
    assert PIL.Image.open(result).size == (256, 256)  # shown at 8x, nearest-neighbour


def test_trace_then_export(client):
    status, step, fwd, xt, x0, eps, g_u, g_c, g_g, eq, plot, position = client.predict("cat face", None, 5, 3.0, 0, "euler", "pixel", api_name="/trace")
    assert "Ready" in status and "Forward" in eq and g_u and g_c and g_g and "0 of 5 steps done" in position
    gif = client.predict("gif", api_name="/export")
    with PIL.Image.open(gif) as im:
        assert im.format == "GIF" and im.n_frames == 6
    mp4 = client.predict("mp4", api_name="/export")
    assert open(mp4, "rb").read(12)[4:8] == b"ftyp"


def test_attention(client):
    image, tiles, legend, shares = client.predict("red heart", 0, 0.5, "pixel", api_name="/attention")
    assert [r[0] for r in shares["data"]] == ["[CLS]", "red", "heart", "[SEP]"]
    assert PIL.Image.open(legend).size[0] > 100 and PIL.Image.open(tiles).size[0] > 600


def test_explore_endpoints(client):
    race_images, plot, table, verdict = client.predict("cat face", 0, 4, 2.0, "pixel", api_name="/race")
    assert [r[0] for r in table["data"]] == ["euler", "heun", "dpm++2m", "unipc"] and PIL.Image.open(race_images).size[0] > 500
    note = client.predict("spiral", 2.0, 20, 0, api_name="/flow2d")[0]
    assert "Chamfer" in note
    status, loss, first, now = client.predict(["grinning face", "red apple", "cat face", "pizza"], 10, 0, api_name="/learn")
    assert status.startswith("Done") and PIL.Image.open(now).size == PIL.Image.open(first).size
    step, vp, rf, fig, text = client.predict(handle_file(str(example_images()[0])), 0, 10, api_name="/paths")
    assert "VP" in text and PIL.Image.open(vp).size == (256, 256)


def test_autoencoder(client):
    recon, original, latents, error, note = client.predict(handle_file(str(example_images(64)[1])), api_name="/autoencoder")
    assert PIL.Image.open(recon).size == PIL.Image.open(original).size == (256, 256)
    assert PIL.Image.open(latents).width > 4 * 128 and "1,024 numbers" in note and "PSNR" in note
