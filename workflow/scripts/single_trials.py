from brainnet.datasets import read_recording
from brainnet.io import read_dataset
from brainnet.log import log_to_file
from brainnet.plots.signals import plot_trial

log_to_file(snakemake.log[0])

recording = read_recording(
    snakemake.input.bids,
    snakemake.params.subject,
    read_dataset(snakemake.input.stimuli),
    snakemake.params.recordings,
)
plot_trial(recording.raw, recording.events, recording.channels, path=snakemake.output.png)
