"""Stimulus sets: one table of ``stimulus_id``, ``category`` and ``path`` whatever the source.

Sources
-------
``folder``
    A folder of images whose subfolders are categories (images directly in
    the folder get the category ``""``). ``stimulus_id`` is the path relative
    to the folder without its extension, e.g. ``faces/face01``.
``csv``
    A manifest with columns ``stimulus_id,path[,category]``; paths are
    relative to the manifest and must stay inside its folder.
``zip``
    A zip archive of images, extracted beside the table; ``stimulus_id`` is the
    file stem (as in the Cowley V4 release), unique across the archive's folders.
``array``
    A ``.npy`` array ``(n, height, width[, 3])`` of images, written out as PNG;
    ``stimulus_id`` is ``stim_001`` ... and categories may come from a JSON list
    of ``{"category": ...}`` records (as in the Kriegeskorte 92 release).
``embedded``
    Procedurally drawn objects (faces, houses, bodies, tools, scenes), varying
    in position, size, pose, colour and background texture; deterministic by
    seed. See :mod:`brainnet.embedded`.

Every image is decoded once when the table is built, so that a missing or
corrupt file stops the run at the first stage with its name. JPEG files are
also decoded strictly by libjpeg-turbo (:mod:`simplejpeg`): Pillow decodes a
JPEG whose compressed data are damaged into a garbled image without an error,
libjpeg-turbo reports it. Stimulus ids lose surrounding spaces
(:func:`brainnet.join.clean_ids`). Images that a source writes (``zip``,
``array``, ``embedded``) are checked in their temporary folder, so a failure
leaves no folder behind.
"""

from __future__ import annotations

import json
import os
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import simplejpeg
import xarray as xr
from PIL import Image, UnidentifiedImageError

from brainnet import embedded
from brainnet.io import atomic_path
from brainnet.join import clean_ids
from brainnet.log import logger, preview, set_log_level
from brainnet.tables import read_table

__all__ = ["IMAGE_SUFFIXES", "build_stimuli", "load_image", "stimulus_table", "validate_images"]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".gif", ".webp", ".ppm")
_BACKGROUND = (255, 255, 255)


def load_image(path: str | os.PathLike) -> Image.Image:
    """Read an image and convert it to 8-bit RGB whatever its mode.

    Grayscale, palette, CMYK and 16- or 32-bit images are converted; an alpha
    channel is composited onto white so transparent pixels do not become black.
    Wide images keep their brightness: 16-bit values (0-65535, also in 32-bit
    integer images) are divided by 257 and float values (0-1) multiplied by
    255, the same for every image, so that a darker image stays darker.

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    ValueError
        If the file is not a readable image (corrupt or truncated, or a JPEG
        with damaged compressed data), or holds values outside the range of
        its mode; the message names it.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"stimulus image not found: {path}")
    try:
        with Image.open(path) as img:
            img.load()  # decode fully now: truncated files fail here, not later
            if img.format in ("JPEG", "MPO"):
                _check_jpeg(path)
            return _to_rgb(img)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as err:
        raise ValueError(f"cannot read stimulus image {path}: {err}") from err


def _check_jpeg(path: Path) -> None:
    """Decode a JPEG strictly: libjpeg-turbo's warnings ("Corrupt JPEG data") are errors."""
    data = path.read_bytes()
    colorspace = simplejpeg.decode_jpeg_header(data)[2]
    simplejpeg.decode_jpeg(
        data, colorspace="CMYK" if colorspace in ("CMYK", "YCCK") else "RGB", strict=True
    )


# Full scale of the wide modes: 16-bit integers (also in 32-bit "I" images) and floats.
_FULL_SCALE = {"F": 1.0, "I": 65535.0, "I;16": 65535.0, "I;16B": 65535.0}
_FULL_SCALE |= {"I;16L": 65535.0, "I;16N": 65535.0}


def _to_rgb(img: Image.Image) -> Image.Image:
    if img.mode in _FULL_SCALE:
        # A fixed full scale, not each image's own range: brightness differences
        # between images are part of the stimulus.
        full = _FULL_SCALE[img.mode]
        values = np.asarray(img, dtype=np.float64)
        if not np.isfinite(values).all() or values.min() < 0 or values.max() > full:
            raise ValueError(
                f"mode {img.mode} image holds values {values.min():g} to {values.max():g}, "
                f"outside 0-{full:g}; convert it to 8 or 16 bits"
            )
        img = Image.fromarray((values * (255.0 / full)).round().astype(np.uint8), mode="L")
    if img.mode == "P" and "transparency" in img.info:
        img = img.convert("RGBA")
    if img.mode in ("RGBA", "LA", "PA"):
        rgba = img.convert("RGBA")
        canvas = Image.new("RGBA", rgba.size, _BACKGROUND + (255,))
        img = Image.alpha_composite(canvas, rgba)
    return img.convert("RGB")


