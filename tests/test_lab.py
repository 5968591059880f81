"""The app's tab handlers as plain functions, on a tiny random model."""

import json
import re

import numpy as np
import PIL.Image
import PIL.ImageDraw
import pytest
import torch

from lab import denoise, explain, generate, inpaint, trace
from lab.frames import forward_equation, reverse_equations
from lab.runtime import MODELS, example_images, runtime
from pipelines import DEFAULT_GUIDANCE, DEFAULT_SAMPLER


pytestmark = pytest.mark.usefixtures("tiny_runtime")  # the app served by a tiny random model


def run(gen):
    events = list(gen)
    assert events, "handler yielded nothing"
    return events, events[-1]


def numbers_in(s: str) -> list[float]:
    return [float(x) for x in re.findall(r"[-+]?\d+\.\d+", s)]


def mask_png(tmp_path, rows=slice(4, 16), cols=slice(4, 28)):
    m = np.zeros((32, 32, 4), np.uint8)
    m[rows, cols] = 255
    path = tmp_path / "mask.png"
    PIL.Image.fromarray(m).save(path)
    return str(path), m[..., 3] > 0


def test_examples_ship():
    ex = example_images()
    assert len(ex) >= 4 and all(PIL.Image.open(p).size == (32, 32) for p in ex)


def test_each_model_starts_from_the_settings_its_gate_ran(monkeypatch, tmp_path):
    """Generate's guidance and sampler follow the model choice: each model's own, from its gate.json,
    and the shared defaults for a model folder that has none."""
    for key, (weights, _) in MODELS.items():
        chosen = json.loads((weights / "evaluation" / "gate.json").read_text())
        assert generate.model_settings(key) == (chosen["guidance_scale"], chosen["sampler"])
    assert generate.model_settings("latent") != generate.model_settings("pixel")  # a switch changes them
    monkeypatch.setitem(MODELS, "latent", (tmp_path, "untrained"))
    assert generate.model_settings("latent") == (DEFAULT_GUIDANCE, DEFAULT_SAMPLER)


@pytest.mark.parametrize("model", MODELS)
def test_generate_streams_then_returns_everything(model):
    events, out = run(generate.generate("red apple", "", 5, False, 4, 3.0, "heun", 2, model))
    gallery, live, seed, status, frames, slider, files, sx, s0, se, info = out
    size = runtime(model).image_size
    assert len(gallery) == 2 and gallery[0].size == (size, size) and seed == 5
    # Heun: 4 steps are 4 steps (7 model calls), and every number says so
    assert len(frames) == 4 and "Done: 4 steps (7 model calls)" in status
    steps_seen = [e[3] for e in events[1:-1]]
    assert steps_seen == [f"Step {i} of 4…" for i in range(1, 5)]
    # the live x̂₀ is the decoded image (two images side by side at the model's own resolution, enlarged)
    assert all(e[1].height == 256 and e[1].width > 2 * 256 for e in events[1:-1])
    # x̂₀ shows the image at its size; x_t is the state: pixels, or a latent's 4 channels
    assert s0.size == (256, 256) and info.startswith("4 of 4 steps done")
    assert frames.latent == (model == "latent") and frames.states.shape[1] == (size if model == "pixel" else 2 * 16 + 1)
    assert [p.name.split("-")[-1] for p in map(__import__("pathlib").Path, files)] == [f"{size}px.png", "256px.png"] * 2


def test_same_settings_same_image_whatever_ran_before(tmp_path):
    """Runs never change each other: a RePaint inpaint (Euler) or a trace with another sampler in
    between leaves the next generate and attention results as they were."""
    a = run(generate.generate("cat face", "", 3, False, 4, 3.0, "unipc", 1))[1][0][0]
    att_a = explain.attention("cat face", 0, 0.5)
    path, _ = mask_png(tmp_path)
    editor = {"background": str(example_images()[0]), "layers": [path]}
    run(inpaint.inpaint(editor, "red heart", 1.0, 4, 3.0, 2, 2, 0))
    run(trace.run_trace("rocket", None, 4, 3.0, 0, "heun"))
    b = run(generate.generate("cat face", "", 3, False, 4, 3.0, "unipc", 1))[1][0][0]
    att_b = explain.attention("cat face", 0, 0.5)
    assert np.array_equal(np.asarray(a), np.asarray(b))
    assert np.array_equal(np.asarray(att_a[1]), np.asarray(att_b[1])) and att_a[3] == att_b[3]
    # and a plain inpaint after a RePaint one runs the default sampler again
    out = run(inpaint.inpaint(editor, "red heart", 1.0, 4, 3.0, 1, 1, 0))[1]
    assert "sampler unipc" in out[3]


