"""The built-in demo data set: a seeded, synthetic circuit-board inspection task written in MVTec AD layout.

Why synthetic: `make demo` must run offline and in seconds, with exact ground truth. Every image is a pure function
of (seed, split, type, index): its own numpy Generator draws the nuisances (pose, lighting, texture, part jitter)
first and the defect afterwards, so the defect-free twin of any test image can be rendered (`render_pair`) and its
mask is exactly the set of pixels the defect touched.

The scene, in a 128-px frame scaled to `size`: a textured green board on a grey belt, with mounting holes, copper
traces, silkscreen outlines, pads, and four parts in fixed slots (red capacitor, blue chip, gold screw, white
connector). Normal images vary by a small rotation and shift, lighting, texture, per-part jitter and the screw
slot's angle; the arrangement is the rule. Structural defects change local appearance; logical defects break the
arrangement with parts that look normal on their own, which a detector with a local view cannot see.
"""
from __future__ import annotations

import shutil
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from PIL import Image
from scipy import ndimage

from gradad.data.base import DatasetError

DEMO_CATEGORY = "widget"
DEFECT_GROUPS: dict[str, str] = {
    "scratch": "structural", "hole": "structural", "stain": "structural", "deformation": "structural",
    "missing_part": "logical", "extra_part": "logical", "swapped_parts": "logical",
    "misplaced_part": "logical", "wrong_colour": "logical",
}
DEFECT_TYPES = tuple(DEFECT_GROUPS)
MARKER = ".gradad-demo"  # marks a directory write_demo may overwrite
_SPLITS = {"train": 0, "test": 1}

# Geometry in units of the 128-px frame; (x, y) with y pointing down.
_PLATE_HALF, _PLATE_CORNER = (48.0, 40.0), 7.0
_HOLES = [(sx * 41.0, sy * 33.0) for sx in (-1, 1) for sy in (-1, 1)]
_SLOTS = {"capacitor": (-24.0, -17.0), "chip": (23.0, -17.0), "screw": (-24.0, 19.0), "connector": (22.0, 20.0)}
_COLOURS = {"capacitor": (0.78, 0.14, 0.12), "chip": (0.16, 0.26, 0.66),
            "screw": (0.84, 0.68, 0.26), "connector": (0.88, 0.87, 0.82)}
_WRONG = [(0.20, 0.66, 0.24), (0.58, 0.20, 0.68), (0.10, 0.66, 0.72), (0.96, 0.50, 0.08),
          (0.12, 0.12, 0.12), (0.78, 0.14, 0.12), (0.16, 0.26, 0.66), (0.88, 0.87, 0.82)]
_TRACES = [[(-24, -17), (23, -17)], [(-24, -17), (-24, 19)], [(23, -17), (23, 20)],
           [(-24, 19), (-6, 19), (-6, 31), (14, 31), (14, 20), (22, 20)], [(0, -17), (0, -32), (34, -32)]]


@dataclass(frozen=True)
class _Part:
    kind: str
    x: float
    y: float
    angle: float  # radians
    colour: tuple[float, float, float]


@dataclass
class _Scene:
    """The nuisances of one image, drawn before any defect so that a clean twin shares them."""

    size: int
    s: float  # pixels per frame unit
    X: np.ndarray  # frame coordinates of every pixel centre
    Y: np.ndarray
    theta: float
    shift: np.ndarray
    board: np.ndarray  # the bare board (no parts), HxWx3 float
    plate_cov: np.ndarray
    light: np.ndarray | None  # HxWx3 multiplicative lighting
    noise: np.ndarray | None  # HxWx3 additive sensor noise
    parts: list[_Part] = field(default_factory=list)


def _box(X, Y, cx, cy, hx, hy, angle=0.0, corner=0.0):
    """Signed distance to a rotated rounded box (frame units)."""
    c, s = np.cos(angle), np.sin(angle)
    u, v = c * (X - cx) + s * (Y - cy), -s * (X - cx) + c * (Y - cy)
    qx, qy = np.abs(u) - hx + corner, np.abs(v) - hy + corner
    return np.hypot(np.maximum(qx, 0), np.maximum(qy, 0)) + np.minimum(np.maximum(qx, qy), 0) - corner


