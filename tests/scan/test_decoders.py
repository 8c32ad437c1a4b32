"""Decoders on real photographs, hostile arrays and hostile files."""

from __future__ import annotations

import logging

import cv2
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from gatekeeper.scan import decoders
from gatekeeper.scan.decoders import (
    DecodedCode,
    OpenCVDecoder,
    PyzbarDecoder,
    ZxingDecoder,
    available_decoders,
    build_decoder,
    decode_file,
    default_decoder,
)
from gatekeeper.scan.synthetic import Pose, random_pose, render_scene
from tests.scan.scan_images import REALPHOTO, falsepositive_images, on_canvas, qr_image, realphoto_folder


def read_rate(decoder, items) -> float:
    # Each image a scene of its own, read on one frame (a chain's first frame of a cycle).
    hits = sum(exp in [c.payload for c in decoders.decode_held(cv2.imread(str(p), cv2.IMREAD_GRAYSCALE), decoder, 1)]
               for p, exp in items)
    return hits / len(items)


@pytest.mark.parametrize("make, floor", [(ZxingDecoder, 0.85), (PyzbarDecoder, 0.6), (OpenCVDecoder, 0.3)])
def test_each_decoder_reads_real_photos(corpus, make, floor):
    # Floors a little under the rates measured here: a decoder that broke would fall far below.
    assert read_rate(make(), corpus) >= floor


def test_default_chain_reads_at_least_93_percent_of_the_corpus(corpus):
    assert read_rate(default_decoder(), corpus) >= 0.93


def test_chain_reads_more_than_raw_zxing(corpus):
    assert read_rate(default_decoder(), corpus) > read_rate(ZxingDecoder(), corpus)


def test_no_decoder_reads_anything_in_the_false_positive_images(corpus):
    chains = [default_decoder(), build_decoder(["zxing", "pyzbar", "opencv"]), PyzbarDecoder(), OpenCVDecoder()]
    for path in falsepositive_images():
        image = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
        if image is None:  # two 1-pixel-wide webp files OpenCV will not load
            continue
        for d in chains:
            assert d.decode(image) == [], (d.name, path.name)
        # Held before the camera, the default chain's looks all take their turn on it.
        assert decoders.decode_held(image, default_decoder(), len(decoders.default_cycle())) == [], path.name


def test_payload_is_exact_bytes_including_crlf(corpus):
    crlf = [(p, exp) for p, exp in corpus if b"\r\n" in exp]
    assert crlf, "the corpus holds texts with CRLF line ends"
    assert read_rate(default_decoder(), crlf) >= 0.9


@pytest.mark.parametrize("decoder", [ZxingDecoder(), PyzbarDecoder(), OpenCVDecoder(), default_decoder()],
                         ids=lambda d: d.name)
def test_position_is_the_code_in_frame_coordinates(decoder):
    frame = on_canvas(qr_image("HC1:GATE-PASS-0042", scale=5), at=(300, 150))
    [code] = decoder.decode(frame)
    assert code.payload == b"HC1:GATE-PASS-0042"
    xs = [x for x, _ in code.position]
    ys = [y for _, y in code.position]
    # The code's modules start at the 4-module quiet zone: (300 + 20, 150 + 20).
    assert 310 <= min(xs) <= 330 and 140 <= min(ys) <= 180


def test_inverted_dark_mode_code_is_read():
    frame = on_canvas(255 - qr_image("DARK MODE PASS", scale=5))
    assert [c.payload for c in default_decoder().decode(frame)] == [b"DARK MODE PASS"]


