"""The training data: emoji at 32x32 with their names, rebuilt from pinned npm packages.

    python -m training.data                    # build (or reuse) data/emoji32/ and print a summary
    python -m training.data --resolution 64    # the 64-px set (the packages' own 64-px PNGs, no resize)

Sources (why emoji: docs/architecture.md): emoji-datasource for the list, emoji-datasource-twitter (Twemoji,
CC-BY 4.0) and emoji-datasource-google (Noto Emoji, Apache 2.0) for the art, emojibase-data
for the everyday CLDR names ("red heart", not "heavy black heart"). The packages are fetched
with `npm pack` into a cache; nothing of the data is committed and a rebuild is idempotent.

A user's own images: a folder with the images and a `metadata.jsonl`, one JSON object per
line: {"file_name": "cat.png", "text": "a cat"} (the Hugging Face imagefolder format).
"""

from __future__ import annotations

import argparse
import functools
import io
import json
import os
import random
import shutil
import subprocess
import tarfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from pipelines.image_utils import fit_square

PACKAGES = {
    "meta": "emoji-datasource@16.0.0",
    "twemoji": "emoji-datasource-twitter@16.0.0",
    "noto": "emoji-datasource-google@16.0.0",
    "names": "emojibase-data@17.0.0",
}
STYLES = {"twemoji": ("twitter", "twemoji style"), "noto": ("google", "noto style")}
RESOLUTION = 32
RESOLUTIONS = (32, 64)  # the packages ship 64-px PNGs: 64 uses them as they are, 32 downsamples them
# Emoji a classroom app must not be able to draw: never in any training set, at any resolution
# (skin-tone variants share the base name). Obscene gestures and tobacco; listed in the model cards.
BLOCKED_EMOJI = frozenset({"middle finger", "cigarette"})
DEFAULT_DATA_DIR = Path(os.environ.get("DITLAB_DATA", Path(__file__).resolve().parent.parent / "data"))

# Several wordings per image, so that free prompts ("an emoji of a cat face") land near the
# training captions; the style is sometimes left out so that a bare name also works.
TEMPLATES = [
    "{name}",
    "{name}, {style}",
    "{name}, {style}",
    "an emoji of {name}",
    "an emoji of {name}, {style}",
    "{name} emoji",
    "{name} emoji, {style}",
    "{style} {name}",
]
# Everyday words beside the name (emojibase tags, shortcodes, subgroup), so that "kitty",
# "a slice of pizza"-like prompts land near something the model has seen. Each image gets a
# fixed list of captions (seeded by its name), and training samples one of them per step.
# {s1} is always a *specific* word (see COMMON_WORD_EMOJI), so no caption is only "food, hungry".
WORD_TEMPLATES = [
    "{name}, {s1}, {t2}", "{s1} {t2}", "{s1}, {t2}, {t3}", "a {s1}", "{s1} emoji", "{name} ({sub})", "{s1}, {style}",
    "a {name}", "a {t2} {name}",
]
# A tag on more than this many distinct emoji ("food" 55, "face" 162, "happy" 16) names none of
# them; a caption made only of such words taught the model an average of its emoji (a blob) under
# a word people type. Such words appear only beside a specific word or the name. 8 keeps 97 % of
# the tag vocabulary specific (`python -m training.data` prints the count).
COMMON_WORD_EMOJI = 8


@dataclass
class EmojiRecord:
    name: str  # everyday name, skin tone included ("waving hand, dark skin tone")
    style: str  # "twemoji style" / "noto style" ("" for a user's own images)
    category: str
    base_name: str  # name without skin tone
    tags: tuple[str, ...] = ()  # emojibase tags and shortcodes ("kitty", "pet", "too cool")
    subgroup: str = ""  # emojibase subgroup in words ("animal mammal")

    def captions(self, held_out: frozenset[str] = frozenset(), common: frozenset[str] = frozenset()) -> list[str]:
        """Every caption this image is trained with: the name in TEMPLATES, then everyday words
        in WORD_TEMPLATES (`common`: words too widely shared to name this emoji alone). Any caption
        in `held_out` (the evaluation's prompts) is dropped, so held-out prompts are never seen in
        training, by construction."""
        if not self.style:
            return [self.name]
        caps = [t.format(name=self.name, style=self.style) for t in TEMPLATES]
        in_name = set(self.name.lower().replace(",", "").split())
        words = [w for w in self.tags if not set(w.lower().split()) <= in_name]  # the name says these already
        if words:
            specific = [w for w in words if w.lower() not in common] or [self.name]
            rng = random.Random(self.name)  # fixed per emoji: the caption bank is enumerable
            tone = self.name[len(self.base_name):]  # ", dark skin tone" or ""
            for t in WORD_TEMPLATES * 2:  # two draws of words per template
                s1 = rng.choice(specific)
                t2, t3 = ([w for w in rng.sample(words, min(3, len(words))) if w != s1] * 2 + [s1, s1])[:2]
                cap = t.format(name=self.name, s1=s1, t2=t2, t3=t3, sub=self.subgroup or t2, style=self.style)
                caps.append(cap + tone * ("{name}" not in t))
        return [c for c in dict.fromkeys(" ".join(c.split()) for c in caps) if c.lower() not in held_out]


