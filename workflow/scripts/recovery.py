from brainnet.datasets import planted_layers
from brainnet.io import read_dataset
from brainnet.plots.results import plot_recovery

plot_recovery(
    read_dataset(snakemake.input.gradient),
    planted_layers(snakemake.input.bids),
    snakemake.output.png,
)
