from brainnet.io import read_dataset
from brainnet.log import log_to_file
from brainnet.plots.results import plot_gradient, plot_layer_region_map

log_to_file(snakemake.log[0])

gradient = read_dataset(snakemake.input[0])
plot_layer_region_map(gradient, snakemake.output.heatmap)
plot_gradient(gradient, snakemake.output.gradient)
