rule simulate:
    """The embedded synthetic sEEG dataset, written as BIDS-iEEG, driven by the reference model."""
    input:
        stimuli=f"{RESULTS}/{{dataset}}/stimuli.nc",
        activations=lambda wc: (
            f"{RESULTS}/{wc.dataset}/activations/{recordings(wc.dataset)['reference_model']}.nc"
        ),
    output:
        directory(f"{RESULTS}/{{dataset}}/bids"),
    log:
        f"{LOGS}/simulate/{{dataset}}.log",
    benchmark:
        f"{BENCHMARKS}/simulate/{{dataset}}.tsv",
    params:
        recordings=lambda wc: recordings(wc.dataset),
        seed=config["seed"],
    resources:
        # default run: 0.48 GB peak memory, 5 s CPU
        mem_mb=1000,
        runtime=10,
    script:
        "../scripts/simulate.py"


rule subject_responses:
    """One subject's recording through MNE preprocessing to band-power responses."""
    input:
        unpack(subject_inputs),
    output:
        f"{RESULTS}/{{dataset}}/responses/sub-{{subject}}.nc",
    log:
        f"{LOGS}/subject_responses/{{dataset}}/sub-{{subject}}.log",
    benchmark:
        f"{BENCHMARKS}/subject_responses/{{dataset}}/sub-{{subject}}.tsv",
    params:
        recordings=lambda wc: recordings(wc.dataset),
        preprocessing=config["preprocessing"],
    resources:
        # default run: 0.54 GB peak memory, 34 s CPU (the largest of 4 subjects)
        mem_mb=1500,
        runtime=15,
    script:
        "../scripts/subject_responses.py"


rule responses:
    """All subjects' responses in one artefact (or responses read from reduced arrays)."""
    input:
        stimuli=f"{RESULTS}/{{dataset}}/stimuli.nc",
        subjects=lambda wc: [
            f"{RESULTS}/{wc.dataset}/responses/sub-{s}.nc" for s in dataset_subjects(wc.dataset)
        ],
    output:
        f"{RESULTS}/{{dataset}}/responses.nc",
    log:
        f"{LOGS}/responses/{{dataset}}.log",
    benchmark:
        f"{BENCHMARKS}/responses/{{dataset}}.tsv",
    params:
        recordings=lambda wc: recordings(wc.dataset),
    resources:
        # default run: 0.19 GB peak memory, 4 s CPU
        mem_mb=1000,
        runtime=10,
    script:
        "../scripts/responses.py"


rule brain_rdms:
    """Precomputed brain RDMs, checked against the stimulus set."""
    input:
        stimuli=f"{RESULTS}/{{dataset}}/stimuli.nc",
    output:
        f"{RESULTS}/{{dataset}}/brain_rdms.nc",
    log:
        f"{LOGS}/brain_rdms/{{dataset}}.log",
    benchmark:
        f"{BENCHMARKS}/brain_rdms/{{dataset}}.tsv",
    params:
        recordings=lambda wc: recordings(wc.dataset),
    resources:
        # kriegeskorte92 example (no RDMs in the default run): 0.17 GB peak memory, 3 s CPU
        mem_mb=1000,
        runtime=10,
    script:
        "../scripts/brain_rdms.py"


rule single_trials:
    """Raw single trials and time-frequency maps of an early and an anterior contact."""
    input:
        bids=f"{RESULTS}/{{dataset}}/bids",
        stimuli=f"{RESULTS}/{{dataset}}/stimuli.nc",
    output:
        png=report(
            f"{RESULTS}/{{dataset}}/figures/single_trials.png",
            caption="../report/single_trials.rst",
            category="{dataset}",
            labels={"figure": "single trials"},
        ),
    log:
        f"{LOGS}/single_trials/{{dataset}}.log",
    benchmark:
        f"{BENCHMARKS}/single_trials/{{dataset}}.tsv",
    params:
        recordings=lambda wc: recordings(wc.dataset),
        subject=lambda wc: dataset_subjects(wc.dataset)[0],
    resources:
        # default run: 0.27 GB peak memory, 12 s CPU
        mem_mb=1000,
        runtime=10,
    script:
        "../scripts/single_trials.py"
