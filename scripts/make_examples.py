"""Write the app's example images (assets/examples/*.png) from the built emoji data.

    python -m training.data && python -m training.data --resolution 64 && python scripts/make_examples.py

Noto Emoji art (Apache 2.0), at 32x32 (assets/examples/) and 64x64 (assets/examples64/) as the
two models see it: a handful of files, not a dataset.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as `python scripts/...` from anywhere

import numpy as np
from PIL import Image

from training.data import EmojiDataset

NAMES = ["grinning face", "red apple", "cat face", "pizza", "red heart", "rocket", "dog face", "smiling face with sunglasses"]


def main() -> None:
    root = Path(__file__).resolve().parent.parent / "assets"
    for size, folder in ((32, "examples"), (64, "examples64")):
        ds = EmojiDataset.load(resolution=size)
        out = root / folder
        out.mkdir(parents=True, exist_ok=True)
        for k, name in enumerate(NAMES):
            i = next(i for i, r in enumerate(ds.records) if r.name == name and r.style == "noto style")
            Image.fromarray(np.asarray(ds.images[i])).save(out / f"{k}_{name.replace(' ', '_')}.png")
        print(f"wrote {len(NAMES)} examples to {out}")


if __name__ == "__main__":
    main()
