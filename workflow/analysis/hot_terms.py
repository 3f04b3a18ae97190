"""民意热点: the themes residents raised most in a period, from the case descriptions and their comments.

Segmented with jieba, the category names as a user dictionary, a stop-word list
(``data/stopwords-zh.txt``), keeping nouns, verbs and adjectives only. Never a resident's personal
data: texts are scrubbed of phones and ID numbers first, person names (jieba's ``nr`` tags) are
dropped, and so is any term found in the name of a party to one of the cases.
"""

from __future__ import annotations

import functools
import logging
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import jieba
import jieba.posseg
from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.analysis.periods import Period
from workflow.base.privacy import scrub
from workflow.cases.categories import CATEGORIES
from workflow.cases.models import Case, CaseParty, Evaluation

STOP_WORDS_FILE = Path(__file__).parent / "data" / "stopwords-zh.txt"
TOP = 20
# Nouns, verbs, adjectives and the dictionary's own words; person names (nr…) are never kept.
_KEEP = ("n", "v", "a", "user")
_MAX_TEXTS = 200_000


@dataclass(frozen=True)
class Term:
    """A theme: how often it came up this period and in the period before."""

    term: str
    count: int
    before: int

    @property
    def change(self) -> int:
        """Return the change in mentions since the period before."""
        return self.count - self.before


@functools.cache
def _segmenter() -> tuple[jieba.posseg.POSTokenizer, frozenset[str]]:
    jieba.setLogLevel(logging.WARNING)
    tokenizer = jieba.Tokenizer()
    for info in CATEGORIES.values():
        for name in {info.zh_hans, *info.zh_hans.replace("／", "/").split("/")}:
            if len(name) >= 2:
                tokenizer.add_word(name, freq=20000, tag="user")
    words = {line.strip() for line in STOP_WORDS_FILE.read_text(encoding="utf-8").splitlines()
             if line.strip() and not line.startswith("#")}
    # One tagger for the process: jieba's tagger takes the user words' tags from its tokenizer on
    # first use and clears them there, so a second tagger on the same tokenizer would not know them.
    return jieba.posseg.POSTokenizer(tokenizer), frozenset(words)


def terms_of(texts: Iterable[str], names: Iterable[str] = ()) -> Counter[str]:
    """Count the themes in some texts; no term that is or is part of one of ``names``."""
    cut, stop = _segmenter()
    people = [n for n in names if n]
    counts: Counter[str] = Counter()
    for raw in texts:
        seen: set[str] = set()  # a text counts once for each theme it raises
        for pair in cut.cut(scrub(raw)):
            word, flag = pair.word.strip(), pair.flag
            if (len(word) < 2 or word in stop or flag.startswith("nr") or not flag.startswith(_KEEP)
                    or "*" in word or any(ch.isdigit() for ch in word)
                    or any(word in person or person in word for person in people)):
                continue
            seen.add(word)
        counts.update(seen)
    return counts


def _texts(session: Session, unit_ids: Sequence[int], period: Period) -> tuple[list[str], set[str]]:
    cases = select(Case.id, Case.description).where(Case.grid_unit_id.in_(list(unit_ids)),
                                                     Case.submitted_at >= period.start,
                                                     Case.submitted_at < period.end).limit(_MAX_TEXTS)
    rows = session.execute(cases).all()
    texts = [description for _, description in rows]
    comments = (select(Evaluation.comment).join(Case, Case.id == Evaluation.case_id)
                .where(Case.grid_unit_id.in_(list(unit_ids)), Evaluation.at >= period.start,
                       Evaluation.at < period.end, Evaluation.comment.is_not(None)).limit(_MAX_TEXTS))
    texts += [c for (c,) in session.execute(comments) if c]
    ids = [case_id for case_id, _ in rows]
    names: set[str] = set()
    for i in range(0, len(ids), 5000):
        names.update(n for (n,) in session.execute(select(CaseParty.name)
                                                   .where(CaseParty.case_id.in_(ids[i : i + 5000]))))
    return texts, names


def hot_terms(session: Session, unit_ids: Sequence[int], period: Period, top: int = TOP) -> list[Term]:
    """Return the period's most raised themes with their count in the period before."""
    texts, names = _texts(session, unit_ids, period)
    before_texts, before_names = _texts(session, unit_ids, period.previous())
    now = terms_of(texts, names)
    then = terms_of(before_texts, before_names)
    ranked = sorted(now.items(), key=lambda kv: (-kv[1], kv[0]))[:top]
    return [Term(term, count, then.get(term, 0)) for term, count in ranked]
