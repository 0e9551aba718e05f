"""What a run prints to the console: quiet by default, one progress view, plain interruptions.

Not a paper section. TensorFlow's C++ start-up lines, tf.data graph warnings, retracing
warnings and Keras' ``.h5`` notice say nothing about a replication run, and they buried its
own log. :func:`quiet` (called by the command line, ``ser_keras.cli``, before anything imports
TensorFlow; a library user calls it too, if wanted) drops them; ``SER_KERAS_DEBUG=1`` or
``--verbose 2`` on the command line keeps everything. Importing ``ser_keras`` changes nothing.
:class:`RunProgress` is the one progress view over a run's (row, fold) units, with a heartbeat
for long units in a log; :func:`plain_interrupts` ends a run on Ctrl-C or SIGTERM with one
line saying how to resume it. This module imports no TensorFlow.
"""

import contextlib
import importlib.abc
import importlib.util
import logging
import os
import re
import signal
import sys
import tempfile
import threading
import time
import warnings

DEBUG_VARIABLE = "SER_KERAS_DEBUG"

# TensorFlow's C++ logging reads this once, when TensorFlow loads. Level 3 drops the start-up
# banners (cudart stub, cpu_feature_guard, oneDNN; INFO), and the ERROR line "NodeDef mentions
# attribute use_unbounded_threadpool" that TF 2.21 logs for tf.data map graphs although
# nothing fails, and the cuInit failure of a machine without a GPU. Errors that matter reach
# Python as exceptions.
QUIET_ENVIRONMENT = {"TF_CPP_MIN_LOG_LEVEL": "3"}

# Keras logs this through absl for every model saved as .h5; .h5 is this project's choice
# (plain Keras graphs that load without this package), not a legacy leftover.
LEGACY_H5_NOTICE = re.compile(r"You are saving your model as an HDF5 file via")


class _DropMessages(logging.Filter):
    def __init__(self, pattern):
        super().__init__()
        self.pattern = pattern

    def filter(self, record):
        return not self.pattern.search(record.getMessage())


_h5_notice_filter = _DropMessages(LEGACY_H5_NOTICE)

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep


class _QuietLibraryDeprecations:
    """``warnings.showwarning`` that drops deprecations raised outside this package.

    Python hides them by default, but scikit-learn's worker threads reset the process-wide
    warning filters while a forest fits (``sklearn.utils.parallel``: ``resetwarnings()``
    inside ``catch_warnings``); while the utterance-level rows fit beside the networks,
    Keras' deprecations from the training thread reached the console. Filters can be reset
    under us, the display hook is what stays."""

    def __init__(self, show):
        self.show = show

    def __call__(self, message, category, filename, lineno, file=None, line=None):
        if issubclass(category, (DeprecationWarning, PendingDeprecationWarning)) and not os.path.abspath(
            filename
        ).startswith(_PACKAGE_DIR):
            return
        self.show(message, category, filename, lineno, file, line)


_variables_set = []  # what quiet put into the environment, for restore_output


class _QuietTensorFlowImport(importlib.abc.MetaPathFinder):
    """Import finder that runs the first ``import tensorflow`` with file descriptor 2 parked.

    TensorFlow's CUDA libraries log while they load, before TF_CPP_MIN_LOG_LEVEL applies
    ("Could not find cuda drivers", "All log messages before absl::InitializeLog()", plugin
    registration; tensorflow/tensorflow#100442), so the level alone cannot silence them.
    What the import writes to stderr is dropped, or written back if the import fails.
    """

    def find_spec(self, name, path=None, target=None):
        if name != "tensorflow":
            return None
        sys.meta_path.remove(self)  # one import only; find the real spec without this finder
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.loader is not None:
            spec.loader = _ParkedStderrLoader(spec.loader)
        return spec


class _ParkedStderrLoader(importlib.abc.Loader):
    def __init__(self, loader):
        self.loader = loader

    def __getattr__(self, name):  # is_package, get_resource_reader, ... of the real loader
        return getattr(self.loader, name)

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        with _parked_stderr():
            self.loader.exec_module(module)


