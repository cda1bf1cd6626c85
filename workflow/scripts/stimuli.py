from brainnet.io import write_netcdf
from brainnet.log import log_to_file
from brainnet.stimuli import build_stimuli

log_to_file(snakemake.log[0])

settings = {"seed": snakemake.params.seed, **snakemake.params.settings}
table = build_stimuli(image_dir=snakemake.params.image_dir, verbose=True, **settings)
write_netcdf(table, snakemake.output.table)