def _polyline(X, Y, pts):
    """Distance to a polyline (frame units)."""
    d = np.full(X.shape, np.inf)
    for (ax, ay), (bx, by) in zip(pts[:-1], pts[1:]):
        dx, dy = bx - ax, by - ay
        t = np.clip(((X - ax) * dx + (Y - ay) * dy) / max(dx * dx + dy * dy, 1e-9), 0, 1)
        d = np.minimum(d, np.hypot(X - ax - t * dx, Y - ay - t * dy))
    return d


def _part_sdf(X, Y, p: _Part, grow: float = 0.0):
    if p.kind == "capacitor":
        return np.hypot(X - p.x, Y - p.y) - 9.5 - grow
    if p.kind == "screw":
        return np.hypot(X - p.x, Y - p.y) - 7.0 - grow
    hx, hy = (8.5, 8.5) if p.kind == "chip" else (12.0, 6.0)
    return _box(X, Y, p.x, p.y, hx + grow, hy + grow, p.angle, 1.0)


def _cov(sdf_px):
    """Anti-aliased coverage; positive exactly where sdf < 0.5 px, which is what masks are made of."""
    return np.clip(0.5 - sdf_px, 0.0, 1.0)


def _blend(img, alpha, colour):
    """img + alpha * (colour - img), in place; pixels with alpha == 0 stay bit-identical."""
    img += alpha[..., None] * (np.asarray(colour, dtype=np.float64) - img)


_RADIUS = {"capacitor": 9.5, "screw": 7.0, "chip": 12.1, "connector": 13.5}  # bounding circles


def _to_pixels(sc: _Scene, x: float, y: float) -> np.ndarray:
    """Frame point -> (row, col) array index."""
    c, s = np.cos(sc.theta), np.sin(sc.theta)
    px, py = (c * x - s * y) * sc.s + sc.shift[0], (s * x + c * y) * sc.s + sc.shift[1]
    return np.array([py + sc.size / 2 - 0.5, px + sc.size / 2 - 0.5])


def _win(sc: _Scene, x: float, y: float, r: float) -> tuple[slice, slice]:
    """Array window holding the frame disc (x, y, r) plus 2 px: drawing only there keeps rendering fast."""
    (ci, cj), rr = _to_pixels(sc, x, y), r * sc.s + 2
    lo = lambda c: min(max(int(np.floor(c - rr)), 0), sc.size)  # noqa: E731
    hi = lambda c: min(max(int(np.ceil(c + rr)) + 1, 0), sc.size)  # noqa: E731
    return slice(lo(ci), hi(ci)), slice(lo(cj), hi(cj))


def _footprint(sc: _Scene, p: _Part, grow: float = 0.0) -> np.ndarray:
    """Pixels a part covers at all (coverage > 0): the mask of a logical defect is a union of these."""
    mask = np.zeros((sc.size, sc.size), bool)
    w = _win(sc, p.x, p.y, _RADIUS[p.kind] + grow)
    mask[w] = _part_sdf(sc.X[w], sc.Y[w], p, grow) * sc.s < 0.5
    return mask


