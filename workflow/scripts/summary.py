from pathlib import Path

from brainnet.datasets import ground_truth, planted_layers
from brainnet.io import read_dataset
from brainnet.log import log_to_file
from brainnet.report import summary_table, write_summary, write_summary_page

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
summary = summary_table(gradients, planted=planted)
write_summary(summary, snakemake.output[0])
write_summary_page(summary, snakemake.output.page)