@pytest.mark.parametrize("model", MODELS)
def test_equations_show_the_numbers_the_pipeline_ran(model):
    out = run(trace.run_trace("cat face", None, 5, 4.0, 1, "euler", model))[1]
    frames = out[0]
    x = frames.symbol
    assert x == ("z" if model == "latent" else "x") and ("z_t" in trace.view(frames, 2)[7]) == (model == "latent")
    for k in range(len(frames) - 1):
        num = frames.steps[k].numbers
        lines = [line for line in reverse_equations(num, "euler", x).splitlines() if line.startswith("$$")]
        x0_line, eps_line, guide_line, update_line = (numbers_in(line)[-1] for line in lines)
        assert x0_line == pytest.approx(num["x0_pred"], abs=2e-3)
        assert eps_line == pytest.approx(num["noise_pred"], abs=2e-3)
        assert guide_line == pytest.approx(num["x0_pred"], abs=3e-3)  # the guided x0 the pipeline used
        # Euler's update gives the next position's state exactly as the loop computed it
        assert update_line == pytest.approx(frames.steps[k + 1].numbers["x_t"], abs=3e-3)
    fwd = numbers_in(forward_equation(0.25, 0.5, -1.0))
    assert fwd[-1] == pytest.approx(0.75 * 0.5 + 0.25 * -1.0)


def test_step_numbers_agree_everywhere():
    # the 32-px model named: its plain schedule (shift 1) ends at the σ this test reads; the default latent model's is shifted
    out = run(trace.run_trace("cat face", None, 20, 4.0, 1, "euler", "pixel"))[1]
    frames = out[0]
    panels = trace.view(frames, 10)
    equations, position = panels[7], panels[9]
    assert "10 of 20 steps done" in position
    assert "step 11 of 20** (from 10 to 11 steps done)" in equations
    assert "Forward** at position 10" in equations
    assert frames.sigmas[10] == pytest.approx(frames.steps[10].numbers["sigma"])
    last = trace.view(frames, 20)[7]  # Euler's schedule ends at σ = 0.001: the last step says why it exists
    assert "ends at σ = 0.001, not 0" in last and "ends at σ" not in equations
    a, b = frames.states[19].astype(int), frames.states[20].astype(int)
    assert np.abs(a - b).max() <= 1  # ... and that it changes the image by under one grey level (rounding)


def test_non_euler_update_is_labelled_as_euler_and_shows_the_real_step():
    out = run(trace.run_trace("cat face", None, 5, 4.0, 1, "dpm++2m"))[1]
    frames = out[0]
    text = reverse_equations(frames.steps[2].numbers, "dpm++2m")
    assert "Euler:" in text and "dpm++2m" in text
    assert numbers_in(text.split("moved the pixel to")[1])[0] == pytest.approx(frames.steps[3].numbers["x_t"], abs=2e-3)


@pytest.mark.parametrize("model", MODELS)
def test_inpaint_keeps_outside_and_the_merge_panel_is_the_real_merge(tmp_path, model):
    path, painted = mask_png(tmp_path)
    editor = {"background": str(example_images()[0]), "layers": [path]}
    out = run(inpaint.inpaint(editor, "red heart", 1.0, 4, 3.0, 2, 2, 0, model))[1]
    result, _, diff, status, frames, *_ = out
    assert "exactly unchanged" in status and result.size == (256, 256) and diff.size == (256, 256)
    # every step's "merged" panel is that step's merge: its proposal inside the mask, the known
    # region outside, even at RePaint's jumps, where the next step starts from a re-noised state
    # (on the latent model: per latent channel, the mask pooled to the latent grid)
    shown = np.asarray(inpaint.step_view(frames, 1)[2]).shape[:2]
    big = lambda a: np.asarray(PIL.Image.fromarray(a).resize(shown[::-1], PIL.Image.NEAREST))  # noqa: E731
    inside = frames.mask.astype(bool)[..., None]
    jumps = 0
    for j in range(len(frames)):
        step = frames.steps[j]
        merged = np.asarray(inpaint.step_view(frames, j + 1)[2])  # the slider counts steps 1..N
        assert np.array_equal(merged, big(np.where(inside, step.proposal, step.known)))
        jumps += not np.array_equal(merged, big(frames.states[j + 1]))
    assert jumps == 2  # the two jumps back up (4 steps in stretches of 2, each run twice)
    assert len(frames) == 8  # 4 steps, each stretch of 2 run twice
    assert out[5].minimum == 1 and out[5].maximum == 8 and "Step 8 of 8" in inpaint.step_view(frames, 8)[3]
    assert "Step 1 of 8" in inpaint.step_view(frames, 1)[3]  # one count from 1 to N, as Generate's "Step k of N…"