def _draw_part(sc: _Scene, img: np.ndarray, p: _Part) -> None:
    w = _win(sc, p.x, p.y, _RADIUS[p.kind])
    X, Y, s = sc.X[w], sc.Y[w], sc.s
    sdf = _part_sdf(X, Y, p)
    a = _cov(sdf * s)
    dx, dy = X - p.x, Y - p.y
    c, sn = np.cos(p.angle), np.sin(p.angle)
    u, v = c * dx + sn * dy, -sn * dx + c * dy
    base = np.asarray(p.colour)
    if p.kind in ("capacitor", "screw"):
        r = 9.5 if p.kind == "capacitor" else 7.0
        dome = np.sqrt(np.clip(1 - (dx * dx + dy * dy) / r**2, 0, 1))
        col = base * (0.62 + 0.45 * dome)[..., None]
        shine = np.exp(-((dx + 3) ** 2 + (dy + 3) ** 2) / 9.0)  # specular spot, light from the top left
        col = col + (0.35 if p.kind == "capacitor" else 0.25) * shine[..., None]
        col = np.where((sdf > -1.4)[..., None], col * 0.72, col)  # rim
        if p.kind == "screw":  # cross slot, turned by the screw's own angle
            slot = np.maximum(_cov(_box(u, v, 0, 0, 4.8, 0.8) * s), _cov(_box(u, v, 0, 0, 0.8, 4.8) * s))
            col = col + slot[..., None] * (0.06 - col)
    else:
        col = base * (0.8 + 0.2 * np.clip(-sdf / 2.5, 0, 1))[..., None]
        if p.kind == "chip":  # pin-1 dot shows the orientation
            dot = _cov((np.hypot(u + 5, v + 5) - 1.4) * s)
            col = col + dot[..., None] * (0.85 - col)
        else:  # connector pin holes
            for pu in (-8, -4, 0, 4, 8):
                hole = _cov(_box(u, v, pu, 0, 1.1, 1.8) * s)
                col = col + hole[..., None] * (0.08 - col)
    sub = img[w]
    sub += a[..., None] * (col - sub)


def _stamp(sc: _Scene, img, w, alpha_fn, colour) -> None:
    """Blend colour into img inside window w, with coverage alpha_fn(X, Y) evaluated there only."""
    _blend(img[w], alpha_fn(sc.X[w], sc.Y[w]), colour)


def _scene(rng: np.random.Generator, size: int) -> _Scene:
    """Draw every nuisance of one image and paint the bare board."""
    s = size / 128.0
    theta = np.deg2rad(rng.uniform(-4, 4))
    shift = rng.uniform(-3, 3, 2) * s
    jj, ii = np.meshgrid(np.arange(size) + 0.5 - size / 2, np.arange(size) + 0.5 - size / 2)
    px, py = jj - shift[0], ii - shift[1]
    X = (np.cos(theta) * px + np.sin(theta) * py) / s
    Y = (-np.sin(theta) * px + np.cos(theta) * py) / s

    fine = ndimage.gaussian_filter(rng.standard_normal((size, size)), 0.7 * s)
    coarse = ndimage.gaussian_filter(rng.standard_normal((size, size)), 4.0 * s)
    fine, coarse = fine / fine.std(), coarse / coarse.std()
    belt = np.array([0.25, 0.25, 0.27]) + rng.uniform(-0.02, 0.02, 3)
    img = belt * (1 + 0.06 * fine + 0.04 * coarse + 0.02 * np.sin(ii * 0.9 / s))[..., None]

    plate_sdf = _box(X, Y, 0, 0, *_PLATE_HALF, corner=_PLATE_CORNER) * s
    plate_cov = _cov(plate_sdf)
    green = np.array([0.10, 0.36, 0.20]) + rng.uniform(-0.02, 0.02, 3)
    board = green * (1 + 0.05 * fine + 0.06 * coarse + 0.25 * ((plate_sdf > -2.5) & (plate_sdf < 0)))[..., None]
    img += plate_cov[..., None] * (board - img)
    sc = _Scene(size, s, X, Y, theta, shift, img, plate_cov, None, None)
    for hx, hy in _HOLES:
        w = _win(sc, hx, hy, 4.2)
        _stamp(sc, img, w, lambda X, Y: _cov((np.hypot(X - hx, Y - hy) - 4.2) * s), (0.72, 0.72, 0.70))
        _stamp(sc, img, w, lambda X, Y: _cov((np.hypot(X - hx, Y - hy) - 2.6) * s), (0.04, 0.04, 0.05))
    for pts in _TRACES:
        for a, b in zip(pts[:-1], pts[1:]):
            w = _win(sc, (a[0] + b[0]) / 2, (a[1] + b[1]) / 2, np.hypot(b[0] - a[0], b[1] - a[1]) / 2 + 1)
            _stamp(sc, img, w, lambda X, Y: 0.8 * _cov((_polyline(X, Y, [a, b]) - 0.7) * s), (0.62, 0.48, 0.20))
        for vx, vy in pts[1:-1]:
            _stamp(sc, img, _win(sc, vx, vy, 2.1),
                   lambda X, Y: _cov((np.abs(np.hypot(X - vx, Y - vy) - 1.6) - 0.5) * s), (0.75, 0.68, 0.45))
    for kind, (cx, cy) in _SLOTS.items():
        ideal = _Part(kind, cx, cy, 0.0, (0, 0, 0))
        w = _win(sc, cx, cy, _RADIUS[kind] + 3.0)
        _stamp(sc, img, w, lambda X, Y: 0.9 * _cov((np.abs(_part_sdf(X, Y, ideal, 2.5)) - 0.45) * s),
               (0.90, 0.90, 0.86))
        _stamp(sc, img, w, lambda X, Y: _cov(_part_sdf(X, Y, ideal, -2.6) * s), (0.72, 0.72, 0.70))

    for kind, (cx, cy) in _SLOTS.items():
        off = rng.uniform(-1.2, 1.2, 2)
        angle = rng.uniform(0, np.pi / 2) if kind == "screw" else np.deg2rad(rng.uniform(-5, 5))
        colour = tuple(np.clip(np.array(_COLOURS[kind]) + rng.uniform(-0.03, 0.03, 3), 0, 1))
        sc.parts.append(_Part(kind, cx + off[0], cy + off[1], angle, colour))

    gain = rng.uniform(0.9, 1.08) * (1 + rng.uniform(-0.03, 0.03, 3))
    phi, k = rng.uniform(0, 2 * np.pi), rng.uniform(0.04, 0.14)
    ramp = 1 + k * (np.cos(phi) * jj + np.sin(phi) * ii) / (size / 2)
    vignette = 1 - 0.08 * (jj**2 + ii**2) / (size / 2) ** 2
    sc.light = (ramp * vignette)[..., None] * gain
    sc.noise = rng.standard_normal((size, size, 3)) * 0.008
    return sc


