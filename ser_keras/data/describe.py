"""Corpus summary: utterances, hours, speakers, sessions, class counts per label view and
dimensional-evaluator coverage (the numbers SHORT §2.1 and ELOR §3.1 quote for IEMOCAP)."""

import collections

import soundfile

from ser_keras.data.labels import LABEL_VIEWS, categorical_view


def describe_corpus(corpus, *, evaluators=("E1", "E2", "E3", "E4")):
    """A JSON-ready summary of ``corpus``."""
    seconds = 0.0
    for utterance in corpus.utterances:
        if utterance.duration is not None:
            seconds += utterance.duration
        else:
            try:
                seconds += soundfile.info(utterance.path).duration
            except RuntimeError:
                pass  # unreadable files are reported when loaded; the summary still counts them
    views = {}
    for view in LABEL_VIEWS:
        selected = categorical_view(corpus.utterances, view)
        views[view] = {
            "utterances": len(selected.utterances),
            "classes": selected.counts(),
            "dropped": selected.dropped,
        }
    coverage = {name: sum(1 for u in corpus.utterances if u.rating(name) is not None) for name in evaluators}
    return {
        "spec": corpus.spec,
        "kind": corpus.kind,
        "sha256": corpus.sha256,
        "utterances": len(corpus.utterances),
        "hours": round(seconds / 3600.0, 3),
        "speakers": len(corpus.speakers),
        "speaker_counts": dict(sorted(collections.Counter(u.speaker for u in corpus.utterances).items())),
        "sessions": len(corpus.sessions),
        "label_views": views,
        "evaluator_coverage": {k: v for k, v in coverage.items() if v} or None,
        "problems": len(corpus.problems),
    }


def format_description(summary):
    """Plain-text rendering of :func:`describe_corpus`."""
    lines = [
        f"corpus      {summary['spec']}  (sha256 {summary['sha256'][:12]})",
        f"utterances  {summary['utterances']}   hours {summary['hours']:.2f}   "
        f"speakers {summary['speakers']}   sessions {summary['sessions']}",
    ]
    for view, info in summary["label_views"].items():
        counts = ", ".join(f"{k} {v}" for k, v in info["classes"].items())
        lines.append(f"{view:<11} {info['utterances']} utterances: {counts}")
    if summary["evaluator_coverage"]:
        lines.append("evaluators  " + ", ".join(f"{k} {v}" for k, v in summary["evaluator_coverage"].items()))
    if summary["problems"]:
        lines.append(f"problems    {summary['problems']} (see the log above)")
    return "\n".join(lines)