def test_denoise_metrics_and_the_sigma_used(tmp_path):
    out = run(denoise.denoise(str(example_images()[1]), 0.4, False, 10, 0, ""))[1]
    noisy, one, result, rows, note, plot = out
    assert [r[0] for r in rows] == ["noisy input", "one-step x̂₀", "iterative result"]
    assert all(np.isfinite(r[1]) and -1 <= r[2] <= 1 and r[3] > 0 for r in rows)
    assert "You asked for σ = 0.40" in note and "σ = 0.4" in note and " dB" in note
    out0 = run(denoise.denoise(str(example_images()[1]), 0.0, False, 10, 0, ""))[1]
    assert "nothing to denoise" in out0[4]


def test_noisy_upload_round_trip(tmp_path):
    """Download the tab's own "noisy input x_t", upload it back as already noisy at the same σ:
    the run starts from that same x_t (up to 8-bit rounding and the display-size resize)."""
    first = run(denoise.denoise(str(example_images()[1]), 0.5, False, 20, 0, "", "pixel"))[1]
    path = tmp_path / "downloaded_xt.png"
    first[0].save(path)  # the panel as the browser downloads it (8x, nearest neighbour)
    again = run(denoise.denoise(str(path), 0.5, True, 20, 0, "", "pixel"))[1]
    a, b = (np.asarray(x, np.float32) for x in (first[0], again[0]))
    assert np.abs(a - b).mean() < 3, np.abs(a - b).mean()
    assert "read as x_t at this σ" in again[4] and again[3] == []


def test_denoise_words_follow_the_table():
    """The note on one step against iterating is chosen by this run's numbers, not fixed text."""
    blurry = denoise.why_numbers([["noisy", 10, 0.1, 3.0], ["one", 23.0, 0.8, 0.5], ["it", 21.0, 0.7, 0.95]])
    sharp = denoise.why_numbers([["noisy", 10, 0.1, 3.0], ["one", 23.02, 0.8, 0.92], ["it", 22.95, 0.7, 0.95]])
    worse = denoise.why_numbers([["noisy", 10, 0.1, 3.0], ["one", 20.0, 0.8, 0.5], ["it", 24.0, 0.9, 0.95]])
    assert "wins on PSNR (23.00 vs 21.00 dB)" in blurry and "blurry (sharpness 0.50" in blurry
    assert "hides little" in sharp and "0.92" in sharp and "blurry" not in sharp.split("Raise")[0]
    assert "iterating wins on PSNR too" in worse
    out = run(denoise.denoise(str(example_images()[1]), 0.4, False, 10, 0, ""))[1]
    one = out[3][1]
    assert f"{one[1]:.2f}" in out[4] or f"{one[3]:.2f}" in out[4]  # the note quotes the table


@pytest.mark.parametrize("model", MODELS)
def test_forward_reverse_and_labelled_export(model):
    out = run(trace.run_trace("rocket", None, 4, 3.0, 0, "euler", model))[1]
    frames = out[0]
    side = 32 if model == "pixel" else 2 * 16 + 1  # pixels, or a latent's four 16x16 channels in a 2x2 grid
    assert frames.forward.shape == (5, side, side, 3) and frames.states.shape == (5, side, side, 3)
    assert frames.steps[0].x0_pred.shape == (runtime(model).image_size,) * 2 + (3,)  # x̂₀ decoded
    # the forward process at the end (sigma = 0) is the image the reverse run made
    assert np.array_equal(frames.forward[-1], frames.states[-1])
    assert frames.forward_numbers[0]["sigma"] == pytest.approx(1.0)
    gif = trace.export(frames, "gif")
    with PIL.Image.open(gif) as im:
        assert im.n_frames == len(frames) + 1 and im.size[0] % 2 == 0
        first = np.asarray(im.convert("RGB"))
    assert (first[:20] < 128).any()  # a title is drawn above the panels
    mp4 = trace.export(frames, "mp4")
    assert open(mp4, "rb").read(12)[4:8] == b"ftyp"


