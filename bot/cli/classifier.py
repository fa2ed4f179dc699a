"""`propdesk eval` and `propdesk lexicon train`: the classifier's developer commands.

Both read only files (the labelled corpus shipped in `bot/nlp/corpus/`, or files named on the
command line), never the database.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path


def evaluate_files(files: Sequence[str]) -> int:
    """Print a report per file (default: every shipped set); 2 when a file cannot be read."""
    from bot.nlp.evaluate import default_corpus, evaluate, format_report

    paths = [Path(name) for name in files] or default_corpus()
    status = 0
    for path in paths:
        try:
            report = evaluate(path)
        except (OSError, ValueError) as exc:
            print(f"propdesk eval: {exc}")
            status = 2
            continue
        print(format_report(report))
        print()
    return status


def train_models(files: Sequence[str], out: str | None, add: Sequence[str] = ()) -> int:
    """Fit the learned models; 0 on success, 2 when scikit-learn or a file is missing.
    `add` joins files (such as exported staff corrections) to the default training sets."""
    from bot.nlp.learned import MODEL_PATH
    from bot.nlp.train import train, training_corpus

    paths = [Path(name) for name in files] or training_corpus()
    paths += [Path(name) for name in add]
    try:
        import sklearn  # noqa: F401
    except ImportError:
        print("propdesk lexicon train: needs scikit-learn (pip install -e '.[dev]')")
        return 2
    try:
        summary = train(paths, Path(out) if out else MODEL_PATH)
    except (OSError, ValueError) as exc:
        print(f"propdesk lexicon train: {exc}")
        return 2
    print(", ".join(f"{key} {value}" for key, value in summary.items()))
    return 0
