"""The electrode layout of a subject: shafts aimed at regions, contacts labelled by region."""

from __future__ import annotations

from string import ascii_uppercase

import numpy as np
import pandas as pd

from brainnet.recordings.synthetic.regions import _Region

# The deepest contact sits this many contacts medial of the region centre, but
# never closer to the midline than _MIN_X mm.
_MEDIAL_CONTACTS = 2
_MIN_X = 3.0
# Shafts are displaced by up to this many mm and tilted by up to this slope.
_JITTER_MM = 3.0
_TILT = 0.15


def _layout(
    index: int, regions: list[_Region], n_contacts: int, spacing: float, rng: np.random.Generator
) -> pd.DataFrame:
    """Shafts of one subject: one per visual region but one, plus one control shaft."""
    visual = sorted((r for r in regions if r.rank > 0), key=lambda r: r.rank)
    control = [r for r in regions if r.rank == 0]
    targets = [r for i, r in enumerate(visual) if len(visual) == 1 or i != index % len(visual)]
    targets.append(control[index % len(control)])
    centers = np.array([r.center for r in regions])
    rows = []
    for letter, target in zip(ascii_uppercase[: len(targets)], targets, strict=True):
        hemisphere = "L" if rng.random() < 0.5 else "R"
        side = -1.0 if hemisphere == "L" else 1.0
        direction = np.array([1.0, *rng.uniform(-_TILT, _TILT, 2)])
        direction /= np.linalg.norm(direction)
        center = np.array(target.center) + rng.uniform(-_JITTER_MM, _JITTER_MM, 3)
        medial = min(_MEDIAL_CONTACTS * spacing, (center[0] - _MIN_X) / direction[0])
        positions = center + (np.arange(n_contacts)[:, None] * spacing - medial) * direction
        nearest = np.argmin(np.linalg.norm(positions[:, None] - centers[None], axis=2), axis=1)
        for k, (pos, region) in enumerate(zip(positions, nearest, strict=True)):
            rows.append(
                {
                    "name": f"{hemisphere}{letter}{k + 1}",
                    "group": f"{hemisphere}{letter}",
                    "hemisphere": hemisphere,
                    "x": round(side * pos[0], 1),
                    "y": round(pos[1], 1),
                    "z": round(pos[2], 1),
                    "region": regions[region].name,
                    "region_rank": regions[region].rank,
                }
            )
    return pd.DataFrame(rows)
