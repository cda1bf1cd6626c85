from threadpoolctl import threadpool_limits

from brainnet.cka import cka_precomputed, cka_scores
from brainnet.io import read_dataset, write_netcdf
from brainnet.join import shared_stimuli
from brainnet.log import log_to_file

log_to_file(snakemake.log[0])

settings = {"seed": snakemake.params.seed, **snakemake.params.settings}
if snakemake.params.precomputed:
    # precomputed RDMs carry no responsiveness flags and no contacts to resample
    for key in ("responsive_only", "n_bootstrap"):
        settings.pop(key)
score = cka_precomputed if snakemake.params.precomputed else cka_scores
brain = read_dataset(snakemake.input.brain)
with threadpool_limits(snakemake.threads):
    scores = score(
        shared_stimuli(read_dataset(snakemake.input.activations), brain),
        brain,
        **settings,
        verbose=True,
    )
write_netcdf(scores, snakemake.output[0])
