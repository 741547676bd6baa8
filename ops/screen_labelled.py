"""Screen a new author's labelled examples before they join config/labelled.

    .venv/bin/python ops/screen_labelled.py NEW.jsonl... --out DIR [--datasets DIR]

Helper sessions write labelled examples without reading the datasets, but stock phrases (好的，
收到) and whatever a model has seen elsewhere can still coincide with a public text, and nothing of
`../shared/datasets` may enter the project. An example is dropped when it

- repeats an example already in config/labelled (or an earlier one of these files), or a
  dataset text, after normalisation (NFKC, lower case, letters and digits only); a committed
  file of the same name as one screened is left out of that comparison, so a committed author
  can be screened again;
- shares SEVEN consecutive normalised characters with a dataset text;
- shares half its character trigrams or more with one dataset text;
- names one of COLD's subjects (groups by race, region or gender: `TOPICS`), which the labelled
  authors leave to the public-comment head and its data (author files only: the lines labelled
  with every rule they break, `multi_*.jsonl`, are an evaluation set and keep them);
- is shorter than two normalised characters;
- holds, as the line is written (JSON, the English `note` included), TWELVE consecutive
  non-space characters of a dataset text: the before-stop dataset guard's own test, which once
  flagged lines only for two English words of a note that some public comment also holds.

Each file is written to DIR under its own name with the examples kept, as they were written
(`note` included); what was dropped is printed per reason with a few examples. The datasets are
read at run time and nothing of them is written.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agents.cli.eval import default_datasets
from streams.content.datasets import (
    LABELLED_DIR,
    DatasetError,
    read_cold,
    read_dialogues,
    read_labelled,
    read_multi_labelled,
)
from streams.core.policy_schema import CONTENT_RULES

SEVEN = 7
TWELVE = 12  # the dataset guard's run: raw characters, white space removed, over the whole line
_SPACE = re.compile(r"\s+")
# Groups of people by race, region or gender (COLD's subjects): the labelled authors do not write
# about them (docs/eval.md, the sixth session's held-out authors).
TOPICS = re.compile(
    "黑人|白人|黑鬼|种族|女人|男人|女性|男性|女权|女拳|男权|同性恋|基佬|直男|地域黑|外地人|乡下人|农村人|老外|外国人|洋人|"
    "(?:河南|东北|上海|广东|新疆|西藏|四川|湖南|山东|河北|安徽|福建|江西|湖北|广西|贵州|甘肃|陕西|山西|浙江|江苏|"
    "北京|天津|重庆|云南|海南|内蒙|宁夏|青海|吉林|辽宁|黑龙江|台湾|香港)人"
)


def normalised(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).lower()
    return "".join(ch for ch in text if ch.isalnum())


def char_runs(text: str, n: int) -> Iterator[str]:
    """Every run of `n` consecutive characters of `text`."""
    return (text[i : i + n] for i in range(len(text) - n + 1))


def as_written(example: dict) -> str:
    """An example's line as the screened file holds it (without the newline), which the guard reads."""
    return json.dumps(example, ensure_ascii=False)


def trigrams(text: str) -> set[str]:
    return {text[i : i + 3] for i in range(len(text) - 2)}


