"""Tune the FTR network (ELOR "Hyperparamter optimization", Table 3) with keras-tuner.

    python tuning/search_ftr.py --quick --corpus synthetic:tiny         # CPU smoke run
    python tuning/search_ftr.py --corpus iemocap:/data/IEMOCAP_full_release           # 150 trials

Space: the two heads and SGD on the 1582 standardised IS10 functionals of each 6 s slice
(ser_keras.tuning.spaces). Trials run the split-head training on the first fold's 80:20
split; objective: mean of the two heads' validation accuracies. Rerun with the same --out
to resume. ELoR+FTR is not searched (the paper combined ELoR's and FTR's values).
"""

from ser_keras.cli.search import run_elor_family_search


def main(argv=None):
    return run_elor_family_search(__doc__, "ftr", argv)