def _plate_point(rng, margin: float) -> tuple[float, float]:
    return rng.uniform(-_PLATE_HALF[0] + margin, _PLATE_HALF[0] - margin), \
        rng.uniform(-_PLATE_HALF[1] + margin, _PLATE_HALF[1] - margin)


def _fits(sc: _Scene, p: _Part, others: list[_Part]) -> bool:
    """Inside the board, clear of the mounting holes and of every other part by a couple of pixels."""
    w = _win(sc, p.x, p.y, _RADIUS[p.kind] + 2.0)
    X, Y = sc.X[w], sc.Y[w]
    near = _part_sdf(X, Y, p, 2.0) * sc.s < 0.5
    plate = _box(X, Y, 0, 0, _PLATE_HALF[0] - 2, _PLATE_HALF[1] - 2, corner=_PLATE_CORNER) * sc.s < 0
    if not near.any() or (near & ~plate).any():
        return False
    if any((near & (np.hypot(X - hx, Y - hy) < 5.0)).any() for hx, hy in _HOLES):
        return False
    return not any((near & _footprint(sc, o)[w]).any() for o in others)


def _place(rng, sc, make, others) -> _Part:
    for _ in range(500):
        p = make()
        if _fits(sc, p, others):
            return p
    raise RuntimeError("demo data: could not place a part")  # unreachable for the fixed layout


# Logical defects: (rng, scene) -> (parts, mask). Structural defects: (rng, scene, image) -> (image, mask).

def _missing_part(rng, sc):
    k = int(rng.integers(len(sc.parts)))
    return sc.parts[:k] + sc.parts[k + 1:], _footprint(sc, sc.parts[k])


def _extra_part(rng, sc):
    kind = str(rng.choice(list(_SLOTS)))
    colour = tuple(np.clip(np.array(_COLOURS[kind]) + rng.uniform(-0.03, 0.03, 3), 0, 1))

    def make():
        angle = rng.uniform(0, np.pi / 2) if kind == "screw" else rng.uniform(-np.pi, np.pi)
        return _Part(kind, *_plate_point(rng, 8.0), angle, colour)

    p = _place(rng, sc, make, sc.parts)
    return sc.parts + [p], _footprint(sc, p)


