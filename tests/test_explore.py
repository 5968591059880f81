"""The four Explore views as plain functions, on a tiny random model where a model is needed."""

import numpy as np
import PIL.Image
import pytest
import torch

from lab import flow2d, learn, paths, race
from lab.runtime import example_images, use_runtime


pytestmark = pytest.mark.usefixtures("tiny_runtime")  # the app served by a tiny random model


def test_sampler_race_reports_each_solver():
    gallery, fig, table, verdict = race.race("cat face", 0, 8, 1.0, progress=lambda *a, **k: None)
    assert gallery.width > gallery.height and fig is not None  # five captioned tiles, three to a row
    rows = {r[0]: r for r in table}
    assert rows["euler"][2] == 8 and rows["heun"][2] == 15  # NFE: Heun calls the model twice per step but the last
    assert all(np.isfinite(r[3]) and r[3] > 0 for r in table)
    assert all(f"{r[0]} {r[4]:.1f}" in verdict for r in table)  # the words quote the table's orders


def _result(orders: dict[str, float], finest: float) -> race.RaceResult:
    """A race whose error curves have the given slopes and end `finest` from the reference."""
    curves = {s: [(n, finest * (32 / n) ** p) for n in race.STEP_COUNTS] for s, p in orders.items()}
    return race.RaceResult({}, {}, curves)


def test_race_words_follow_its_numbers():
    """Split, converging in the theory's order, too close to order, converging against it: four different texts."""
    ok = race.verdict(_result({"euler": 1.0, "heun": 2.0, "dpm++2m": 1.5, "unipc": 1.8}, 0.01), 2.0)
    assert "converge" in ok and "as the theory orders them" in ok
    against = race.verdict(_result({"euler": 1.0, "heun": 2.0, "dpm++2m": 0.4, "unipc": 1.8}, 0.01), 2.0)
    assert "dpm++2m measures below Euler" in against and "as the theory" not in against
    level = race.verdict(_result({"euler": 1.4, "heun": 2.0, "dpm++2m": 1.3, "unipc": 1.8}, 0.01), 2.0)
    assert "dpm++2m and Euler measure alike" in level and "against the theory" not in level and "as the theory" not in level
    split = race.verdict(_result({"euler": 0.05, "heun": 0.1, "dpm++2m": 0.1, "unipc": 0.1}, 0.4), 5.0)
    assert "split" in split and "boundary between two images" in split and "converge" not in split.split("**")[1]


@pytest.mark.slow
def test_sampler_race_at_its_defaults_converges_on_the_shipped_model():
    """The race's default guidance was chosen on tuning prompts (scripts/race_defaults.py);
    here, on other prompts, the paths do not split at it: the 32-step solves all come close to
    the 100-step reference, and every solver's error falls with more steps (median order)."""
    previous = use_runtime(None)  # the shipped weights
    try:
        results = [race.run_race(p, 0, 8, race.DEFAULT_RACE_GUIDANCE, model="pixel") for p in ("cat face", "rocket", "tree", "pizza")]
        default = race.race(race.DEFAULT_RACE_PROMPT, 0, 8, race.DEFAULT_RACE_GUIDANCE, "pixel", progress=lambda *a, **k: None)[3]
    finally:
        use_runtime(*previous)
    assert not any(r.split for r in results), [r.finest_rmse for r in results]
    for sampler in race.SAMPLERS:
        assert np.median([r.orders[sampler] for r in results]) > 0.5, [r.orders for r in results]
    assert "converge" in default and "against the theory" not in default, default  # no solver clearly below Euler


def test_order_fit():
    pts = [(n, 3.0 / n**2) for n in (4, 8, 16, 32)]
    assert race.order(pts) == pytest.approx(2.0)