class DatasetIndex:
    """What a new example is compared with: every dataset text, its 7-character runs, its trigrams,
    and the 12-character runs of its raw text (white space removed)."""

    def __init__(self, texts: Iterable[str]) -> None:
        self.texts: set[str] = set()
        self.runs: set[str] = set()
        self.raw_runs: set[str] = set()
        self.by_trigram: dict[str, set[int]] = defaultdict(set)
        raw = list(texts)
        for text in raw:
            text = _SPACE.sub("", text)
            self.raw_runs.update(char_runs(text, TWELVE))
        for number, text in enumerate(normalised(t) for t in raw):
            self.texts.add(text)
            self.runs.update(char_runs(text, SEVEN))
            for gram in trigrams(text):
                self.by_trigram[gram].add(number)

    @classmethod
    def load(cls, datasets: Path) -> DatasetIndex:
        cold = [c.text for name in ("train.csv", "dev.csv") for c in read_cold(datasets / "cold" / name)]
        turns = [turn for d in read_dialogues(datasets / "benign") for turn in d.turns]
        return cls(cold + turns)

    def why_close(self, text: str) -> str | None:
        """Why a normalised example is too close to a dataset text, or None."""
        if text in self.texts:
            return "a dataset text"
        if any(run in self.runs for run in char_runs(text, SEVEN)):
            return f"{SEVEN} characters of a dataset text"
        grams = trigrams(text)
        shared = Counter(n for gram in grams for n in self.by_trigram.get(gram, ()))
        if shared and 2 * shared.most_common(1)[0][1] >= len(grams):
            return "half its trigrams in one dataset text"
        return None

    def shares_raw_run(self, line: str) -> bool:
        """Whether `line` (a JSON line as written) holds TWELVE non-space characters of a dataset text."""
        return any(run in self.raw_runs for run in char_runs(_SPACE.sub("", line), TWELVE))


def is_multi(path: Path) -> bool:
    """Whether `path` holds lines labelled with every rule they break (`{"text","rules"}`)."""
    return path.name.startswith("multi_")


def texts_of(path: Path) -> list[str]:
    """A labelled file's texts, read by its schema (a malformed line is named by file, line, field)."""
    if is_multi(path):
        return [e.text for e in read_multi_labelled(path, CONTENT_RULES)]
    return [e.text for e in read_labelled(path)]


def screen(
    lines: list[dict], index: DatasetIndex, seen: set[str], topics: bool = True
) -> tuple[list[dict], dict[str, list[str]]]:
    """The examples kept, and the dropped texts by reason. `seen` (normalised texts already in the
    project) grows with every example kept. `topics`: drop lines that name COLD's subjects."""
    kept: list[dict] = []
    dropped: dict[str, list[str]] = defaultdict(list)
    for example in lines:
        text = normalised(example["text"])
        if len(text) < 2:
            why: str | None = "too short"
        elif text in seen:
            why = "a repeat"
        elif topics and TOPICS.search(example["text"]):
            why = "COLD's subjects"
        else:
            why = index.why_close(text)
        if why is None and index.shares_raw_run(as_written(example)):
            why = f"{TWELVE} characters of a dataset text in the line as written"
        if why:
            dropped[why].append(example["text"])
        else:
            seen.add(text)
            kept.append(example)
    return kept, dropped


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", type=Path, help="new author_*.jsonl or multi_*.jsonl files")
    parser.add_argument("--out", type=Path, required=True, help="where the screened files go")
    parser.add_argument("--datasets", type=Path, help="default: $QUNGUARD_DATASETS or ../shared/datasets")
    parser.add_argument("--labelled", type=Path, default=LABELLED_DIR, help="the project's labelled examples")
    args = parser.parse_args(argv)
    try:
        for path in args.files:
            texts_of(path)  # names the file, line and field of a malformed example
        index = DatasetIndex.load(args.datasets or default_datasets())
        # A file of the same name is the one being screened again, not another author's.
        names = {path.name for path in args.files}
        committed = [p for p in sorted(args.labelled.glob("*.jsonl")) if p.name not in names]
        seen = {normalised(text) for p in committed for text in texts_of(p)}
    except (DatasetError, OSError) as exc:
        print(f"screen_labelled: {exc}", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    for path in args.files:
        lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        kept, dropped = screen(lines, index, seen, topics=not is_multi(path))
        with (args.out / path.name).open("w", encoding="utf-8") as handle:
            handle.writelines(as_written(e) + "\n" for e in kept)
        print(f"{path.name}: kept {len(kept)} of {len(lines)}")
        for why, texts in dropped.items():
            print(f"  {why}: {len(texts)}, e.g. {texts[:2]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
