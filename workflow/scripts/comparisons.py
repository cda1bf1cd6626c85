from pathlib import Path

import xarray as xr

from brainnet.gradient import compare_models
from brainnet.io import read_dataset, write_netcdf
from brainnet.log import log_to_file

log_to_file(snakemake.log[0])

wildcards = snakemake.wildcards
# "<model>/<method>.nc" and "activations/<model>.nc"
scores = {Path(path).parent.name: read_dataset(path) for path in snakemake.input.scores}
stimulus_ids = {}
for path in snakemake.input.activations:
    with xr.open_dataset(path, engine="h5netcdf") as activations:  # the ids only, not the features
        stimulus_ids[Path(path).stem] = activations["stimulus_id"].to_numpy().astype(str)
comparisons = compare_models(
    scores,
    [tuple(pair) for pair in snakemake.params.pairs],
    method=wildcards.method,
    stimulus_ids=stimulus_ids,
    dataset=wildcards.dataset,
    ceiled=snakemake.params.ceiled and wildcards.method == "encoding",
    seed=snakemake.params.seed,
    **snakemake.params.settings,
    verbose=True,
)
write_netcdf(comparisons, snakemake.output[0])
