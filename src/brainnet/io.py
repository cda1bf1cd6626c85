"""Artefact input and output: xarray objects in netCDF, written atomically.

Every artefact passed between stages goes through :func:`write_netcdf` and
:func:`read_dataset`. Writing goes to a hidden temporary file beside the target
and is renamed into place only once complete, so an interrupted run never
leaves a file that looks finished. A full disk is reported as such, naming
the file, and leaves nothing half-written.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import xarray as xr

__all__ = ["atomic_path", "read_dataset", "write_netcdf", "encode_attrs", "decode_attr"]

_ENGINE = "h5netcdf"


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path that is renamed to ``path`` only on success.

    The parent folder is created. On any exception the temporary file (or
    folder) is removed and ``path`` keeps whatever it held before. A write
    that fails on a full disk raises ``OSError(ENOSPC)`` "disk full while
    writing" with ``path`` as its file name.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        yield tmp
        if tmp.is_dir() and path.is_dir():
            # a folder cannot be renamed over a non-empty one: move the old aside first
            old = path.with_name(f".{path.name}.old-{os.getpid()}")
            os.replace(path, old)
            os.replace(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
    except OSError as err:
        if err.filename != os.fspath(path) and _disk_full(err, path.parent):
            raise OSError(errno.ENOSPC, "disk full while writing", os.fspath(path)) from err
        raise
    finally:
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        elif tmp.exists():
            tmp.unlink()


# A failed write with less than this free is taken for a full disk: h5py does not
# always carry errno ENOSPC ("N requested and M written").
_FULL_BYTES = 1 << 20


def _disk_full(err: OSError, folder: Path) -> bool:
    if err.errno == errno.ENOSPC:
        return True
    try:
        return shutil.disk_usage(folder).free < _FULL_BYTES
    except OSError:
        return False


def _check_space(nbytes: int, path: Path) -> None:
    """Refuse to start a write that cannot fit: h5py may crash on a full disk."""
    free = shutil.disk_usage(path.parent).free
    if free < nbytes:
        raise OSError(
            errno.ENOSPC,
            f"disk full while writing ({nbytes / 2**20:.1f} MiB needed, {free / 2**20:.1f} free)",
            os.fspath(path),
        )


def encode_attrs(attrs: dict) -> dict:
    """Make attribute values storable in netCDF.

    Numbers and strings are stored as they are; ``None``, booleans, lists and
    dicts as JSON text (netCDF attributes cannot hold them, and h5py cannot
    store lists of strings portably), read back by :func:`decode_attr`.
    """
    out = {}
    for key, value in attrs.items():
        if isinstance(value, str):
            out[key] = str(value)  # plain str: h5py rejects subclasses such as TorchVersion
        elif isinstance(value, int | float | np.integer | np.floating) and not isinstance(
            value, bool
        ):
            out[key] = value
        else:
            out[key] = "json:" + json.dumps(value, default=_json_default)
    return out


def decode_attr(value):
    """Read back an attribute written by :func:`encode_attrs`."""
    if isinstance(value, str) and value.startswith("json:"):
        return json.loads(value[5:])
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    raise TypeError(f"cannot store attribute value of type {type(value).__name__}")


def write_netcdf(obj: xr.Dataset | xr.DataArray, path: str | os.PathLike) -> Path:
    """Write an xarray object to ``path`` atomically (h5netcdf engine).

    Attributes are passed through :func:`encode_attrs` on the object and on
    each variable, so provenance dicts survive the round trip.

    Returns
    -------
    path : Path
        The written file.
    """
    path = Path(path)
    obj = obj.copy(deep=False)
    obj.attrs = encode_attrs(obj.attrs)
    variables = obj.variables if isinstance(obj, xr.Dataset) else obj.coords.variables
    for var in variables.values():
        var.attrs = encode_attrs(var.attrs)
    with atomic_path(path) as tmp:
        _check_space(obj.nbytes, path)
        obj.to_netcdf(tmp, engine=_ENGINE, invalid_netcdf=True)
    return path


def read_dataset(path: str | os.PathLike, required: tuple[str, ...] = ()) -> xr.Dataset:
    """Read an artefact fully into memory and decode its attributes.

    Parameters
    ----------
    path : path-like
        The netCDF file.
    required : tuple of str
        Variables or coordinates that must be present; a missing one raises
        an error naming the file and the variable.

    Returns
    -------
    ds : xarray.Dataset
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"artefact not found: {path}")
    try:
        with xr.open_dataset(path, engine=_ENGINE) as ds:
            ds = ds.load()
    except Exception as err:  # h5py raises several types for damaged files
        raise OSError(f"cannot read artefact {path}: {err}") from err
    ds.attrs = {k: decode_attr(v) for k, v in ds.attrs.items()}
    for var in ds.variables.values():
        var.attrs = {k: decode_attr(v) for k, v in var.attrs.items()}
    missing = [name for name in required if name not in ds.variables]
    if missing:
        raise KeyError(f"artefact {path} lacks {missing}; it holds {sorted(ds.variables)}")
    return ds
