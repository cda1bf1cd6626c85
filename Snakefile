"""brainnet: deep networks against the human ventral visual stream.

    snakemake --cores 8                                   # the default run (config/config.yaml)
    snakemake --cores 8 --configfile config/examples/X.yaml
    snakemake --report results/report.html                # HTML report of every figure

Stages, one rule file each; every rule calls one brainnet function from a thin script.
"""

import os

from brainnet.config import check_config, model_specs, targets
from brainnet.models import check_weights_available


# The default run, unless config files are given on the command line: those replace it
# instead of being merged into it, so that an example config runs on its own.
if not workflow.overwrite_configfiles:

    configfile: "config/config.yaml"


# A wrong key or type stops here with its name (snakemake.utils.validate), and missing
# pretrained weights stop the run before any job starts.
check_config(config, workflow.source_path("config/schema.yaml"))
for _spec in model_specs(config).values():
    check_weights_available(_spec)

RESULTS = config["results_dir"]

# One BLAS/OpenMP thread per job unless a rule asks for more: Snakemake runs jobs in
# parallel, and oversubscribed OpenBLAS threads spin against each other (see
# docs/benchmarks.md).
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

wildcard_constraints:
    dataset=r"[^/]+",
    model=r"[^/]+",
    method=r"encoding|rsa|rsa_region",
    subject=r"[^/]+",

report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/stimuli.smk"
include: "workflow/rules/activations.smk"
include: "workflow/rules/recordings.smk"
include: "workflow/rules/encoding.smk"
include: "workflow/rules/rsa.smk"
include: "workflow/rules/gradient.smk"
include: "workflow/rules/report.smk"


rule all:
    input:
        targets(config),
