"""Upload this repository to a Hugging Face Space, large files through LFS.

    python scripts/deploy_space.py --repo-id USER/dit-lab            # needs `huggingface-cli login` or HF_TOKEN
    python scripts/deploy_space.py --repo-id USER/dit-lab --dry-run  # list what would go, touch nothing

It uploads the tracked files of the working tree (the README's front matter makes the repo a
Gradio Space as it is) with `huggingface_hub.HfApi.upload_folder`, which stores every file that
matches `.gitattributes`' LFS rules, and any file over 10 MB, in LFS: the Hub refuses a plain
push of one. Data, training runs, caches and logs are never uploaded: they are not tracked, and
IGNORE leaves them out even where they sit in the folder.
"""

from __future__ import annotations

import argparse
import fnmatch
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HUB_LFS_LIMIT = 10 * 1024 * 1024  # bytes: the Hub refuses larger files outside LFS
IGNORE = ["data/*", "runs/*", "logs/*", "artifacts/*", ".gradio/*", "flagged/*", "**/__pycache__/*", "*.egg-info/*",
          ".pytest_cache/*", ".git/*", "tests/*", ".ci/*"]


def lfs_patterns(root: Path = ROOT) -> list[str]:
    """The patterns `.gitattributes` stores in LFS."""
    lines = (root / ".gitattributes").read_text().splitlines() if (root / ".gitattributes").exists() else []
    return [line.split()[0] for line in lines if "filter=lfs" in line and not line.lstrip().startswith("#")]


def is_lfs(path: str, patterns: list[str]) -> bool:
    name = Path(path).name
    return any(fnmatch.fnmatch(name, p) or fnmatch.fnmatch(path, p) for p in patterns)


def files_to_upload(root: Path = ROOT) -> list[str]:
    """Tracked files, less IGNORE."""
    tracked = subprocess.run(["git", "ls-files"], cwd=root, capture_output=True, text=True, check=True).stdout.splitlines()
    return [f for f in tracked if (root / f).is_file() and not any(fnmatch.fnmatch(f, p) for p in IGNORE)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo-id", required=True, help="USER/SPACE on the Hub")
    parser.add_argument("--dry-run", action="store_true", help="list the files and their storage, upload nothing")
    parser.add_argument("--private", action="store_true")
    args = parser.parse_args()
    files, patterns = files_to_upload(), lfs_patterns()
    big = [f for f in files if (ROOT / f).stat().st_size > HUB_LFS_LIMIT and not is_lfs(f, patterns)]
    if big:
        raise SystemExit(f"These files are over 10 MB and no .gitattributes LFS rule covers them: {big}")
    total = sum((ROOT / f).stat().st_size for f in files)
    print(f"{len(files)} files, {total / 1e6:.1f} MB, {sum(is_lfs(f, patterns) for f in files)} through LFS")
    if args.dry_run:
        for f in files:
            print(("lfs  " if is_lfs(f, patterns) else "git  ") + f)
        return
    from huggingface_hub import HfApi

    api = HfApi()
    api.create_repo(args.repo_id, repo_type="space", space_sdk="gradio", exist_ok=True, private=args.private)
    url = api.upload_folder(folder_path=str(ROOT), repo_id=args.repo_id, repo_type="space", allow_patterns=files,
                            commit_message="Deploy DiT Lab")
    print(f"uploaded: {url}")


if __name__ == "__main__":
    main()