def common_words(records: list[EmojiRecord]) -> frozenset[str]:
    """Tags (lower-cased) that more than COMMON_WORD_EMOJI distinct emoji carry."""
    tags = {r.base_name: {w.lower() for w in r.tags} for r in records}
    counts = Counter(w for ws in tags.values() for w in ws)
    return frozenset(w for w, n in counts.items() if n > COMMON_WORD_EMOJI)


def _pack(spec: str, cache: Path) -> Path:
    """`npm pack` one pinned package into the cache (once) and return the tarball."""
    name, version = spec.rsplit("@", 1)
    target = cache / f"{name}-{version}.tgz"
    if target.exists():
        return target
    if shutil.which("npm") is None:
        raise RuntimeError(
            "npm is needed to fetch the emoji packages (it downloads them from the npm registry). "
            "Install Node.js/npm (e.g. `apt-get install npm`), or build the data on a machine that has it "
            f"and copy {cache} here."
        )
    cache.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(["npm", "pack", spec, "--pack-destination", str(cache)], capture_output=True, text=True)
    if result.returncode != 0 or not target.exists():
        raise RuntimeError(f"`npm pack {spec}` failed:\n{result.stderr.strip()[-2000:]}")
    return target


def _read_json(tgz: Path, member: str):
    with tarfile.open(tgz) as tar:
        return json.load(tar.extractfile(member))


def _cldr_names(names_tgz: Path) -> dict[str, str]:
    """hexcode (without FE0F) -> everyday English label, skin-tone variants included."""
    table = {}
    for e in _read_json(names_tgz, "package/en/data.json"):
        table[e["hexcode"].replace("-FE0F", "")] = e["label"]
        for s in e.get("skins", []) or []:
            table[s["hexcode"].replace("-FE0F", "")] = s["label"]
    return table


def _words(names_tgz: Path) -> dict[str, tuple[list[str], str]]:
    """hexcode (without FE0F) -> (tags + shortcodes in words, subgroup in words)."""
    groups = _read_json(names_tgz, "package/meta/groups.json")["subgroups"]
    codes = _read_json(names_tgz, "package/en/shortcodes/emojibase.json")
    table = {}
    for e in _read_json(names_tgz, "package/en/data.json"):
        sc = codes.get(e["hexcode"], [])
        sc = [sc] if isinstance(sc, str) else sc
        words = list(dict.fromkeys([*e.get("tags", []), *(c.replace("_", " ") for c in sc)]))
        sub = " ".join(reversed(groups.get(str(e.get("subgroup")), "").split("-")))  # "animal-mammal" -> "mammal animal"
        table[e["hexcode"].replace("-FE0F", "")] = (words, sub)
    return table


def _label(unified: str, fallback: str | None, cldr: dict[str, str]) -> str:
    label = cldr.get(unified.upper().replace("-FE0F", "")) or (fallback or "").lower()
    # "waving hand: dark skin tone" reads as a caption better with a comma
    return " ".join(label.replace(":", ",").split())


def _to_rgb(png_bytes: bytes, resolution: int) -> np.ndarray:
    im = Image.open(io.BytesIO(png_bytes)).convert("RGBA")
    white = Image.new("RGBA", im.size, (255, 255, 255, 255))
    im = Image.alpha_composite(white, im).convert("RGB")
    if im.size != (resolution, resolution):
        im = im.resize((resolution, resolution), Image.LANCZOS)
    return np.asarray(im, dtype=np.uint8)


