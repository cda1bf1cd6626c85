from threadpoolctl import threadpool_limits

from brainnet.encoding import partition_pairs
from brainnet.io import read_dataset, write_netcdf
from brainnet.join import shared_stimuli
from brainnet.log import log_to_file
from brainnet.plots import plot_partition

log_to_file(snakemake.log[0])

responses = read_dataset(snakemake.input.responses)
activations = {
    model: shared_stimuli(read_dataset(path), responses)
    for model, path in zip(snakemake.params.models, snakemake.input.activations, strict=True)
}
with threadpool_limits(snakemake.threads):
    partition = partition_pairs(
        activations,
        snakemake.params.pairs,
        responses,
        **snakemake.params.settings,
        seed=snakemake.params.seed,
        verbose=True,
    )
write_netcdf(partition, snakemake.output.partition)
plot_partition(partition, snakemake.output.png)
