from pathlib import Path

from brainnet.datasets import ground_truth, planted_layers
from brainnet.io import read_dataset
from brainnet.log import log_to_file
from brainnet.report import summary_table, write_summary

log_to_file(snakemake.log[0])

gradients = {}
for path in snakemake.input.gradients:
    gradient = read_dataset(path)
    key = (gradient.attrs["dataset"], gradient.attrs["model"], gradient.attrs["method"])
    gradients[key] = gradient
# the ground truth of a synthetic dataset holds for the model that generated it
planted = {
    (Path(bids).parent.name, ground_truth(bids)["model"]): planted_layers(bids)
    for bids in snakemake.input.truth
}
write_summary(summary_table(gradients, planted=planted), snakemake.output[0])
