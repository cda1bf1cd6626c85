from brainnet.io import read_dataset, write_netcdf
from brainnet.log import log_to_file
from brainnet.plots import plot_layer_similarity
from brainnet.rsa import layer_similarity

log_to_file(snakemake.log[0])

similarity = layer_similarity(read_dataset(snakemake.input[0]), **snakemake.params.settings)
write_netcdf(similarity, snakemake.output.similarity)
plot_layer_similarity(similarity, snakemake.output.png)
