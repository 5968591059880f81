"""The app's handlers as plain functions, on a tiny random model."""

import re

import numpy as np
import PIL.Image
import pytest

from pipelines import DiTText2ImagePipeline, make_scheduler
from pipelines.lab import PROBE_PIXEL, Lab, example_images, forward_equation, reverse_equations


@pytest.fixture(scope="module")
def lab(tmp_path_factory, tiny_transformer, text_pair):
    path = tmp_path_factory.mktemp("weights")
    DiTText2ImagePipeline(tiny_transformer, make_scheduler("euler"), *text_pair).save_pretrained(path)
    return Lab(path)


def last(it):
    events = list(it)
    assert events, "handler yielded nothing"
    return events, events[-1]


def numbers_in(s: str) -> list[float]:
    return [float(x) for x in re.findall(r"[-+]?\d+\.\d+", s)]


def test_examples_ship():
    ex = example_images()
    assert len(ex) >= 4 and all(PIL.Image.open(p).size == (32, 32) for p in ex)


def test_generate_streams_then_returns(lab):
    events, out = last(lab.generate("red apple", "", seed=5, steps=4, guidance_scale=3.0, sampler="heun", num_images=2))
    previews = [e for e in events if "preview" in e]
    assert len(previews) == len(out["frames"]) >= 4  # one live frame per model call
    assert len(out["images"]) == 2 and out["images"][0].size == (32, 32) and out["seed"] == 5
    view = lab.step_view(out["frames"], 0)
    assert view["x_t"].size == (256, 256) and view["sigma"] == pytest.approx(1.0)


def test_equations_show_the_numbers_the_pipeline_ran(lab):
    _, out = last(lab.generate("cat face", "", seed=1, steps=5, guidance_scale=4.0, sampler="euler", num_images=1))
    frames = out["frames"]
    r, c = PROBE_PIXEL
    for k in range(len(frames) - 1):
        num = frames.numbers[k]
        lines = reverse_equations(num, frames.guidance_scale).splitlines()
        results = [numbers_in(line)[-1] for line in lines]  # what each displayed equation equals
        x0_line, eps_line, guide_line, update_line = results
        assert x0_line == pytest.approx(num["x0_pred"], abs=2e-3)
        assert eps_line == pytest.approx(num["noise_pred"], abs=2e-3)
        # the guidance equation gives the guided x0 the pipeline actually used
        assert guide_line == pytest.approx(num["x0_pred"], abs=3e-3)
        # the Euler update gives the next step's input exactly as the loop computed it
        assert update_line == pytest.approx(frames.numbers[k + 1]["x_t"], abs=3e-3)
    fwd = numbers_in(forward_equation(0.25, 0.5, -1.0))
    assert fwd[-1] == pytest.approx(0.75 * 0.5 + 0.25 * -1.0)


def test_inpaint_handler_keeps_outside_and_reports(lab):
    image = PIL.Image.open(example_images()[0])
    mask = np.zeros((32, 32), np.float32)
    mask[4:16, 4:28] = 1
    events, out = last(lab.inpaint_run(image, mask, "red heart", 1.0, steps=4, guidance_scale=3.0, jump_length=2, jump_n_sample=2, seed=0))
    assert out["max_outside_diff"] == 0.0
    res = np.asarray(out["result"])
    assert np.array_equal(res[mask == 0], np.asarray(image.convert("RGB"))[mask == 0])
    view = lab.inpaint_step_view(out["frames"], 1)
    assert set(view) == {"proposal", "known", "merged"}
    with pytest.raises(ValueError, match="mask is empty"):
        list(lab.inpaint_run(image, np.zeros((32, 32)), "", 1.0, 4, 3.0, 1, 1, 0))


def test_denoise_handler_metrics(lab):
    image = PIL.Image.open(example_images()[1])
    _, out = last(lab.denoise(image, sigma=0.4, image_is_noisy=False, steps=10, seed=0))
    assert out["steps_scheduled"] == 10 and abs(out["sigma_start"] - 0.4) <= 0.6 / 10
    assert out["steps_run"] == len(out["frames"]) == 4
    names = [r[0] for r in out["metrics"]]
    assert names == ["noisy input", "one-step x̂₀", "iterative result"]
    assert all(np.isfinite(r[1]) and -1 <= r[2] <= 1 for r in out["metrics"])
    _, out0 = last(lab.denoise(image, sigma=0.0, image_is_noisy=False, steps=10, seed=0))
    assert out0["steps_run"] == 0


def test_forward_reverse_and_export(lab, tmp_path):
    _, out = last(lab.forward_reverse("rocket", None, steps=4, guidance_scale=3.0, seed=0))
    frames = out["frames"]
    assert frames.panels["forward"].shape == (5, 32, 32, 3) and frames.panels["x_t"].shape == (5, 32, 32, 3)
    # the forward process at the last index (sigma = 0) is the image the reverse run made
    assert np.array_equal(frames.panels["forward"][-1], frames.panels["x_t"][-1])
    end = lab.step_view(frames, len(frames))
    assert "Forward" in end["equations"] and "Reverse" in end["equations"]
    gif = lab.export(frames, "gif")
    with PIL.Image.open(gif) as im:
        assert im.n_frames == len(frames) + 1 and im.size[0] % 2 == 0
    mp4 = lab.export(frames, "mp4")
    assert mp4.stat().st_size > 1000 and open(mp4, "rb").read(12)[4:8] == b"ftyp"


def test_how_it_works(lab):
    svg = lab.architecture()
    cfg = lab.t2i.transformer.config
    assert svg.startswith("<svg") and f"{cfg.hidden_size}" in svg and f"B{cfg.depth}" in svg
    image, gallery = lab.attention_maps("red heart", seed=0, sigma=0.5, steps=3)
    labels = [c for _, c in gallery]
    assert labels[1].startswith("red") and labels[2].startswith("heart") and len(labels) == 4
    shares = [float(re.search(r"(\d\.\d+) of attention", c).group(1)) for c in labels]
    assert sum(shares) == pytest.approx(1.0, abs=0.03)  # attention over the tokens sums to one
    assert lab.schedule("unipc", 10) is not None
