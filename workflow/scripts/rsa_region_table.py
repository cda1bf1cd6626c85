from brainnet.io import read_dataset
from brainnet.log import log_to_file
from brainnet.report import region_table, write_summary

log_to_file(snakemake.log[0])

write_summary(region_table(read_dataset(snakemake.input[0])), snakemake.output[0])
