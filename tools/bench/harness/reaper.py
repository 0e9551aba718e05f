"""Run a command so that every process it starts is counted in its CPU time.

``python tools/bench/harness/reaper.py COMMAND...`` runs COMMAND, waits for it, then waits
for every process it left behind, and exits with COMMAND's status. On Linux it first becomes a
child subreaper, so processes orphaned by COMMAND become its children instead of init's.
Why: the openSMILE workers are children of multiprocessing's fork server, which the script
never waits for; their CPU seconds used to be lost from ``RUSAGE_CHILDREN`` of whoever ran
the script, and the end-to-end benchmark under-reported the cores busy. With this process in
between, the runner's ``RUSAGE_CHILDREN`` holds the script and all its descendants.
"""

import ctypes
import os
import subprocess
import sys
import time

_PR_SET_CHILD_SUBREAPER = 36  # <linux/prctl.h>


def become_subreaper():
    """Adopt this process's orphaned descendants (Linux); False where the OS cannot."""
    if not sys.platform.startswith("linux"):
        return False
    return ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0


def reap_orphans(*, timeout_s=60.0):
    """Wait for every remaining child (adopted orphans) until none is left or ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            if time.monotonic() > deadline:
                return
            time.sleep(0.05)


def main(argv=None):
    command = sys.argv[1:] if argv is None else argv
    if not command:
        sys.exit("usage: python tools/bench/harness/reaper.py COMMAND...")
    become_subreaper()
    status = subprocess.run(command, check=False).returncode
    reap_orphans()
    return status


if __name__ == "__main__":
    sys.exit(main())
