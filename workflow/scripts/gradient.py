from brainnet.gradient import gradient_statistics
from brainnet.io import read_dataset, write_netcdf
from brainnet.log import log_to_file

log_to_file(snakemake.log[0])

wildcards = snakemake.wildcards
gradient = gradient_statistics(
    read_dataset(snakemake.input[0]),
    method=wildcards.method,
    model=wildcards.model,
    dataset=wildcards.dataset,
    planted_band=snakemake.params.planted_band,
    **{"seed": snakemake.params.seed, **snakemake.params.settings},
    verbose=True,
)
write_netcdf(gradient, snakemake.output[0])