def _swapped_parts(rng, sc):
    i, j = (int(v) for v in rng.choice(len(sc.parts), 2, replace=False))
    a, b = sc.parts[i], sc.parts[j]
    parts = list(sc.parts)
    parts[i], parts[j] = replace(a, x=b.x, y=b.y), replace(b, x=a.x, y=a.y)
    mask = _footprint(sc, a) | _footprint(sc, b) | _footprint(sc, parts[i]) | _footprint(sc, parts[j])
    return parts, mask


def _misplaced_part(rng, sc):
    k = int(rng.integers(len(sc.parts)))
    old, others = sc.parts[k], sc.parts[:k] + sc.parts[k + 1:]

    def make():
        phi, dist = rng.uniform(0, 2 * np.pi), rng.uniform(12, 18)
        return replace(old, x=old.x + dist * np.cos(phi), y=old.y + dist * np.sin(phi))

    new = _place(rng, sc, make, others)
    parts = list(sc.parts)
    parts[k] = new
    return parts, _footprint(sc, old) | _footprint(sc, new)


def _wrong_colour(rng, sc):
    k = int(rng.integers(len(sc.parts)))
    p = sc.parts[k]
    options = [c for c in _WRONG if np.abs(np.subtract(c, _COLOURS[p.kind])).sum() > 0.6]
    parts = list(sc.parts)
    parts[k] = replace(p, colour=options[int(rng.integers(len(options)))])
    return parts, _footprint(sc, p)


def _scratch(rng, sc, img):
    x0, y0 = _plate_point(rng, 8.0)
    phi, length, width = rng.uniform(0, np.pi), rng.uniform(24, 44), rng.uniform(1.2, 2.0)
    bend = rng.uniform(-5, 5)
    t = np.linspace(0, 1, 9)[:, None]
    a, b = np.array([x0, y0]), np.array([x0 + length * np.cos(phi), y0 + length * np.sin(phi)])
    ctrl = (a + b) / 2 + bend * np.array([-np.sin(phi), np.cos(phi)])
    pts = [tuple(q) for q in (1 - t) ** 2 * a + 2 * t * (1 - t) * ctrl + t**2 * b]
    alpha = rng.uniform(0.7, 0.95) * _cov((_polyline(sc.X, sc.Y, pts) - width / 2) * sc.s) * sc.plate_cov
    _blend(img, alpha, (0.92, 0.92, 0.90) if rng.random() < 0.6 else (0.05, 0.05, 0.05))
    return img, alpha > 0


def _hole(rng, sc, img):
    x0, y0 = _plate_point(rng, 8.0)
    r = rng.uniform(3.0, 5.5)
    d = np.hypot(sc.X - x0, sc.Y - y0)
    rim = _cov((d - r - 1.5) * sc.s) * sc.plate_cov
    _blend(img, rim, (0.58, 0.52, 0.36))
    _blend(img, _cov((d - r) * sc.s) * sc.plate_cov, (0.03, 0.03, 0.03))
    return img, rim > 0


def _stain(rng, sc, img):
    x0, y0 = _plate_point(rng, 10.0)
    r0, amp, ph = rng.uniform(6, 11), rng.uniform(0, 0.2, 2), rng.uniform(0, 2 * np.pi, 2)
    ang = np.arctan2(sc.Y - y0, sc.X - x0)
    radius = r0 * (1 + amp[0] * np.cos(2 * ang + ph[0]) + amp[1] * np.cos(3 * ang + ph[1]))
    inside = (radius - np.hypot(sc.X - x0, sc.Y - y0)) * sc.s  # > 0 inside, in pixels
    ring = np.exp(-((inside - 1.5) ** 2) / 2.0)
    alpha = rng.uniform(0.55, 0.8) * np.clip(inside / 2.5, 0, 1) * (0.7 + 0.3 * ring) * sc.plate_cov
    tints = [(0.46, 0.26, 0.05), (0.03, 0.03, 0.02), (0.86, 0.84, 0.70)]
    _blend(img, alpha, tints[int(rng.integers(3))])
    return img, alpha > 0


