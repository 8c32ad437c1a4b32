"""QR decoders behind one small interface, and the chain the scanner runs.

Every decoder takes a grayscale frame and returns the QR codes it read as exact bytes.
Measured here (docs/PERFORMANCE.md, tools/bench_scan.py): zxing-cpp reads most and costs least,
so the default chain runs zxing-cpp on the whole frame, a cheap second look at half size when that
read nothing, and its slower rescues only on the region of a code that zxing-cpp located but
could not read (``return_errors=True``). That report never fired on an empty frame here, so empty
frames, the most common ones at a gate, stay cheap (see :class:`RescueChain`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum
from os import PathLike
from pathlib import Path
from typing import Protocol, runtime_checkable

import cv2
import numpy as np

from gatekeeper.scan.sources.base import Box, Detail

log = logging.getLogger("gatekeeper.scan")

Point = tuple[float, float]
Quad = tuple[Point, Point, Point, Point]
"""Corners of a code in frame pixels: top-left, top-right, bottom-right, bottom-left."""


@dataclass(frozen=True)
class DecodedCode:
    """One QR code read from a frame.

    ``payload`` is the exact content: zxing-cpp is asked for ``TextMode.Plain`` (its default,
    "human readable" mode rewrites some content) and the text is UTF-8 encoded, which is also
    what zbar and OpenCV return. ``position`` is the code's corners in the frame, when known.
    """

    payload: bytes
    position: Quad | None = None


@runtime_checkable
class Decoder(Protocol):
    """Anything that reads QR codes from a 2-D uint8 grayscale image."""

    name: str

    def decode(self, image: np.ndarray, detail: Detail | None = None) -> list[DecodedCode]:
        """Return the codes read in ``image`` (empty list when none); never raise on pixels.

        ``detail`` reads a region of the same capture at a higher resolution (see
        :attr:`~gatekeeper.scan.sources.Frame.detail`); a decoder may use it or ignore it.
        """
        ...


class DecoderUnavailable(RuntimeError):
    """The library behind a decoder is not installed on this machine."""


def as_gray(image: np.ndarray) -> np.ndarray | None:
    """The image as a 2-D uint8 array, or None when no decoder could use it.

    Frames are grayscale already; colour images (from files) are converted here so that no
    decoder reads a single colour channel by accident (pyzbar reads channel 0 of a 3-D array).
    """
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8:
        raise TypeError(f"a decoder takes a numpy uint8 array, not {type(image).__name__}"
                        f"{'/' + str(image.dtype) if isinstance(image, np.ndarray) else ''}")
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    elif image.ndim == 3 and image.shape[2] in (3, 4) and min(image.shape[:2]) > 0:
        code = cv2.COLOR_BGR2GRAY if image.shape[2] == 3 else cv2.COLOR_BGRA2GRAY
        image = cv2.cvtColor(np.ascontiguousarray(image), code)
    if image.ndim != 2 or min(image.shape) < MIN_SIDE:
        return None
    return image


# A QR code of version 1 with no quiet zone is 21 modules wide: nothing smaller can hold one.
MIN_SIDE = 21


def _quad(points: Sequence[tuple[float, float]]) -> Quad | None:
    if len(points) != 4:
        return None
    a, b, c, d = ((float(x), float(y)) for x, y in points)
    return (a, b, c, d)


class ZxingDecoder:
    """zxing-cpp restricted to QR codes.

    ``try_invert=True`` reads light-on-dark (dark-mode) codes for +0.3 ms on an empty frame;
    ``try_rotate`` gains nothing on QR codes (their finder patterns are rotation invariant) and
    stays off. Both were chosen by measurement: see docs/PERFORMANCE.md.
    """

    def __init__(self, *, try_invert: bool = True, try_rotate: bool = False,
                 binarizer: str = "local") -> None:
        import zxingcpp

        self._zx = zxingcpp
        binarizers = {"local": zxingcpp.Binarizer.LocalAverage,
                      "global": zxingcpp.Binarizer.GlobalHistogram,
                      "binary": zxingcpp.Binarizer.BoolCast}  # for an image thresholded already
        if binarizer not in binarizers:
            raise ValueError(f"unknown zxing binarizer {binarizer!r}: use one of {sorted(binarizers)}")
        self.name = "zxing" if binarizer == "local" else f"zxing-{binarizer}"
        self.try_invert, self.try_rotate, self.binarizer = try_invert, try_rotate, binarizer
        self._options = {"formats": zxingcpp.BarcodeFormat.QRCode, "try_rotate": try_rotate,
                         "try_invert": try_invert, "text_mode": zxingcpp.TextMode.Plain,
                         "binarizer": binarizers[binarizer], "return_errors": True}

    def read(self, image: np.ndarray) -> tuple[list[DecodedCode], list[Quad]]:
        """Codes read, and the corners of codes located but not read (the rescue trigger)."""
        gray = as_gray(image)
        if gray is None:
            return [], []
        codes: list[DecodedCode] = []
        missed: list[Quad] = []
        for barcode in self._zx.read_barcodes(gray, **self._options):
            p = barcode.position
            quad = _quad([(q.x, q.y) for q in (p.top_left, p.top_right, p.bottom_right, p.bottom_left)])
            if barcode.valid:
                codes.append(DecodedCode(barcode.text.encode("utf-8"), quad))
            elif quad is not None:
                missed.append(quad)
        return codes, missed

    def decode(self, image: np.ndarray, detail: Detail | None = None) -> list[DecodedCode]:
        """Codes read in ``image``."""
        return self.read(image)[0]

    def without_invert(self) -> ZxingDecoder:
        """The same reader without the dark-mode attempt (a third of its time on an empty frame)."""
        return ZxingDecoder(try_invert=False, try_rotate=self.try_rotate, binarizer=self.binarizer)


class PyzbarDecoder:
    """zbar through pyzbar, restricted to QR codes; needs the libzbar0 system library."""

    name = "pyzbar"

    def __init__(self) -> None:
        try:
            from pyzbar import pyzbar
        except (ImportError, OSError) as exc:  # pyzbar raises ImportError when libzbar is absent
            raise DecoderUnavailable(f"pyzbar/libzbar not usable: {exc}") from exc
        self._decode = pyzbar.decode
        self._symbols = [pyzbar.ZBarSymbol.QRCODE]

    def decode(self, image: np.ndarray, detail: Detail | None = None) -> list[DecodedCode]:
        """Codes read in ``image``."""
        gray = as_gray(image)
        if gray is None:
            return []
        # pyzbar hands zbar the raw buffer with width = shape[1]: a strided view must be packed.
        found = self._decode(np.ascontiguousarray(gray), symbols=self._symbols)
        return [DecodedCode(s.data, _quad([(p.x, p.y) for p in s.polygon])) for s in found]


class OpenCVDecoder:
    """OpenCV's QRCodeDetector: the weakest and slowest here, kept for machines with nothing else."""

    name = "opencv"

    def __init__(self) -> None:
        self._detector = cv2.QRCodeDetector()

    def decode(self, image: np.ndarray, detail: Detail | None = None) -> list[DecodedCode]:
        """Codes read in ``image``."""
        gray = as_gray(image)
        if gray is None:
            return []
        try:
            # The single-code call: it read 36% of the corpus, the multi-code one 28%, and a
            # gate shows one pass at a time.
            text, points, _ = self._detector.detectAndDecode(gray)
        except UnicodeDecodeError:
            # The binding decodes payloads as UTF-8 and raises on anything else.
            return []
        except cv2.error as exc:  # e.g. "mode 13 not implemented" on some real codes
            log.debug("opencv decoder gave up on a frame: %s", exc)
            return []
        if not text:
            return []
        quad = _quad([tuple(p) for p in points.reshape(-1, 2)]) if points is not None else None
        return [DecodedCode(text.encode("utf-8"), quad)]