def test_upload_in_forward_reverse_says_it_is_a_new_sample():
    out = run(trace.run_trace("rocket", str(example_images()[0]), 4, 3.0, 0, "euler", "pixel"))[1]
    assert "new sample" in out[1]
    x0 = np.asarray(PIL.Image.open(example_images()[0]).convert("RGB"))
    assert np.array_equal(out[0].forward[-1], x0)


def test_how_it_works_attention_on_one_scale():
    svg = explain.architecture()
    assert svg.startswith("<svg") and "B2" in svg
    image, tiles, legend, rows = explain.attention("red heart", 0, 0.5)
    assert [r[0] for r in rows] == ["[CLS]", "red", "heart", "[SEP]"]
    assert sum(r[1] for r in rows) == pytest.approx(1.0, abs=0.03)  # attention over the tokens sums to one
    assert tiles.width > 2.5 * tiles.height  # four captioned tiles in one row, nothing to crop
    assert legend.size[0] > legend.size[1]
    assert explain.schedule("heun", 10) is not None
    # the scale is the words': the markers, which take most attention, clip instead of washing the words out
    heats = [np.full((2, 2), 0.7), np.array([[0.0, 0.1], [0.05, 0.02]]), np.full((2, 2), 0.04), np.full((2, 2), 0.2)]
    assert explain.colour_scale(["[CLS]", "red", "apple", "[SEP]"], heats) == pytest.approx(0.1)


def test_many_runs_leave_a_bounded_number_of_files(tmp_path, monkeypatch):
    from lab import files

    monkeypatch.setattr(files, "OUTPUT_ROOT", tmp_path / "outputs")
    image = PIL.Image.new("RGB", (32, 32), "red")
    for _ in range(files.MAX_RUN_DIRS + 40):
        generate.downloads([image])
    runs = list((tmp_path / "outputs").iterdir())
    assert len(runs) == files.MAX_RUN_DIRS and all(len(list(r.iterdir())) == 2 for r in runs)


def test_autoencoder_view_shows_the_latent_and_an_honest_round_trip():
    from lab import autoencoder
    from lab.runtime import runtime
    from pipelines.latents import LatentSpace

    path = str(example_images(64)[3])
    recon, original, latents, error, note = autoencoder.autoencode(path)
    assert recon.size == original.size == error.size == (256, 256)
    assert latents.width > 4 * 128  # four 16x16 channels, each enlarged 8x, side by side
    assert "4 channels of 16×16" in note and "1,024 numbers" in note and "12×" in note
    # the PSNR it states is the round trip's, recomputed here from the same autoencoder
    x = np.asarray(PIL.Image.open(path).convert("RGB"), np.float32) / 255.0
    space = runtime("latent").space
    import torch

    xt = torch.from_numpy(x).permute(2, 0, 1)[None] * 2 - 1
    r = ((space.decode(space.encode(xt))[0].permute(1, 2, 0).numpy() + 1) / 2)
    mse = np.mean((np.round(r * 255) / 255 - np.round(x * 255) / 255) ** 2)
    assert numbers_in(note.split("PSNR")[1])[0] == pytest.approx(10 * np.log10(1 / mse), abs=0.05)
    with pytest.raises(Exception, match="Image"):
        autoencoder.autoencode(None)


def test_outputs_by_name():
    import gradio as gr

    from lab.outputs import Outputs

    out = Outputs("a", "b", "c")
    update = out(b=1)
    assert update[1] == 1 and all(isinstance(v, type(gr.skip())) for v in (update[0], update[2]))
    assert out.reset(c=3) == (None, None, 3)
    with pytest.raises(KeyError, match="d"):
        out(d=4)
    assert out.components({"c": "C", "a": "A", "b": "B"}) == ["A", "B", "C"]


