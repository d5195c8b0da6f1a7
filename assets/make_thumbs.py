"""Make the preset buttons' thumbnails from the presets' media (see kling_ui/ui/thumbs.py).

    python assets/make_thumbs.py

Writes assets/thumbs/<name>-<ext>.jpg, 96x96 centre-cropped JPEGs of a few KB each: an image as
it is, a video's frame from the middle (its first frames may be a fade or a title). Run it again
after adding a preset with new media.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from PIL import Image, ImageOps

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kling_ui.media.preview import make_poster  # noqa: E402
from kling_ui.media.probe import probe_video  # noqa: E402
from kling_ui.ui.thumbs import ASSETS, THUMB_PX, THUMBS, thumb_media, thumb_path  # noqa: E402

VIDEO_EXTS = {".mp4", ".mov", ".webm"}


def make_thumb(media: str) -> Path:
    src = ASSETS / media
    out = thumb_path(media)
    with tempfile.TemporaryDirectory() as tmp:
        if src.suffix.lower() in VIDEO_EXTS:
            info = probe_video(str(src))
            src = Path(make_poster(info, tmp, at=info.duration / 2, dest=str(Path(tmp) / "p.jpg")))
        with Image.open(src) as img:
            thumb = ImageOps.fit(img.convert("RGB"), (THUMB_PX, THUMB_PX), Image.Resampling.LANCZOS)
    thumb.save(out, "JPEG", quality=82, optimize=True)
    return out


def main() -> None:
    THUMBS.mkdir(exist_ok=True)
    presets = json.loads((ASSETS / "presets.json").read_text(encoding="utf-8"))
    media = {m for k, v in presets.items() if not k.startswith("_") for p in v
             if (m := thumb_media(p))}
    for m in sorted(media):
        out = make_thumb(m)
        print(f"{out.relative_to(ASSETS)}: {out.stat().st_size} bytes")


if __name__ == "__main__":
    main()