class Resized:
    """Another decoder run on the image resized so its long side is ``long_side`` pixels.

    zxing-cpp's binarizer window and zbar's scanner work in pixels, so the module size matters:
    a small, soft code reads better enlarged, a big blurred one better reduced. Positions are
    mapped back to ``image``. The factor is kept within [1/4, 4].
    """

    def __init__(self, inner: Decoder, long_side: int) -> None:
        self.inner = inner
        self.long_side = long_side
        self.name = f"{inner.name}@{long_side}px"

    def decode(self, image: np.ndarray, detail: Detail | None = None) -> list[DecodedCode]:
        """Codes read in the resized image, positions in ``image``."""
        gray = as_gray(image)
        if gray is None:
            return []
        f = min(4.0, max(0.25, self.long_side / max(gray.shape)))
        sized = cv2.resize(gray, None, fx=f, fy=f, interpolation=cv2.INTER_AREA if f < 1 else cv2.INTER_CUBIC)
        return [_moved(c, 0.0, 0.0, 1.0 / f) for c in self.inner.decode(sized)]


class Filtered:
    """Another decoder run on a filtered copy of the image (same size, so positions stay)."""

    def __init__(self, inner: Decoder, step: Callable[[np.ndarray], np.ndarray], name: str) -> None:
        self.inner = inner
        self.step = step
        self.name = f"{inner.name}+{name}"

    def decode(self, image: np.ndarray, detail: Detail | None = None) -> list[DecodedCode]:
        """Codes read in the filtered image."""
        gray = as_gray(image)
        return [] if gray is None else self.inner.decode(self.step(gray))


