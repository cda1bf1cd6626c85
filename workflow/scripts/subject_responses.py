from brainnet.datasets import subject_responses
from brainnet.io import read_dataset, write_netcdf
from brainnet.log import log_to_file

log_to_file(snakemake.log[0])

recordings = snakemake.params.recordings
root = snakemake.input.get("bids", recordings.get("path"))
responses = subject_responses(
    root,
    snakemake.wildcards.subject,
    read_dataset(snakemake.input.stimuli),
    recordings,
    snakemake.params.preprocessing,
    verbose=True,
)
write_netcdf(responses, snakemake.output[0])