def stimulus_table(
    stimulus_ids, paths, categories=None, *, set_name: str = "stimuli"
) -> xr.Dataset:
    """Assemble and check a stimulus table.

    Parameters
    ----------
    stimulus_ids : sequence of str
        Unique identifiers; every join with recordings goes through them.
    paths : sequence of path-like
        One image file per stimulus.
    categories : sequence of str | None
        Category labels; ``""`` when unknown.
    set_name : str
        Name of the set, stored in the attributes.

    Returns
    -------
    table : xarray.Dataset
        Dimension ``stimulus`` with coordinates ``stimulus_id``, ``category``
        and ``path``.
    """
    ids = clean_ids(stimulus_ids, f"stimulus set {set_name!r}")
    if not ids:
        raise ValueError(f"stimulus set {set_name!r} is empty")
    counts = pd.Series(ids).value_counts()
    duplicated = counts[counts > 1]
    if len(duplicated):
        raise ValueError(
            f"duplicate stimulus_id in {set_name!r}: "
            + ", ".join(f"{sid!r} ({n} times)" for sid, n in duplicated.items())
        )
    if len(paths) != len(ids):
        raise ValueError(f"{len(ids)} stimulus ids but {len(paths)} paths in {set_name!r}")
    categories = [""] * len(ids) if categories is None else [str(c) for c in categories]
    return xr.Dataset(
        coords={
            "stimulus_id": ("stimulus", np.array(ids, dtype=object)),
            "category": ("stimulus", np.array(categories, dtype=object)),
            "path": ("stimulus", np.array([os.fspath(p) for p in paths], dtype=object)),
        },
        attrs={"set_name": set_name, "n_stimuli": len(ids)},
    )


def validate_images(table: xr.Dataset, paths=None) -> None:
    """Decode every image of ``table``; raise naming the bad ones.

    ``paths`` (one per stimulus) replaces the table's paths, for images still
    in the temporary folder they are written to.
    """
    paths = table["path"].values if paths is None else paths
    bad = []
    for sid, path in zip(table["stimulus_id"].values, paths, strict=True):
        try:
            load_image(path)
        except (FileNotFoundError, ValueError) as err:
            bad.append(f"{sid}: {err}")
    if bad:
        more = f" (and {len(bad) - 5} more)" if len(bad) > 5 else ""
        raise ValueError("unusable stimulus images:\n  " + "\n  ".join(bad[:5]) + more)


def _from_folder(root: Path) -> xr.Dataset:
    if not root.is_dir():
        raise FileNotFoundError(f"stimulus folder not found: {root}")
    files = sorted(
        p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
    )
    if not files:
        raise ValueError(f"no images ({', '.join(IMAGE_SUFFIXES)}) under stimulus folder {root}")
    ids = [p.relative_to(root).with_suffix("").as_posix() for p in files]
    categories = [p.parent.relative_to(root).as_posix() if p.parent != root else "" for p in files]
    return stimulus_table(ids, files, categories, set_name=root.name)


def _from_csv(manifest: Path) -> xr.Dataset:
    if not manifest.is_file():
        raise FileNotFoundError(f"stimulus manifest not found: {manifest}")
    frame = read_table(manifest, sep=",", required=("stimulus_id", "path"))
    empty = frame.index[(frame["stimulus_id"].str.strip() == "") | (frame["path"] == "")]
    if len(empty):
        raise ValueError(
            f"stimulus manifest {manifest}: empty stimulus_id or path on rows "
            f"{[int(i) + 2 for i in empty[:5]]}"
        )
    paths = [_contained(manifest, p, i + 2) for i, p in enumerate(frame["path"])]
    categories = frame.get("category")
    return stimulus_table(frame["stimulus_id"], paths, categories, set_name=manifest.stem)


def _contained(manifest: Path, path: str, row: int) -> Path:
    """``path`` of a manifest row under the manifest's folder, refusing any way out of it.

    Compared after normalising ``..`` but without resolving symbolic links, so
    a linked image folder inside the manifest's folder is allowed.
    """
    folder = Path(os.path.abspath(manifest.parent))
    target = Path(os.path.normpath(folder / path))
    if Path(path).is_absolute() or not target.is_relative_to(folder):
        raise ValueError(
            f"stimulus manifest {manifest}, row {row}: path {path!r} is not inside the "
            f"manifest's folder {folder}; paths must be relative and stay below it"
        )
    return target


def _from_zip(archive: Path, out_dir: Path) -> xr.Dataset:
    if not archive.is_file():
        raise FileNotFoundError(f"stimulus archive not found: {archive}")
    try:
        with zipfile.ZipFile(archive) as zf:
            members = sorted(
                m
                for m in zf.namelist()
                if Path(m).suffix.lower() in IMAGE_SUFFIXES and not Path(m).name.startswith(".")
            )
            if not members:
                raise ValueError(f"no images in stimulus archive {archive}")
            _check_unique_stems(members, archive)
            names = [Path(m).name for m in members]
            table = stimulus_table(
                [Path(n).stem for n in names], [out_dir / n for n in names], set_name=archive.stem
            )
            with atomic_path(out_dir) as tmp:
                tmp.mkdir()
                for member, name in zip(members, names, strict=True):
                    with zf.open(member) as src, open(tmp / name, "wb") as dst:
                        shutil.copyfileobj(src, dst)
                validate_images(table, [tmp / n for n in names])
    except zipfile.BadZipFile as err:
        raise ValueError(f"corrupt stimulus archive {archive}: {err}") from err
    return table


