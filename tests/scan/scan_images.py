"""Images for the scan tests: the real-photo corpus beside the checkout, QR images made with segno."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import segno

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus"
REALPHOTO = CORPUS.with_name("corpus-realphoto")  # hand-marked codes in hard conditions (its NOTICE.md)


def corpus_items() -> list[tuple[Path, bytes]]:
    """(image, expected bytes) for every corpus image that has an expected text."""
    items = []
    for folder in sorted(CORPUS.glob("qrcode-*")):
        for image in sorted(folder.iterdir()):
            text = image.with_suffix(".txt")
            if image.suffix in (".png", ".jpg", ".webp") and text.exists():
                items.append((image, text.read_bytes()))
    return items


def falsepositive_images() -> list[Path]:
    """Images that hold no QR code."""
    return sorted(p for d in CORPUS.glob("falsepositives-*") for p in d.iterdir()
                  if p.suffix in (".png", ".jpg", ".webp"))



def qr_image(text: str, scale: int = 6, border: int = 4) -> np.ndarray:
    """A clean grayscale QR image (never a Micro QR: segno would pick one for short texts)."""
    matrix = np.array(segno.make(text, error="m", micro=False).matrix, dtype=np.uint8)
    matrix = np.pad(matrix, border)
    img = np.where(matrix > 0, 0, 255).astype(np.uint8)
    return cv2.resize(img, None, fx=scale, fy=scale, interpolation=cv2.INTER_NEAREST)


def on_canvas(code: np.ndarray | None, size: tuple[int, int] = (640, 480), at=(100, 60)) -> np.ndarray:
    """A mid-grey frame of ``size`` with ``code`` pasted at ``at`` (or nothing)."""
    w, h = size
    frame = np.full((h, w), 140, np.uint8)
    if code is not None:
        x, y = at
        frame[y:y + code.shape[0], x:x + code.shape[1]] = code
    return frame


def realphoto_folder(name: str) -> list[Path]:
    """The photos of one folder of the real-photo set (empty when the set is not there)."""
    return sorted((REALPHOTO / name).glob("*.jpg"))
