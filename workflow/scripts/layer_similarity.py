from brainnet.io import read_dataset, write_netcdf
from brainnet.plots import plot_layer_similarity
from brainnet.rsa import layer_similarity

similarity = layer_similarity(read_dataset(snakemake.input[0]), **snakemake.params.settings)
write_netcdf(similarity, snakemake.output.similarity)
plot_layer_similarity(similarity, snakemake.output.png)
