from brainnet.datasets import brain_rdms
from brainnet.io import read_dataset, write_netcdf
from brainnet.log import log_to_file

log_to_file(snakemake.log[0])

write_netcdf(
    brain_rdms(read_dataset(snakemake.input.stimuli), snakemake.params.recordings),
    snakemake.output[0],
)
