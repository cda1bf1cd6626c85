"""Writing the synthetic recordings as BIDS-iEEG with MNE-BIDS, and the ground truth."""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path

import mne
import mne_bids
import numpy as np
import pandas as pd

from brainnet import __version__
from brainnet.recordings.synthetic.regions import _layers

__all__ = ["TASK"]

TASK = "images"

# Contact surface of a typical sEEG contact (0.8 mm diameter, 2 mm long), mm².
_CONTACT_SIZE = 5.0


def _write_subject(
    root, subject, data, layout, trials, stimulus_ids, bads, *, sfreq, duration, line_freq
) -> None:
    names = layout["name"].tolist()
    info = mne.create_info(names, sfreq, "seeg")
    raw = mne.io.RawArray(data * 1e-6, info, verbose=False)  # µV -> V
    raw.info["line_freq"] = line_freq
    raw.info["bads"] = [b["name"] for b in bads if b["marked"]]
    raw.set_annotations(
        mne.Annotations(
            onset=trials["sample"].to_numpy() / sfreq,
            duration=duration,
            description="stimulus",
            extras=[
                {"stimulus_id": stimulus_ids[s], "repetition": int(r)}
                for s, r in zip(trials["stimulus"], trials["repetition"], strict=True)
            ],
        )
    )
    positions = np.round(layout[["x", "y", "z"]].to_numpy() / 1000.0, 4)  # mm -> m, 0.1 mm
    montage = mne.channels.make_dig_montage(
        ch_pos=dict(zip(names, positions, strict=True)), coord_frame="mni_tal"
    )
    bids_path = mne_bids.BIDSPath(subject=subject, task=TASK, datatype="ieeg", root=root)
    mne_bids.write_raw_bids(
        raw,
        bids_path,
        event_id={"stimulus": 1},
        extra_columns_descriptions={
            "stimulus_id": "Identifier of the image shown (stimulus_id of the stimulus table).",
            "repetition": "Presentation number of this image, counted from 0.",
        },
        format="BrainVision",
        allow_preload=True,
        montage=montage,
        readme=False,
        verbose=False,
    )
    _complete_sidecars(bids_path, layout, bads)


def _complete_sidecars(bids_path, layout, bads) -> None:
    """Add what MNE-BIDS does not write: region labels, fault descriptions, reference."""
    entities = {"subject": bids_path.subject, "datatype": "ieeg", "root": bids_path.root}
    electrodes = mne_bids.BIDSPath(**entities, space="fsaverage", suffix="electrodes")
    table = pd.read_csv(
        electrodes.copy().update(extension=".tsv").fpath,
        sep="\t",
        dtype=str,
        keep_default_na=False,
    )
    extra = layout.set_index("name").loc[table["name"]]
    table["size"] = f"{_CONTACT_SIZE}"
    for column in ["group", "hemisphere", "region", "region_rank"]:
        table[column] = extra[column].astype(str).to_numpy()
    table.to_csv(electrodes.copy().update(extension=".tsv").fpath, sep="\t", index=False)
    mne_bids.update_sidecar_json(
        electrodes.copy().update(extension=".json"),
        {
            "size": {"Description": "Contact surface", "Units": "mm^2"},
            "group": {"Description": "Depth electrode (shaft) the contact belongs to"},
            "hemisphere": {"Description": "Hemisphere", "Levels": {"L": "left", "R": "right"}},
            "region": {"Description": "Simulated brain region of the contact"},
            "region_rank": {
                "Description": "Position of the region along the ventral visual stream "
                "(1 = V1, increasing anteriorly); 0 = outside the visual hierarchy",
            },
        },
        verbose=False,
    )
    mne_bids.update_sidecar_json(
        electrodes.copy().update(suffix="coordsystem", extension=".json"),
        {
            "iEEGCoordinateSystemDescription": "Simulated contact positions in MNI space "
            "(MNE 'mni_tal'; written by MNE-BIDS as fsaverage, i.e. MNI305)."
        },
        verbose=False,
    )
    mne_bids.update_sidecar_json(
        bids_path.copy().update(suffix="ieeg", extension=".json"),
        {
            "iEEGReference": "common reference (simulated)",
            "TaskDescription": "Passive viewing of images; each image is shown several times "
            "in random order.",
            "SoftwareFilters": "n/a",
        },
        verbose=False,
    )
    channels_tsv = bids_path.copy().update(suffix="channels", extension=".tsv").fpath
    channels = pd.read_csv(channels_tsv, sep="\t", dtype=str, keep_default_na=False)
    for bad in bads:
        if bad["marked"]:
            channels.loc[channels["name"] == bad["name"], "status_description"] = bad[
                "description"
            ]
    channels.to_csv(channels_tsv, sep="\t", index=False)


def _write_dataset_files(root, activations, regions, settings, seed, subjects) -> None:
    # the raw dataset and its simulation derivative share authors and provenance
    describe = partial(
        mne_bids.make_dataset_description,
        authors=["brainnet"],
        generated_by=[
            {
                "Name": "brainnet",
                "Version": __version__,
                "Description": "brainnet.recordings.synthetic.simulate_dataset",
            }
        ],
        overwrite=True,
        verbose=False,
    )
    describe(path=root, name="brainnet synthetic sEEG (ventral visual stream)", dataset_type="raw")
    model = activations.attrs.get("model", "")
    visual = [r for r in regions if r.rank > 0]
    (Path(root) / "README").write_text(
        "Synthetic stereo-EEG recordings of the human ventral visual stream, simulated by\n"
        "brainnet for testing the comparison of deep networks with the brain.\n\n"
        f"Each visual region responds to the images as a layer of the model {model!r}:\n"
        + "".join(
            f"  {r.name} (rank {r.rank}): {r.layer}, latency {r.latency * 1000:.0f} ms\n"
            for r in visual
        )
        + "The ground truth and every setting are in derivatives/simulation/ground_truth.json.\n"
    )
    derivatives = Path(root) / "derivatives" / "simulation"
    derivatives.mkdir(parents=True)
    describe(path=derivatives, name="brainnet simulation ground truth", dataset_type="derivative")
    truth = {
        "model": model,
        "layers": _layers(activations),
        "seed": seed,
        "task": TASK,
        "band": settings["band"],
        "regions": {
            r.name: {
                "rank": r.rank,
                "layer": r.layer,
                "model": model if r.rank > 0 else None,
                "latency": r.latency,
                "band": settings["band"] if r.rank > 0 else None,
                "center": list(r.center),
            }
            for r in regions
        },
        "settings": settings,
        "subjects": subjects,
    }
    (derivatives / "ground_truth.json").write_text(json.dumps(truth, indent=2) + "\n")