@contextlib.contextmanager
def _parked_stderr():
    """Send file descriptor 2 (C++ and Python alike) to a temporary file for the block; on an
    exception write what it caught back to stderr."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as parked:
        os.dup2(parked.fileno(), 2)
        try:
            yield
        except BaseException:
            sys.stderr.flush()
            os.dup2(saved, 2)
            parked.seek(0)
            os.write(2, parked.read())
            raise
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)


_tensorflow_import_finder = _QuietTensorFlowImport()


def debug_requested(argv=None):
    """True when ``SER_KERAS_DEBUG=1`` or the command line holds ``--verbose 2``."""
    argv = sys.argv[1:] if argv is None else argv
    verbose_two = any(a == "--verbose=2" or (a == "--verbose" and b == "2") for a, b in zip(argv, [*argv[1:], None]))
    return os.environ.get(DEBUG_VARIABLE) == "1" or verbose_two


def quiet(argv=None):
    """Set this process up as the command line runs: TensorFlow's oneDNN kernels on, and
    TensorFlow, tf.data, Keras and other libraries' deprecations quiet unless
    :func:`debug_requested` (``SER_KERAS_DEBUG=1`` or ``--verbose 2`` in ``argv``, default
    ``sys.argv[1:]``).

    Call it before TensorFlow is imported: TensorFlow reads its C++ log level
    (``TF_CPP_MIN_LOG_LEVEL``) and ``TF_ENABLE_ONEDNN_OPTS`` once, when it loads, and the
    lines its CUDA libraries write while they load are dropped only by the import hook this
    installs (file descriptor 2 parked for that one import). Called later, it still quiets
    the Python loggers and the deprecations. That is also why ``--verbose 2`` is read here
    rather than from a script's parser. Worker processes (spawned, forkserver) inherit the
    environment, and the decision with it.

    oneDNN: TensorFlow turns these kernels on by itself only where it finds AVX-512 VNNI or
    AMX; on an AVX2-only CPU they train Raw SubSeg several times faster (tools/bench/profile.py). An
    explicit ``TF_ENABLE_ONEDNN_OPTS=0`` keeps TensorFlow's Eigen kernels. It does not depend
    on the verbosity: the same seed gives the same numbers at every ``--verbose``.
    """
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
    if debug_requested(argv):
        restore_output()
        return
    if "tensorflow" not in sys.modules and _tensorflow_import_finder not in sys.meta_path:
        sys.meta_path.insert(0, _tensorflow_import_finder)
    for name, value in QUIET_ENVIRONMENT.items():
        if name not in os.environ:
            os.environ[name] = value
            _variables_set.append(name)
    # TensorFlow's Python logger ("N out of the last M calls ... triggered tf.function retracing").
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    absl = _absl_logger()
    if absl is not None:
        absl.addFilter(_h5_notice_filter)
    if not isinstance(warnings.showwarning, _QuietLibraryDeprecations):
        warnings.showwarning = _QuietLibraryDeprecations(warnings.showwarning)


def restore_output():
    """Let everything through again (``--verbose 2``). The C++ log level of an already
    loaded TensorFlow stays as it was; workers started from now on get everything."""
    os.environ[DEBUG_VARIABLE] = "1"
    if _tensorflow_import_finder in sys.meta_path:
        sys.meta_path.remove(_tensorflow_import_finder)
    while _variables_set:
        os.environ.pop(_variables_set.pop(), None)
    logging.getLogger("tensorflow").setLevel(logging.NOTSET)
    absl = _absl_logger()
    if absl is not None:
        absl.removeFilter(_h5_notice_filter)
    if isinstance(warnings.showwarning, _QuietLibraryDeprecations):
        warnings.showwarning = warnings.showwarning.show


def _absl_logger():
    """absl's logger (TensorFlow's dependency, importable without loading TensorFlow), or None
    in an environment without TensorFlow (the PyTorch peer of the benchmarks)."""
    try:
        from absl import logging as absl_logging
    except ImportError:
        return None
    return absl_logging.get_absl_logger()


# The RunProgress views entered and not yet left, innermost last: what an interruption counts.
_entered = []

# Seconds a unit trains before its first heartbeat, and between two.
HEARTBEAT_SECONDS = 60


class RunProgress:
    """The progress view of one run over its (row, fold) units.

    On a terminal: one tqdm bar with the ETA, finished units written above it. Elsewhere (a
    log file, a pipe): no bar, no carriage returns or colour codes; one timestamped line per
    finished unit with the count and the ETA. Resumed units count as done. Thread-safe.
    ``verbose=0`` prints nothing.

    The ETA: by default the wall time since the first unit started divided by the units
    trained so far, times the units left (right when units cost alike, also side by side).
    Units rarely cost alike (a Table-1 SVM fold takes seconds, a Raw SubSeg fold minutes), so
    a run that knows which rows set its wall time names them with :meth:`expect`: their
    remaining units take their row's own mean unit time; a row with none of its own yet takes
    the mean unit of the paced rows so far (or longer, while one of its units has already run
    longer). Rows named ``beside`` run on another thread meanwhile: their units left take the
    mean time of their units so far, and the ETA is the longer of the two threads (so a run of
    such rows alone, or one whose other thread outlasts the paced rows, still tells one); when
    that thread goes on to take paced units (``shared``), the two share what is left of both.
    A unit in training may report the share of it done (:meth:`unit_progress`, e.g. after each
    epoch of a capped schedule): until its row has a finished unit, its time so far over that
    share stands in for one, so the ETA comes before the first long unit ends. Time already
    spent on units in training is not counted again.

        with RunProgress(total=len(rows) * len(folds), title="table1") as progress:
            progress.unit_done("raw_subseg_cnn", "Ses03", "UAR 47.1 %, 6 epochs", seconds=71)
            # 01:07:33 [1/24] raw_subseg_cnn Ses03: UAR 47.1 %, 6 epochs, 71 s (ETA 27 min)
    """

    def __init__(self, total, *, title="run", stream=None, verbose=1):
        if isinstance(total, bool) or not isinstance(total, int) or total < 0:
            raise ValueError(f"The 'total' parameter of RunProgress must be a count of units >= 0. Got {total!r}.")
        self.total = total
        self.title = title
        self.stream = sys.stderr if stream is None else stream
        self.verbose = verbose
        self.done = 0
        self.trained = 0  # units trained in this process, for the plain ETA
        self.first_started = None
        self.bar = None
        self.current = ""  # the unit last started, named on the bar
        self.paced = None  # {row: units} of the rows that pace the ETA, from expect()
        self.beside = {}  # {row: units} run on another thread beside the paced rows, from expect()
        self.shared = False  # whether that thread takes paced units after its own, from expect()
        self.row_seconds = {}  # row -> seconds of each unit trained here
        self.row_done = {}  # row -> units done (trained, resumed or skipped)
        self.running = {}  # (row, fold) -> [start, share done or None, when told] of units in training
        self._last_beat = {}  # (row, fold) -> when its last heartbeat line was written
        self._lock = threading.Lock()

    def __enter__(self):
        if self.verbose and _is_terminal(self.stream):
            import tqdm

            # tqdm's own "<remaining" assumes units that cost alike; the postfix carries ours.
            self.bar = tqdm.tqdm(
                total=self.total,
                desc=self.title,
                unit="unit",
                file=self.stream,
                dynamic_ncols=True,
                bar_format="{l_bar}{bar}| {n_fmt}/{total_fmt} [{elapsed}{postfix}]",
            )
        _entered.append(self)
        return self

    def expect(self, paced, beside=None, *, shared=False):
        """Pace the ETA by rows: ``paced``: ``{row: units}`` of the rows that set the run's wall
        time (the networks); ``beside``: ``{row: units}`` of rows that run on another thread
        meanwhile; ``shared``: that thread then takes paced units too (see the class docstring)."""
        with self._lock:
            self.paced = {row: int(units) for row, units in paced.items()}
            self.beside = {row: int(units) for row, units in (beside or {}).items()}
            self.shared = shared

    def __exit__(self, *exc_info):
        if self in _entered:
            _entered.remove(self)
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def heartbeat(self, row, fold):
        """A Keras callback for the unit (row, fold) in training that keeps a log alive.

        Off a terminal (where no bar shows the time running) at ``verbose=1``, once the unit
        has trained for :data:`HEARTBEAT_SECONDS` (counted from :meth:`unit_started`), the end
        of an epoch writes one line, at most one per such interval for the unit however many
        networks it trains; the epoch's ``learning_rate`` and ``val_loss`` are shown where its
        logs have them:

            01:19:02   raw_seg_cnn Ses03: epoch 4, lr 0.0025, val_loss 1.213, 5 min

        Any trainer that calls a Keras callback's ``on_epoch_end`` can carry it: ``model.fit``
        and :class:`~ser_keras.training.split_heads.SplitHeadTrainer`.
        """
        import keras

        made = time.monotonic()
        return keras.callbacks.LambdaCallback(
            on_epoch_end=lambda epoch, logs: self._beat(row, fold, made, epoch, logs or {})
        )

    def _beat(self, row, fold, made, epoch, logs):
        if self.verbose != 1 or self.bar is not None:
            return
        with self._lock:
            now = time.monotonic()
            started = self.running.get((row, fold), [made])[0]
            last = max(self._last_beat.get((row, fold), started), started)
            if now - last < HEARTBEAT_SECONDS:
                return
            self._last_beat[row, fold] = now
            told = [f"epoch {epoch + 1}"]
            if "learning_rate" in logs:
                told.append(f"lr {float(logs['learning_rate']):g}")
            if "val_loss" in logs:
                told.append(f"val_loss {float(logs['val_loss']):.3f}")
            self.stream.write(
                f"{time.strftime('%H:%M:%S')}   {row} {fold}: {', '.join(told)}, {_duration(now - started)}\n"
            )
            self.stream.flush()

    def unit_started(self, row, fold):
        """Name the unit in training on the bar (no line of its own)."""
        with self._lock:
            now = time.monotonic()
            if self.first_started is None:
                self.first_started = now
            self.running[row, fold] = [now, None, now]
            self.current = f"{row} {fold}"
            if self.bar is not None:
                self.bar.set_postfix_str(self.current + self._eta(", ETA {}"))

    def unit_progress(self, row, fold, share):
        """The unit in training has done ``share`` (0-1] of its work (no line of its own)."""
        with self._lock:
            if (row, fold) in self.running and share > 0:
                self.running[row, fold][1:] = [min(float(share), 1.0), time.monotonic()]
                if self.bar is not None:
                    self.bar.set_postfix_str(self.current + self._eta(", ETA {}"))

    def unit_done(self, row, fold, summary, seconds):
        """One finished unit: ``summary`` is what to say about it ("UAR 47.1 %, 6 epochs")."""
        with self._lock:
            self.running.pop((row, fold), None)
            self.trained += 1
            self.row_seconds.setdefault(row, []).append(seconds)
            began = time.monotonic() - seconds
            self.first_started = began if self.first_started is None else min(self.first_started, began)
            self._finish(row, 1, f"{row} {fold}: {summary}, {seconds:.0f} s")

    def unit_skipped(self, row, fold, reason="resumed"):
        """A unit not trained here (its result was found in the run folder); counts as done."""
        with self._lock:
            self.running.pop((row, fold), None)
            self._finish(row, 1, f"{row} {fold}: {reason}")

    def row_skipped(self, row, folds, reason):
        """A row that cannot run at all (e.g. missing weights): one line, its units done."""
        with self._lock:
            self._finish(row, len(folds), f"{row}: {reason} ({len(folds)} fold{'' if len(folds) == 1 else 's'})")

    def _finish(self, row, units, text):
        self.done += units
        self.row_done[row] = self.row_done.get(row, 0) + units
        if not self.verbose:
            return
        stamp = time.strftime("%H:%M:%S")
        if self.bar is not None:
            self.bar.write(f"{stamp} {text}", file=self.stream)
            self.bar.update(units)
            self.bar.set_postfix_str(self.current + self._eta(", ETA {}"))
            return
        self.stream.write(f"{stamp} [{self.done}/{self.total}] {text}{self._eta(' (ETA {})')}\n")
        self.stream.flush()

    def _eta(self, template):
        """``template`` filled with the time left, or "" while there is nothing to tell."""
        seconds = self._seconds_left()
        return "" if seconds is None else template.format(_duration(seconds))

    def _seconds_left(self):
        if self.done >= self.total:
            return None
        if self.paced is None:
            if not self.trained:
                return None
            return (self.total - self.done) * (time.monotonic() - self.first_started) / self.trained
        paced, beside = self._paced_seconds_left(), self._beside_seconds_left()
        if paced is None:
            return None
        beside = beside or 0.0
        # Two threads: shared, they split what is left of both, but the second thread's own
        # rows run one after another on it.
        return max((paced + beside) / 2, beside) if self.shared else max(paced, beside)

    def _paced_seconds_left(self):
        """Seconds left on the paced rows, or None while none of their units has told its time."""
        now = time.monotonic()
        units_left = {row: max(units - self.row_done.get(row, 0), 0) for row, units in self.paced.items()}
        if not any(units_left.values()):
            return 0.0
        # One unit's seconds: finished units, and units in training projected from the share
        # they had done when last told (not from now, which would grow between two reports).
        finished = {row: self.row_seconds[row] for row in self.paced if row in self.row_seconds}
        projected = {}
        for (row, _), (started, share, told) in self.running.items():
            if share and row in self.paced and row not in finished:
                projected.setdefault(row, []).append((told - started) / share)
        known = [seconds for times in (*finished.values(), *projected.values()) for seconds in times]
        if not known:
            return None
        left = 0.0
        for row, units in units_left.items():
            spent = [now - started for (running_row, _), (started, *_) in self.running.items() if running_row == row]
            times = finished.get(row) or projected.get(row)
            # A row with no time of its own: the mean unit so far, or longer while one of its
            # units has already run longer than that.
            each = sum(times) / len(times) if times else max([sum(known) / len(known), *spent])
            left += units * each - sum(min(seconds, each) for seconds in spent)
        return max(left, 0.0)

    def _beside_seconds_left(self):
        """Seconds left on the rows beside the paced ones (one after another), or None."""
        times = [seconds for row in self.beside for seconds in self.row_seconds.get(row, ())]
        units_left = sum(max(units - self.row_done.get(row, 0), 0) for row, units in self.beside.items())
        if not units_left:
            return 0.0
        return units_left * sum(times) / len(times) if times else None


# Exit status of a run ended by a signal: 128 + its number, as shells report it.
INTERRUPTION_EXIT_STATUS = {signal.SIGINT: 130, signal.SIGTERM: 143}


@contextlib.contextmanager
def plain_interrupts(resume_command):
    """Within the block, Ctrl-C (SIGINT) and SIGTERM end the process at once with one line on
    stderr and exit status 130 or 143, no traceback:

        interrupted after 17 of 60 units; finished units are kept; resume with: <resume_command>

    The count is that of the innermost :class:`RunProgress` entered (without one the line has
    no count). Why exit rather than raise KeyboardInterrupt: raised inside TensorFlow's
    training loop it surfaced as a SystemError under a long traceback, and unwinding would
    wait for the unit on the second thread to end. Nothing unwinding would keep is lost:
    every finished unit is already saved, atomically (a run killed at any point resumes to
    the same result). A signal the process was started to ignore stays ignored; outside the
    main thread, where Python cannot set signal handlers, the block changes nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupted(number, frame):
        progress = _entered[-1] if _entered else None
        counted = f" after {progress.done} of {progress.total} units" if progress is not None else ""
        # A dying process: the line matters, not a flush or a bar that fails.
        with contextlib.suppress(OSError, ValueError, RuntimeError):
            sys.stdout.flush()
        with contextlib.suppress(OSError, ValueError, RuntimeError):
            if progress is not None and progress.bar is not None:
                progress.bar.close()  # leaves the bar drawn and ends its line
            elif _is_terminal(sys.stderr):
                sys.stderr.write("\n")  # past the ^C the terminal echoed
            sys.stderr.flush()
        # os.write: the interrupted code may have been inside a write to sys.stderr.
        os.write(2, f"interrupted{counted}; finished units are kept; resume with: {resume_command}\n".encode())
        _release_semaphores()
        os._exit(INTERRUPTION_EXIT_STATUS[number])

    previous = {number: signal.getsignal(number) for number in INTERRUPTION_EXIT_STATUS}
    for number, handler in previous.items():
        if handler is not signal.SIG_IGN:  # started to ignore it (nohup, a shell's background job): it still does
            signal.signal(number, interrupted)
    try:
        yield
    finally:
        for number, handler in previous.items():
            if handler is not None:  # None: set outside Python, cannot be put back
                signal.signal(number, handler)


def _release_semaphores():
    """Unlink the named semaphores of this process's multiprocessing queues (e.g. the openSMILE
    worker pool's), as an ordinary exit does: multiprocessing's resource tracker, which
    outlives the process, otherwise warns of "leaked semaphore objects" under the line."""
    util = sys.modules.get("multiprocessing.util")
    if util is not None:
        util._run_finalizers(0)  # the exit-time finalizers of priority >= 0; semaphores have 0


def _duration(seconds):
    """71 → '71 s', 1500 → '25 min', 9000 → '2.5 h'."""
    if seconds < 120:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.0f} min" if seconds < 7200 else f"{seconds / 3600:.1f} h"


def _is_terminal(stream):
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())
