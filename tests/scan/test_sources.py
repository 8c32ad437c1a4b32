"""Frame sources on real files: a video written with OpenCV, PNG folders, synthetic scenes, a picamera2 stand-in."""

from __future__ import annotations

import time

import cv2
import numpy as np
import pytest
from scan_images import on_canvas, qr_image

from gatekeeper.scan.decoders import default_decoder
from gatekeeper.scan.frames import (
    Frame,
    FrameSource,
    ImageFolderSource,
    OpenCVSource,
    Picamera2Source,
    SyntheticSource,
    open_source,
)
from gatekeeper.scan.synthetic import render_scene, steady_pose


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
    assert all(a.captured_at <= b.captured_at for a, b in zip(frames, frames[1:]))
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
    script = [(None, 5), ("SYNTH PASS 1", 8), (None, 5), ("SYNTH PASS 2", 8)]
    a = drain(SyntheticSource(script, seed=4))
    b = drain(SyntheticSource(script, seed=4))
    assert len(a) == 26 and all(np.array_equal(x.image, y.image) for x, y in zip(a, b))
    read = [payloads(f.image) for f in a]
    assert all(r == [] for r in read[:5] + read[13:18])
    assert sum(r == [b"SYNTH PASS 1"] for r in read[5:13]) >= 6
    assert sum(r == [b"SYNTH PASS 2"] for r in read[18:]) >= 6
    assert not np.array_equal(drain(SyntheticSource(script, seed=5))[6].image, a[6].image)


def test_steady_poses_read_in_every_frame():
    """What the demo relies on: a pass held steadily is read in every frame, whatever the seed."""
    import secrets
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
    for seed in range(3):
        texts = ["GK1:" + "".join(secrets.choice(alphabet) for _ in range(183)) for _ in range(3)]
        frames = drain(SyntheticSource([(t, 4) for t in texts], seed=seed, poses=steady_pose))
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
        with pytest.raises(ValueError, match="picamera2.*synthetic"):
            open_source(spec)


def test_good_specs_make_the_right_sources():
    assert isinstance(open_source("picamera2"), Picamera2Source)
    cam = open_source("opencv:0")
    assert isinstance(cam, OpenCVSource) and cam.target == 0 and not cam.finite
    assert open_source("opencv:/dev/video2").target == "/dev/video2"
    assert open_source("opencv:rtsp://127.0.0.1:8554/gate").finite is False
    assert open_source("video:/tmp/x.mp4").finite is True
    assert isinstance(open_source("synthetic"), SyntheticSource) and not open_source("synthetic").finite


class FakePicamera2:
    """Stands in for picamera2.Picamera2: records the configuration, returns YUV420 buffers."""

    def __init__(self, camera_num: int) -> None:
        self.camera_num = camera_num
        self.camera_controls = {"AfMode": (0, 2, 0), "AfRange": (0, 2, 0), "LensPosition": (0.0, 15.0, 1.0)}
        self.config = None
        self.started = self.closed = False

    def create_video_configuration(self, **kw):
        return kw

    def configure(self, config):
        self.config = config

    def start(self):
        self.started = True

    def capture_array(self, stream):
        assert stream == "lores"
        w, h = self.config["lores"]["size"]
        buf = np.full((h * 3 // 2, w + 32), 128, np.uint8)  # stride padded by 32 bytes
        code = qr_image("PI CAMERA PASS", scale=4)
        buf[20:20 + code.shape[0], 20:20 + code.shape[1]] = code
        return buf

    def stop(self):
        self.started = False

    def close(self):
        self.closed = True


def test_picamera2_source_configures_lores_and_returns_the_y_plane_view():
    cams = []
    source = Picamera2Source((640, 480), fps=25, max_frame_us=20000,
                             camera_factory=lambda n: cams.append(FakePicamera2(n)) or cams[-1])
    with source:
        frame = source.read()
        cam = cams[0]
        assert cam.started and cam.config["lores"] == {"size": (640, 480), "format": "YUV420"}
        controls = cam.config["controls"]
        assert controls["FrameDurationLimits"] == (40000, 40000)  # the cap cannot go below 1/fps
        assert controls["AfMode"] == 2 and controls["AfRange"] == 1
        assert frame.image.shape == (480, 640) and frame.image.base is not None  # a view, no copy
        assert payloads(frame.image) == [b"PI CAMERA PASS"]
    assert cam.closed
    slow = Picamera2Source(fps=30, max_frame_us=50000, af_mode="manual", lens_position=4.0)
    assert slow.controls({"AfMode": 0}) == {"FrameDurationLimits": (33333, 50000), "AfMode": 0,
                                            "LensPosition": 4.0}
    assert "AfMode" not in slow.controls({})  # Camera Module 2 has no autofocus


def test_picamera2_missing_is_a_clear_error():
    try:
        import picamera2  # noqa: F401
        pytest.skip("picamera2 is installed here")
    except ImportError:
        pass
    with pytest.raises(RuntimeError, match="python3-picamera2"):
        Picamera2Source().open()
