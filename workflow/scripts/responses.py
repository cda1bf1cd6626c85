from brainnet.datasets import array_responses
from brainnet.io import read_dataset, write_netcdf
from brainnet.log import log_to_file
from brainnet.preprocessing import merge_responses

log_to_file(snakemake.log[0])

if snakemake.input.subjects:
    responses = merge_responses([read_dataset(path) for path in snakemake.input.subjects])
else:
    responses = array_responses(
        read_dataset(snakemake.input.stimuli), snakemake.params.recordings, verbose=True
    )
write_netcdf(responses, snakemake.output[0])
