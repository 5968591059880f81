import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from training.data import EmojiDataset, EmojiRecord
from training.evaluate import (GRID_PROMPTS, LATENT_GATE_IMAGES_PER_CAPTION, fixed_captions, frechet_distance, grid_array,
                               latent_gate_passes, reference_gate)
from training.judge import EmojiJudge, augment, rank_accuracy


def fake_dataset(n=200):
    names = GRID_PROMPTS + [f"thing {i}" for i in range(n)] + [f"flag, land {i}" for i in range(10)] + ["waving hand, dark skin tone"]
    recs = [EmojiRecord(nm, "noto style", "x", nm.split(",")[0] if "skin" in nm else nm) for nm in names]
    return EmojiDataset(np.zeros((len(recs), 32, 32, 3), np.uint8), recs)


def test_fixed_captions_are_fixed_and_varied():
    ds = fake_dataset()
    a, b = fixed_captions(ds), fixed_captions(ds)
    assert a == b and len(a) == 64 and len(set(a)) == 64
    assert a[:8] == GRID_PROMPTS
    assert sum(c.startswith("flag") for c in a) == 4 and not any("skin tone" in c for c in a)


def test_latent_gate_compares_like_with_like():
    ref = {"images_per_caption": 8, "generated_top5": 0.88, "paraphrase_top5": 0.62}
    good = {"images_per_caption": 8, "generated_top5": 0.88, "top5_vs_ceiling": 0.92, "paraphrase_top5": 0.62}
    assert latent_gate_passes(good, ref)
    assert not latent_gate_passes({**good, "generated_top5": 0.87}, ref)  # below the 32-px model on names
    assert not latent_gate_passes({**good, "paraphrase_top5": 0.61}, ref)  # ... or on paraphrases
    assert not latent_gate_passes({**good, "top5_vs_ceiling": 0.89}, ref)  # under 90 % of the ceiling
    with pytest.raises(ValueError, match="same number of images"):
        latent_gate_passes({**good, "images_per_caption": 2}, ref)
    # the shipped 32-px model was measured both ways, each file saying how
    for n in (2, LATENT_GATE_IMAGES_PER_CAPTION):
        shipped = reference_gate(n)
        assert shipped["caption_set"] == "gate" and shipped["images_per_caption"] == n


def test_the_apps_default_model_is_the_one_its_gate_chose():
    """The app defaults to the latent model exactly when its recorded gate (the shipped gate.json,
    beside the 32-px model's reading with as many images) passes; until then the 32-px model."""
    import json

    from lab.runtime import DEFAULT_MODEL
    from pipelines import LATENT_WEIGHTS

    gate = json.loads((Path(LATENT_WEIGHTS) / "evaluation" / "gate.json").read_text())
    assert gate["caption_set"] == "gate" and gate["images_per_caption"] == LATENT_GATE_IMAGES_PER_CAPTION
    passed = latent_gate_passes(gate, reference_gate(gate["images_per_caption"]))
    assert DEFAULT_MODEL == ("latent" if passed else "pixel"), (DEFAULT_MODEL, passed)


def test_frechet_distance():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(500, 8))
    assert frechet_distance(a, a) < 1e-6
    assert frechet_distance(a, a + 1.0) > 7.5  # mean shift of 1 in 8 dims adds 8


def test_rank_accuracy_counts_ties_against_nothing():
    judge = EmojiJudge(width=8, embed_dim=16).eval()
    images = torch.rand(6, 3, 32, 32)
    text = torch.randn(5, 384)
    acc = rank_accuracy(judge, images, torch.tensor([0, 1, 2, 3, 4, 0]), text)
    assert 0 <= acc["top1"] <= acc["top5"] == 1.0  # 5 captions: everything is in the top 5


def test_augment_keeps_range_and_shape():
    x = torch.rand(4, 3, 32, 32)
    y = augment(x, torch.Generator().manual_seed(0))
    assert y.shape == x.shape and y.min() >= 0 and y.max() <= 1


def test_grid_array_layout():
    imgs = torch.zeros(16, 3, 32, 32)
    imgs[8:] = 1
    g = grid_array(imgs)
    assert g.shape == (64, 256, 3) and g[:32].max() == 0 and g[32:].min() == 255


