"""Re-referencing: bipolar pairs of neighbouring contacts along each shaft, or none.

Contacts are named by shaft letters followed by a number (``LO1``, ``LO2``,
...); a bipolar channel is the difference of neighbouring contacts, placed at
their midpoint. The common average is subtracted from the signals as they are
read (see :mod:`brainnet.preprocessing.continuous`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import pandas as pd

__all__ = ["bipolar_channels", "bipolar_pairs"]

_CONTACT = re.compile(r"^(?P<shaft>.*?)(?P<number>\d+)$")


def bipolar_pairs(names: Sequence[str]) -> list[tuple[str, str]]:
    """Neighbouring contacts on each shaft, as (anode, cathode) pairs.

    Contacts are named by shaft letters followed by a number (``LO1``,
    ``LO2``, ...). Only contacts whose numbers differ by one are paired, so a
    missing or excluded contact breaks the shaft rather than pairing contacts
    twice as far apart as the others.

    Parameters
    ----------
    names : sequence of str
        Contact names.

    Returns
    -------
    pairs : list of (str, str)
        ``(anode, cathode)``: the bipolar signal is anode minus cathode,
        named ``"anode-cathode"``. Shafts keep their order of first appearance.
    """
    shafts: dict[str, dict[int, str]] = {}
    for name in names:
        match = _CONTACT.match(name)
        if match:
            shafts.setdefault(match["shaft"], {})[int(match["number"])] = name
    pairs = []
    for contacts in shafts.values():
        pairs += [(contacts[n], contacts[n + 1]) for n in sorted(contacts) if n + 1 in contacts]
    return pairs


def bipolar_channels(channels: pd.DataFrame) -> pd.DataFrame:
    """Bipolar pairs of neighbouring contacts with their region and position.

    Parameters
    ----------
    channels : pandas.DataFrame
        Contacts to pair, indexed by name, with ``region``, ``region_rank``
        and ``x``, ``y``, ``z`` (mm).

    Returns
    -------
    pairs : pandas.DataFrame
        Indexed by ``"anode-cathode"`` (see :func:`bipolar_pairs`), with
        ``anode``, ``cathode``, ``region``, ``region_rank`` and the midpoint
        ``x``, ``y``, ``z``. A pair spanning two regions carries the signal of
        both; it takes the region higher in the hierarchy (the anode's on a
        tie), so that a visual contact paired with one outside the hierarchy
        counts as visual.
    """
    rows = []
    for anode, cathode in bipolar_pairs(list(channels.index)):
        a, c = channels.loc[anode], channels.loc[cathode]
        top = c if c["region_rank"] > a["region_rank"] else a
        rows.append(
            {
                "name": f"{anode}-{cathode}",
                "anode": anode,
                "cathode": cathode,
                "region": top["region"],
                "region_rank": int(top["region_rank"]),
                **{k: (float(a[k]) + float(c[k])) / 2 for k in ("x", "y", "z")},
            }
        )
    columns = ["name", "anode", "cathode", "region", "region_rank", "x", "y", "z"]
    return pd.DataFrame(rows, columns=columns).set_index("name")


def _reference_plan(table, reference):
    """Output channels with their source contacts and coordinates."""
    unpaired = {}
    if reference == "bipolar":
        pairs = bipolar_channels(table)
        used = set(pairs["anode"]) | set(pairs["cathode"])
        for name in table.index:
            if name not in used:
                unpaired[name] = "no good neighbouring contact on its shaft for a bipolar pair"
        rows = pairs.assign(sources=list(zip(pairs["anode"], pairs["cathode"], strict=True)))
    else:
        rows = table.assign(sources=[(name,) for name in table.index])
    plan = [
        {
            "column": i,
            "name": name,
            "sources": row["sources"],
            "region": row["region"],
            "region_rank": int(row["region_rank"]),
            **{k: float(row[k]) for k in ("x", "y", "z")},
        }
        for i, (name, row) in enumerate(rows.iterrows())
    ]
    return plan, unpaired
