"""Tune the LoM network (ELOR "Hyperparamter optimization", Table 2) with keras-tuner.

    python tuning/search_lom.py --quick --corpus synthetic:tiny         # CPU smoke run
    python tuning/search_lom.py --corpus iemocap:/data/IEMOCAP_full_release           # 150 trials

Space: 1-D conv trunk over 599 x 26 MFCC frames and the two heads, centred on LomConfig
(ser_keras.tuning.spaces; the paper centred it on Barros et al., whose values we lack).
Trials run the split-head training on the first fold's 80:20 split; objective: mean of the
two heads' validation accuracies. Rerun with the same --out to resume.
"""

from ser_keras.cli.search import run_elor_family_search


def main(argv=None):
    return run_elor_family_search(__doc__, "lom", argv)
