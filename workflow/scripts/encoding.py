from threadpoolctl import threadpool_limits

from brainnet.encoding import fit_encoding
from brainnet.io import read_dataset, write_netcdf
from brainnet.join import shared_stimuli
from brainnet.log import log_to_file

log_to_file(snakemake.log[0])

responses = read_dataset(snakemake.input.responses)
with threadpool_limits(snakemake.threads):
    scores = fit_encoding(
        shared_stimuli(read_dataset(snakemake.input.activations), responses),
        responses,
        **{"seed": snakemake.params.seed, **snakemake.params.settings},
        verbose=True,
    )
write_netcdf(scores, snakemake.output[0])
