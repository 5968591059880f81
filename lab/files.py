"""Files the app writes (downloads, animations), in one folder with a cap, so a Space that
runs for months does not fill its disk. Gradio copies what a handler returns into its own
cache, which `delete_cache` in app.py empties; this folder keeps only the newest runs."""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from pathlib import Path

OUTPUT_ROOT = Path(os.environ.get("DITLAB_OUTPUTS", Path(tempfile.gettempdir()) / "ditlab-outputs"))
MAX_RUN_DIRS = 32  # newest runs kept; older ones are deleted when a new one starts
_lock = threading.Lock()


def new_run_dir() -> Path:
    """A fresh folder for one request's files; the oldest beyond MAX_RUN_DIRS are removed."""
    with _lock:
        OUTPUT_ROOT.mkdir(parents=True, exist_ok=True)
        runs = sorted((p for p in OUTPUT_ROOT.iterdir() if p.is_dir()), key=lambda p: p.stat().st_mtime)
        for old in runs[: max(0, len(runs) - MAX_RUN_DIRS + 1)]:
            shutil.rmtree(old, ignore_errors=True)
        return Path(tempfile.mkdtemp(prefix="run-", dir=OUTPUT_ROOT))
