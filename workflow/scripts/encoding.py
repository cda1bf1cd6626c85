from threadpoolctl import threadpool_limits

from brainnet.encoding import fit_encoding
from brainnet.io import read_dataset, write_netcdf
from brainnet.log import log_to_file

log_to_file(snakemake.log[0])

with threadpool_limits(snakemake.threads):
    scores = fit_encoding(
        read_dataset(snakemake.input.activations),
        read_dataset(snakemake.input.responses),
        **{"seed": snakemake.params.seed, **snakemake.params.settings},
        verbose=True,
    )
write_netcdf(scores, snakemake.output[0])
