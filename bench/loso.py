"""Leave-one-set-out: the classifier's figures on a new author's text, estimated honestly.

Run: ``.venv/bin/python bench/loso.py [--keep DIR] [--reuse DIR]``  (about 5 min on 2 cores)

For each spent set written by a separate author (``SPENT``), the models are trained with
:func:`bot.nlp.train.train` on every other training file (the held-out v11-v14 stay out, as in
``propdesk lexicon train``) and the classifier, rules + those models, is evaluated on the set
left out. Prints per set and pooled: category, urgency, emergency recall (an asked emergency
counts: its answer or silence pages), the precision of the alarms paged at once
(``Classification.sure``), the false pages and the emergencies asked first. Settings are chosen
by the pooled figures, never by one set (tests/data/README.md, 20 and 23).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from bot.nlp import Classifier, load_lexicon
from bot.nlp.evaluate import CORPUS_DIR, Report, _score, load_examples
from bot.nlp.learned import load_models
from bot.nlp.train import TRAINING_FILES, train

SPENT = (
    "corpus_unseen_v15.jsonl",
    "corpus_unseen_v16.jsonl",
    "corpus_unseen_v17.jsonl",
    "corpus_unseen_v18.jsonl",
    "corpus_unseen_v19.jsonl",
    "corpus_unseen_desk_v1.jsonl",
    "corpus_unseen_desk_v2.jsonl",
    "corpus_unseen_desk_v3.jsonl",
    "corpus_unseen_desk_v4.jsonl",
    "corpus_unseen_desk_v5.jsonl",
)


def fold_models(folder: Path, reuse: bool) -> dict[str, Path]:
    """A model file per left-out set, trained on all other training files (or reused)."""
    paths = {}
    for left_out in SPENT:
        target = folder / left_out.replace(".jsonl", ".json")
        if not (reuse and target.exists()):
            others = [CORPUS_DIR / name for name in TRAINING_FILES if name != left_out]
            train(others, target)
        paths[left_out] = target
    return paths


def row(name: str, report: Report) -> str:
    pages = report.paged_true + report.paged_false
    caught = report.paged_true + report.asked_true
    return (
        f"{name:12} {report.category_accuracy:8.3f} {report.urgency_accuracy:7.3f} "
        f"{report.caught_recall:6.3f} ({caught}/{report.emergency_labelled})"
        f" {report.immediate_precision:9.3f} ({report.paged_true}/{pages})"
        f" {report.paged_false:6} {report.asked_true:6}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, help="write the fold models here (kept)")
    parser.add_argument("--reuse", type=Path, help="evaluate the fold models already in DIR")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        folder = args.reuse or args.keep or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        models = fold_models(folder, reuse=args.reuse is not None)
        classifier = Classifier(load_lexicon(), models=False)
        pooled = Report("pooled")
        print("set          category urgency recall          pages: precision  false  asked")
        for left_out, path in models.items():
            classifier.models = load_models(path)
            report = Report(left_out)
            for example in load_examples(CORPUS_DIR / left_out):
                result = classifier.classify(example.text)
                _score(report, example, result)
                _score(pooled, example, result)
            print(row(left_out.removeprefix("corpus_unseen_").removesuffix(".jsonl"), report))
        print(row("pooled", pooled))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
