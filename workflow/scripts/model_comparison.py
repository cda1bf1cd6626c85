from pathlib import Path

from brainnet.io import read_dataset
from brainnet.log import log_to_file
from brainnet.plots.results import plot_model_comparison

log_to_file(snakemake.log[0])

# one gradient per model and method: "<model>/gradient_<method>.nc"
gradients = {
    f"{Path(path).parent.name} ({read_dataset(path).attrs['method']})": read_dataset(path)
    for path in snakemake.input.gradients
}
# one file of paired tests per method, absent when the dataset has a single model
comparisons = [read_dataset(path) for path in snakemake.input.comparisons] or None
plot_model_comparison(
    gradients,
    snakemake.output.png,
    statistic="region_rho",
    comparisons=comparisons,
    alpha=snakemake.params.alpha,
)
