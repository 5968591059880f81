"""The training command end to end on a tiny model and a user's own image folder."""

import json
from pathlib import Path

import numpy as np
import PIL.Image
import pytest
import torch

from pipelines import DiTText2ImagePipeline
from pipelines.training_utils import EMA
from training.train import lr_at, main, parse_args

TINY = ["--no-compile", "--hidden-size", "32", "--depth", "2", "--num-heads", "2", "--batch-size", "4", "--grid-steps", "2", "--precision", "fp32"]


@pytest.fixture()
def folder(tmp_path):
    d = tmp_path / "imgs"
    d.mkdir()
    rng = np.random.default_rng(0)
    lines = []
    for i in range(6):
        PIL.Image.fromarray(rng.integers(0, 255, (40, 40, 3), dtype=np.uint8)).save(d / f"{i}.png")
        lines.append(json.dumps({"file_name": f"{i}.png", "text": f"pattern {i}"}))
    (d / "metadata.jsonl").write_text("\n".join(lines))
    return d


def test_train_resume_export(tmp_path, folder):
    run = tmp_path / "run"
    out = tmp_path / "weights"
    main(["--data-dir", str(folder), "--run-dir", str(run), "--max-steps", "3", "--max-minutes", "5", "--output", str(out), *TINY])
    info = json.loads((run / "checkpoint.json").read_text())
    assert info["step"] == 3 and info["images_seen"] == 12
    assert list(run.glob("grid-*.png")) and (run / "log.jsonl").exists()
    rec = json.loads((run / "log.jsonl").read_text().splitlines()[-1])
    assert all(np.isfinite(rec[f"val_loss@{s}"]) for s in (0.2, 0.5, 0.8))
    # resume continues the step count and keeps the optimizer state
    main(["--data-dir", str(folder), "--run-dir", str(run), "--max-steps", "5", "--max-minutes", "5", "--resume",
          "--name-caption-fraction", "0.9", *TINY])  # a folder's only caption is its name: the fraction falls back on it
    assert json.loads((run / "checkpoint.json").read_text())["step"] == 5
    with pytest.raises(SystemExit, match="config"):
        main(["--data-dir", str(folder), "--run-dir", str(run), "--max-steps", "6", "--resume", *TINY[:-2], "--precision", "fp32", "--hidden-size", "64"])
    pipe = DiTText2ImagePipeline.from_pretrained(out)
    assert pipe.transformer.config.hidden_size == 32 and pipe.sampler == "unipc"  # a new folder: the default sampler
    pipe.set_sampler("dpm++2m", 3.0)  # a sweep's choice for this model (evaluate --save-scheduler) ...
    pipe.scheduler.save_pretrained(out / "scheduler")
    main(["--data-dir", str(folder), "--run-dir", str(run), "--export-only", "--output", str(out), *TINY])
    pipe = DiTText2ImagePipeline.from_pretrained(out)  # ... survives the next phase's export
    assert pipe.sampler == "dpm++2m" and pipe.scheduler.config.flow_shift == 3.0
    img = pipe("pattern 1", num_inference_steps=2, output_type="np").images
    assert img.shape == (1, 32, 32, 3) and np.isfinite(img).all()


def test_lr_schedule_and_ema():
    args = parse_args(["--warmup-steps", "10", "--cooldown-fraction", "0.2", "--lr", "1e-3"])
    assert lr_at(0, 0.0, args) == pytest.approx(1e-4)
    assert lr_at(50, 0.5, args) == pytest.approx(1e-3)
    assert lr_at(50, 0.9, args) == pytest.approx(0.5e-3)
    assert lr_at(105, 0.5, args, first_step=100) == pytest.approx(0.6e-3)  # a resumed run warms up again
    import torch

    model = torch.nn.Linear(2, 2)
    ema = EMA(model, 0.999)
    with torch.no_grad():
        model.weight.add_(1.0)
    ema.update(model, 0)  # step 0: decay 0, EMA jumps to the weights
    assert torch.allclose(ema.shadow["weight"], model.weight)


