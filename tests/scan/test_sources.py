"""Frame sources on real files: a video written with OpenCV, PNG folders, synthetic scenes, a picamera2 stand-in."""

from __future__ import annotations

import itertools
import math
import time

import cv2
import numpy as np
import pytest

from gatekeeper.scan.decoders import default_decoder
from gatekeeper.scan.sources import (
    Frame,
    FrameSource,
    ImageFolderSource,
    OpenCVSource,
    Picamera2Source,
    SyntheticSource,
    frame_counts,
    open_source,
)
from gatekeeper.scan.synthetic import render_scene, steady_pose
from tests.scan.scan_images import on_canvas, qr_image


def payloads(image: np.ndarray) -> list[bytes]:
    return [c.payload for c in default_decoder().decode(image)]


def drain(source: FrameSource) -> list[Frame]:
    frames = []
    with source:
        while (frame := source.read()) is not None:
            frames.append(frame)
    return frames


@pytest.fixture
def video(tmp_path):
    """A real MJPG AVI: 10 empty frames, 10 with a code, 10 empty."""
    path = tmp_path / "gate.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 30.0, (640, 480))
    assert writer.isOpened()
    code = qr_image("VIDEO PASS 7", scale=6)
    for i in range(30):
        gray = on_canvas(code if 10 <= i < 20 else None)
        writer.write(cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR))
    writer.release()
    return path


def test_video_file_source_yields_every_frame_gray_with_increasing_times(video):
    frames = drain(open_source(f"video:{video}", fps=None))
    assert len(frames) == 30
    assert all(f.image.ndim == 2 and f.image.dtype == np.uint8 and f.image.shape == (480, 640) for f in frames)
    assert [f.index for f in frames] == list(range(30))
    assert all(a.captured_at <= b.captured_at for a, b in itertools.pairwise(frames))
    seen = [bool(payloads(f.image)) for f in frames]
    assert seen == [False] * 10 + [True] * 10 + [False] * 10
    assert payloads(frames[15].image) == [b"VIDEO PASS 7"]


def test_video_source_paced_in_real_time(video):
    start = time.monotonic()
    frames = drain(OpenCVSource(str(video), fps=100.0))
    # 30 frames at 100 fps cannot arrive in less than 29 frame periods.
    assert len(frames) == 30 and time.monotonic() - start >= 0.28


def test_missing_video_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="no such file"):
        open_source(f"video:{tmp_path / 'none.mp4'}").open()


def test_image_folder_in_name_order_skipping_a_bad_file(tmp_path):
    for i, text in enumerate(["PASS A", "PASS B", "PASS C"]):
        cv2.imwrite(str(tmp_path / f"{i:02d}.png"), on_canvas(qr_image(text)))
    (tmp_path / "01b.png").write_bytes(b"not a png")  # sorts between 01 and 02
    (tmp_path / "notes.txt").write_text("ignored")
    frames = drain(open_source(f"images:{tmp_path}", fps=None))
    assert [payloads(f.image) for f in frames] == [[b"PASS A"], [b"PASS B"], [b"PASS C"]]
    listed = drain(ImageFolderSource([tmp_path / "02.png", tmp_path / "00.png"]))
    assert [payloads(f.image) for f in listed] == [[b"PASS A"], [b"PASS C"]]


def test_empty_or_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="no images"):
        ImageFolderSource(tmp_path).open()
    with pytest.raises(ValueError, match="no such folder"):
        ImageFolderSource(tmp_path / "gone").open()


def test_synthetic_source_follows_its_script_and_is_deterministic():
    script = [(None, 0.5), ("SYNTH PASS 1", 0.8), (None, 0.5), ("SYNTH PASS 2", 0.8)]
    a = drain(SyntheticSource(script, fps=10, realtime=False, seed=4))
    b = drain(SyntheticSource(script, fps=10, realtime=False, seed=4))
    assert len(a) == 26 and all(np.array_equal(x.image, y.image) for x, y in zip(a, b, strict=True))
    read = [payloads(f.image) for f in a]
    assert all(r == [] for r in read[:5] + read[13:18])
    assert sum(r == [b"SYNTH PASS 1"] for r in read[5:13]) >= 6
    assert sum(r == [b"SYNTH PASS 2"] for r in read[18:]) >= 6
    assert not np.array_equal(drain(SyntheticSource(script, fps=10, realtime=False, seed=5))[6].image, a[6].image)
    # Stamped with the scene clock: frame k at k / fps after the start, however fast it was read.
    assert [round(f.captured_at - a[0].captured_at, 6) for f in a[:3]] == [0.0, 0.1, 0.2]