def test_every_model_call_holds_the_model_lock():
    """Generation, attention maps, the autoencoder and watch-it-learn's training and sampling
    all run the DiT (or the autoencoder) only while holding the one model lock."""
    import torch

    from lab import autoencoder, learn
    from lab import runtime as rt
    from pipelines.transformer_dit import TimestepEmbedder

    seen = []

    def hook(module, args, out):
        if isinstance(module, TimestepEmbedder) or type(module).__name__ in ("Decoder", "Encoder"):
            seen.append((type(module).__name__, rt.MODEL_LOCK.locked()))

    handle = torch.nn.modules.module.register_module_forward_hook(hook)
    try:
        for model in MODELS:
            run(generate.generate("red apple", "", 0, False, 2, 3.0, "euler", 1, model))
            run(denoise.denoise(str(example_images()[1]), 0.5, False, 4, 0, "", model))
            explain.attention("red heart", 0, 0.5, model)
        autoencoder.autoencode(str(example_images(64)[0]))
        list(learn.learn(learn.emoji_choices()[:4], 10, 0, min_steps=2))
    finally:
        handle.remove()
    kinds = {k for k, _ in seen}
    assert {"TimestepEmbedder", "Encoder", "Decoder"} <= kinds
    assert all(held for _, held in seen), [k for k, held in seen if not held][:5]


def test_exported_frame_labels_draw_every_symbol():
    """Every label drawn into images (GIF/MP4 frames, captions) draws σ, ε̂, x̂₀ and Chinese with
    a font that has them: no character renders as the missing-glyph box, through the fallback
    chain DejaVu -> a CJK font (installed by .ci/run and packages.txt)."""
    from lab.viz import cjk_font, text_runs

    assert cjk_font() is not None, "no CJK font: apt-get install fonts-noto-cjk"

    def ink(ch: str, f) -> bytes:
        im = PIL.Image.new("L", (40, 40), 0)
        PIL.ImageDraw.Draw(im).text((5, 5), ch, fill=255, font=f)
        return im.tobytes()

    for run, f in text_runs("x̂₀ ε̂ σ 噪声 去噪", 20):
        box = ink("\ue000", f)  # a private-use code point: no font has it, so this is the missing-glyph shape
        for ch in run.replace(" ", ""):
            assert ink(ch, f) != box and any(ink(ch, f)), (repr(ch), f.getname())
    assert {f.getname()[0] for _, f in text_runs("x̂₀ 噪声", 20)} == {"DejaVu Sans", "Noto Sans CJK SC"}


def test_figures_draw_chinese_and_greek_without_missing_glyphs():
    """matplotlib warns "Glyph ... missing" when it would draw a box; with warnings as errors,
    a figure titled in Chinese and Greek draws."""
    import warnings

    from lab.viz import finished, subplots

    fig, ax = subplots(figsize=(3, 2))
    ax.set_title("x̂₀ ε̂ σ 噪声")
    ax.plot([0, 1], [0, 1], label="去噪")
    ax.legend()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        finished(fig).canvas.draw()


def test_every_view_plots_the_samplers_one_sigma_grid():
    """Denoise and How it works draw the same σ values, one per step (Heun lists each twice
    internally), from pipelines.schedulers.step_sigmas."""
    from lab.runtime import DEFAULT_MODEL, runtime
    from pipelines import schedulers as flow

    for model in ("pixel", DEFAULT_MODEL):  # each at its own timestep shift (the latent model's is 3)
        want = flow.step_sigmas(runtime(model).scheduler("heun"), 8).tolist() + [0.0]
        assert len(want) == 9
        drawn = explain.schedule("heun", 8, model).axes[0].lines[0].get_ydata()
        assert np.allclose(drawn, want)
        want = flow.step_sigmas(runtime(model).scheduler(denoise.DEFAULT_SAMPLER), 8).tolist() + [0.0]
        assert np.allclose(denoise.schedule_point(8, 0.5, model).axes[0].lines[0].get_ydata(), want)
    assert np.allclose(explain.schedule("heun", 8, "pixel").axes[0].lines[0].get_ydata(), flow.step_sigmas("heun", 8).tolist() + [0.0])


def test_the_model_drawing_reads_its_sizes_from_the_config():
    from lab.viz import architecture_svg

    svg = architecture_svg({"sample_size": 16, "patch_size": 2, "hidden_size": 64, "depth": 4, "num_heads": 2, "mlp_ratio": 2.0,
                            "max_text_length": 16, "in_channels": 4, "text_dim": 384}, {"total": 1})
    assert "MLP (×2)" in svg and "×4" not in svg.split("MLP")[1][:5]


