from brainnet.io import read_dataset
from brainnet.report import region_table, write_summary

write_summary(region_table(read_dataset(snakemake.input[0])), snakemake.output[0])