def build(data_dir: Path = DEFAULT_DATA_DIR, force: bool = False, resolution: int = RESOLUTION) -> Path:
    """Build data_dir/emoji{resolution}/{images.npy, meta.json}; a second call reuses them.
    Both resolutions hold the same emoji in the same order with the same records."""
    if resolution not in RESOLUTIONS:
        raise ValueError(f"resolution must be one of {RESOLUTIONS}, not {resolution}")
    out = Path(data_dir) / f"emoji{resolution}"
    if (out / "images.npy").exists() and (out / "meta.json").exists() and not force:
        if "tags" in json.loads((out / "meta.json").read_text())[0]:
            return out  # (a set built before tags were recorded is rebuilt)
    cache = Path(data_dir) / "npm-cache"
    tgz = {k: _pack(v, cache) for k, v in PACKAGES.items()}
    meta = _read_json(tgz["meta"], "package/emoji.json")
    cldr = _cldr_names(tgz["names"])
    words = _words(tgz["names"])

    # (image file, label, base label, category) for every emoji and skin-tone variant
    entries = []
    for e in sorted(meta, key=lambda e: e["sort_order"]):
        if e["category"] == "Component":
            continue
        base = _label(e["unified"], e["name"], cldr)
        extra = words.get(e["unified"].upper().replace("-FE0F", ""), ([], ""))
        entries.append((e["image"], base, base, e["category"], e, extra))
        for var in (e.get("skin_variations") or {}).values():
            entries.append((var["image"], _label(var["unified"], None, cldr) or base, base, e["category"], var, extra))

    images, records = [], []
    for style, (folder, style_text) in STYLES.items():
        wanted = {f"package/img/{folder}/64/{img}": (lab, base, cat, extra) for img, lab, base, cat, src, extra in entries if src.get(f"has_img_{folder}")}
        with tarfile.open(tgz[style]) as tar:
            for member in tar:
                if member.name in wanted:
                    lab, base, cat, (tags, sub) = wanted[member.name]
                    images.append(_to_rgb(tar.extractfile(member).read(), resolution))
                    records.append({"name": lab, "style": style_text, "category": cat, "base_name": base, "file": member.name,
                                    "tags": tags, "subgroup": sub})
    order = sorted(range(len(records)), key=lambda i: (records[i]["style"], records[i]["file"]))
    tmp = out.with_suffix(".tmp")
    tmp.mkdir(parents=True, exist_ok=True)
    np.save(tmp / "images.npy", np.stack([images[i] for i in order]))
    (tmp / "meta.json").write_text(json.dumps([records[i] for i in order]))
    if out.exists():
        shutil.rmtree(out)
    tmp.rename(out)  # a crash mid-build never leaves a half-written dataset behind
    return out


