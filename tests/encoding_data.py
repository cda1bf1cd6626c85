"""Toy activations and responses for the encoding tests: layers of random features and
channels that read one layer out linearly, or carry noise only."""

import numpy as np
import xarray as xr
from scipy import stats


def make_activations(n_stimuli, sizes, seed=0, n_categories=5):
    """Layers of random features, each partly a random mixture of the one before."""
    rng = np.random.default_rng(seed)
    layers, previous = {}, None
    for i, size in enumerate(sizes):
        fresh = rng.standard_normal((n_stimuli, size))
        if previous is not None:
            mixed = previous @ rng.standard_normal((previous.shape[1], size))
            fresh = 0.5 * stats.zscore(mixed, axis=0) + fresh
        layers[f"layer{i}"] = previous = fresh
    return activations_dataset(layers, n_categories)


def make_responses(activations, sources, n_windows=2, snr=1.0, seed=1):
    """One channel per entry of ``sources``: a linear readout of that layer plus
    noise, or pure noise for ``None``."""
    rng = np.random.default_rng(seed)
    n = activations.sizes["stimulus"]
    response = np.empty((n, len(sources), n_windows))
    for c, source in enumerate(sources):
        for w in range(n_windows):
            noise = rng.standard_normal(n)
            if source is None:
                response[:, c, w] = noise
            else:
                features = activations[source].values
                signal = stats.zscore(features @ rng.standard_normal(features.shape[1]))
                response[:, c, w] = snr * signal + noise
    return responses_dataset(
        3.0 + 10.0 * response, activations["stimulus_id"].values, regions=sources
    )


def activations_dataset(layers, n_categories=5):
    """Activations from a dict of layer name to ``(n_stimuli, n_features)`` array."""
    n_stimuli = len(next(iter(layers.values())))
    data = {name: (("stimulus", f"feature_{name}"), values) for name, values in layers.items()}
    coords = {
        "stimulus_id": ("stimulus", [f"stim{i:03d}" for i in range(n_stimuli)]),
        "category": ("stimulus", [f"cat{i % n_categories}" for i in range(n_stimuli)]),
    }
    return xr.Dataset(data, coords=coords, attrs={"layers": list(data), "model": "toy"})


def responses_dataset(values, stimulus_ids, regions=None, split_half=None):
    """Responses from ``values (stimulus, channel, window)``, one band; optional
    ``split_half (half, stimulus, channel, window)``."""
    _, n_channels, n_windows = values.shape
    regions = [None] * n_channels if regions is None else regions
    dims = ("stimulus", "channel", "band", "window")
    data = {"response": (dims, values[:, :, None])}
    if split_half is not None:
        data["split_half"] = (("half",) + dims, split_half[:, :, :, None])
    responses = xr.Dataset(
        data,
        coords={
            "stimulus_id": ("stimulus", list(stimulus_ids)),
            "channel": [f"ch{c:02d}" for c in range(n_channels)],
            "subject": ("channel", ["sub-01"] * n_channels),
            "region": ("channel", [str(s) for s in regions]),
            "region_rank": ("channel", np.arange(n_channels)),
            "x": ("channel", np.zeros(n_channels)),
            "y": ("channel", np.zeros(n_channels)),
            "z": ("channel", np.full(n_channels, np.nan)),
            "band": ["low_gamma"],
            "fmin": ("band", [30.0]),
            "fmax": ("band", [70.0]),
            "window": [f"w{w}" for w in range(n_windows)],
            "tmin": ("window", 0.1 * np.arange(n_windows)),
            "tmax": ("window", 0.1 * np.arange(n_windows) + 0.2),
        },
    )
    return responses if split_half is None else responses.assign_coords(half=[0, 1])