def _check_unique_stems(members: list[str], archive: Path) -> None:
    """Members are extracted flat and named by stem: two with one stem would clash."""
    by_stem: dict[str, list[str]] = {}
    for member in members:
        by_stem.setdefault(Path(member).stem.strip(), []).append(member)
    clashes = {stem: found for stem, found in by_stem.items() if len(found) > 1}
    if clashes:
        raise ValueError(
            f"stimulus archive {archive}: members share a file stem, which is their "
            f"stimulus_id: {preview(f'{stem}: {found}' for stem, found in clashes.items())}"
        )


def _from_array(array_path: Path, out_dir: Path, labels: Path | None = None) -> xr.Dataset:
    if not array_path.is_file():
        raise FileNotFoundError(f"stimulus array not found: {array_path}")
    images = np.load(array_path)
    if images.ndim not in (3, 4) or (images.ndim == 4 and images.shape[-1] not in (1, 3, 4)):
        raise ValueError(
            f"stimulus array {array_path} has shape {images.shape}; expected "
            "(n, height, width) or (n, height, width, channels)"
        )
    if images.dtype != np.uint8:
        raise ValueError(
            f"stimulus array {array_path} has dtype {images.dtype}; expected uint8 (0-255), "
            "the only range that converts to pixels without a guess"
        )
    categories = None
    if labels is not None:
        records = json.loads(Path(labels).read_text())
        if len(records) != len(images):
            raise ValueError(
                f"{labels} has {len(records)} label records but {array_path} holds "
                f"{len(images)} images"
            )
        categories = [str(r.get("category", "")) for r in records]
    ids = [f"stim_{i + 1:03d}" for i in range(len(images))]
    with atomic_path(out_dir) as tmp:
        tmp.mkdir()
        for sid, image in zip(ids, images, strict=True):
            Image.fromarray(np.asarray(image).squeeze()).save(tmp / f"{sid}.png")
    return stimulus_table(
        ids, [out_dir / f"{sid}.png" for sid in ids], categories, set_name=array_path.stem
    )


def _from_embedded(out_dir: Path, **settings) -> xr.Dataset:
    """Draw the embedded set (see :func:`brainnet.embedded.draw_set`) as PNG files."""
    images = embedded.draw_set(**settings)
    ids, paths, labels = [], [], []
    with atomic_path(out_dir) as tmp:
        tmp.mkdir()
        for sid, category, image in images:
            image.save(tmp / f"{sid}.png", optimize=False)
            ids.append(sid)
            paths.append(out_dir / f"{sid}.png")
            labels.append(category)
    return stimulus_table(ids, paths, labels, set_name="embedded")


def build_stimuli(
    source: str,
    image_dir: str | os.PathLike,
    *,
    path: str | os.PathLike | None = None,
    labels: str | os.PathLike | None = None,
    n_per_category: int = 40,
    image_size: int = 224,
    categories: list[str] | None = None,
    seed: int = 0,
    verbose=None,
) -> xr.Dataset:
    """Build the stimulus table of a dataset from its configured source.

    Parameters
    ----------
    source : {"embedded", "folder", "csv", "zip", "array"}
        Where the images come from (see the module docstring).
    image_dir : path-like
        Where images are written for the sources that create files
        (``embedded``, ``zip``, ``array``).
    path : path-like | None
        The folder, manifest, archive or array, for the other sources.
    labels : path-like | None
        JSON list of per-image records with a ``category`` (``array`` only).
    n_per_category, image_size, categories, seed
        Settings of the ``embedded`` set.
    verbose : bool | str | None
        Logging level for this call.

    Returns
    -------
    table : xarray.Dataset
        The checked stimulus table (every image decodes).
    """
    set_log_level(verbose)
    image_dir = Path(image_dir)
    if source == "embedded":
        table = _from_embedded(
            image_dir,
            n_per_category=n_per_category,
            image_size=image_size,
            categories=categories,
            seed=seed,
        )
    else:
        if path is None:
            raise ValueError(f"stimulus source {source!r} needs a 'path'")
        path = Path(path)
        if source == "folder":
            table = _from_folder(path)
        elif source == "csv":
            table = _from_csv(path)
        elif source == "zip":
            table = _from_zip(path, image_dir)
        elif source == "array":
            table = _from_array(path, image_dir, labels)
        else:
            raise ValueError(
                f"unknown stimulus source {source!r}; "
                "expected one of embedded, folder, csv, zip, array"
            )
    if source in ("folder", "csv"):
        validate_images(table)  # the other sources wrote (and zip checked) their images
    logger.info(
        "stimulus set %r: %d images in %d categories",
        table.attrs["set_name"],
        table.sizes["stimulus"],
        len(set(table["category"].values)),
    )
    return table
