from brainnet.gradient import channel_preferred_layers
from brainnet.io import read_dataset
from brainnet.log import log_to_file
from brainnet.plots.brain import plot_glass_brain

log_to_file(snakemake.log[0])

gradient = read_dataset(snakemake.input.gradient)
# each contact's preferred layer, with the significance the gradient counted
preferred = channel_preferred_layers(
    read_dataset(snakemake.input.scores),
    method=gradient.attrs["method"],
    alpha=gradient.attrs["alpha"],
    ceiled=gradient.attrs["score"] == "r_ceiled",
)
plot_glass_brain(
    preferred, gradient, snakemake.output.png, planted_band=snakemake.params.planted_band
)
