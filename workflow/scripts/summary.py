from pathlib import Path

from brainnet.datasets import planted_layers
from brainnet.io import read_dataset
from brainnet.report import summary_table, write_summary

gradients = {}
for path in snakemake.input.gradients:
    gradient = read_dataset(path)
    gradients[(gradient.attrs["dataset"], gradient.attrs["model"], gradient.attrs["method"])] = (
        gradient
    )
planted = {Path(bids).parent.name: planted_layers(bids) for bids in snakemake.input.truth}
write_summary(summary_table(gradients, planted=planted), snakemake.output[0])
