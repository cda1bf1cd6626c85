from brainnet.datasets import brain_rdms
from brainnet.io import read_dataset, write_netcdf

write_netcdf(
    brain_rdms(read_dataset(snakemake.input.stimuli), snakemake.params.recordings),
    snakemake.output[0],
)