def test_two_processes_hold_identical_weights(tmp_path, folder):
    """The multi-GPU path on CPU: accelerate launch, 2 processes over gloo, a global batch of 4
    split 2 + 2; after the run both processes hold the same weights."""
    import os
    import subprocess
    import sys

    from safetensors.torch import load_file

    run, dump = tmp_path / "run", tmp_path / "dump"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "DITLAB_THREADS": "1"}
    # --multi_gpu is accelerate's multi-process (torchrun) launcher; on a machine without GPUs the trainer runs it on CPU over gloo
    cmd = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2", "--num_machines", "1",
           "--mixed_precision", "no", "--dynamo_backend", "no", "-m", "training.train", "--data-dir", str(folder),
           "--run-dir", str(run), "--max-steps", "3", "--max-minutes", "5", "--dump-weights", str(dump), *TINY]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    info = json.loads((run / "checkpoint.json").read_text())
    assert info["num_processes"] == 2 and info["local_batch"] == 2 and info["step"] == 3 and info["images_seen"] == 12
    a, b = load_file(dump / "rank0.safetensors"), load_file(dump / "rank1.safetensors")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    # the weights moved from their initial values:
    assert any(a[k].abs().sum() > 0 for k in a if "adaLN_modulation.1.weight" in k)


def test_compiled_training_matches_eager(tmp_path, folder):
    """--compile (the default) trains the same model as eager: same seed, same steps, the same
    validation loss up to floating-point reordering."""
    losses = {}
    for flag in ("--no-compile", "--compile"):
        run = tmp_path / flag.strip("-")
        args = [a for a in TINY if a != "--no-compile"]
        main(["--data-dir", str(folder), "--run-dir", str(run), "--max-steps", "2", "--max-minutes", "5", flag, *args])
        losses[flag] = json.loads((run / "log.jsonl").read_text().splitlines()[-1])
    for key in ("val_loss@0.2", "val_loss@0.5", "val_loss@0.8"):
        assert losses["--compile"][key] == pytest.approx(losses["--no-compile"][key], rel=1e-3), key


def test_latent_training_warm_starts_blocks_and_exports_the_vae(tmp_path, folder, tiny_vae, tiny_transformer):
    """--vae trains on the 64-px images' latents; --init-blocks-from copies the pixel model's
    blocks and text side (same width, depth, heads) and leaves the patch embedding, final linear
    and output conv new; the exported pipeline holds the autoencoder."""
    from pipelines import make_scheduler

    vae_dir, pixel = tmp_path / "vae", tmp_path / "pixel"
    tiny_vae.save_pretrained(vae_dir)
    DiTText2ImagePipeline(tiny_transformer, make_scheduler("euler")).save_pretrained(pixel)
    run, out = tmp_path / "run", tmp_path / "latent"
    main(["--data-dir", str(folder), "--run-dir", str(run), "--max-steps", "2", "--max-minutes", "5", "--output", str(out),
          "--vae", str(vae_dir), "--patch-size", "2", "--init-blocks-from", str(pixel), *TINY, "--lr", "0"])
    pipe = DiTText2ImagePipeline.from_pretrained(out)
    cfg = pipe.transformer.config
    assert (cfg.in_channels, cfg.sample_size, cfg.patch_size) == (4, 16, 2) and pipe.vae is not None
    src = tiny_transformer.state_dict()
    got = {k: v.float() for k, v in pipe.transformer.state_dict().items()}
    # lr 0: the exported EMA weights are the warm start itself (stored as fp16)
    assert torch.allclose(got["blocks.0.attn.qkv.weight"], src["blocks.0.attn.qkv.weight"], atol=1e-3)
    assert torch.allclose(got["caption_projection.0.weight"], src["caption_projection.0.weight"], atol=1e-3)
    assert got["x_embedder.weight"].shape != src["x_embedder.weight"].shape
    img = pipe("pattern 1", num_inference_steps=2, output_type="np").images
    assert img.shape == (1, 64, 64, 3) and np.isfinite(img).all()