def _deformation(rng, sc, img):
    """A dent or bulge: the image is resampled along a smooth displacement that is zero outside a disc
    centred on an edge of the board or of a part (so the edge visibly bends)."""
    target = int(rng.integers(len(sc.parts) + 1))
    if target == len(sc.parts):  # board edge
        side, t = int(rng.integers(4)), rng.uniform(-0.75, 0.75)
        hx, hy = _PLATE_HALF
        pt, n = [((t * hx, -hy), (0, -1)), ((t * hx, hy), (0, 1)),
                 ((-hx, t * hy), (-1, 0)), ((hx, t * hy), (1, 0))][side]
    else:
        p = sc.parts[target]
        if p.kind in ("capacitor", "screw"):
            phi = rng.uniform(0, 2 * np.pi)
            r = 9.5 if p.kind == "capacitor" else 7.0
            n = (np.cos(phi), np.sin(phi))
            pt = (p.x + r * n[0], p.y + r * n[1])
        else:
            hx, hy = (8.5, 8.5) if p.kind == "chip" else (12.0, 6.0)
            side, t = int(rng.integers(4)), rng.uniform(-0.6, 0.6)
            (lu, lv), (nu, nv) = [((t * hx, -hy), (0, -1)), ((t * hx, hy), (0, 1)),
                                  ((-hx, t * hy), (-1, 0)), ((hx, t * hy), (1, 0))][side]
            c, s = np.cos(p.angle), np.sin(p.angle)
            pt = (p.x + c * lu - s * lv, p.y + s * lu + c * lv)
            n = (c * nu - s * nv, s * nu + c * nv)
    centre = _to_pixels(sc, *pt)
    c, s = np.cos(sc.theta), np.sin(sc.theta)
    n_rc = np.array([s * n[0] + c * n[1], c * n[0] - s * n[1]])  # normal as (row, col)
    radius = rng.uniform(7, 10) * sc.s
    amp = rng.uniform(0.35, 0.5) * radius * (1 if rng.random() < 0.6 else -1)  # + dent, - bulge
    ii, jj = np.indices((sc.size, sc.size), dtype=np.float64)
    t2 = ((ii - centre[0]) ** 2 + (jj - centre[1]) ** 2) / radius**2
    inside = t2 < 1
    f = amp * (1 - t2[inside]) ** 2
    coords = np.stack([ii[inside] + f * n_rc[0], jj[inside] + f * n_rc[1]])
    out = img.copy()
    for ch in range(3):
        out[..., ch][inside] = ndimage.map_coordinates(img[..., ch], coords, order=1, mode="nearest")
    return out, inside


_LOGICAL = {"missing_part": _missing_part, "extra_part": _extra_part, "swapped_parts": _swapped_parts,
            "misplaced_part": _misplaced_part, "wrong_colour": _wrong_colour}
_STRUCTURAL = {"scratch": _scratch, "hole": _hole, "stain": _stain, "deformation": _deformation}


def _compose(sc: _Scene, parts: list[_Part]) -> np.ndarray:
    img = sc.board.copy()
    for p in parts:
        _draw_part(sc, img, p)
    return img


def _finish(sc: _Scene, img: np.ndarray) -> np.ndarray:
    return np.clip(np.rint((img * sc.light + sc.noise) * 255), 0, 255).astype(np.uint8)


