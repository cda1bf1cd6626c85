from brainnet.datasets import planted_layers
from brainnet.io import read_dataset
from brainnet.log import log_to_file
from brainnet.plots.results import plot_recovery

log_to_file(snakemake.log[0])

plot_recovery(
    read_dataset(snakemake.input.gradient),
    planted_layers(snakemake.input.bids),
    snakemake.output.png,
)