def test_flow_in_2d_moves_noise_onto_the_data():
    state, note, slider, fig = flow2d.run_flow("two moons", 3.0, 30, 0)
    p = state.paths[1.0]
    data = state.data[:600]
    assert flow2d.chamfer(p[-1], data) <= 0.5 * flow2d.chamfer(p[0], data)
    assert np.mean(state.losses[-50:]) < np.mean(state.losses[:50])
    # guidance pushes the two classes apart: their centres are further apart at g = 3
    def gap(q):
        return np.linalg.norm(q[state.classes == 0].mean(0) - q[state.classes == 1].mean(0))
    assert gap(state.paths[3.0][-1]) > gap(p[-1])
    assert fig is not None and "Chamfer" in note
    gif = flow2d.export_gif(state)
    with PIL.Image.open(gif) as im:
        assert im.n_frames == 31


def test_flow_in_2d_learns_the_one_class_sets_and_says_why_guidance_does_nothing():
    """The spiral is drawn as a spiral, not a filled disc (its Chamfer distance falls as far as
    the two moons'), the silhouette says which emoji it is, and for one-class data the note says
    why the g > 1 panel equals the g = 1 one."""
    spiral, note, _, _ = flow2d.run_flow("spiral", 3.0, 30, 0)
    p, data = spiral.paths[1.0], spiral.data[:600]
    assert flow2d.chamfer(p[-1], data) <= 0.3 * flow2d.chamfer(p[0], data)
    assert "one class" in note and "for any g" in note
    moved = np.linalg.norm(spiral.paths[3.0][-1] - p[-1], axis=1).mean()
    assert moved < 0.1 * np.linalg.norm(data - data.mean(0), axis=1).mean()  # what the note explains
    _, heart_note, _, _ = flow2d.run_flow("emoji silhouette", 1.0, 8, 0)
    assert "red heart" in heart_note
    _, moons_note, _, _ = flow2d.run_flow("two moons", 3.0, 8, 0)
    assert "one class" not in moons_note


@pytest.mark.parametrize("name", flow2d.DATASETS)
def test_each_2d_dataset(name):
    pts, cls = flow2d.sample_data(name, 500, np.random.default_rng(0))
    assert pts.shape == (500, 2) and np.abs(pts).max() < 3.5 and set(np.unique(cls)) <= {0, 1}


def test_watch_it_learn_loss_falls_and_samples_change():
    names = learn.emoji_choices()[:4]
    events = list(learn.learn(names, 10, 0, min_steps=80))
    status = events[-1][0]
    assert status.startswith("Done") and "Nothing was saved" in status
    import re

    before, after = (float(x) for x in re.search(r"loss (\d+\.\d+) at the first step → (\d+\.\d+)", status).groups())
    assert after < before
    curve = events[-1][1].axes[0].lines[0].get_ydata()  # the grey per-step line starts at the quoted number
    assert curve[0] == pytest.approx(before, abs=5e-4)
    first, last = np.asarray(events[0][2]), np.asarray(events[-1][3])
    assert first.shape == last.shape and np.abs(first.astype(int) - last.astype(int)).mean() > 5
    assert sum(p.numel() for p in learn.DiTTransformer(**learn.TINY).parameters()) < 1_000_000


def test_watch_it_learn_rejects_bad_picks():
    import gradio as gr

    with pytest.raises(gr.Error, match="4 to 8"):
        list(learn.learn(["cat face"], 10, 0))


def test_two_paths():
    state, slider, vp, rf, fig, text = paths.paths(str(example_images()[0]), 0, 10)
    x0 = np.asarray(PIL.Image.open(example_images()[0]).convert("RGB"))
    assert np.array_equal(state["vp"][0], x0) and np.array_equal(state["rf"][0], x0)  # both start at the data
    a = paths.cosine_alpha_bar(np.linspace(0, 1, 11))
    assert a[0] == pytest.approx(1.0) and a[-1] < 1e-6 and np.all(np.diff(a) <= 0)
    # both end at the same noise
    assert np.abs(state["vp"][-1].astype(int) - state["rf"][-1].astype(int)).max() <= 1
    assert "VP" in text and "RF" in text