def test_a_deeper_model_grows_from_saved_weights_as_the_same_function(tmp_path):
    """warm_start into a model 2 blocks deeper: every saved weight is used, only the two new middle
    blocks start at DiT's init, and the grown model's output equals the saved model's (the long
    skips still pair the same trained blocks). A shallower model is refused."""
    from .conftest import TINY, random_transformer  # conftest's TINY, a model config (this module's TINY is CLI args)

    from pipelines import DiTTransformer
    from training.train import warm_start

    saved = random_transformer(TINY | {"depth": 4})
    saved.save_pretrained(tmp_path / "transformer", safe_serialization=True)
    grown = DiTTransformer(**(TINY | {"depth": 6})).eval()
    fresh = warm_start(grown, tmp_path)
    assert {name.split(".")[1] for name in fresh} == {"2", "3"} and all(n.startswith("blocks.") for n in fresh)
    torch.manual_seed(0)
    x, t, text = torch.randn(2, 3, 32, 32), torch.tensor([0.3, 0.8]), torch.randn(2, 5, saved.config["text_dim"])
    with torch.no_grad():
        assert torch.allclose(grown(x, t, text).sample, saved(x, t, text).sample, atol=1e-5)
    with pytest.raises(SystemExit):
        warm_start(DiTTransformer(**(TINY | {"depth": 2})), tmp_path)


def test_depth_defaults_to_what_the_run_continues(tmp_path):
    """A grown model continues grown without --depth: the depth comes from --depth, else the
    resumed checkpoint, else the --init-from model, else the default."""
    import json

    from training.train import DEFAULT_DEPTH, model_depth

    saved = tmp_path / "saved" / "transformer"
    saved.mkdir(parents=True)
    (saved / "config.json").write_text(json.dumps({"depth": 10}))
    run = tmp_path / "run"
    run.mkdir()
    (run / "checkpoint.json").write_text(json.dumps({"config": {"depth": 12}}))
    assert model_depth(parse_args([])) == DEFAULT_DEPTH
    assert model_depth(parse_args(["--init-from", str(saved.parent)])) == 10
    assert model_depth(parse_args(["--init-from", str(saved.parent), "--depth", "14"])) == 14
    assert model_depth(parse_args(["--resume", "--run-dir", str(run)])) == 12


def test_average_script_writes_the_mean_of_snapshots(tmp_path, make_pipe):
    """scripts/average.py: a whole pipeline folder around the uniform mean of the snapshots,
    which loads and draws; snapshots of different shapes are refused, not silently mixed."""
    import subprocess
    import sys

    from pipelines import DiTTransformer

    from .conftest import TINY, random_transformer

    root = Path(__file__).resolve().parent.parent
    make_pipe().save_pretrained(tmp_path / "base")
    for i in range(3):
        random_transformer(TINY, seed=i).save_pretrained(tmp_path / f"snap-{i}")
    snaps = [str(tmp_path / f"snap-{i}") for i in range(3)]
    cmd = [sys.executable, "scripts/average.py", str(tmp_path / "avg"), *snaps, "--base", str(tmp_path / "base")]
    done = subprocess.run(cmd, cwd=root, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    pipe = DiTText2ImagePipeline.from_pretrained(tmp_path / "avg")
    for key, value in pipe.transformer.state_dict().items():
        mean = torch.stack([DiTTransformer.from_pretrained(s).state_dict()[key].float() for s in snaps]).mean(0)
        assert torch.allclose(value.float(), mean, atol=2e-3), key  # fp16 like a training export
    assert pipe("a cat", num_inference_steps=2, output_type="np").images.shape == (1, 32, 32, 3)
    random_transformer({**TINY, "hidden_size": 64}).save_pretrained(tmp_path / "snap-wide")
    bad = subprocess.run([*cmd[:-2], str(tmp_path / "snap-wide"), "--base", str(tmp_path / "base")], cwd=root,
                         capture_output=True, text=True, timeout=300)
    assert bad.returncode != 0 and "differ in config" in bad.stderr