def test_tuning_set_is_disjoint_from_the_gate():
    from training.evaluate import caption_sets

    ds = fake_dataset()
    gate, gate_para = caption_sets(ds, "gate")
    tune, tune_para = caption_sets(ds, "tune")
    assert len(tune) == 64 and not set(gate) & set(tune)
    assert not {p for p, _ in gate_para} & {p for p, _ in tune_para}


def test_model_card_is_written_from_the_measured_files(tmp_path, tiny_transformer):
    import json

    from pipelines import DiTText2ImagePipeline, make_scheduler
    from training.model_card import write_model_card

    DiTText2ImagePipeline(tiny_transformer, make_scheduler("euler")).save_pretrained(tmp_path)
    floats = ["generated_top1", "generated_top5", "real_top1", "real_top5", "top5_vs_ceiling", "paraphrase_top5",
              "paraphrase_real_top5", "paraphrase_top5_vs_ceiling", "judge_fd_generated_vs_real",
              "judge_fd_real_subset_vs_real", "nearest_train_rmse_mean"]
    metrics = {k: 0.1 + i / 100 for i, k in enumerate(floats)} | {
        "generated_top5": 0.8123, "num_distinct_captions": 3781, "captions": 64, "paraphrases": 64, "images_per_caption": 2, "steps": 20,
        "guidance_scale": 7.0, "sampler": "unipc", "guidance_interval": None}
    curve = [{"minutes": 0, "generated_top5": 0.5, "top5_vs_ceiling": 0.52, "paraphrase_top5": 0.2, "paraphrase_top5_vs_ceiling": 0.2}]
    arms = {"width 256": ([{"minutes": 48, "generated_top5": 0.0547, "paraphrase_top5": 0.0781}],
                          [{"train_minutes": 48.02, "val_loss@0.5": 0.123456}]),
            "width 384": ([{"minutes": 48, "generated_top5": 0.0469, "paraphrase_top5": 0.0312}],
                          [{"train_minutes": 47.9, "val_loss@0.5": 0.130001}])}
    path = write_model_card(tmp_path, metrics, None, "HISTORY-TEXT", curve, [], "OOV-READING", arms)
    card = path.read_text()
    assert "81.2% ± 3.5%" in card  # ± sqrt(p(1 - p) / 128 images)
    assert "HISTORY-TEXT" in card and "OOV-READING" in card
    assert "| 48 | 0.0547 | 0.0781 | 0.1235 | 48 | 0.0469 | 0.0312 | 0.13 |" in card
    assert json.loads((tmp_path / "transformer" / "config.json").read_text())["hidden_size"] == 32
    import re

    assert re.search(r"\{[a-z_0-9]+[:}]", card) is None  # no template field left unfilled


def test_latent_card_lists_every_sweep_with_its_weights_and_notes(tmp_path):
    """sweep_table: the first sweep, then each re-check on later weights, each row tagged with its
    phase and any guidance interval; a note that explains a departure from the sweep's own best is printed under the table."""
    import json

    from training.autoencoder import sweep_table

    def write(name, rows, meta):
        (tmp_path / name).write_text("\n".join(json.dumps(r) for r in rows + [{"best": rows[0]}, meta]))

    row = {"sampler": "dpm++2m", "guidance": 4.0, "steps": 20, "images_per_caption": 4, "name_top5": 0.8, "paraphrase_top5": 0.7}
    write("sweep.jsonl", [row], {"command": "python scripts/sweep.py A", "phase": 3})
    write("sweep_phase6.jsonl", [row | {"guidance": 5.0, "name_top5": 0.75}, row | {"interval": [0.2, 0.8]}],
          {"command": "python scripts/sweep.py B", "phase": 6, "note": "KEPT-4"})
    for k in range(1, 7):
        (tmp_path / f"phase{k}.curve.jsonl").write_text("{}")
    write("sweep_phase6_shift.jsonl", [row | {"shift": 3.0, "images_per_caption": 8}], {"command": "python scripts/sweep.py C", "phase": 6})
    commands, swept, rows = sweep_table(tmp_path)
    assert commands == "`python scripts/sweep.py A` then `python scripts/sweep.py B` then `python scripts/sweep.py C`"
    assert swept == ", the last on the phase-6 weights"
    # the interval and the shift are part of the setting, and each row says how many images it read
    assert rows.splitlines()[:4] == ["| phase 3 | dpm++2m | 4 | 20 | 4 | 80.0% | 70.0% |", "| phase 6 | dpm++2m | 5 | 20 | 4 | 75.0% | 70.0% |",
                                     "| phase 6 | dpm++2m | 4, guided only at 0.2 ≤ σ ≤ 0.8 | 20 | 4 | 80.0% | 70.0% |",
                                     "| phase 6 | dpm++2m | 4 | 20, shift 3 | 8 | 80.0% | 70.0% |"]
    assert rows.endswith("\n\nPhase 6: KEPT-4")
    (tmp_path / "phase7.curve.jsonl").write_text("{}")
    assert sweep_table(tmp_path)[1] == ", the last on the phase-6 weights; kept for phase 7"