class EmojiDataset:
    """All images in RAM as one uint8 tensor (~25 MB: no DataLoader workers on 2 cores)."""

    def __init__(self, images: np.ndarray, records: list[EmojiRecord], blocked_names: frozenset[str] = frozenset()) -> None:
        if len(images) != len(records):
            raise ValueError(f"{len(images)} images but {len(records)} captions")
        self.images = images  # (N, H, W, 3) uint8
        self.records = records
        self.blocked_names = blocked_names  # names of the BLOCKED_EMOJI images `load` left out

    @classmethod
    def load(cls, data_dir: Path | str = DEFAULT_DATA_DIR, resolution: int = RESOLUTION) -> "EmojiDataset":
        """The emoji set without BLOCKED_EMOJI (or a user's folder, see `from_folder`)."""
        data_dir = Path(data_dir)
        if (data_dir / "metadata.jsonl").exists():
            return cls.from_folder(data_dir, resolution)
        out = build(data_dir, resolution=resolution)
        records = [EmojiRecord(r["name"], r["style"], r["category"], r["base_name"], tuple(r["tags"]), r["subgroup"])
                   for r in json.loads((out / "meta.json").read_text())]
        keep = [i for i, r in enumerate(records) if r.base_name not in BLOCKED_EMOJI]
        blocked = frozenset(r.name for r in records if r.base_name in BLOCKED_EMOJI)
        return cls(np.load(out / "images.npy")[keep], [records[i] for i in keep], blocked)

    @classmethod
    def from_folder(cls, folder: Path | str, resolution: int = RESOLUTION) -> "EmojiDataset":
        """A user's own images: folder/metadata.jsonl lines {"file_name": ..., "text": ...}."""
        folder = Path(folder)
        images, records = [], []
        for n, line in enumerate((folder / "metadata.jsonl").read_text().splitlines(), 1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
                path, text = folder / item["file_name"], str(item["text"])
            except (json.JSONDecodeError, KeyError) as e:
                raise ValueError(f"metadata.jsonl line {n}: expected {{\"file_name\": ..., \"text\": ...}} ({e})") from e
            im = Image.open(path).convert("RGBA")
            im = Image.alpha_composite(Image.new("RGBA", im.size, (255, 255, 255, 255)), im).convert("RGB")
            im = fit_square(im, resolution)  # the same resize rule as the pipelines and the app
            images.append(np.asarray(im, dtype=np.uint8))
            records.append(EmojiRecord(text.strip().lower(), "", "custom", text.strip().lower()))
        if not images:
            raise ValueError(f"{folder}/metadata.jsonl lists no images")
        return cls(np.stack(images), records)

    def __len__(self) -> int:
        return len(self.records)

    def caption(self, i: int, rng: random.Random, name_fraction: float | None = None) -> str:
        """One training caption of image i, drawn from its list (see EmojiRecord.captions).
        `name_fraction`: the chance that it says the emoji's name (None: as often as the list does, about
        64 %); the rest are the everyday-word captions. Either part falls back on the other if empty."""
        if name_fraction is None:
            return rng.choice(self.caption_lists[i])
        named, worded = self.caption_parts[i]
        return rng.choice(named if (rng.random() < name_fraction and named) or not worded else worded)

    @functools.cached_property
    def caption_parts(self) -> list[tuple[list[str], list[str]]]:
        """Each image's captions split into (those that say its name, the others)."""
        parts = []
        for r, caps in zip(self.records, self.caption_lists):
            says = [r.name.lower() in c.lower() for c in caps]
            parts.append(([c for c, s in zip(caps, says) if s], [c for c, s in zip(caps, says) if not s]))
        return parts

    @functools.cached_property
    def caption_lists(self) -> list[list[str]]:
        from .paraphrases import held_out_prompts

        held, common = held_out_prompts(), common_words(self.records)
        return [r.captions(held, common) for r in self.records]

    def canonical_captions(self) -> list[str]:
        return [r.name for r in self.records]

    def summary(self) -> str:
        styles = Counter(r.style or "custom" for r in self.records)
        cats = Counter(r.category for r in self.records)
        tags = {w.lower() for r in self.records for w in r.tags}
        lines = [f"{len(self)} images at {self.images.shape[1]}x{self.images.shape[2]}, {len(set(r.name for r in self.records))} distinct names",
                 f"{len(tags)} tags, {len(common_words(self.records))} of them on more than {COMMON_WORD_EMOJI} emoji (never a caption alone)"]
        lines += [f"  {s:>14}: {n}" for s, n in sorted(styles.items())]
        lines += ["  by category:"] + [f"  {c:>22}: {n}" for c, n in cats.most_common()]
        return "\n".join(lines)


def vocabulary(dataset: EmojiDataset) -> dict[str, list[str]]:
    """What the model was taught to read: every emoji name (skin tones folded) and every specific
    everyday word of its captions. The app's prompt reading finds a prompt's neighbours here
    (assets/vocabulary.json, written by `--write-vocabulary`; the app has no data/ folder)."""
    names = sorted({r.base_name for r in dataset.records})
    lowered = {n.lower() for n in names}
    common = common_words(dataset.records)
    words = sorted({w.lower() for r in dataset.records for w in r.tags}
                   - common - lowered)
    return {"names": names, "words": [w for w in words if len(w) >= 3 and any(c.isalpha() for c in w)]}


def main() -> None:
    parser = argparse.ArgumentParser(description="Build the emoji training set from the pinned npm packages.")
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    parser.add_argument("--force", action="store_true", help="rebuild even if the dataset exists")
    parser.add_argument("--resolution", type=int, default=RESOLUTION, choices=RESOLUTIONS)
    parser.add_argument("--write-vocabulary", type=Path, help="write the names and words the model learned (JSON) here")
    args = parser.parse_args()
    out = build(args.data_dir, force=args.force, resolution=args.resolution)
    if args.write_vocabulary:
        args.write_vocabulary.write_text(json.dumps(vocabulary(EmojiDataset.load(args.data_dir, args.resolution)), indent=0) + "\n")
    print(f"dataset in {out}")
    print(EmojiDataset.load(args.data_dir, args.resolution).summary())


if __name__ == "__main__":
    main()
