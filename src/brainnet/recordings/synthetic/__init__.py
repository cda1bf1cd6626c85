"""The embedded synthetic sEEG dataset, written as BIDS-iEEG with MNE-BIDS.

The synthetic dataset gives the whole pipeline a known ground truth: every
visual region along the ventral stream responds to the stimuli as one chosen
layer of the reference network does, and the analysis should find that layer
again. It is written like a real recording, so the same loader and MNE
preprocessing read it.

Signal model
------------
Each subject has depth electrodes (shafts) running mediolaterally, with
``n_contacts`` contacts ``spacing`` mm apart, named by hemisphere, shaft letter
and number (``LA1`` is the deepest contact of the left shaft ``A``). A shaft is
aimed at one region's centre (MNI millimetres, right hemisphere; mirrored for
the left) and each contact is labelled with the region whose centre is
nearest, so a shaft may cross from one region into its neighbour. Every
subject has a shaft in all visual regions but one (a different one per
subject) and one shaft in a control region.

A visual region's generating layer ``L`` is named in its settings, or
placed at a relative depth along the reference model's layers (the default
regions: the layers at 1/8, 2/8, 3/8, 5/8 and 7/8 of the way from pixels to
the last layer: conv1, conv2, conv3, conv5 and fc7 of AlexNet; stem, stage2,
stage3, stage5 and head of EfficientNet-Lite0). Each contact's *drive* for a
stimulus is ``g * softplus(z + 1) / mean(softplus(z + 1))``, where ``z`` is a
fixed random Gaussian projection (seeded per contact) of the activations of
``L`` with every feature z-scored over stimuli, itself z-scored, and ``g`` a
contact gain drawn from U(0.5, 1.5). The drive raises broadband gamma power
(``band``, 30-150 Hz by default): an independent noise carrier with the
background's spectrum in that band is added with power
``snr * drive * h(t - latency)``, where ``h`` rises from the region's latency
to a peak ``time_to_peak`` later and decays over a few hundred ms. A
stimulus-independent evoked potential of ``erp`` µV starts at the same latency.
Control regions (rank 0) do not respond.

The background is aperiodic noise (power ``1 / (1 + f**exponent)``, ``background``
µV rms) shared partly along each shaft and across the whole implant, plus an
alpha rhythm (9-11 Hz, ``alpha`` µV at the occipital pole, a tenth of that
anteriorly) and line noise at ``line_freq`` and its harmonics. Each subject has
one flat and one very noisy contact; only one of the two is marked ``bad`` in
``channels.tsv``, so automatic detection still has work to do.

Each stimulus is shown ``n_repetitions`` times, each repetition a new random
order, for ``duration`` s with a uniformly jittered inter-stimulus interval
``isi``; ``padding`` s of signal precede the first and follow the last trial.

Layout
------
::

    <bids_root>/dataset_description.json, README, participants.tsv, participants.json
    <bids_root>/sub-01/sub-01_scans.tsv
    <bids_root>/sub-01/ieeg/sub-01_task-images_ieeg.{vhdr,vmrk,eeg,json}
    <bids_root>/sub-01/ieeg/sub-01_task-images_channels.tsv
    <bids_root>/sub-01/ieeg/sub-01_task-images_events.{tsv,json}
    <bids_root>/sub-01/ieeg/sub-01_space-fsaverage_electrodes.{tsv,json}
    <bids_root>/sub-01/ieeg/sub-01_space-fsaverage_coordsystem.json
    <bids_root>/derivatives/simulation/dataset_description.json
    <bids_root>/derivatives/simulation/ground_truth.json

``electrodes.tsv`` holds ``name, x, y, z`` (metres, MNI) and ``size`` (mm²),
plus ``group`` (shaft), ``hemisphere``, ``region`` and ``region_rank``;
``events.tsv`` holds ``onset, duration, trial_type, value, sample,
stimulus_id, repetition``. MNE-BIDS names the MNI frame ``fsaverage`` (its BIDS
name for MNE's ``mni_tal``); :func:`mne_bids.read_raw_bids` reads it back as
``mni_tal``. ``ground_truth.json`` holds ``model``, ``layers``, ``seed``,
``task``, ``band``, ``regions`` (per region: ``rank``, ``layer``, ``model``,
``latency``, ``band``, ``center``), ``settings`` (every keyword of
:func:`simulate_dataset`) and ``subjects`` (per ``sub-XX``: ``n_channels``,
``alpha_freq`` and ``bad_channels``, a list of ``{name, kind, marked,
description}`` with ``kind`` ``flat`` or ``noisy``).

Modules
-------
:mod:`~brainnet.recordings.synthetic.regions`
    The planted regions, their generating layers and each contact's drive.
:mod:`~brainnet.recordings.synthetic.layout`
    Shafts and contacts of each subject.
:mod:`~brainnet.recordings.synthetic.signals`
    Trial schedule, background, responses and faulty contacts.
:mod:`~brainnet.recordings.synthetic.writer`
    BIDS-iEEG files and the ground truth.
:mod:`~brainnet.recordings.synthetic.simulate`
    :func:`simulate_dataset`, subject by subject.
"""

from brainnet.recordings.synthetic.regions import DEFAULT_REGIONS, check_regions
from brainnet.recordings.synthetic.simulate import simulate_dataset
from brainnet.recordings.synthetic.writer import TASK

__all__ = ["DEFAULT_REGIONS", "TASK", "check_regions", "simulate_dataset"]