def test_compare_two_prompts_starts_from_one_noise_and_finds_where_they_part():
    from lab import compare

    out = dict(zip(compare.OUT.names, compare.compare("cat face", "red apple", 3, 6, 3.0, "euler")))
    pairs = out["pairs"]
    assert len(pairs.x0_a) == len(pairs.x0_b) == len(pairs.distance) == 6
    # the per-step numbers are the distances of the images shown
    a, b = pairs.x0_a[2].astype(float) / 255, pairs.x0_b[2].astype(float) / 255
    assert pairs.distance[2] == pytest.approx(np.sqrt(((a - b) ** 2).mean()), abs=0.01)
    k = pairs.parting_step()
    assert pairs.state_distance[k] >= compare.PART_WAYS * pairs.state_distance[-1]
    assert all(d < compare.PART_WAYS * pairs.state_distance[-1] for d in pairs.state_distance[:k])
    assert f"step {k + 1}**" in out["status"] and out["slider"].value == k + 1
    image, info = compare.show_step(pairs, 4)
    scale = image.height // pairs.x0_a[0].shape[0]
    assert image.width == 3 * image.height + 2 * 4 * scale and "Step 4 of 6" in info  # a | b | difference, 4-px gaps
    same = dict(zip(compare.OUT.names, compare.compare("cat face", "cat face", 3, 4, 3.0, "euler")))
    assert max(same["pairs"].state_distance) == 0 and "identical" in same["status"]
    with pytest.raises(Exception, match="Second prompt"):
        compare.compare("cat", "", 0, 4, 3.0, "euler")


def test_prompt_reading_known_words_paraphrases_and_nonsense():
    """The text encoder's own similarity: an emoji name finds itself, a paraphrase finds its emoji,
    nonsense finds nothing close and says so."""
    from lab import reading

    known = reading.read_prompt("red apple")
    assert "`[CLS]` `red` `apple` `[SEP]`" in known and "red apple (emoji name, 1.00)" in known
    assert reading.UNKNOWN_NOTE not in known
    paraphrase = reading.read_prompt("a slice of pizza")
    assert "pizza (emoji name" in paraphrase and reading.UNKNOWN_NOTE not in paraphrase
    nonsense = reading.read_prompt("xqzv blorp flimflam")
    assert reading.UNKNOWN_NOTE in nonsense and "`##` " not in nonsense
    long = reading.read_prompt(" ".join(["word"] * 30))
    assert "reads only these" in long


@pytest.mark.parametrize("model", MODELS)
def test_inpaint_editor_gets_crisp_examples_that_come_back_exact(tmp_path, model):
    """The editor shows the examples at the model's size enlarged to 256 px (its own scaling
    blurs a small image); the handler takes them back to the exact pixels, so outside the mask
    nothing moves."""
    size = runtime(model).image_size
    shown = inpaint.display_examples(size)
    big = PIL.Image.open(shown[0])
    assert big.size == (256, 256)
    m = np.zeros((256, 256, 4), np.uint8)
    m[32:128, 32:224] = 255  # a region at the editor's size
    PIL.Image.fromarray(m).save(tmp_path / "mask256.png")
    editor = {"background": shown[0], "layers": [str(tmp_path / "mask256.png")]}
    out = run(inpaint.inpaint(editor, "", 1.0, 3, 3.0, 1, 1, 0, model))[1]
    assert "exactly unchanged" in out[3]
    from lab.inputs import editor_image_and_mask

    image, mask = editor_image_and_mask(editor, size=size)
    assert np.array_equal(np.asarray(image), np.asarray(PIL.Image.open(example_images(size)[0]).convert("RGB")))
    assert mask.sum() == (96 * 192) * (size / 256) ** 2


def test_legends_sit_outside_the_curves():
    """Every figure whose legend would cover its lines puts it above or below the axes."""
    from lab import compare, race, viz

    def outside(fig) -> bool:
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        canvas = FigureCanvasAgg(fig)
        canvas.draw()
        renderer = canvas.get_renderer()
        ax = fig.axes[0]
        legend, box = ax.get_legend().get_window_extent(renderer), ax.get_window_extent(renderer)
        return legend.y1 <= box.y0 + 1 or legend.y0 >= box.y1 - 1

    pairs = compare.Pairs([np.zeros((2, 2, 3), np.uint8)] * 3, [np.zeros((2, 2, 3), np.uint8)] * 3, [1.0, 0.6, 0.3],
                          [0.3, 0.2, 0.1], [0.1, 0.2, 0.3])
    figures = [viz.schedule_figure([1.0, 0.5, 0.0], current=1), race.error_figure({"euler": [(4, 0.3), (8, 0.1)]}),
               compare.distance_figure(pairs, 1)]
    assert all(outside(f) for f in figures)


