from threadpoolctl import threadpool_limits

from brainnet.cka import cka_scores
from brainnet.io import read_dataset, write_netcdf
from brainnet.join import shared_stimuli
from brainnet.log import log_to_file

log_to_file(snakemake.log[0])

# responses or precomputed RDMs: cka_scores reads either
brain = read_dataset(snakemake.input.brain)
activations = shared_stimuli(read_dataset(snakemake.input.activations), brain)
settings = {"seed": snakemake.params.seed, **snakemake.params.settings}
with threadpool_limits(snakemake.threads):
    scores = cka_scores(activations, brain, **settings, verbose=True)
write_netcdf(scores, snakemake.output[0])