_CLAHE = cv2.createCLAHE(clipLimit=4.0, tileGridSize=(4, 4))


def equalised(gray: np.ndarray) -> np.ndarray:
    """Local contrast (CLAHE): a code half washed out by glare gets its contrast back."""
    return _CLAHE.apply(gray)


def thresholded(gray: np.ndarray) -> np.ndarray:
    """Mean-adaptive threshold with a window a tenth of the region: wider than zxing-cpp's fixed
    window, so a big module or a bright spot does not fall apart."""
    block = max(3, int(max(gray.shape) * 0.1) | 1)
    return cv2.adaptiveThreshold(gray, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY, block, 2)


def flattened(gray: np.ndarray) -> np.ndarray:
    """The image divided by its own low-frequency light (estimated at 1/16 size, so cheap):
    shadows, gradients and broad glare flatten out, edges stay."""
    h, w = gray.shape
    small = cv2.resize(gray, (max(1, w // 16), max(1, h // 16)), interpolation=cv2.INTER_AREA)
    light = cv2.resize(cv2.GaussianBlur(small, (0, 0), 2.0), (w, h), interpolation=cv2.INTER_LINEAR)
    return cv2.divide(gray, light, scale=160)


def _moved(code: DecodedCode, dx: float, dy: float, scale: float = 1.0) -> DecodedCode:
    if code.position is None:
        return code
    pos = tuple((x * scale + dx, y * scale + dy) for x, y in code.position)
    return DecodedCode(code.payload, pos)  # type: ignore[arg-type]


def crop_box(quads: Sequence[Quad], shape: tuple[int, int], margin: float = 0.25) -> Box:
    """(x0, y0, x1, y1) around ``quads`` widened by ``margin`` of their size, inside ``shape``.

    The margin restores the quiet zone and the parts of the code that zxing-cpp's corner
    estimate cut off; a few pixels more cover codes located as a sliver.
    """
    xs = [x for q in quads for x, _ in q]
    ys = [y for q in quads for _, y in q]
    extra = int(max(max(xs) - min(xs), max(ys) - min(ys)) * margin) + 4
    h, w = shape
    x0, y0 = max(0, int(min(xs)) - extra), max(0, int(min(ys)) - extra)
    x1, y1 = min(w, int(max(xs)) + extra + 1), min(h, int(max(ys)) + extra + 1)
    return x0, y0, x1, y1


def _centre(quad: Quad) -> Point:
    return sum(x for x, _ in quad) / 4, sum(y for _, y in quad) / 4


def _inside(point: Point, box: Box) -> bool:
    return box[0] <= point[0] < box[2] and box[1] <= point[1] < box[3]


def outlines(region: np.ndarray, part: Quad) -> list[Quad]:
    """Corners of the dark blobs in ``region`` that hold the located ``part`` of a code and are
    at least its size: the whole code's outline, found by closing its modules into one blob.

    zxing-cpp's corners of a code it cannot read are often those of a part of it; a tilted code
    rectified from its real outline reads where its crop does not. Two closings (an eighth and a
    quarter of the part's width) cover modules of different sizes.
    """
    size = cv2.contourArea(np.float32(part)) ** 0.5
    centre = _centre(part)
    dark = cv2.adaptiveThreshold(region, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY_INV,
                                 max(3, int(max(region.shape) * 0.1) | 1), 2)
    found: list[Quad] = []
    for k in (max(3, int(size / 8)), max(3, int(size / 4))):
        blobs, _ = cv2.findContours(cv2.morphologyEx(dark, cv2.MORPH_CLOSE, np.ones((k, k), np.uint8)),
                                    cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        for blob in blobs:
            if cv2.contourArea(blob) < 0.8 * size * size or cv2.pointPolygonTest(blob, centre, False) < 0:
                continue
            hull = cv2.convexHull(blob)
            corners = cv2.approxPolyDP(hull, 0.04 * cv2.arcLength(hull, True), True).reshape(-1, 2)
            quad = _quad(corners if len(corners) == 4 else cv2.boxPoints(cv2.minAreaRect(blob)))
            if quad is not None:
                found.append(quad)
    return found


def straightened(region: np.ndarray, quad: Quad, side: int) -> np.ndarray:
    """The code inside ``quad`` warped to a ``side``-pixel square with a quiet zone of 15% around
    it, then thresholded (:func:`thresholded`): a tilted code becomes square with even modules."""
    m = 0.15 * side
    square = np.float32([[m, m], [m + side, m], [m + side, m + side], [m, m + side]])
    warp = cv2.getPerspectiveTransform(np.float32(quad), square)
    out = int(side + 2 * m)
    return thresholded(cv2.warpPerspective(region, warp, (out, out), flags=cv2.INTER_AREA,
                                           borderMode=cv2.BORDER_REPLICATE))


def regions(missed: Sequence[Quad], read: Sequence[DecodedCode], shape: tuple[int, int],
            limit: int) -> list[Quad]:
    """The located-but-unread codes worth a rescue, largest first, at most ``limit``.

    A located code is often reported several times (each pass, each part of it) and a read code
    may also be reported unread by another pass: quads whose centre falls in an earlier one's
    crop or in a read code are folded away, so each code is rescued once. Quads smaller than
    the smallest code (a corner reported at the frame's origin) are dropped.
    """
    done = [crop_box([c.position], shape, 0.0) for c in read if c.position is not None]
    chosen: list[Quad] = []
    for quad in sorted(missed, key=lambda q: -cv2.contourArea(np.float32(q))):
        if cv2.contourArea(np.float32(quad)) < MIN_SIDE * MIN_SIDE:
            break
        if any(_inside(_centre(quad), b) for b in done):
            continue
        chosen.append(quad)
        done.append(crop_box([quad], shape))
        if len(chosen) == limit:
            break
    return chosen


class Step(Enum):
    """Rescue steps of a region that are not a rescuer run on its crop."""

    STRAIGHTEN = "straighten"  # the code's outline rectified (:func:`outlines`)
    ENHANCE = "enhance"  # the whole frame with local contrast, located codes rescued there


_CLAHE_FRAME = cv2.createCLAHE(clipLimit=4.0, tileGridSize=(8, 8))


def contrasted(gray: np.ndarray) -> np.ndarray:
    """The whole frame with local contrast (CLAHE, 8x8 tiles): dim screens, glare and shade hide
    codes from zxing-cpp's locator that it finds here."""
    return _CLAHE_FRAME.apply(gray)


def sharpened(gray: np.ndarray) -> np.ndarray:
    """Unsharp mask (2 px, amount 1): the soft edges of a blurred code's modules steepen."""
    return cv2.addWeighted(gray, 2.0, cv2.GaussianBlur(gray, (0, 0), 2.0), -1.0, 0)


_GAMMA_HALF = (255 * (np.arange(256) / 255) ** 0.5).astype(np.uint8)


def brightened(gray: np.ndarray) -> np.ndarray:
    """Gamma 0.5: dark tones spread out, so a code in shade or on a dim screen gains contrast."""
    return cv2.LUT(gray, _GAMMA_HALF)


class Look:
    """One whole-frame look: the frame at ``scale`` through ``prepare``, read by zxing-cpp
    (``binarizer``; the dark-mode attempt only with ``invert``). Codes read and the corners of
    codes located but not read come back in frame pixels, so the chain rescues what a look
    located as it rescues what the first pass located."""

    def __init__(self, name: str, prepare: Callable[[np.ndarray], np.ndarray] | None = None, *,
                 scale: float = 1.0, binarizer: str = "local", invert: bool = False) -> None:
        self.name = name
        self.prepare = prepare
        self.scale = scale
        self._reader = ZxingDecoder(try_invert=invert, binarizer=binarizer)

    def read(self, gray: np.ndarray) -> tuple[list[DecodedCode], list[Quad]]:
        """Codes read, and the corners of codes located but not read, in ``gray``'s pixels."""
        image = gray
        if self.scale != 1.0:
            size = (int(gray.shape[1] * self.scale), int(gray.shape[0] * self.scale))
            if min(size) < MIN_SIDE:
                return [], []
            image = cv2.resize(gray, size, interpolation=cv2.INTER_AREA)
        codes, missed = self._reader.read(image if self.prepare is None else self.prepare(image))
        back = 1.0 / self.scale
        return ([_moved(c, 0.0, 0.0, back) for c in codes],
                [tuple((x * back, y * back) for x, y in q) for q in missed])  # type: ignore[misc]


def flattened_half() -> Look:
    """The look of every frame the first pass read nothing in: half size, light flattened
    (:func:`flattened`), dark mode tried; about a quarter of the first pass's time."""
    return Look("flat/2", flattened, scale=0.5, invert=True)


def default_cycle() -> tuple[Look | None, ...]:
    """The looks frames take in turn (None: none), chosen by measurement on the real photos
    (docs/PERFORMANCE.md): local contrast for glare and dim screens, a sharpened half-size frame
    for blur, a brightened frame for shade, zxing-cpp's global binarizer for uneven light. The
    cycle's first frame is the one whose first pass tries dark mode; a frame without a look
    after each look keeps an empty frame's mean cost near 1.2x zxing-cpp alone."""
    return (None, Look("clahe", contrasted), None, Look("sharp/2", sharpened, scale=0.5), None,
            Look("bright", brightened), None, Look("global", binarizer="global"), None)


@dataclass(frozen=True)
class _Pending:
    """A region whose rescue a frame's time budget cut: where a later frame resumes it, and the
    last frame it is resumed on without a code located there again."""

    quad: Quad
    box: Box
    step: int
    until: int


class RescueChain:
    """zxing-cpp on the whole frame, cheap further looks when it reads nothing, and rescues only
    on the regions of codes located but not read.

    When the first pass reads nothing, the second look (:func:`flattened_half`) runs on the frame
    at half size with its light flattened: it reads or at least locates codes whose finder
    patterns glare or shadow hide from the first pass. Then the frame's look of the ``cycle``
    (:func:`default_cycle`) runs, if it has one: the frames take the looks in turn, so a code held
    in view gets every look within a cycle (9 frames, 0.3 s at 30 frames/s) while an empty frame
    pays for one look at most, on average about 1.2x zxing-cpp alone. The first pass tries dark
    mode (light-on-dark codes) on the cycle's first frame only; the second look tries it on every
    frame, at half size. With an empty ``cycle`` every first pass tries dark mode and no look runs.

    Each code located but unread (by any of them) is then cropped, or read from the
    high-resolution ``detail`` stream when the frame has one, and the rescuers try it in turn;
    the first that reads something wins. The crop is tried with a quarter of the located size
    around it, then with once and three times that size: zxing-cpp often locates only part of a
    damaged or glared code, on dim screens with a glare spot a structure a third of the code's
    width or less; last, the code is straightened (:func:`outlines`), then the whole frame with
    local contrast is read. A rescuer is any Decoder; its results are moved back into frame
    coordinates. At most ``max_regions`` codes are rescued per frame, and no rescue step starts
    once ``budget_ms`` have passed since the frame's decode began (None: no limit; the frame's
    first step always runs), so a frame full of code-like clutter cannot stall the loop.

    With ``resume`` (the default), a region the budget cut is resumed on the next frame at the
    step where it stopped, when that frame locates a code there again: a code held in view gets
    every rescue step within a few frames, each frame staying within its budget. Consecutive
    frames of one camera are what it is for; :meth:`forget` starts a new scene.
    """

    def __init__(self, primary: ZxingDecoder, rescuers: Sequence[Decoder], *,
                 second_look: bool = True, cycle: Sequence[Look | None] | None = None,
                 max_regions: int = 2, budget_ms: float | None = 20.0,
                 margins: Sequence[float] = (0.25, 1.0, 3.0), resume: bool = True,
                 enhance: bool = True) -> None:
        self.primary = primary
        self._plain = primary.without_invert()
        # Each wider crop runs only when the narrower one read nothing (docs/PERFORMANCE.md).
        self.margins = tuple(margins)
        self.rescuers = list(rescuers)
        self._second = flattened_half() if second_look else None
        self.cycle = tuple(default_cycle() if cycle is None else cycle)
        self._frame = 0
        self._binary = ZxingDecoder(binarizer="binary")
        self.max_regions = max_regions
        self.budget_ms = budget_ms
        self.resume = resume
        self._pending: tuple[tuple[int, int], list[_Pending]] = ((0, 0), [])
        # The last step: the same chain (no second look, no cycle) on the frame with local
        # contrast, its own rescues resumed across frames as these are.
        self._enhanced = RescueChain(primary, rescuers, second_look=False, cycle=(), max_regions=max_regions,
                                     budget_ms=budget_ms, margins=margins, resume=resume,
                                     enhance=False) if enhance and self.rescuers else None
        self._enhanced_now: tuple[list[DecodedCode], bool] | None = None
        self._turn = 0
        looks = [look.name for look in self.cycle if look is not None]
        self.name = "+".join([primary.name, *([self._second.name] if self._second else []),
                              *([f"cycle({','.join(looks)})"] if looks else []), *(r.name for r in self.rescuers)])

    def forget(self) -> None:
        """Drop the rescues to resume and start the cycle again: the next frame is of a new scene."""
        self._pending = ((0, 0), [])
        self._turn = 0
        self._frame = 0
        if self._enhanced is not None:
            self._enhanced.forget()

    def decode(self, image: np.ndarray, detail: Detail | None = None) -> list[DecodedCode]:
        """Codes read in ``image`` (positions in ``image``'s pixels)."""
        gray = as_gray(image)
        if gray is None:
            return []
        deadline = None if self.budget_ms is None else time.perf_counter() + self.budget_ms / 1000
        return self._decode(gray, detail, deadline, guarantee=True)

    def _decode(self, gray: np.ndarray, detail: Detail | None, deadline: float | None,
                guarantee: bool) -> list[DecodedCode]:
        self._enhanced_now = None
        turn = self._frame % len(self.cycle) if self.cycle else 0
        self._frame += 1
        codes, missed = (self.primary if turn == 0 else self._plain).read(gray)
        # A frame the first pass read costs what it did before the looks existed.
        for look in (self._second, self.cycle[turn] if self.cycle else None):
            if codes:
                break
            if look is not None:
                codes, more_missed = look.read(gray)
                missed += more_missed
        shape, before = self._pending
        before = before if shape == gray.shape and self.resume else []
        pending: list[_Pending] = []
        if self.rescuers and (missed or before):
            steps = self._steps()
            first = guarantee
            work = self._regions(gray.shape, missed, codes, before)
            # Frame by frame, each region goes first in turn: a region held back by another's
            # long rescue still gets its guaranteed step.
            self._turn += 1
            lead = self._turn % len(work) if work else 0
            for quad, start, until in work[lead:] + work[:lead]:
                found, stop = self._rescue(gray, quad, detail, deadline, steps, start, first)
                first = False
                known = {c.payload for c in codes}
                codes += [c for c in found if c.payload not in known]
                if not found and stop is not None:
                    pending.append(_Pending(quad, crop_box([quad], gray.shape), stop, until))
        self._pending = (gray.shape, pending)
        return codes

    def _regions(self, shape: tuple[int, int], missed: list[Quad], codes: list[DecodedCode],
                 before: list[_Pending]) -> list[tuple[Quad, int, int]]:
        """This frame's regions to rescue: (corners, step to start at, last frame to resume on).

        The located-but-unread codes (:func:`regions`), each resumed where an earlier frame's
        budget cut its rescue when it lies in that region; then, room permitting, regions cut
        earlier in the cycle that this frame did not locate again: a code only a look located
        (one frame a cycle) is rescued on the frames between, until the cycle comes round."""
        until = self._frame + len(self.cycle)
        work: list[tuple[Quad, int, int]] = []
        for quad in regions(missed, codes, shape, self.max_regions):
            cut = next((p for p in before if _inside(_centre(quad), p.box)), None)
            work.append((quad, 0 if cut is None else cut.step, until))
        taken = [crop_box([q], shape) for q, _, _ in work]
        taken += [crop_box([c.position], shape, 0.0) for c in codes if c.position is not None]
        for p in before:
            if len(work) < self.max_regions and p.until >= self._frame and \
                    not any(_inside(_centre(p.quad), b) for b in taken):
                work.append((p.quad, p.step, p.until))
                taken.append(p.box)
        return work

    def _steps(self) -> list[tuple[float, Decoder | Step]]:
        """Every rescue of a region in order: (crop margin, rescuer or :class:`Step`). The first
        pass's own reader is a step too, for a region read from the detail stream."""
        tries: list[Decoder] = [self.primary, *self.rescuers]
        last = [Step.STRAIGHTEN, *([Step.ENHANCE] if self._enhanced is not None else [])]
        return [*((m, r) for m in self.margins for r in tries), *((self.margins[-1], s) for s in last)]

    def _rescue(self, gray: np.ndarray, quad: Quad, detail: Detail | None, deadline: float | None,
                steps: Sequence[tuple[float, Decoder | Step]], start: int,
                first: bool) -> tuple[list[DecodedCode], int | None]:
        """The region's steps from ``start`` round to it, until one reads or the budget ends:
        (codes, None), ([], None) when every step ran, or ([], the step to resume at).

        The detail stream is read once per crop, not once per step: on a Pi each read copies the
        camera's main buffer."""
        fine: dict[Box, np.ndarray | None] = {}
        for k in range(len(steps)):
            i = (start + k) % len(steps)
            if deadline is not None and time.perf_counter() > deadline and not (first and k == 0):
                return [], i
            margin, rescuer = steps[i]
            if rescuer is Step.ENHANCE:
                found, cut = self._enhance(gray, deadline, first and k == 0)
                if cut:
                    return [], i
            elif rescuer is Step.STRAIGHTEN:
                found = self._straighten(gray, quad)
            else:
                box = crop_box([quad], gray.shape, margin)
                if box not in fine:
                    fine[box] = detail(box) if detail is not None else None
                found = self._crop_step(gray, box, fine[box], rescuer)
            if found:
                return found, None
        return [], None  # every step ran: the next frame starts from the first

    def _enhance(self, gray: np.ndarray, deadline: float | None,
                 guarantee: bool) -> tuple[list[DecodedCode], bool]:
        """The whole frame with local contrast (:func:`contrasted`), read by the chain without a
        second look, once per frame: (codes, whether its rescues were cut and resume later). Its
        crops are of the enhanced frame, not of the detail stream, which has no local contrast."""
        if self._enhanced is None:
            return [], False
        if self._enhanced_now is None:
            found = self._enhanced._decode(contrasted(gray), None, deadline, guarantee)
            self._enhanced_now = (found, bool(self._enhanced._pending[1]))
        return self._enhanced_now

    # Module sizes of about 4 px for the small versions a pass uses, and room for larger ones.
    SIDES = (120, 320)

    def _straighten(self, gray: np.ndarray, quad: Quad) -> list[DecodedCode]:
        """The last rescue: the code's outline in the widest crop, rectified (:func:`outlines`)."""
        x0, y0, x1, y1 = crop_box([quad], gray.shape, self.margins[-1])
        part: Quad = tuple((x - x0, y - y0) for x, y in quad)  # type: ignore[assignment]
        for outline in outlines(gray[y0:y1, x0:x1], part):
            for side in self.SIDES:
                found = self._binary.decode(straightened(gray[y0:y1, x0:x1], outline, side))
                if found:
                    return [_moved(DecodedCode(c.payload, outline), x0, y0) for c in found]
        return []

    def _crop_step(self, gray: np.ndarray, box: Box, fine: np.ndarray | None,
                   rescuer: Decoder) -> list[DecodedCode]:
        x0, y0, x1, y1 = box
        if fine is not None and fine.ndim == 2 and min(fine.shape) >= MIN_SIDE:
            # More pixels per module: the first pass's own reader comes first there.
            found, scale = rescuer.decode(fine), (x1 - x0) / fine.shape[1]
        elif rescuer is self.primary:
            return []  # the first pass read this very crop already
        else:
            found, scale = rescuer.decode(gray[y0:y1, x0:x1]), 1.0
        return [_moved(c, x0, y0, scale) for c in found]


class FirstOf:
    """Decoders tried in turn on the whole frame until one reads something.

    Used only when zxing-cpp is not in front: without its located-but-unread report there is no
    cheap way to tell an empty frame from a hard one, so every empty frame pays for every decoder.
    """

    def __init__(self, decoders: Sequence[Decoder]) -> None:
        self.decoders = list(decoders)
        self.name = "|".join(d.name for d in self.decoders)

    def decode(self, image: np.ndarray, detail: Detail | None = None) -> list[DecodedCode]:
        """Codes read by the first decoder that reads any."""
        for decoder in self.decoders:
            found = decoder.decode(image)
            if found:
                return found
        return []


_FACTORIES = {"zxing": ZxingDecoder, "pyzbar": PyzbarDecoder, "opencv": OpenCVDecoder}
_reported_missing: set[str] = set()

DEFAULT_CHAIN = ("zxing", "pyzbar")
"""The default: zxing-cpp, its half-size second look, its own rescues and zbar (measured)."""


def _make(name: str) -> Decoder | None:
    try:
        return _FACTORIES[name]()
    except (DecoderUnavailable, ImportError, OSError) as exc:
        if name not in _reported_missing:  # once per process: the loop may rebuild decoders
            _reported_missing.add(name)
            log.warning("decoder %r is not available on this machine and is skipped: %s", name, exc)
        return None


def available_decoders() -> list[str]:
    """Names of the decoders whose libraries work on this machine."""
    return [name for name in _FACTORIES if _make(name) is not None]


def build_decoder(names: Sequence[str]) -> Decoder:
    """The decoder chain for ``names`` (from "zxing", "pyzbar", "opencv"), in that order.

    With "zxing" first, a :class:`RescueChain`: the others run only on regions zxing-cpp
    located but could not read, after zxing-cpp's own rescues (:func:`zxing_rescuers`).
    Otherwise each runs on the whole frame when the ones before it read nothing.
    A decoder whose library is missing is logged once and left out.
    """
    wanted = [str(n).strip().lower() for n in names]
    unknown = [n for n in wanted if n not in _FACTORIES]
    if unknown or not wanted:
        raise ValueError(f"unknown decoder name(s) {unknown or wanted!r}: "
                         f"choose from {', '.join(_FACTORIES)} (e.g. ['zxing', 'pyzbar'])")
    built = [d for d in (_make(n) for n in dict.fromkeys(wanted)) if d is not None]
    if not built:
        raise ValueError(f"none of the decoders {wanted!r} is available on this machine; "
                         "install zxing-cpp (pip install zxing-cpp)")
    first = built[0]
    if isinstance(first, ZxingDecoder):
        return RescueChain(first, zxing_rescuers(built[1:]))
    return built[0] if len(built) == 1 else FirstOf(built)


def zxing_rescuers(others: Sequence[Decoder] = ()) -> list[Decoder]:
    """The rescues for a located but unread region, cheapest first (docs/PERFORMANCE.md has the
    measurements): zxing-cpp's global binarizer; local contrast; a wide adaptive threshold;
    the region at 800 px (module size); then ``others`` (zbar, OpenCV) on the region at 300 px."""
    zx = ZxingDecoder()
    return [ZxingDecoder(binarizer="global"), Filtered(zx, equalised, "clahe"),
            Filtered(ZxingDecoder(binarizer="binary"), thresholded, "threshold"),
            Resized(zx, 800), *(Resized(o, 300) for o in others)]


def default_decoder() -> Decoder:
    """The chain chosen by measurement: see DEFAULT_CHAIN and docs/PERFORMANCE.md."""
    return build_decoder(DEFAULT_CHAIN)


def read_gray(path: str | PathLike[str]) -> np.ndarray:
    """A still image as 2-D uint8 grayscale; ValueError naming the path when it is not one."""
    p = Path(path)
    if not p.is_file():
        raise ValueError(f"{p}: no such file")
    image = cv2.imread(str(p), cv2.IMREAD_GRAYSCALE)
    if image is None or image.size == 0:
        raise ValueError(f"{p}: not an image that can be read (PNG, JPEG, WebP, BMP, TIFF)")
    return image


HELD_FRAMES = 30
"""A code held before the camera for a second at 30 frames/s: how long ``gatekeeper check`` holds an image."""


def decode_held(image: np.ndarray, decoder: Decoder, frames: int = HELD_FRAMES) -> list[DecodedCode]:
    """Codes a gate reads when ``image`` is held before its camera: up to ``frames`` frames of it,
    the chain's state kept between them (its looks take their turns, rescues cut by the time
    budget resume), until the first frame that reads something, the frame the gate decides on.
    The image is a new scene: nothing carries over from before. A decoder without state reads
    every frame alike, so it reads one."""
    if frames < 1:
        raise ValueError(f"an image is held for at least one frame, not {frames}")
    if not isinstance(decoder, RescueChain):
        return decoder.decode(image)
    decoder.forget()
    for _ in range(frames):
        found = decoder.decode(image)
        if found:
            return found
    return []


def decode_file(path: str | PathLike[str], decoder: Decoder | None = None,
                frames: int = 1) -> list[DecodedCode]:
    """Codes in a still image file, read with ``decoder`` (default: the default chain), the
    image held for ``frames`` frames (:func:`decode_held`)."""
    return decode_held(read_gray(path), decoder or default_decoder(), frames)
