"""Synthetic gate scenes: a pass shown on a phone screen, as a low-resolution camera sees it.

For the demo (no camera) and for tests and benchmarks that need realistic frames with a known
payload: perspective, scale, rotation, blur, glare, noise and a cluttered background; and empty
frames, which are most of what a gate camera sees. Pure functions of their arguments and an rng.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import cv2
import numpy as np
import segno


@dataclass(frozen=True)
class Pose:
    """Where and how the phone is held, and what the camera adds.

    ``scale`` is the code's width as a fraction of the frame height; ``tilt`` the perspective
    foreshortening (0 = facing the camera); ``blur`` a Gaussian sigma in frame pixels;
    ``motion`` a motion-blur length in pixels; ``glare`` the strength of a reflection (0-1);
    ``noise`` the sensor noise sigma in grey levels.
    """

    cx: float = 0.5
    cy: float = 0.5
    scale: float = 0.4
    angle: float = 0.0
    tilt: float = 0.0
    tilt_dir: float = 0.0
    blur: float = 0.6
    motion: float = 0.0
    glare: float = 0.0
    noise: float = 3.0
    brightness: float = 1.0
    dark_mode: bool = False


def random_pose(rng: np.random.Generator) -> Pose:
    """A pose drawn from the range seen at a gate: arm's length, hand-held, indoor or sun."""
    return Pose(
        cx=rng.uniform(0.35, 0.65), cy=rng.uniform(0.35, 0.65),
        scale=rng.uniform(0.18, 0.55), angle=rng.uniform(-30, 30),
        tilt=rng.uniform(0.0, 0.35), tilt_dir=rng.uniform(0, 2 * np.pi),
        blur=rng.uniform(0.4, 1.6), motion=rng.uniform(1, 5) if rng.random() < 0.25 else 0.0,
        glare=rng.uniform(0.3, 0.8) if rng.random() < 0.4 else 0.0, noise=rng.uniform(2.0, 8.0),
        brightness=rng.uniform(0.6, 1.15), dark_mode=bool(rng.random() < 0.1),
    )


def steady_pose(rng: np.random.Generator) -> Pose:
    """A pose a cooperative resident holds after a moment: close enough, facing the camera,
    indoor light. Scripted demos use it so that every pass in the script is read."""
    return Pose(
        cx=rng.uniform(0.45, 0.55), cy=rng.uniform(0.45, 0.55), scale=rng.uniform(0.45, 0.55),
        angle=rng.uniform(-10, 10), tilt=rng.uniform(0.0, 0.1), tilt_dir=rng.uniform(0, 2 * np.pi),
        blur=rng.uniform(0.4, 0.8), noise=rng.uniform(2.0, 4.0), brightness=rng.uniform(0.9, 1.1),
    )


def jitter(pose: Pose, rng: np.random.Generator, amount: float = 1.0) -> Pose:
    """The same pose a frame later: a hand is never still."""
    return Pose(
        cx=pose.cx + rng.normal(0, 0.004 * amount), cy=pose.cy + rng.normal(0, 0.004 * amount),
        scale=pose.scale * (1 + rng.normal(0, 0.01 * amount)), angle=pose.angle + rng.normal(0, 0.5 * amount),
        tilt=pose.tilt, tilt_dir=pose.tilt_dir, blur=pose.blur, motion=pose.motion, glare=pose.glare,
        noise=pose.noise, brightness=pose.brightness, dark_mode=pose.dark_mode,
    )


def arriving(pose: Pose, progress: float) -> Pose:
    """The pose while the phone is still being raised: ``progress`` 0 (just in view) to 1 (held).

    It comes in from below, turned away and moving: up to a quarter of the frame lower, 0.3 more
    tilt and 10 px more motion blur, all falling to nothing as it settles.
    """
    left = 1.0 - min(1.0, max(0.0, progress))
    return replace(pose, cy=pose.cy + 0.25 * left, tilt=min(0.6, pose.tilt + 0.3 * left),
                   motion=pose.motion + 10.0 * left)