def test_a_script_in_seconds_keeps_its_length_at_any_rate():
    script = [(None, 1.5), ("P", 1.0), (None, 0.7), ("Q", 0.33)]
    assert frame_counts(script, 30) == [(None, 45), ("P", 30), (None, 21), ("Q", 10)]
    assert frame_counts(script, 3) == [(None, 5), ("P", 3), (None, 2), ("Q", 1)]
    assert sum(n for _, n in frame_counts(script, 7)) == math.ceil(3.53 * 7)
    with pytest.raises(ValueError, match="seconds"):
        SyntheticSource([("P", -1.0)])
    with pytest.raises(ValueError, match="frame rate"):
        SyntheticSource(fps=0)


def test_steady_poses_read_in_every_frame():
    """What the demo relies on: a pass held steadily is read in every frame, whatever the seed."""
    import secrets
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
    for seed in range(3):
        texts = ["GK1:" + "".join(secrets.choice(alphabet) for _ in range(183)) for _ in range(3)]
        frames = drain(SyntheticSource([(t, 0.4) for t in texts], fps=10, realtime=False, seed=seed,
                                       poses=steady_pose))
        assert [payloads(f.image) for f in frames] == [[t.encode()] for t in texts for _ in range(4)]


def test_render_scene_is_a_gray_frame_of_the_asked_size_and_mostly_readable():
    rng = np.random.default_rng(11)
    empty = render_scene(None, (320, 240), rng)
    assert empty.shape == (240, 320) and empty.dtype == np.uint8 and payloads(empty) == []
    texts = [f"HC1:{i:04d}-GATE" for i in range(20)]
    hits = sum(payloads(render_scene(t, (640, 480), rng)) == [t.encode()] for t in texts)
    assert 12 <= hits <= 20  # realistic, so not every pose reads; a broken renderer reads none


def test_bad_specs_are_clear_value_errors():
    for spec in ["", "webcam", "opencv:", "opencv:some/file.mp4", "images:", "video:", "picamera2:1", "synthetic:x"]:
        with pytest.raises(ValueError, match=r"picamera2.*synthetic"):
            open_source(spec)


def test_good_specs_make_the_right_sources():
    assert isinstance(open_source("picamera2"), Picamera2Source)
    cam = open_source("opencv:0")
    assert isinstance(cam, OpenCVSource) and cam.target == 0 and not cam.finite
    assert open_source("opencv:/dev/video2").target == "/dev/video2"
    assert open_source("opencv:rtsp://127.0.0.1:8554/gate").finite is False
    assert open_source("video:/tmp/x.mp4").finite is True
    assert isinstance(open_source("synthetic"), SyntheticSource) and not open_source("synthetic").finite


def damaged(code: np.ndarray, seed: int = 0) -> np.ndarray:
    """The code with a square of 30% of its side in the middle replaced by pixel noise: finder
    patterns intact, so a decoder locates it, but more damage than error correction repairs."""
    out = code.copy()
    a, b = int(out.shape[0] * 0.35), int(out.shape[0] * 0.65)
    out[a:b, a:b] = np.random.default_rng(seed).choice([0, 255], (b - a, b - a))
    return out


class FakeRequest:
    """Stands in for a picamera2 CompletedRequest: both streams of one capture, copied on make_array."""

    def __init__(self, arrays: dict[str, np.ndarray]) -> None:
        self.arrays = arrays
        self.released = False

    def make_array(self, stream):
        assert not self.released, "a released request was read"
        return self.arrays[stream].copy()

    def release(self):
        self.released = True


