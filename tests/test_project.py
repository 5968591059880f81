"""Project-level promises: Spaces metadata, requirements in sync, precision detection."""

import re
import tomllib
from pathlib import Path

import torch

from pipelines import hardware

ROOT = Path(__file__).resolve().parent.parent


def test_requirements_match_pyproject():
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    reqs = [l.strip() for l in (ROOT / "requirements.txt").read_text().splitlines() if l.strip() and not l.startswith("#")]
    assert sorted(reqs) == sorted(deps)


def test_readme_spaces_front_matter_and_commands():
    text = (ROOT / "README.md").read_text()
    front = text.split("---")[1]
    assert re.search(r"^sdk: gradio$", front, re.M)
    assert re.search(r"^app_file: app.py$", front, re.M)
    assert re.search(r'^python_version: "3\.\d+"$', front, re.M)  # quoted, or YAML reads 3.10 as 3.1
    # the README's test command is the one CI runs
    test_cmd = 'pip install -e ".[test]" && python -m pytest'
    assert test_cmd in text and test_cmd in (ROOT / ".ci" / "run").read_text()
    assert "pip install -e . && python app.py" in text


# The project's rule: weights/ under 70 MB. The 10-block latent DiT (phase 8) brought it to 64 MB.
WEIGHTS_LIMIT_BYTES = 70 * 10**6


def test_weights_are_safetensors_and_small():
    files = [p for p in (ROOT / "weights").rglob("*") if p.is_file()]
    assert any(p.suffix == ".safetensors" for p in files)
    assert not [p for p in files if p.suffix in {".bin", ".pt", ".pth", ".ckpt", ".pkl"}]
    assert sum(p.stat().st_size for p in files) < WEIGHTS_LIMIT_BYTES


CPU_ONLY_HANDLERS = {"run_flow"}  # the 2-D flow: a tiny MLP trained on one CPU thread, queued only to share the cores


def test_spaces_gpu_only_when_package_present(monkeypatch):
    """With Hugging Face's `spaces` package the handlers' decorator is spaces.GPU, without it
    the identity; and every handler on the model queue carries it."""
    import ast
    import sys
    import types

    from lab.runtime import zero_gpu_decorator

    fake = types.ModuleType("spaces")
    fake.GPU = lambda fn: fn
    monkeypatch.setitem(sys.modules, "spaces", fake)
    assert zero_gpu_decorator() is fake.GPU
    monkeypatch.setitem(sys.modules, "spaces", None)  # an import of it now fails, as where it is absent
    assert zero_gpu_decorator()(len) is len
    for path in (ROOT / "lab").glob("*.py"):
        tree = ast.parse(path.read_text())
        decorated = {f.name for f in ast.walk(tree) if isinstance(f, ast.FunctionDef) and any(
            getattr(d, "id", None) == "gpu" for d in f.decorator_list)}
        for call in ast.walk(tree):
            queued = isinstance(call, ast.Call) and any(k.arg == "concurrency_id" for k in call.keywords)
            if queued and call.args and isinstance(call.args[0], ast.Name) and call.args[0].id not in CPU_ONLY_HANDLERS:
                assert call.args[0].id in decorated, f"{path.name}: handler {call.args[0].id} lacks @gpu"


def test_app_only_composes_and_functions_are_short():
    import ast

    app = ast.parse((ROOT / "app.py").read_text())
    assert [f.name for f in ast.walk(app) if isinstance(f, ast.FunctionDef)] == ["build"]
    long = []  # no function longer than a screen, anywhere in the project's code
    for path in [ROOT / "app.py", *(p for d in ("lab", "pipelines", "training", "benchmarks", "scripts") for p in (ROOT / d).rglob("*.py"))]:
        for f in ast.walk(ast.parse(path.read_text())):
            if isinstance(f, ast.FunctionDef) and f.end_lineno - f.lineno + 1 > 60:
                long.append(f"{path.name}:{f.name} ({f.end_lineno - f.lineno + 1} lines)")
    assert not long


def test_the_project_cites_no_file_outside_itself():
    hits = [str(p.relative_to(ROOT)) for p in ROOT.rglob("*") if p.suffix in {".py", ".md", ".toml", ".txt"}
            and ".git" not in p.parts and "DESIGN" + ".md" in p.read_text(errors="ignore")]
    assert not hits