def test_latent_card_reads_phases_in_number_order(tmp_path):
    """Phase 10 comes after phase 9 in the card's history and sweeps, not after phase 1 as a plain sort puts it."""
    from training.autoencoder import by_phase

    names = ["phase10.curve.jsonl", "phase2.curve.jsonl", "phase9.curve.jsonl", "phase1.curve.jsonl"]
    assert [p.name for p in by_phase(map(Path, names))] == ["phase1.curve.jsonl", "phase2.curve.jsonl", "phase9.curve.jsonl", "phase10.curve.jsonl"]
    sweeps = ["sweep_phase10.jsonl", "sweep_phase9_shift.jsonl", "sweep_phase9.jsonl", "sweep.jsonl"]
    assert [p.name for p in by_phase(map(Path, sweeps))] == ["sweep.jsonl", "sweep_phase9.jsonl", "sweep_phase9_shift.jsonl", "sweep_phase10.jsonl"]


def test_latent_card_lists_a_phase_not_kept_apart_from_the_history(tmp_path):
    """A phase whose weights were not kept (evaluation/rejected/) gets its own section with why, its
    commands and its curve; the history and the sweeps the gate used leave it out."""
    import json

    from training.autoencoder import rejected_section, sweep_table

    assert rejected_section(tmp_path) == ""
    rejected = tmp_path / "evaluation" / "rejected"
    rejected.mkdir(parents=True)
    (rejected / "phase9.curve.jsonl").write_text(json.dumps({"minutes": 15, "generated_top5": 0.8, "top5_vs_ceiling": 0.87, "paraphrase_top5": 0.75}))
    (rejected / "phase9.log.jsonl").write_text(json.dumps({"train_minutes": 15.1, "images_seen": 42240, "val_loss@0.5": 0.0606}))
    row = {"sampler": "dpm++2m", "guidance": 2.5, "steps": 20, "name_top5": 0.824, "paraphrase_top5": 0.734}
    meta = {"command": "SWEEP", "phase": 9, "note": "WHY-NOT-KEPT.", "train_command": "TRAIN", "curve_command": "CURVE"}
    (rejected / "sweep_phase9.jsonl").write_text("\n".join(json.dumps(r) for r in [row, {"best": row}, meta]))
    text = rejected_section(tmp_path)
    assert text.startswith("\n\n### Tried and not kept\nWHY-NOT-KEPT. Trained with `TRAIN`. Sweep (`SWEEP`")
    assert "guidance 2.5: 82.4% / 73.4%" in text and "Curve: `CURVE`" in text
    assert text.endswith("| 9 | 15 | 42,240 | 0.0606 | 80.0% (87%) | 75.0% |")
    tried = [{"candidate": "KEPT-WEIGHTS", "name_top5": 0.846, "paraphrase_top5": 0.77},
             {"candidate": "AVERAGE", "name_top5": 0.818, "paraphrase_top5": 0.762}, {"commands": ["AVG", "READ"], "note": "NO-TRAINING."}]
    (rejected / "tried_averages.jsonl").write_text("\n".join(json.dumps(r) for r in tried))
    text = rejected_section(tmp_path)
    assert text.count("### Tried and not kept") == 1 and text.index("WHY-NOT-KEPT") < text.index("NO-TRAINING.")
    assert "NO-TRAINING. Commands: `AVG` then `READ`." in text
    assert text.endswith("| KEPT-WEIGHTS | 84.6% | 77.0% |\n| AVERAGE | 81.8% | 76.2% |")
    (tmp_path / "evaluation" / "sweep.jsonl").write_text("\n".join(json.dumps(r) for r in [row, {"command": "FIRST", "phase": 8}]))
    assert "SWEEP" not in sweep_table(tmp_path / "evaluation")[0]  # the gate's settings come from kept phases only


