from brainnet.datasets import simulate
from brainnet.io import read_dataset
from brainnet.log import log_to_file

log_to_file(snakemake.log[0])

simulate(
    read_dataset(snakemake.input.stimuli),
    read_dataset(snakemake.input.activations),
    snakemake.output[0],
    snakemake.params.recordings,
    seed=snakemake.params.seed,
    verbose=True,
)
