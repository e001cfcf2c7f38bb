"""Tiny generated videos for tests (PyAV encodes them; no files are shipped)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw


def make_video(
    path: Path,
    seed: int = 1,
    size: tuple[int, int] = (320, 240),
    seconds: float = 2.0,
    fps: int = 10,
    codec: str = "mpeg4",
    scale: float = 1.0,
) -> Path:
    """A video of moving shapes; the same seed gives the same pictures at any ``scale``."""
    import av

    rng = np.random.default_rng(seed)
    w, h = size
    colors = [tuple(int(c) for c in rng.integers(0, 255, 3)) for _ in range(6)]
    starts = [(int(rng.integers(0, w)), int(rng.integers(0, h))) for _ in range(6)]
    out_w, out_h = int(w * scale) // 2 * 2, int(h * scale) // 2 * 2
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=fps)
        stream.width, stream.height, stream.pix_fmt = out_w, out_h, "yuv420p"
        for n in range(int(seconds * fps)):
            img = Image.new("RGB", size, (20, 30, 40))
            draw = ImageDraw.Draw(img)
            for (x, y), color in zip(starts, colors, strict=True):
                dx = (x + n * 4) % w
                draw.ellipse((dx, y, dx + w // 4, y + h // 4), fill=color)
            if scale != 1.0:
                img = img.resize((out_w, out_h))
            frame = av.VideoFrame.from_image(img)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path