def test_flow_in_2d_is_the_same_for_a_seed_and_restores_threads():
    """A fixed number of training steps (not a time budget): the same seed gives the same field
    whatever the machine's load, and the single-thread training leaves the thread count as it was."""
    threads = torch.get_num_threads()
    a, note, _, _ = flow2d.run_flow("spiral", 2.0, 8, 3)
    b, _, _, _ = flow2d.run_flow("spiral", 2.0, 8, 3)
    assert len(a.losses) == flow2d.TRAIN_STEPS and f"Trained {flow2d.TRAIN_STEPS} steps" in note
    assert all(np.array_equal(a.paths[g], b.paths[g]) for g in a.paths)
    assert torch.get_num_threads() == threads


def test_two_spaces_runs_both_models_from_one_prompt_and_counts_their_cost():
    from lab import twospaces

    out = dict(zip(twospaces.OUT.names, twospaces.two_spaces("red apple", 0, 4, 3.0)))
    pixel, latent = out["runs"]
    assert len(pixel.x0) == len(latent.x0) == 4
    assert pixel.x0[0].shape == (32, 32, 3) and latent.x0[0].shape == (64, 64, 3)  # each at its own resolution
    p, q = pixel.cost, latent.cost
    assert p["tokens"] == 64 and q["tokens"] == 64  # tiny models: 32/4 and 16/2 patches a side, 8 x 8 tokens each
    assert p["per_token"] == 4 * 4 * 3 and q["per_token"] == 2 * 2 * 4
    assert p["gflop"] > 0 and q["gflop"] > 0 and q["decode_gflop"] > 0 and p["decode_gflop"] == 0
    rows = out["table"]
    assert rows[1][1] == "64×64" and rows[0][1] == "32×32" and rows[1][6] > 0
    assert f"{q['decode_ms']:.1f} ms" in out["note"] and "4× the pixels" in out["note"]
    image, info = twospaces.show_step(out["runs"], 2)
    assert image.shape == (256, 2 * 256 + 8, 3) and "Step 2 of 4" in info  # both shown at one size


def test_two_spaces_note_says_same_compute_only_when_the_steps_cost_the_same():
    """A latent DiT grown deeper than the pixel one costs more per step: the headline says by how
    much and why (its blocks and their width), in both languages, instead of claiming the same compute."""
    from lab import twospaces
    from lab.i18n import LANG

    def runs(latent_depth: int, latent_gflop: float, latent_width: int = 256) -> list:
        cost = {"tokens": 64, "per_token": 48, "gflop": 1.0, "decode_gflop": 0.0, "ms": 10.0, "decode_ms": 0.0,
                "pixels": 32, "depth": 8, "width": 256}
        latent = {**cost, "per_token": 16, "gflop": latent_gflop, "decode_gflop": 0.5, "decode_ms": 3.0, "pixels": 64,
                  "depth": latent_depth, "width": latent_width}
        return [twospaces.Run("p", [], [], cost), twospaces.Run("l", [], [], latent)]

    same = twospaces.explain(runs(8, 1.02), 20)
    deeper = twospaces.explain(runs(10, 1.25), 20)
    assert "Same compute, 4× the pixels" in same and "1.25× the compute" not in same
    assert "Same compute" not in deeper and "4× the pixels for 1.25× the compute" in deeper and "10 blocks of width 256" in deeper
    assert "8 blocks of width 384 to the pixel DiT's 8 of width 256" in twospaces.explain(runs(8, 2.2, 384), 20)  # wider, not deeper
    token = LANG.set("zh")
    try:
        zh = twospaces.explain(runs(10, 1.25), 20)
    finally:
        LANG.reset(token)
    assert "1.25 倍的计算量" in zh and "10 个宽度为 256 的块" in zh and "GFLOP" in zh
