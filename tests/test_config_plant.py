"""A synthetic plant set in the config (``recordings.regions``) runs end to end.

The executor tests' TINY config plants the regions in reverse order; its shared
local run must simulate exactly that plant and carry it to the gradient.
"""

import json

import pandas as pd
import pytest

from workflow_runs import PLANT, reference_run


@pytest.mark.slow
def test_a_reversed_plant_from_the_config_is_simulated_and_reported(tmp_path_factory):
    reference, _ = reference_run(tmp_path_factory)
    results = reference / "results" / "synthetic"
    truth = json.loads(
        (results / "bids" / "derivatives" / "simulation" / "ground_truth.json").read_text()
    )
    visual = {name: spec["layer"] for name, spec in PLANT.items() if spec["rank"] > 0}
    simulated = {name: spec["layer"] for name, spec in truth["regions"].items() if spec["rank"]}
    assert simulated == visual
    # the summary scores recovery against the same planted layers
    summary = pd.read_csv(reference / "results" / "summary.csv")
    planted = summary["n_planted"].dropna()
    assert len(planted) and (planted == len(visual)).all()
