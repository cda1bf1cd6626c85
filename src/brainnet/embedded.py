"""The embedded stimulus set: procedurally drawn objects in five categories.

Faces, houses, bodies, tools and scenes, each image varying in position, size,
pose (in-plane rotation and part layout), colour and background texture. Every
image is drawn from its own random generator seeded by ``(seed, category,
index)``, so the set is identical for a seed and adding categories or images
does not change the existing ones.

Objects are drawn at twice the output size and downsampled, which keeps edges
smooth without an anti-aliasing pass.
"""

from __future__ import annotations

import colorsys
import math
from collections.abc import Iterator

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

__all__ = ["CATEGORIES", "draw_set", "draw_stimulus"]

CATEGORIES = ("face", "house", "body", "tool", "scene")
_SUPERSAMPLE = 2


def draw_set(
    *,
    n_per_category: int = 40,
    image_size: int = 224,
    categories: list[str] | None = None,
    seed: int = 0,
) -> Iterator[tuple[str, str, Image.Image]]:
    """Draw the embedded set, one image after another.

    Parameters
    ----------
    n_per_category : int
        Images per category.
    image_size : int
        Width and height in pixels.
    categories : list of str | None
        A subset of :data:`CATEGORIES`; all of them by default.
    seed : int
        Seed of the whole set.

    Returns
    -------
    images : iterator of (str, str, PIL.Image.Image)
        ``(stimulus_id, category, image)`` in table order, ``stimulus_id``
        like ``face_007``. :func:`brainnet.stimuli.build_stimuli` writes them
        as PNG files.

    Raises
    ------
    ValueError
        On an unknown category or a size out of range, before any image is drawn.
    """
    categories = list(CATEGORIES if categories is None else categories)
    unknown = sorted(set(categories) - set(CATEGORIES))
    if unknown:
        raise ValueError(f"unknown embedded categories {unknown}; choose from {CATEGORIES}")
    if n_per_category < 1 or image_size < 16:
        raise ValueError("embedded set needs n_per_category >= 1 and image_size >= 16")
    return _draw_images(categories, n_per_category, image_size, seed)


def _draw_images(categories, n_per_category, image_size, seed):
    for category in categories:
        for i in range(n_per_category):
            rng = np.random.default_rng([seed, CATEGORIES.index(category), i])
            yield f"{category}_{i + 1:03d}", category, draw_stimulus(category, rng, image_size)


def draw_stimulus(category: str, rng: np.random.Generator, image_size: int) -> Image.Image:
    """Draw one image of ``category`` (RGB, ``image_size`` square)."""
    size = image_size * _SUPERSAMPLE
    if category == "scene":
        image = _scene(rng, size)
    else:
        image = _background(rng, size)
        sprite = _SPRITES[category](rng, size)
        _paste_transformed(image, sprite, rng)
    return image.resize((image_size, image_size), Image.Resampling.LANCZOS)


# --------------------------------------------------------------------- colours
def _colour(rng, hue=None, sat=(0.3, 0.9), val=(0.35, 0.95)) -> tuple[int, int, int]:
    h = rng.uniform(0, 1) if hue is None else hue % 1.0
    r, g, b = colorsys.hsv_to_rgb(h, rng.uniform(*sat), rng.uniform(*val))
    return int(r * 255), int(g * 255), int(b * 255)


def _skin(rng) -> tuple[int, int, int]:
    return _colour(rng, hue=rng.uniform(0.03, 0.09), sat=(0.25, 0.6), val=(0.35, 0.95))