@pytest.mark.parametrize("module", ["training.evaluate"])
def test_evaluate_command_exists_and_says_what_it_reports(module):
    out = subprocess.run([sys.executable, "-m", module, "--help"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "paraphrase top-5" in out.stdout and "--set" in out.stdout


def test_two_models_grids_stack_row_by_row_at_the_larger_size():
    import torch

    from training.evaluate import stacked_grids

    small, big = torch.zeros(16, 3, 32, 32), torch.ones(16, 3, 64, 64)
    grid = stacked_grids(small, big)
    assert grid.shape == (32, 3, 64, 64)
    assert [float(grid[i].mean()) for i in (0, 8, 16, 24)] == [0.0, 1.0, 0.0, 1.0]  # row of the first, then its row of the second


def test_latent_card_states_the_cost_per_step_from_both_configs(tmp_path):
    """The card's first sentence on the latent DiT reads the two configs: the same shape costs the
    32-px model's step; a grown one says how many blocks and about how much more."""
    import json

    from training.autoencoder import dit_shape

    def folder(name: str, **cfg) -> Path:
        (tmp_path / name / "transformer").mkdir(parents=True)
        (tmp_path / name / "transformer" / "config.json").write_text(json.dumps(cfg))
        return tmp_path / name

    pixel = folder("pixel", depth=8, hidden_size=256, sample_size=32, patch_size=4)
    same = dit_shape(folder("same", depth=8, hidden_size=256, sample_size=16, patch_size=2), pixel)
    grown = dit_shape(folder("grown", depth=10, hidden_size=256, sample_size=16, patch_size=2), pixel)
    assert "depth 8" in same and "64 tokens, the 32-px model's cost per step" in same
    assert "depth 10" in grown and "10 blocks of width 256 to the 32-px model's 8 of width 256, so about 1.25×" in grown
    assert "the 32-px model's cost" not in grown
    wider = dit_shape(folder("wider", depth=8, hidden_size=384, sample_size=16, patch_size=2), pixel)
    assert "8 blocks of width 384 to the 32-px model's 8 of width 256, so about 2.25×" in wider  # width counts, squared


def test_save_scheduler_makes_the_evaluated_settings_the_folders(tmp_path, make_pipe):
    """evaluate --save-scheduler: the folder then loads with the sampler and shift the gate used
    (model_index.json names the class), and records no path of this machine."""
    import json

    from pipelines import DiTText2ImagePipeline
    from pipelines.schedulers import scheduler_shift
    from training.evaluate import save_scheduler

    make_pipe(sampler="unipc").save_pretrained(tmp_path)
    pipe = DiTText2ImagePipeline.from_pretrained(tmp_path)
    pipe.set_sampler("dpm++2m", 3.0)
    save_scheduler(pipe, tmp_path)
    again = DiTText2ImagePipeline.from_pretrained(tmp_path)
    assert again.sampler == "dpm++2m" and scheduler_shift(again.scheduler) == 3.0
    assert str(tmp_path) not in (tmp_path / "model_index.json").read_text()
    assert json.loads((tmp_path / "model_index.json").read_text())["transformer"][1] == "DiTTransformer"


@pytest.mark.slow
def test_name_hits_count_each_emojis_own_images():
    """A 'model' that draws each prompt's real emoji scores near the ceiling on every name, a blank
    one near zero: the per-name counts line up with the images generate() makes."""
    from types import SimpleNamespace

    from training.evaluate import caption_sets, name_hits

    ds = EmojiDataset.load()  # builds data/ from the pinned npm packages on first use
    first = {}
    for i, r in enumerate(ds.records):
        first.setdefault(r.name, i)

    def real(prompts, **_):
        return SimpleNamespace(images=torch.stack([torch.from_numpy(ds.images[first[p]]).permute(2, 0, 1).float() / 255 for p in prompts]))

    def blank(prompts, **_):
        return SimpleNamespace(images=torch.full((len(prompts), 3, 32, 32), 0.5))

    hits = name_hits(real, ds, images_per_caption=2, guidance=1.0)
    assert list(hits) == caption_sets(ds, "tune")[0] and set(hits.values()) <= {0, 1, 2}
    assert sum(hits.values()) >= 0.8 * 2 * len(hits)  # the real-image ceiling is about 95 %
    assert sum(name_hits(blank, ds, images_per_caption=2, guidance=1.0).values()) <= 0.1 * 2 * len(hits)
