"""Reading the user's text tables (CSV and TSV), with errors that name the file.

Stimulus manifests, BIDS ``*.tsv`` sidecars, channel tables, region
mappings and stimulus-id lists are small tables written by hand or by other
tools. A row with more or fewer fields than the header, a repeated column or
a file that is not text stops the run with the file and line at fault
(pandas alone would raise a ``ParserError`` without the file name, or fill a
short row with NaN).
"""

from __future__ import annotations

import csv
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from brainnet.join import clean_ids

__all__ = ["read_ranks", "read_stimulus_list", "read_table"]

_ROWS_SHOWN = 5


def read_table(
    path: str | os.PathLike,
    *,
    sep: str | None = None,
    required: Sequence[str] = (),
    na_values: Sequence[str] = (),
) -> pd.DataFrame:
    """Read a CSV or TSV table as strings, refusing ragged rows.

    Parameters
    ----------
    path : path-like
        The table; blank lines are skipped.
    sep : str | None
        Field separator; None takes a tab for ``.tsv`` and a comma otherwise.
    required : sequence of str
        Columns that must be present.
    na_values : sequence of str
        Cell values read as missing (NaN), e.g. ``("n/a", "")`` for BIDS.

    Returns
    -------
    table : pandas.DataFrame
        One string column per header field (header names stripped of
        surrounding spaces; cells as written).

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    ValueError
        If the file is empty or not text, a column repeats or is missing, or
        a row has another number of fields than the header; the message names
        the file and the lines.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"table not found: {path}")
    sep = sep or ("\t" if path.suffix.lower() == ".tsv" else ",")
    try:
        with open(path, encoding="utf-8-sig", newline="") as file:
            rows = [(n, row) for n, row in enumerate(csv.reader(file, delimiter=sep), 1) if row]
    except (UnicodeDecodeError, csv.Error) as err:
        raise ValueError(f"{path} is not a readable text table: {err}") from err
    if not rows:
        raise ValueError(f"{path} is empty: expected a header line")
    header = [name.strip() for name in rows[0][1]]
    repeated = sorted({name for name in header if header.count(name) > 1})
    if repeated:
        raise ValueError(f"{path}: columns {repeated} repeat in the header")
    ragged = [(n, len(row)) for n, row in rows[1:] if len(row) != len(header)]
    if ragged:
        lines = ", ".join(f"line {n} has {k}" for n, k in ragged[:_ROWS_SHOWN])
        more = f" (and {len(ragged) - _ROWS_SHOWN} more)" if len(ragged) > _ROWS_SHOWN else ""
        raise ValueError(
            f"{path}: rows must have the {len(header)} fields of the header {header}; "
            f"{lines}{more}"
        )
    table = pd.DataFrame([row for _, row in rows[1:]], columns=header, dtype=object)
    if na_values:
        table = table.mask(table.isin(list(na_values)), np.nan)
    missing = [name for name in required if name not in table.columns]
    if missing:
        raise ValueError(f"{path} lacks columns {missing}; it has {header}")
    return table


def read_stimulus_list(path: str | os.PathLike) -> list[str]:
    """Stimulus ids in order: one per line, or the ``stimulus_id`` column of a CSV or TSV.

    Ids are cleaned by :func:`brainnet.join.clean_ids` (surrounding spaces
    removed with a warning; an empty id is an error naming the file).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"stimulus list not found: {path}")
    if path.suffix.lower() in (".csv", ".tsv"):
        ids = read_table(path, required=("stimulus_id",))["stimulus_id"].tolist()
    else:
        ids = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return clean_ids(ids, str(path))


def read_ranks(values: Sequence, names: Sequence, source: str) -> np.ndarray:
    """``region_rank`` values as integers, refusing anything else by name.

    Parameters
    ----------
    values : sequence
        The column as read (strings or numbers); missing values are errors.
    names : sequence
        The contact or channel of each value, named in the message.
    source : str
        The file the column comes from.

    Returns
    -------
    ranks : array of int

    Raises
    ------
    ValueError
        A value that is not a non-negative integer (``2.7``, ``-1``, ``V1``):
        truncating it would move the contact to another region silently.
    """
    numbers = pd.to_numeric(pd.Series(list(values), dtype=object), errors="coerce").to_numpy(float)
    bad = ~np.isfinite(numbers) | (numbers % 1 != 0) | (numbers < 0)
    if bad.any():
        shown = [f"{n} ({v!r})" for n, v, b in zip(names, values, bad, strict=True) if b]
        raise ValueError(
            f"{source}: region_rank must be a non-negative integer; "
            f"{int(bad.sum())} contacts are not: {shown[:_ROWS_SHOWN]}"
        )
    return numbers.astype(int)
