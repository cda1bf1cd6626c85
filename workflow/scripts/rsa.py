from threadpoolctl import threadpool_limits

from brainnet.io import read_dataset, write_netcdf
from brainnet.rsa import rsa_precomputed, rsa_scores

score = rsa_precomputed if snakemake.params.precomputed else rsa_scores
with threadpool_limits(snakemake.threads):
    scores = score(
        read_dataset(snakemake.input.activations),
        read_dataset(snakemake.input.brain),
        **{"seed": snakemake.params.seed, **snakemake.params.settings},
        verbose=True,
    )
write_netcdf(scores, snakemake.output[0])