def background(size: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """A gate-side background: a lighting gradient, soft texture and a few hard-edged shapes."""
    w, h = size
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    g = rng.uniform(60, 150) + rng.uniform(-40, 40) * xx / w + rng.uniform(-40, 40) * yy / h
    texture = cv2.resize(rng.normal(0, 25, (h // 16 + 1, w // 16 + 1)).astype(np.float32), (w, h),
                         interpolation=cv2.INTER_CUBIC)
    img = g + texture
    for _ in range(int(rng.integers(2, 7))):  # door frames, signs, sleeves: edges that are not codes
        x0, y0 = int(rng.integers(0, w)), int(rng.integers(0, h))
        x1, y1 = x0 + int(rng.integers(10, w // 2)), y0 + int(rng.integers(10, h // 2))
        cv2.rectangle(img, (x0, y0), (x1, y1), float(rng.uniform(20, 230)), -1)
    return img


def phone_image(payload: str, dark_mode: bool, module_px: int) -> tuple[np.ndarray, np.ndarray]:
    """A phone face (float image) and the corners of the code on it.

    Phones show codes with a small quiet zone on a bright screen framed by a dark bezel and
    an app header; in dark mode the code is light on dark.
    """
    qr = segno.make(payload, error="m", micro=False)
    modules = np.array(qr.matrix, dtype=np.float32)  # 1 = dark
    n = modules.shape[0]
    quiet, header, bezel = 3, 6, 2
    side = n + 2 * quiet
    screen_w, screen_h = side + 2, side + header + 6
    light, dark = (235.0, 25.0) if not dark_mode else (30.0, 215.0)
    screen = np.full((screen_h, screen_w), light, np.float32)
    screen[:header - 2, :] = 120.0  # app header bar
    screen[header - 4:header - 3, 2:screen_w // 2] = dark  # a line of title text
    top, left = header, 1 + quiet
    screen[top + quiet:top + quiet + n, left:left + n] = np.where(modules > 0, dark, light)
    face = np.full((screen_h + 2 * bezel, screen_w + 2 * bezel), 12.0, np.float32)
    face[bezel:-bezel, bezel:-bezel] = screen
    face = cv2.resize(face, None, fx=module_px, fy=module_px, interpolation=cv2.INTER_NEAREST)
    x0, y0 = (bezel + left) * module_px, (bezel + top + quiet) * module_px
    x1, y1 = x0 + n * module_px, y0 + n * module_px
    corners = np.float32([[x0, y0], [x1, y0], [x1, y1], [x0, y1]])
    return face, corners


def render_scene(payload: str | None, size: tuple[int, int] = (640, 480),
                 rng: np.random.Generator | None = None, *, pose: Pose | None = None,
                 backdrop: np.ndarray | None = None) -> np.ndarray:
    """One camera frame (2-D uint8, ``size`` = (width, height)) showing ``payload`` on a phone.

    ``payload=None`` renders an empty scene. ``pose`` defaults to a random one from ``rng``;
    ``backdrop`` (float, from :func:`background`) lets a sequence keep one background.
    """
    rng = rng if rng is not None else np.random.default_rng()
    w, h = size
    img = backdrop.copy() if backdrop is not None else background(size, rng)
    pose = pose if pose is not None else random_pose(rng)
    if payload is not None:
        _paste_phone(img, payload, pose, size)
    img = img * pose.brightness
    if pose.motion > 0:
        k = max(1, round(pose.motion))
        kernel = np.zeros((k, k), np.float32)
        kernel[k // 2, :] = 1.0 / k
        img = cv2.filter2D(img, -1, kernel)
    if pose.blur > 0:
        img = cv2.GaussianBlur(img, (0, 0), pose.blur)
    img = img + rng.normal(0, pose.noise, (h, w)).astype(np.float32)
    return np.clip(img, 0, 255).astype(np.uint8)


def _paste_phone(img: np.ndarray, payload: str, pose: Pose, size: tuple[int, int]) -> None:
    w, h = size
    code_px = pose.scale * h
    n_modules = segno.make(payload, error="m", micro=False).symbol_size(border=0)[0]
    # Render the phone face at about 2x its size in the frame so the warp only shrinks.
    module_px = max(2, int(np.ceil(2 * code_px / n_modules)))
    face, code_corners = phone_image(payload, pose.dark_mode, module_px)
    s = code_px / (n_modules * module_px)
    centre = code_corners.mean(axis=0)
    a = np.deg2rad(pose.angle)
    rot = np.float32([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    fh, fw = face.shape
    src = np.float32([[0, 0], [fw, 0], [fw, fh], [0, fh]])
    dst = ((src - centre) * s) @ rot.T + np.float32([pose.cx * w, pose.cy * h])
    # Tilt: corners on one side move towards the centre, as a phone turned away foreshortens.
    d = np.float32([np.cos(pose.tilt_dir), np.sin(pose.tilt_dir)])
    mid = dst.mean(axis=0)
    for i in range(4):
        along = float(np.dot(dst[i] - mid, d)) / max(1.0, code_px)
        dst[i] = mid + (dst[i] - mid) * (1 - pose.tilt * along)
    m = cv2.getPerspectiveTransform(src, dst.astype(np.float32))
    warped = cv2.warpPerspective(face, m, (w, h), flags=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR)
    mask = cv2.warpPerspective(np.ones_like(face), m, (w, h), flags=cv2.INTER_LINEAR)
    if pose.glare > 0:
        gx, gy = dst.mean(axis=0) + (dst[1] - dst[0]) * 0.2
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        r = code_px * 0.35
        blob = np.exp(-(((xx - gx) ** 2) + ((yy - gy) ** 2)) / (2 * r * r)).astype(np.float32)
        # Glare washes the screen out towards white: contrast falls where the light hits.
        warped = warped + (255 - warped) * pose.glare * blob
    img *= 1 - mask
    img += warped * mask


def scene_frames(script: list[tuple[str | None, int]], size: tuple[int, int] = (640, 480),
                 seed: int = 0, poses: Callable[[np.random.Generator], Pose] = random_pose,
                 settle_frames: int = 0):
    """Frames for a scripted scene: each (payload or None, n_frames) is one pass or a gap.

    A pass keeps one pose drawn by ``poses`` that drifts a little frame to frame; for its first
    ``settle_frames`` frames it is still arriving (:func:`arriving`). The background stays for
    the whole scene, as a fixed camera sees it. Deterministic for a given seed.
    """
    rng = np.random.default_rng(seed)
    backdrop = background(size, rng)
    for payload, n in script:
        pose = poses(rng) if payload is not None else Pose(blur=0.6, noise=3.0)
        for i in range(n):
            shown = arriving(pose, i / settle_frames) if i < settle_frames and payload is not None else pose
            yield render_scene(payload, size, rng, pose=shown, backdrop=backdrop)
            if payload is not None:
                pose = jitter(pose, rng)
