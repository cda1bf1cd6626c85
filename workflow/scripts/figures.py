from brainnet.io import read_dataset
from brainnet.plots.results import plot_gradient, plot_layer_region_map

gradient = read_dataset(snakemake.input[0])
plot_layer_region_map(gradient, snakemake.output.heatmap)
plot_gradient(gradient, snakemake.output.gradient)
