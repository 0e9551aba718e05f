"""Tune the ELoR network (ELOR "Hyperparamter optimization", Table 1) with keras-tuner.

    python tuning/search_elor.py --quick --corpus synthetic:tiny        # CPU smoke run
    python tuning/search_elor.py --corpus iemocap:/data/IEMOCAP_full_release          # 70 trials
    python replicate/wieser_table5.py --hparams runs/search_elor/best_hparams.json

Space: uniform ranges centred on Trigeorgis et al.'s front end (ser_keras.tuning.spaces).
Each trial runs the alternating split-head training on the first leave-one-speaker-out
fold's training speakers, 80:20 split, and scores the mean of the valence and arousal
validation accuracies. --quick: 2 trials of 1 epoch with Table 5's small quick network
(layer sizes pinned). Rerun with the same --out to resume; see the README section "On a GPU
box / on several" for multi-GPU and chief/worker runs.
"""

from ser_keras.cli.search import run_elor_family_search


def main(argv=None):
    return run_elor_family_search(__doc__, "elor", argv)
