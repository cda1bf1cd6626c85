from brainnet.io import read_dataset
from brainnet.log import log_to_file
from brainnet.report import comparison_table, write_summary

log_to_file(snakemake.log[0])

comparisons = {}
for path in snakemake.input:
    comparison = read_dataset(path)
    comparisons[(comparison.attrs["dataset"], comparison.attrs["method"])] = comparison
# the same atomic CSV writer as results/summary.csv
write_summary(comparison_table(comparisons), snakemake.output[0])
