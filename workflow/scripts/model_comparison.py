from pathlib import Path

from brainnet.io import read_dataset
from brainnet.log import log_to_file
from brainnet.plots.results import plot_model_comparison

log_to_file(snakemake.log[0])

# one gradient per model and method: "<model>/gradient_<method>.nc"
gradients = {
    f"{Path(path).parent.name} ({read_dataset(path).attrs['method']})": read_dataset(path)
    for path in snakemake.input
}
plot_model_comparison(gradients, snakemake.output.png, statistic="region_rho")