def render_pair(seed: int, split: str, defect_type: str, index: int, size: int = 128,
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """(clean twin, image, mask) of one image. For "good" the twin is the image and the mask is None; otherwise
    the twin is the same image without its defect, and the mask (bool HxW) holds every pixel where they may differ."""
    if split not in _SPLITS or (defect_type != "good" and (split != "test" or defect_type not in DEFECT_GROUPS)):
        raise ValueError(f"no demo image for split={split!r}, defect_type={defect_type!r}")
    if seed < 0 or index < 0 or not 32 <= size <= 1024:
        raise ValueError(f"demo data: need seed >= 0, index >= 0, 32 <= size <= 1024 (got {seed}, {index}, {size})")
    rng = np.random.default_rng([seed, _SPLITS[split], zlib.crc32(defect_type.encode()), index])
    sc = _scene(rng, size)
    clean = _compose(sc, sc.parts)
    if defect_type == "good":
        out = _finish(sc, clean)
        return out, out, None
    if defect_type in _LOGICAL:
        parts, mask = _LOGICAL[defect_type](rng, sc)
        bad = _compose(sc, parts)
    else:
        bad, mask = _STRUCTURAL[defect_type](rng, sc, clean.copy())
    return _finish(sc, clean), _finish(sc, bad), mask


def render_demo(seed: int = 0, size: int = 128, n_train: int = 200, n_test_good: int = 40, n_per_type: int = 12,
                ) -> Iterator[tuple[str, str, str, np.ndarray, np.ndarray | None]]:
    """Yield (split, defect_type, name, image uint8 HxWx3, mask bool HxW or None); name is the file stem "000"."""
    plan = [("train", "good", n_train), ("test", "good", n_test_good)]
    plan += [("test", kind, n_per_type) for kind in DEFECT_TYPES]
    for split, kind, count in plan:
        for i in range(count):
            _, image, mask = render_pair(seed, split, kind, i, size)
            yield split, kind, f"{i:03d}", image, mask


def _readme(seed: int, size: int, counts: dict[tuple[str, str], int]) -> str:
    rows = "\n".join(f"| `{k}` | {g} | {counts.get(('test', k), 0)} |" for k, g in DEFECT_GROUPS.items())
    return f"""# gradad demo data set: `{DEMO_CATEGORY}`

Synthetic, written by `gradad data demo` (seed {seed}, {size}x{size} RGB PNG). Not real data: a green circuit
board on a grey belt with four parts in fixed slots (red capacitor top left, blue chip top right, gold screw bottom
left, white connector bottom right). Normal images vary by pose, lighting, texture, part jitter and screw angle.
Every image is a pure function of (seed, split, defect type, index): the same seed gives byte-identical files.

Layout (MVTec AD): `train/good` ({counts.get(('train', 'good'), 0)} normal images), `test/good`
({counts.get(('test', 'good'), 0)}), `test/<type>`, and `ground_truth/<type>/NNN_mask.png` (255 = defect).
Masks are exact: the defect changed no pixel outside its mask (checked against a defect-free twin).

Structural defects change local appearance; logical defects break the arrangement with parts that look normal
on their own (missing: mask where the part should be; misplaced and swapped: old and new places).

| type | group | test images |
|---|---|---|
{rows}
"""


def write_demo(out_dir: str | Path, seed: int = 0, **kw) -> Path:
    """Write the demo data set to <out_dir>/<DEMO_CATEGORY> in MVTec AD layout and return that category folder.

    Refuses a non-empty directory that a previous write_demo did not create, so a typo cannot wipe user data;
    a previous demo folder is replaced whole (built beside it first, then swapped in)."""
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise DatasetError(f"{out}: exists and is not a directory; give a new or empty directory for the demo data")
    if out.is_dir() and any(out.iterdir()) and not (out / MARKER).is_file():
        raise DatasetError(f"{out}: directory is not empty and was not written by `gradad data demo`; "
                           f"refusing to write the demo data set there (give a new or empty directory)")
    out.mkdir(parents=True, exist_ok=True)
    (out / MARKER).write_text("written by gradad data demo; this directory may be overwritten by it\n")
    tmp, final = out / f".{DEMO_CATEGORY}.partial", out / DEMO_CATEGORY
    if tmp.exists():
        shutil.rmtree(tmp)
    counts: dict[tuple[str, str], int] = {}
    for split, kind, name, image, mask in render_demo(seed, **kw):
        folder = tmp / split / kind
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(image).save(folder / f"{name}.png")
        if mask is not None:
            gt = tmp / "ground_truth" / kind
            gt.mkdir(parents=True, exist_ok=True)
            Image.fromarray(mask.astype(np.uint8) * 255).save(gt / f"{name}_mask.png")
        counts[split, kind] = counts.get((split, kind), 0) + 1
    (tmp / "README.md").write_text(_readme(seed, kw.get("size", 128), counts))
    if final.exists():
        shutil.rmtree(final)
    tmp.rename(final)
    return final
