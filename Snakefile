"""brainnet: deep networks against the human ventral visual stream.

    snakemake --cores 8                                   # the default run (config/config.yaml)
    snakemake --cores 8 --configfile config/examples/X.yaml
    snakemake --report results/report.html                # HTML report of every figure
    snakemake --profile profiles/slurm                    # on a SLURM cluster (README)

Stages, one rule file each; every rule calls one brainnet function from a thin script.
"""

import os

from brainnet.config import check_config, check_partition_layers, model_specs, targets
from brainnet.io import remove_stale_temporaries
from brainnet.models import check_model


# The default run, unless config files are given on the command line: those replace it
# instead of being merged into it, so that an example config runs on its own.
if not workflow.overwrite_configfiles:

    configfile: "config/config.yaml"


# A wrong key or type stops here with its name (snakemake.utils.validate), as does a
# key repeated in a config file; missing pretrained weights, a factory that cannot be
# imported and a misspelt layer (of a model, or of partition.pairs) stop the run before
# any job starts (each network is built on the meta device: no weights).
_given = " ".join(map(os.path.relpath, workflow.overwrite_configfiles or ["config/config.yaml"]))
check_config(
    config,
    workflow.source_path("config/schema.yaml"),
    source=_given,
    files=workflow.configfiles,
)
# The networks are checked once, by the process that plans the run: a cluster job
# parses this file again and needs the checked config, not the networks rebuilt.
if workflow.is_main_process:
    _layers = {_name: check_model(_spec) for _name, _spec in model_specs(config).items()}
    check_partition_layers(config, _layers, source=_given)

RESULTS = config["results_dir"]
# Each job's log (brainnet's messages and any traceback) and its time and peak memory.
LOGS = f"{RESULTS}/logs"
BENCHMARKS = f"{RESULTS}/benchmarks"
# Each rule's resources come from those benchmarks on the default run: peak memory
# (max_rss, which Snakemake samples every 0.5 s, then every 30 s after 15 s) and CPU
# time on one core, noted beside them. mem_mb (SLURM --mem) is about twice the peak
# and at least 1000; runtime (minutes, SLURM --time) leaves room for a busy node.
# For bigger data raise them in a profile (README, "On a cluster").

# One BLAS/OpenMP thread per job unless a rule asks for more: Snakemake runs jobs in
# parallel, and oversubscribed OpenBLAS threads spin against each other (see
# docs/benchmarks.md).
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

wildcard_constraints:
    dataset=r"[^/]+",
    model=r"[^/]+",
    method=r"encoding|rsa|rsa_region|cka",
    subject=r"[^/]+",

report: "workflow/report/workflow.rst"


# A run resumed after a kill: remove the hidden temporaries its killed jobs left. This runs
# once per run, in the main process only, holding the workflow's lock.
onstart:
    remove_stale_temporaries(RESULTS, verbose=True)


include: "workflow/rules/common.smk"
include: "workflow/rules/stimuli.smk"
include: "workflow/rules/activations.smk"
include: "workflow/rules/recordings.smk"
include: "workflow/rules/encoding.smk"
include: "workflow/rules/rsa.smk"
include: "workflow/rules/cka.smk"
include: "workflow/rules/gradient.smk"
include: "workflow/rules/partition.smk"
include: "workflow/rules/report.smk"


rule all:
    input:
        targets(config),