def test_a_strided_view_is_read_as_the_picamera2_y_plane_is():
    code = qr_image("Y PLANE VIEW", scale=5)
    h, w = 480, 640
    yuv = np.full((h * 3 // 2, w + 64), 140, np.uint8)  # padded stride, then the U and V planes
    yuv[50:50 + code.shape[0], 50:50 + code.shape[1]] = code
    y = yuv[:h, :w]
    assert not y.flags["C_CONTIGUOUS"]
    for d in (ZxingDecoder(), PyzbarDecoder(), OpenCVDecoder()):
        assert [c.payload for c in d.decode(y)] == [b"Y PLANE VIEW"], d.name


def test_rescue_reads_small_soft_codes_raw_zxing_misses():
    # Small, blurred codes: zxing-cpp locates some it cannot read; the rescues on the crop read
    # them. A sweep over sizes and blur levels, not one image tuned to pass.
    raw, chain = ZxingDecoder(), default_decoder()
    raw_hits = chain_hits = 0
    for factor in (0.35, 0.4, 0.45, 0.5):
        small = cv2.resize(qr_image("RESCUE ME 0123456789 ABCDEFGHIJ", scale=4), None, fx=factor, fy=factor,
                           interpolation=cv2.INTER_AREA)
        for sigma in np.linspace(0.4, 1.6, 13):
            frame = cv2.GaussianBlur(on_canvas(small), (0, 0), float(sigma))
            raw_hits += [c.payload for c in raw.decode(frame)] == [b"RESCUE ME 0123456789 ABCDEFGHIJ"]
            got = [c.payload for c in chain.decode(frame)]
            assert got in ([], [b"RESCUE ME 0123456789 ABCDEFGHIJ"])
            chain_hits += bool(got)
    assert chain_hits > raw_hits


def test_empty_frame_reads_nothing_and_triggers_no_rescue():
    rng = np.random.default_rng(7)
    frame = cv2.GaussianBlur(rng.integers(0, 255, (480, 640), dtype=np.uint8), (9, 9), 0)
    codes, missed = ZxingDecoder().read(frame)
    assert codes == [] and missed == []


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(arrays(np.uint8, st.lists(st.integers(0, 70), min_size=0, max_size=4).map(tuple)))
def test_any_uint8_array_of_any_shape_never_raises(image):
    for d in (default_decoder(), OpenCVDecoder()):
        result = d.decode(image)
        assert isinstance(result, list) and all(isinstance(c, DecodedCode) for c in result)


def test_wrong_dtype_is_a_clear_type_error():
    with pytest.raises(TypeError, match="uint8"):
        default_decoder().decode(np.zeros((100, 100), np.float32))


def test_build_decoder_names_and_unknown_name():
    assert set(available_decoders()) == {"zxing", "pyzbar", "opencv"}
    assert build_decoder(["zxing", "pyzbar"]).name == default_decoder().name
    assert build_decoder(["pyzbar", "opencv"]).name == "pyzbar|opencv"
    with pytest.raises(ValueError, match="zbar-ng"):
        build_decoder(["zbar-ng"])
    with pytest.raises(ValueError):
        build_decoder([])


def test_missing_library_is_logged_once_and_skipped(monkeypatch, caplog):
    def missing():
        raise decoders.DecoderUnavailable("libzbar0 not installed")

    monkeypatch.setitem(decoders._FACTORIES, "pyzbar", missing)
    monkeypatch.setattr(decoders, "_reported_missing", set())
    with caplog.at_level(logging.WARNING, logger="gatekeeper.scan"):
        first = build_decoder(["zxing", "pyzbar"])
        build_decoder(["zxing", "pyzbar"])
    assert "pyzbar" not in first.name.split("+")
    frame = on_canvas(qr_image("STILL WORKS"))
    assert [c.payload for c in first.decode(frame)] == [b"STILL WORKS"]
    assert sum("pyzbar" in r.getMessage() for r in caplog.records) == 1
    with pytest.raises(ValueError, match="available"):
        build_decoder(["pyzbar"])


def test_decode_file_reads_a_png(tmp_path):
    path = tmp_path / "pass.png"
    cv2.imwrite(str(path), on_canvas(qr_image("FILE PASS")))
    assert [c.payload for c in decode_file(path)] == [b"FILE PASS"]


@pytest.mark.parametrize("content", [b"", b"not an image at all", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64,
                                     b"\xff\xd8\xff\xe0" + bytes(range(256)) * 4])
def test_decode_file_refuses_a_hostile_file_with_its_path(tmp_path, content):
    path = tmp_path / "evil; rm -rf.png"
    path.write_bytes(content)
    with pytest.raises(ValueError, match="evil"):
        decode_file(path)


def test_decode_file_missing_and_directory(tmp_path):
    with pytest.raises(ValueError, match="no such file"):
        decode_file(tmp_path / "nope.png")
    with pytest.raises(ValueError, match="no such file"):
        decode_file(tmp_path)


def test_the_second_look_reads_glared_and_shaded_codes_the_first_pass_misses():
    # A sweep of phones held in strong glare and uneven light (not one image tuned to pass): the
    # chain's half-size flattened look and its rescues read more than zxing-cpp alone, and
    # only ever the code that is there.
    rng = np.random.default_rng(31)
    raw, chain = ZxingDecoder(), default_decoder()
    raw_hits = chain_hits = 0
    for i in range(40):
        pose = random_pose(rng)
        pose = Pose(cx=pose.cx, cy=pose.cy, scale=pose.scale, angle=pose.angle, tilt=pose.tilt,
                    tilt_dir=pose.tilt_dir, blur=pose.blur, glare=float(rng.uniform(0.6, 0.9)),
                    noise=pose.noise, brightness=float(rng.uniform(0.5, 1.2)))
        text = f"GLARE PASS {i:02d} 0123456789"
        frame = render_scene(text, (640, 480), rng, pose=pose)
        raw_hits += [c.payload for c in raw.decode(frame)] == [text.encode()]
        got = [c.payload for c in chain.decode(frame)]
        assert got in ([], [text.encode()])
        chain_hits += bool(got)
    assert chain_hits > raw_hits


def test_a_wide_crop_reads_codes_located_only_in_part_on_dim_glared_screens():
    # zxing-cpp locates only a small part of some dim codes with a glare spot; a crop three times
    # the located size around it reads them. The whole folder, not one photo tuned to pass.
    photos = realphoto_folder("bright_spots")
    if not photos:
        pytest.skip(f"real-photo set not found at {REALPHOTO}")

    def reads(margins: tuple[float, ...]) -> set[tuple[str, bytes]]:
        chain = decoders.RescueChain(ZxingDecoder(), decoders.zxing_rescuers(), budget_ms=None, margins=margins,
                                     enhance=False, cycle=())
        return {(p.name, c.payload) for p in photos for c in chain.decode(cv2.imread(str(p), cv2.IMREAD_GRAYSCALE))}

    narrow, wide = reads((0.25, 1.0)), reads((0.25, 1.0, 3.0))
    assert narrow < wide


@pytest.mark.parametrize("tilt", [0.0, 0.15, 0.3])
def test_outline_of_a_tilted_code_from_a_located_part_reads_straightened(tilt):
    # The located part is the top-left finder pattern only (as zxing-cpp reports some codes); the
    # outline is the whole code's, and the code read from its straightened square.
    text = "TILTED PASS 0123456789"
    code = qr_image(text, scale=4, border=0)
    n = code.shape[0]
    corners = np.float32([[0, 0], [n, 0], [n, n], [0, n]])
    shifted = np.float32([[150, 100], [150 + n, 100 + tilt * n], [150 + n, 100 + n - tilt * n], [150, 100 + n]])
    frame = cv2.warpPerspective(code, cv2.getPerspectiveTransform(corners, shifted), (480, 400),
                                borderValue=255)
    finder = 7 * 4
    part = tuple(tuple(float(v) for v in p) for p in cv2.perspectiveTransform(
        np.float32([[[0, 0], [finder, 0], [finder, finder], [0, finder]]]),
        cv2.getPerspectiveTransform(corners, shifted))[0])
    found = decoders.outlines(frame, part)
    assert found
    best = min(found, key=lambda q: sum(min(np.hypot(x - a, y - b) for a, b in shifted) for x, y in q))
    assert all(min(np.hypot(x - a, y - b) for x, y in best) < 0.1 * n for a, b in shifted)
    read = ZxingDecoder(binarizer="binary").decode(decoders.straightened(frame, best, 120))
    assert [c.payload for c in read] == [text.encode()]


def test_no_outline_without_a_blob_at_least_the_located_size():
    frame = on_canvas(None)
    part = ((100.0, 100.0), (140.0, 100.0), (140.0, 140.0), (100.0, 140.0))
    assert decoders.outlines(frame, part) == []


def test_regions_fold_repeats_and_drop_slivers():
    big = ((100.0, 100.0), (200.0, 100.0), (200.0, 200.0), (100.0, 200.0))
    part = ((140.0, 140.0), (180.0, 140.0), (180.0, 180.0), (140.0, 180.0))  # inside big's crop
    other = ((400.0, 300.0), (450.0, 300.0), (450.0, 350.0), (400.0, 350.0))
    sliver = ((0.0, 0.0), (3.0, 0.0), (3.0, 3.0), (0.0, 3.0))
    assert decoders.regions([part, sliver, other, big], [], (480, 640), 5) == [big, other]
    assert decoders.regions([part, big, other], [], (480, 640), 1) == [big]
    read = DecodedCode(b"X", big)
    assert decoders.regions([part, other], [read], (480, 640), 5) == [other]


@pytest.mark.parametrize("folder", ["bright_spots", "perspective"])
def test_a_rescue_cut_by_the_budget_resumes_on_the_next_frames(folder):
    # A code held in view: the same frame again and again. With no time at all for rescues each
    # frame runs one rescue step; resumed where the last frame stopped (the frame's regions taking
    # the first step in turn), the late steps (the wide crop, the straightening) are reached within
    # a few frames and read all the chain reads with no budget; restarted from the first step every
    # frame, they never are.
    photos = realphoto_folder(folder)
    if not photos:
        pytest.skip(f"real-photo set not found at {REALPHOTO}")
    frames = [cv2.imread(str(p), cv2.IMREAD_GRAYSCALE) for p in photos]
    steps = 3 * (1 + len(decoders.zxing_rescuers())) + 1

    def held(resume: bool) -> set[tuple[int, bytes]]:
        chain = decoders.RescueChain(ZxingDecoder(), decoders.zxing_rescuers(), budget_ms=0.0, resume=resume,
                                     enhance=False, cycle=())
        got = set()
        for i, frame in enumerate(frames):
            chain.forget()
            for _ in range(2 * steps):  # two regions a frame, each first in turn
                got |= {(i, c.payload) for c in chain.decode(frame)}
        return got

    unlimited = decoders.RescueChain(ZxingDecoder(), decoders.zxing_rescuers(), budget_ms=None, enhance=False,
                                     cycle=())
    everything = {(i, c.payload) for i, f in enumerate(frames) for c in unlimited.decode(f)}
    restarted, resumed = held(False), held(True)
    assert restarted < resumed == everything


def test_the_enhanced_frame_reads_codes_the_crops_do_not_and_nothing_else():
    # The last step: the whole frame with local contrast, its located codes rescued there. Over
    # three folders of hard real photos it reads more than the chain without it, and only codes the
    # chain without it cannot read (never a different payload where both read one).
    photos = [p for f in ("bright_spots", "glare", "brightness") for p in realphoto_folder(f)]
    if not photos:
        pytest.skip(f"real-photo set not found at {REALPHOTO}")

    def reads(enhance: bool) -> dict[str, set[bytes]]:
        chain = decoders.RescueChain(ZxingDecoder(), decoders.zxing_rescuers(), budget_ms=None, enhance=enhance)
        out = {}
        for p in photos:
            chain.forget()
            out[str(p)] = {c.payload for c in chain.decode(cv2.imread(str(p), cv2.IMREAD_GRAYSCALE))}
        return out

    plain, enhanced = reads(False), reads(True)
    assert all(plain[n] <= enhanced[n] for n in plain)
    assert sum(map(len, enhanced.values())) > sum(map(len, plain.values()))
    assert decoders.contrasted(on_canvas(None)).shape == (480, 640)


def test_the_detail_stream_is_read_once_per_crop_not_once_per_rescue_step():
    # On a Pi each detail read copies the camera's main buffer: a region's rescuers share one read.
    photos = realphoto_folder("bright_spots")
    if not photos:
        pytest.skip(f"real-photo set not found at {REALPHOTO}")
    chain = decoders.RescueChain(ZxingDecoder(), decoders.zxing_rescuers(), budget_ms=None)
    asked = 0
    for p in photos:
        boxes: list = []
        chain.forget()
        chain.decode(cv2.imread(str(p), cv2.IMREAD_GRAYSCALE), lambda box, boxes=boxes: boxes.append(box))
        assert len(boxes) == len(set(boxes)), p.name
        asked += len(boxes)
    assert asked > 0  # rescues ran and asked for the detail stream


class SpyLook:
    """A look that reads nothing and notes the frames it ran on."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.frames: list[int] = []
        self.now = 0

    def read(self, gray):
        self.frames.append(self.now)
        return [], []


def test_the_looks_take_turns_on_frames_that_read_nothing_and_never_run_on_a_read_frame():
    a, b = SpyLook("a"), SpyLook("b")
    chain = decoders.RescueChain(ZxingDecoder(), decoders.zxing_rescuers(), cycle=(None, a, None, b))
    empty, code = on_canvas(None), on_canvas(qr_image("LOOKS TAKE TURNS", scale=5))
    for n in range(8):
        a.now = b.now = n
        assert chain.decode(empty) == []
    assert (a.frames, b.frames) == ([1, 5], [3, 7])
    for n in range(8):
        a.now = b.now = 8 + n
        assert [c.payload for c in chain.decode(code)] == [b"LOOKS TAKE TURNS"]
    assert (a.frames, b.frames) == ([1, 5], [3, 7])  # a frame the first pass read runs no look
    chain.forget()  # a new scene starts the cycle again
    a.now = b.now = 99
    chain.decode(empty)
    chain.decode(empty)
    assert a.frames[-1] == 99 and len(a.frames) == 3 and len(b.frames) == 2


@pytest.mark.parametrize("scale", [2, 3, 5])
def test_a_dark_mode_code_is_read_within_one_cycle_wherever_it_appears(scale):
    # The first pass tries dark mode on the cycle's first frame only (it is a third of its cost);
    # the half-size second look tries it on every frame. A dark-mode pass shown at any point of
    # the cycle is read within one cycle, small ones included.
    frame = on_canvas(255 - qr_image("DARK MODE HELD 0123456789", scale=scale))
    n = len(decoders.default_cycle())
    for shown_at in range(n):
        chain = default_decoder()
        for _ in range(shown_at):
            chain.decode(on_canvas(None))
        read = [c.payload for _ in range(n) for c in chain.decode(frame)]
        assert b"DARK MODE HELD 0123456789" in read, shown_at


def test_real_photos_held_for_a_cycle_read_more_than_one_frame_and_the_same_codes():
    # The looks of the cycle on three folders of hard real photos: held for one cycle, the chain
    # reads every code it reads on one frame and more, never a different payload where both read.
    photos = [p for f in ("bright_spots", "glare", "blurred") for p in realphoto_folder(f)]
    if not photos:
        pytest.skip(f"real-photo set not found at {REALPHOTO}")
    chain = decoders.RescueChain(ZxingDecoder(), decoders.zxing_rescuers(), budget_ms=None)
    one, held = {}, {}
    for p in photos:
        image = cv2.imread(str(p), cv2.IMREAD_GRAYSCALE)
        chain.forget()
        one[p] = {c.payload for c in chain.decode(image)}
        chain.forget()
        held[p] = {c.payload for _ in chain.cycle for c in chain.decode(image)}
    assert all(one[p] <= held[p] for p in photos)
    assert sum(map(len, held.values())) > sum(map(len, one.values()))


def test_decode_held_stops_at_the_first_frame_that_reads_and_refuses_no_frames():
    calls = []
    chain = default_decoder()
    inner = chain.decode
    chain.decode = lambda image, detail=None: calls.append(1) or inner(image)
    frame = on_canvas(qr_image("HELD ONCE", scale=5))
    assert [c.payload for c in decoders.decode_held(frame, chain, 30)] == [b"HELD ONCE"]
    assert len(calls) == 1
    assert decoders.decode_held(on_canvas(None), chain, 7) == [] and len(calls) == 8
    with pytest.raises(ValueError, match="at least one frame"):
        decoders.decode_held(frame, chain, 0)


class SpyRescuer:
    """A rescuer that reads nothing and notes the frames it ran on."""

    name = "spy"

    def __init__(self) -> None:
        self.frames: list[int] = []
        self.now = 0

    def decode(self, image, detail=None):
        self.frames.append(self.now)
        return []


def test_a_region_only_a_look_located_is_rescued_on_the_frames_between_its_turns():
    # With no time for rescues each frame runs one rescue step. A code located only by the look
    # of frame 1 of a 4-frame cycle keeps its rescue going on frames 2, 3 and 4 (where nothing
    # locates it), is located again on frame 5 and resumed there, and so on round its 7 steps.
    # Without carrying, the spy's steps would wait for the look to come round (frames 5, 13).
    square = ((200.0, 100.0), (320.0, 100.0), (320.0, 220.0), (200.0, 220.0))

    class Locates(SpyLook):
        def read(self, gray):
            super().read(gray)
            return [], [square]

    look, spy = Locates("locates"), SpyRescuer()
    chain = decoders.RescueChain(ZxingDecoder(), [spy], cycle=(None, look, None, None), budget_ms=0.0,
                                 enhance=False)
    empty = on_canvas(None)
    for n in range(12):
        look.now = spy.now = n
        assert chain.decode(empty) == []
    # steps: (crop 0.25: zxing, spy), (crop 1: zxing, spy), (crop 3: zxing, spy), straighten
    assert look.frames == [1, 5, 9]
    assert spy.frames == [2, 4, 6, 9, 11]  # steps 1, 3, 5, then round again: 1 (frame 9), 3
    chain.forget()
    look.now = spy.now = 50
    chain.decode(empty)  # a new scene: frame 0 of the cycle, nothing carried
    assert spy.frames[-1] == 11