def test_precision_detection_both_paths(monkeypatch, tiny_transformer, text_pair):
    hardware.cpu_has_native_bf16.cache_clear()
    monkeypatch.setattr(hardware, "cpu_has_native_bf16", lambda: False)
    assert hardware.best_autocast_dtype("cpu") is None
    monkeypatch.setattr(hardware, "cpu_has_native_bf16", lambda: True)
    assert hardware.best_autocast_dtype("cpu") == torch.bfloat16
    # both paths give the same picture, up to bf16 rounding
    import copy

    from pipelines import DiTText2ImagePipeline, make_scheduler

    # a copy: casting to bf16 rounds the weights, which must not leak into other tests
    pipe = DiTText2ImagePipeline(copy.deepcopy(tiny_transformer), make_scheduler("euler"), *text_pair)
    pipe.set_progress_bar_config(disable=True)
    kw = dict(num_inference_steps=4, guidance_scale=3.0, output_type="np")
    fp32 = pipe("red apple", generator=torch.Generator().manual_seed(0), **kw).images
    try:
        assert pipe.set_precision("auto") == "bf16"  # CPU with (patched) native bf16: bf16 weights
        assert pipe.transformer.dtype == torch.bfloat16 and pipe.autocast_dtype is None
        bf16 = pipe("red apple", generator=torch.Generator().manual_seed(0), **kw).images
        pipe.set_precision("autocast")
        assert pipe.transformer.dtype == torch.float32 and pipe.autocast_dtype == torch.bfloat16
        auto = pipe("red apple", generator=torch.Generator().manual_seed(0), **kw).images
    finally:
        pipe.set_precision("fp32")
    assert pipe.transformer.dtype == torch.float32
    for other in (bf16, auto):  # the same picture up to bf16 rounding
        assert abs(fp32 - other).mean() < 0.05 and not (fp32 == other).all()
    monkeypatch.setattr(hardware, "cpu_has_native_bf16", lambda: False)
    assert pipe.set_precision("auto") == "fp32"


def test_threads_env_override(monkeypatch):
    before = torch.get_num_threads()
    monkeypatch.setenv("DITLAB_THREADS", "1")
    try:
        assert hardware.set_threads() == 1 and torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


def test_every_python_m_command_in_the_docs_names_a_real_module():
    """Docs and docstrings tell people `python -m X`; a renamed module must not leave a dead command."""
    import importlib.util

    paths = [ROOT / "README.md", *(ROOT / "docs").rglob("*.md"), *(ROOT / "weights").rglob("*.md"), *(ROOT / "weights").rglob("*.json"),
             *ROOT.glob("*.py"), *(p for d in ("lab", "pipelines", "training", "benchmarks", "scripts", ".ci") for p in (ROOT / d).rglob("*"))]
    modules = {m for p in paths if p.is_file() for m in re.findall(r"(?:python3?|launch) -m ([A-Za-z_][\w.]*)", p.read_text(errors="ignore"))}
    assert {"training.train", "training.evaluate", "training.autoencoder"} <= modules
    assert not [m for m in sorted(modules) if importlib.util.find_spec(m) is None]



def test_every_tracked_file_over_10_mb_has_an_lfs_rule():
    """The Hub refuses a push holding a file over 10 MB outside LFS: git's own attribute lookup
    must put each such tracked file (and every safetensors file) under the LFS filter."""
    import subprocess

    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.splitlines()
    big = [f for f in files if (ROOT / f).is_file() and (ROOT / f).stat().st_size > 10 * 1024 * 1024]
    weights = [f for f in files if f.endswith(".safetensors")]
    assert big and weights  # the shipped transformer is one
    for f in sorted(set(big) | set(weights)):
        attr = subprocess.run(["git", "check-attr", "filter", "--", f], cwd=ROOT, capture_output=True, text=True, check=True).stdout
        assert attr.strip().endswith("filter: lfs"), attr


def test_deploy_dry_run_uploads_the_app_and_weights_not_data():
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "scripts/deploy_space.py", "--repo-id", "someone/dit-lab", "--dry-run"], cwd=ROOT,
                         capture_output=True, text=True, timeout=60, check=True).stdout
    listed = dict(line.split(None, 1)[::-1] for line in out.splitlines()[1:])
    assert listed["app.py"] == "git" and listed["requirements.txt"] == "git" and listed[".gitattributes"] == "git"
    assert listed["packages.txt"] == "git"  # Debian packages a Space installs: the CJK font
    assert listed["weights/dit-emoji/transformer/diffusion_pytorch_model.safetensors"] == "lfs"
    assert not [f for f in listed if f.startswith(("data/", "runs/", "logs/", "tests/")) or "__pycache__" in f]


def _imports(path: Path) -> list[tuple[str, list[str]]]:
    """(module, names) of every import in a file, function-level ones included; relative
    imports resolved against the file's package."""
    import ast

    package = path.parent.name
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out += [(a.name, []) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:
                module = f"{package}.{module}" if module else package
            out.append((module, [a.name for a in node.names]))
    return out


def test_layers_import_only_downwards():
    """docs/architecture.md's layers: pipelines/ (the library) <- training/ and lab/ <- app.py.
    The library imports neither; lab/ never imports training/; and no layer reaches into
    another's private names."""
    rules = {"pipelines": ("training", "lab", "app"), "lab": ("training", "app"), "training": ("lab", "app")}
    for layer, forbidden in rules.items():
        for path in (ROOT / layer).glob("*.py"):
            for module, names in _imports(path):
                top = module.split(".")[0]
                assert top not in forbidden, f"{path.relative_to(ROOT)} imports {module}"
                if top in ("pipelines", "lab", "training") and top != layer:
                    private = [n for n in names if n.startswith("_")] + [m for m in module.split(".") if m.startswith("_")]
                    assert not private, f"{path.relative_to(ROOT)} uses private {module}: {private}"
    # nor calls another layer's private methods (pipe._text(...)); `_interrupt` is diffusers'
    # documented way for a callback to stop a run
    import ast

    for path in [*(ROOT / "lab").glob("*.py"), ROOT / "app.py"]:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__"):
                owner = getattr(node.value, "id", "")
                assert owner == "self" or node.attr == "_interrupt", f"{path.name} uses {owner}.{node.attr}"