def test_no_panel_label_covers_a_plot():
    """Gradio draws a component's label over its top-left corner: on a plot it covered the
    figure's title. Every plot is titled inside the figure and shows no label."""
    import gradio as gr

    import app

    plots = [b for b in app.demo.blocks.values() if isinstance(b, gr.Plot)]
    assert len(plots) >= 7 and not [p.elem_id for p in plots if p.show_label]


@pytest.mark.parametrize("model", MODELS)
def test_denoise_attention_compare_and_race_run_on_both_models(model):
    """The tabs not covered above, on each model: their images at the model's resolution (shown
    at the display size), numbers finite, and the latent model's words where they apply."""
    from lab import compare, model_choice, race

    size = runtime(model).image_size
    noisy, one, result, rows, note, _ = run(denoise.denoise(str(example_images()[1]), 0.5, False, 6, 0, "", model))[1]
    assert noisy.size == one.size == result.size == (256, 256) and len(rows) == 3
    assert all(np.isfinite(r[1]) for r in rows) and ("latent z₀" in note) == (model == "latent")
    image, tiles, legend, shares = explain.attention("red heart", 0, 0.5, model)
    assert image.size == (256, 256) and [r[0] for r in shares] == ["[CLS]", "red", "heart", "[SEP]"]
    assert sum(r[1] for r in shares) == pytest.approx(1.0, abs=0.03)
    pairs = compare.run_pair("cat face", "dog face", 0, 3, 3.0, "euler", model)
    assert pairs.x0_a[0].shape == (size, size, 3) and len(pairs.distance) == 3
    r = race.run_race("cat face", 0, 2, 2.0, model=model)
    assert r.results[race.REFERENCE][0].shape[-1] == size  # errors are measured on pixels for both models
    cost = model_choice.model_cost(model)
    assert f"{size}×{size} images" in cost and "GFLOP" in cost and ("decoder adds" in cost) == (model == "latent")
    assert ("z_t" in explain.architecture(model)) == (model == "latent")


def test_a_models_saved_shift_reaches_every_view_of_it():
    """The timestep shift saved with a model's scheduler is the grid every sampler walks on it:
    pipelines the app builds, the Denoise and How-it-works plots (titled with it); the other model
    keeps the plain grid, and a library user's set_sampler keeps the saved shift."""
    from pipelines import DiTText2ImagePipeline, make_scheduler
    from pipelines import schedulers as flow

    from .conftest import TINY_LATENT_SHIFT

    latent, pixel = runtime("latent"), runtime("pixel")
    assert latent.shift == TINY_LATENT_SHIFT and pixel.shift == 1.0
    want = flow.step_sigmas(make_scheduler("heun", TINY_LATENT_SHIFT), 8)
    assert torch.allclose(latent.pipeline(DiTText2ImagePipeline, "heun").step_sigmas(8), want)
    assert torch.allclose(pixel.pipeline(DiTText2ImagePipeline, "heun").step_sigmas(8), flow.step_sigmas("heun", 8))
    figure = explain.schedule("heun", 8, "latent")
    assert np.allclose(figure.axes[0].lines[0].get_ydata(), want.tolist() + [0.0]) and "shift 3" in figure.axes[0].get_title()
    assert "shift" not in explain.schedule("heun", 8, "pixel").axes[0].get_title()
    grid = flow.step_sigmas(make_scheduler(denoise.DEFAULT_SAMPLER, TINY_LATENT_SHIFT), 8).tolist() + [0.0]
    assert np.allclose(denoise.schedule_point(8, 0.5, "latent").axes[0].lines[0].get_ydata(), grid)
    pipe = DiTText2ImagePipeline.from_pretrained(latent.weights)
    pipe.set_sampler("dpm++2m")
    assert flow.scheduler_shift(pipe.scheduler) == TINY_LATENT_SHIFT and pipe.sampler == "dpm++2m"
