import torch

from brainnet.activations import extract_activations
from brainnet.io import read_dataset
from brainnet.log import log_to_file
from brainnet.models import ModelSpec

log_to_file(snakemake.log[0])

torch.set_num_threads(snakemake.threads)
entry = snakemake.params.model
spec = ModelSpec.from_config(snakemake.wildcards.model, entry, seed=snakemake.params.seed)
extract_activations(
    read_dataset(snakemake.input.stimuli),
    spec,
    snakemake.output[0],
    batch_size=snakemake.params.extraction["batch_size"],
    device=snakemake.params.extraction["device"],
    reduction=entry.get("reduction", snakemake.params.extraction["reduction"]),
    layer_reduction=entry.get("layer_reduction"),
    seed=snakemake.params.seed,
    verbose=True,
)