class FakePicamera2:
    """Stands in for picamera2.Picamera2: records the configuration, returns YUV420 buffers.

    The lores stream shows "PI CAMERA PASS" at 4 px a module; with ``damage`` the lores code is
    unreadable while the main stream (twice the resolution) shows it intact."""

    def __init__(self, camera_num: int, damage: bool = False) -> None:
        self.camera_num = camera_num
        self.camera_controls = {"AfMode": (0, 2, 0), "AfRange": (0, 2, 0), "LensPosition": (0.0, 15.0, 1.0)}
        self.config = None
        self.started = self.closed = False
        self.damage = damage
        self.requests: list[FakeRequest] = []

    def create_video_configuration(self, **kw):
        return kw

    def configure(self, config):
        self.config = config

    def start(self):
        self.started = True

    def _buffer(self, stream: str, scale: int, at: int) -> np.ndarray:
        w, h = self.config[stream]["size"]
        buf = np.full((h * 3 // 2, w + 32), 128, np.uint8)  # stride padded by 32 bytes
        code = qr_image("PI CAMERA PASS", scale=scale)
        if self.damage and stream == "lores":
            code = damaged(code)
        buf[at:at + code.shape[0], at:at + code.shape[1]] = code
        return buf

    def capture_array(self, stream):
        assert stream == "lores"
        return self._buffer("lores", 4, 20)

    def capture_request(self):
        self.requests.append(FakeRequest({"lores": self._buffer("lores", 4, 20), "main": self._buffer("main", 8, 40)}))
        return self.requests[-1]

    def stop(self):
        self.started = False

    def close(self):
        self.closed = True


def test_picamera2_source_with_one_stream_returns_the_lores_y_plane_view():
    cams = []
    source = Picamera2Source((640, 480), fps=25, max_frame_us=20000, main_size=None,
                             camera_factory=lambda n: cams.append(FakePicamera2(n)) or cams[-1])
    with source:
        frame = source.read()
        cam = cams[0]
        assert cam.started and cam.config["lores"] == {"size": (640, 480), "format": "YUV420"}
        assert cam.config["main"]["size"] == (640, 480) and not source.two_streams
        controls = cam.config["controls"]
        assert controls["FrameDurationLimits"] == (40000, 40000)  # the cap cannot go below 1/fps
        assert controls["AfMode"] == 2 and controls["AfRange"] == 1
        assert frame.image.shape == (480, 640) and frame.image.base is not None  # a view, no copy
        assert frame.detail is None
        assert payloads(frame.image) == [b"PI CAMERA PASS"]
    assert cam.closed
    slow = Picamera2Source(fps=30, max_frame_us=50000, af_mode="manual", lens_position=4.0)
    assert slow.controls({"AfMode": 0}) == {"FrameDurationLimits": (33333, 50000), "AfMode": 0,
                                            "LensPosition": 4.0}
    assert "AfMode" not in slow.controls({})  # Camera Module 2 has no autofocus
    assert not Picamera2Source((1640, 1232)).two_streams  # scanning at more than the main size


def test_picamera2_main_stream_reads_a_code_the_lores_frame_cannot():
    cams = []
    source = Picamera2Source((640, 480), fps=30,
                             camera_factory=lambda n: cams.append(FakePicamera2(n, damage=True)) or cams[-1])
    assert source.two_streams and source.main_size == (1280, 960)
    with source:
        frame = source.read()
        assert cams[0].config["main"] == {"size": (1280, 960), "format": "YUV420"}
        assert frame.image.shape == (480, 640) and frame.detail is not None
        assert payloads(frame.image) == []  # the lores code is beyond repair
        [code] = default_decoder().decode(frame.image, frame.detail)
        assert code.payload == b"PI CAMERA PASS"
        side = qr_image("PI CAMERA PASS", scale=4).shape[0]
        xs, ys = [p[0] for p in code.position], [p[1] for p in code.position]
        assert min(xs) >= 20 and max(xs) <= 20 + side and min(ys) >= 20 and max(ys) <= 20 + side  # lores pixels
        # Captures go back to the camera two frames later; a frame that old reads no detail.
        for _ in range(3):
            source.read()
        assert cams[0].requests[0].released and frame.detail((0, 0, 100, 100)) is None
    assert all(r.released for r in cams[0].requests) and cams[0].closed


def test_picamera2_missing_is_a_clear_error():
    try:
        import picamera2  # noqa: F401
        pytest.skip("picamera2 is installed here")
    except ImportError:
        pass
    with pytest.raises(RuntimeError, match="python3-picamera2"):
        Picamera2Source().open()