# ------------------------------------------------------------------ background
def _background(rng, size: int) -> Image.Image:
    """A textured background: smooth noise, stripes, checks or dots."""
    base, other = _colour(rng, sat=(0.05, 0.5)), _colour(rng, sat=(0.05, 0.5))
    kind = rng.integers(4)
    if kind == 0:  # smooth noise: upsampled low-resolution random field
        cells = int(rng.integers(3, 12))
        field = rng.uniform(0, 1, (cells, cells))
        mask = Image.fromarray((field * 255).astype(np.uint8)).resize(
            (size, size), Image.Resampling.BICUBIC
        )
        return Image.composite(
            Image.new("RGB", (size, size), base), Image.new("RGB", (size, size), other), mask
        )
    image = Image.new("RGB", (size, size), base)
    draw = ImageDraw.Draw(image)
    period = int(size / rng.uniform(4, 16))
    if kind == 1:  # stripes at a random angle, drawn large so rotation leaves no corners
        big = Image.new("RGB", (2 * size, 2 * size), base)
        big_draw = ImageDraw.Draw(big)
        for x in range(0, 2 * size, period):
            big_draw.rectangle([x, 0, x + period // 2, 2 * size], fill=other)
        big = big.rotate(float(rng.uniform(0, 180)), resample=Image.Resampling.BILINEAR)
        return big.crop((size // 2, size // 2, size // 2 + size, size // 2 + size))
    if kind == 2:  # checks
        for y in range(0, size, period):
            for x in range((y // period % 2) * period, size, 2 * period):
                draw.rectangle([x, y, x + period, y + period], fill=other)
        return image
    for _ in range(int(rng.integers(20, 80))):  # dots
        x, y, r = rng.uniform(0, size), rng.uniform(0, size), rng.uniform(2, period / 2)
        draw.ellipse([x - r, y - r, x + r, y + r], fill=other)
    return image


def _paste_transformed(image: Image.Image, sprite: Image.Image, rng) -> None:
    """Scale, rotate and place an RGBA sprite on the image (size, pose, position)."""
    size = image.width
    scale = rng.uniform(0.45, 0.85)
    side = max(8, int(size * scale))
    sprite = sprite.resize((side, side), Image.Resampling.LANCZOS)
    sprite = sprite.rotate(
        float(rng.uniform(-30, 30)), resample=Image.Resampling.BICUBIC, expand=True
    )
    # a soft shadow separates the object from busy textures
    shadow = Image.new("RGBA", sprite.size, (0, 0, 0, 0))
    shadow.putalpha(sprite.getchannel("A").point(lambda a: a * 0.35))
    shadow = shadow.filter(ImageFilter.GaussianBlur(size / 80))
    free_x, free_y = max(size - sprite.width, 0), max(size - sprite.height, 0)
    x = int(free_x / 2 + rng.uniform(-0.5, 0.5) * free_x)
    y = int(free_y / 2 + rng.uniform(-0.5, 0.5) * free_y)
    offset = max(2, size // 100)
    image.paste(shadow, (x + offset, y + offset), shadow)
    image.paste(sprite, (x, y), sprite)


def _canvas(size: int) -> tuple[Image.Image, ImageDraw.ImageDraw]:
    sprite = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    return sprite, ImageDraw.Draw(sprite)


# --------------------------------------------------------------------- objects
def _face(rng, size: int) -> Image.Image:
    sprite, draw = _canvas(size)
    s = size / 100
    skin, hair = _skin(rng), _colour(rng, hue=rng.uniform(0.02, 0.12), val=(0.05, 0.6))
    yaw = rng.uniform(-8, 8)  # turning the head moves the features sideways
    width = rng.uniform(28, 38)
    draw.ellipse([(50 - width) * s, 12 * s, (50 + width) * s, 92 * s], fill=hair)  # hair
    draw.ellipse([(50 - width - 4) * s, 45 * s, (50 - width + 4) * s, 62 * s], fill=skin)  # ears
    draw.ellipse([(50 + width - 4) * s, 45 * s, (50 + width + 4) * s, 62 * s], fill=skin)
    draw.ellipse([(52 - width) * s, 22 * s, (48 + width) * s, 92 * s], fill=skin)  # face
    eye_y, eye_dx = rng.uniform(46, 54), rng.uniform(11, 16)
    iris = _colour(rng, hue=rng.uniform(0.05, 0.6), val=(0.2, 0.7))
    gaze = rng.uniform(-2, 2)
    for side in (-1, 1):
        cx = 50 + yaw + side * eye_dx
        draw.ellipse(
            [(cx - 7) * s, (eye_y - 4) * s, (cx + 7) * s, (eye_y + 4) * s], fill=(250, 250, 245)
        )
        draw.ellipse(
            [(cx + gaze - 3.5) * s, (eye_y - 3.5) * s, (cx + gaze + 3.5) * s, (eye_y + 3.5) * s],
            fill=iris,
        )
        draw.ellipse(
            [(cx + gaze - 1.5) * s, (eye_y - 1.5) * s, (cx + gaze + 1.5) * s, (eye_y + 1.5) * s],
            fill=(10, 10, 10),
        )
        brow_tilt = rng.uniform(-3, 3)
        draw.line(
            [
                ((cx - 7) * s, (eye_y - 8 + side * brow_tilt / 2) * s),
                ((cx + 7) * s, (eye_y - 8 - side * brow_tilt / 2) * s),
            ],
            fill=hair,
            width=int(2.5 * s),
        )
    nose = [(50 + yaw * 1.3) * s, (eye_y + 4) * s]
    draw.line(
        [
            tuple(nose),
            ((50 + yaw * 1.5 - 4) * s, (eye_y + 17) * s),
            ((50 + yaw * 1.3 + 3) * s, (eye_y + 18) * s),
        ],
        fill=tuple(int(c * 0.7) for c in skin),
        width=int(2 * s),
    )
    mouth_y, smile = rng.uniform(74, 80), rng.uniform(-6, 10)
    draw.arc(
        [
            (50 + yaw - 11) * s,
            (mouth_y - 6) * s,
            (50 + yaw + 11) * s,
            (mouth_y + 6 + smile / 2) * s,
        ],
        start=10,
        end=170,
        fill=_colour(rng, hue=0.98, sat=(0.4, 0.8), val=(0.4, 0.8)),
        width=int(3 * s),
    )
    return sprite


def _house(rng, size: int) -> Image.Image:
    sprite, draw = _canvas(size)
    s = size / 100
    wall, roof, trim = _colour(rng, sat=(0.1, 0.6)), _colour(rng, val=(0.2, 0.6)), _colour(rng)
    left, right = rng.uniform(8, 20), rng.uniform(80, 92)
    eaves, base = rng.uniform(38, 50), rng.uniform(88, 96)
    draw.rectangle([left * s, eaves * s, right * s, base * s], fill=wall)
    peak_x = rng.uniform(40, 60)
    draw.polygon(
        [
            ((left - 5) * s, eaves * s),
            (peak_x * s, rng.uniform(6, 20) * s),
            ((right + 5) * s, eaves * s),
        ],
        fill=roof,
    )
    if rng.uniform() < 0.6:  # chimney
        cx = rng.uniform(left + 8, right - 14)
        draw.rectangle([cx * s, (eaves - 22) * s, (cx + 7) * s, (eaves - 4) * s], fill=roof)
    door_x = rng.uniform(left + 6, right - 20)
    draw.rectangle([door_x * s, (base - 26) * s, (door_x + 13) * s, base * s], fill=trim)
    n_windows = int(rng.integers(2, 5))
    glass = _colour(rng, hue=rng.uniform(0.5, 0.65), sat=(0.2, 0.6), val=(0.6, 1.0))
    for k in range(n_windows):
        wx = left + 4 + k * (right - left - 8) / n_windows
        if abs(wx + 5 - door_x - 6) < 14:
            continue
        wy = eaves + rng.uniform(6, 12)
        draw.rectangle(
            [wx * s, wy * s, (wx + 11) * s, (wy + 11) * s],
            fill=glass,
            outline=trim,
            width=int(1.5 * s),
        )
        draw.line(
            [((wx + 5.5) * s, wy * s), ((wx + 5.5) * s, (wy + 11) * s)], fill=trim, width=int(s)
        )
        draw.line(
            [(wx * s, (wy + 5.5) * s), ((wx + 11) * s, (wy + 5.5) * s)], fill=trim, width=int(s)
        )
    return sprite


def _limb(draw, start, angle, length, width, colour, s):
    end = (start[0] + length * math.sin(angle), start[1] + length * math.cos(angle))
    draw.line(
        [(start[0] * s, start[1] * s), (end[0] * s, end[1] * s)], fill=colour, width=int(width * s)
    )
    r = width / 2
    draw.ellipse(
        [(end[0] - r) * s, (end[1] - r) * s, (end[0] + r) * s, (end[1] + r) * s], fill=colour
    )
    return end


def _body(rng, size: int) -> Image.Image:
    sprite, draw = _canvas(size)
    s = size / 100
    skin, shirt, trousers = _skin(rng), _colour(rng), _colour(rng, val=(0.15, 0.6))
    shoulder_y, hip_y = 30.0, 60.0
    for side in (-1, 1):  # legs first so the torso covers their tops
        thigh = _limb(
            draw, (50 + side * 6, hip_y), side * rng.uniform(0.05, 0.5), 18, 9, trousers, s
        )
        _limb(draw, thigh, side * rng.uniform(-0.3, 0.4), 19, 8, trousers, s)
    draw.rounded_rectangle(
        [38 * s, (shoulder_y - 3) * s, 62 * s, (hip_y + 4) * s], radius=int(6 * s), fill=shirt
    )
    for side in (-1, 1):
        elbow = _limb(
            draw, (50 + side * 11, shoulder_y + 2), side * rng.uniform(0.2, 2.6), 16, 7, shirt, s
        )
        _limb(draw, elbow, side * rng.uniform(-0.5, 2.8), 15, 6, skin, s)
    draw.rectangle([46 * s, (shoulder_y - 8) * s, 54 * s, shoulder_y * s], fill=skin)
    draw.ellipse([40 * s, 3 * s, 60 * s, 25 * s], fill=skin)
    return sprite


def _tool(rng, size: int) -> Image.Image:
    sprite, draw = _canvas(size)
    s = size / 100
    handle = _colour(rng, sat=(0.5, 1.0))
    metal = tuple(int(v) for v in rng.uniform(120, 210) * np.array([1.0, 1.0, 1.05]).clip(0, 1.2))
    kind = rng.integers(3)
    if kind == 0:  # hammer
        draw.rounded_rectangle([45 * s, 30 * s, 55 * s, 95 * s], radius=int(4 * s), fill=handle)
        draw.rectangle([25 * s, 12 * s, 75 * s, 32 * s], fill=metal)
        draw.polygon(
            [(75 * s, 12 * s), (88 * s, 8 * s), (88 * s, 20 * s), (75 * s, 24 * s)], fill=metal
        )
    elif kind == 1:  # screwdriver
        draw.rounded_rectangle([42 * s, 55 * s, 58 * s, 95 * s], radius=int(7 * s), fill=handle)
        for k in range(3):
            draw.line(
                [((46 + 4 * k) * s, 60 * s), ((46 + 4 * k) * s, 90 * s)],
                fill=tuple(int(c * 0.7) for c in handle),
                width=int(s),
            )
        draw.rectangle([48 * s, 8 * s, 52 * s, 56 * s], fill=metal)
        draw.polygon([(47 * s, 8 * s), (53 * s, 8 * s), (50 * s, 3 * s)], fill=metal)
    else:  # wrench
        draw.rounded_rectangle([45 * s, 25 * s, 55 * s, 88 * s], radius=int(5 * s), fill=metal)
        draw.ellipse([33 * s, 3 * s, 67 * s, 35 * s], fill=metal)
        draw.rectangle([44 * s, 0, 56 * s, 16 * s], fill=(0, 0, 0, 0))
        draw.ellipse([40 * s, 80 * s, 60 * s, 98 * s], fill=metal)
        draw.ellipse([46 * s, 85 * s, 54 * s, 93 * s], fill=(0, 0, 0, 0))
    return sprite


def _scene(rng, size: int) -> Image.Image:
    """A landscape filling the frame: sky, mountains, ground, sun and trees."""
    image = Image.new("RGB", (size, size))
    draw = ImageDraw.Draw(image)
    top, bottom = (
        _colour(rng, hue=rng.uniform(0.52, 0.68), sat=(0.3, 0.8), val=(0.5, 1.0)),
        _colour(rng, hue=rng.uniform(0.0, 0.15), sat=(0.05, 0.4), val=(0.8, 1.0)),
    )
    horizon = int(size * rng.uniform(0.4, 0.7))
    for y in range(horizon):  # vertical sky gradient
        t = y / max(horizon - 1, 1)
        draw.line(
            [(0, y), (size, y)],
            fill=tuple(int(a + (b - a) * t) for a, b in zip(top, bottom, strict=True)),
        )
    sun_x, sun_r = rng.uniform(0.1, 0.9) * size, rng.uniform(0.04, 0.09) * size
    sun_y = rng.uniform(0.08, 0.3) * size
    draw.ellipse(
        [sun_x - sun_r, sun_y - sun_r, sun_x + sun_r, sun_y + sun_r],
        fill=_colour(rng, hue=rng.uniform(0.1, 0.16), sat=(0.4, 0.9), val=(0.9, 1.0)),
    )
    for _layer in range(int(rng.integers(1, 4))):  # mountain ranges, far to near
        peaks = np.sort(rng.uniform(0, size, int(rng.integers(2, 6))))
        points = [(0, horizon)]
        for x in peaks:
            points.append((x, horizon - rng.uniform(0.1, 0.35) * size))
        points.append((size, horizon))
        draw.polygon(
            points, fill=_colour(rng, hue=rng.uniform(0.55, 0.8), sat=(0.1, 0.4), val=(0.3, 0.7))
        )
    ground = _colour(rng, hue=rng.uniform(0.12, 0.35), sat=(0.3, 0.8), val=(0.3, 0.8))
    draw.rectangle([0, horizon, size, size], fill=ground)
    if rng.uniform() < 0.5:  # a road receding to the horizon
        mid = rng.uniform(0.3, 0.7) * size
        draw.polygon(
            [
                (mid - 4, horizon),
                (mid + 4, horizon),
                (mid + size * 0.3, size),
                (mid - size * 0.3, size),
            ],
            fill=_colour(rng, sat=(0.0, 0.15), val=(0.3, 0.6)),
        )
    for _tree in range(int(rng.integers(0, 6))):
        x = rng.uniform(0, size)
        y = rng.uniform(horizon, size)
        height = (y - horizon + size * 0.05) * rng.uniform(0.5, 0.9)
        draw.rectangle(
            [x - height * 0.05, y - height * 0.5, x + height * 0.05, y], fill=(90, 60, 30)
        )
        draw.ellipse(
            [x - height * 0.3, y - height, x + height * 0.3, y - height * 0.4],
            fill=_colour(rng, hue=rng.uniform(0.22, 0.4), sat=(0.4, 0.9), val=(0.2, 0.6)),
        )
    return image


_SPRITES = {"face": _face, "house": _house, "body": _body, "tool": _tool}
