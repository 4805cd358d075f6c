"""Cleanup of extracted report text that keeps every cleaned character mappable to the raw text.

Every step either deletes characters or replaces one character by one character, so the cleaned text
carries, per character, the offset it came from in the raw input (`CleanText.raw_offsets`). Citations and
the source viewer use that map to highlight the original text of a cleaned span.

A step works on a `_Text` (text + offsets). Deleting steps only compute which spans to drop; `_drop`
rebuilds text and offsets with slices, so 1 MB cleans in a fraction of a second.

>>> c = clean_text("[bookmark: _GoBack]预 算\\u3000编 制 ＡＢ１\\n\\n\\n\\n (二)")
>>> c.text
'预算编制 AB1\\n\\n(二)'
>>> c.to_raw_span(0, 2)
(19, 22)
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import NamedTuple


@dataclass(frozen=True)
class CleanText:
    text: str
    raw_offsets: tuple[int, ...]  # len(text) + 1 entries; the last one is len(raw)

    def to_raw(self, i: int) -> int:
        """Offset in the raw text of cleaned character i (i == len(text) gives len(raw))."""
        if not 0 <= i <= len(self.text):
            raise IndexError(f"offset {i} outside 0..{len(self.text)}")
        return self.raw_offsets[i]

    def to_raw_span(self, start: int, end: int) -> tuple[int, int]:
        """Raw span covering cleaned text[start:end]: from its first character to just after its last.

        The end comes from the last character, not from raw_offsets[end]: that one points past whatever
        was deleted after the span (a bookmark, stray spaces), which does not belong to it.
        """
        if not 0 <= start <= end <= len(self.text):
            raise IndexError(f"span {start}..{end} outside 0..{len(self.text)}")
        if start == end:
            return self.raw_offsets[start], self.raw_offsets[start]
        return self.raw_offsets[start], self.raw_offsets[end - 1] + 1


class _Text(NamedTuple):
    text: str
    offsets: list[int]  # len(text) + 1 entries, as CleanText.raw_offsets


_Step = Callable[[_Text], _Text]


_SPACE = " \t\xa0\u3000"
_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f"
# CJK punctuation: 、。《》【】「」…, full-width ！（），：；？ etc., curly quotes, …, —, vertical forms.
_CJK_PUNCT = "\u3001-\u303f\uff01-\uff0f\uff1a-\uff20\uff3b-\uff40\uff5b-\uff65\u2018-\u201f\u2026\u2014\ufe30-\ufe4f"
_CJK = _HAN + _CJK_PUNCT

_BOOKMARK = re.compile(r"\[bookmark:[^\]\n]*\]")
# PDF/Word artifacts such as "预 算 编 制": spaces between two CJK characters (or CJK punctuation).
_STRAY_SPACE = re.compile(rf"(?<=[{_CJK}])[{_SPACE}]+(?=[{_CJK}])")
_LINE_EDGE_SPACE = re.compile(rf"^[{_SPACE}]+|[{_SPACE}]+$", re.MULTILINE)
_EXTRA_NEWLINES = re.compile(r"(?<=\n\n)\n+")  # keeps the first two of a run: at most one blank line
_TEXT_EDGES = re.compile(rf"^[\s{_SPACE}]+|[\s{_SPACE}]+$")

# Full-width letters and digits → ASCII, ideographic space → space. Chinese punctuation stays: heading
# markers such as （一） and 一、 are matched on it.
_WIDTH = {c: c - 0xFEE0 for r in ((0xFF10, 0xFF19), (0xFF21, 0xFF3A), (0xFF41, 0xFF5A)) for c in range(r[0], r[1] + 1)}
_WIDTH[0x3000] = 0x20


def _drop(t: _Text, spans: Iterable[tuple[int, int]]) -> _Text:
    """t without the given sorted, non-overlapping spans."""
    pieces: list[str] = []
    offsets: list[int] = []
    pos = 0
    for start, end in spans:
        pieces.append(t.text[pos:start])
        offsets += t.offsets[pos:start]
        pos = end
    pieces.append(t.text[pos:])
    offsets += t.offsets[pos:]  # includes the final len(raw) entry
    return _Text("".join(pieces), offsets)


def _drop_matches(pattern: re.Pattern[str]) -> _Step:
    def step(t: _Text) -> _Text:
        return _drop(t, (m.span() for m in pattern.finditer(t.text)))

    return step


def normalise_width(t: _Text) -> _Text:
    return _Text(t.text.translate(_WIDTH), t.offsets)


remove_bookmarks = _drop_matches(_BOOKMARK)
remove_stray_spaces = _drop_matches(_STRAY_SPACE)
strip_line_edges = _drop_matches(_LINE_EDGE_SPACE)
collapse_blank_lines = _drop_matches(_EXTRA_NEWLINES)
strip_text = _drop_matches(_TEXT_EDGES)

# Order matters: bookmarks first (they sit between CJK characters and would hide stray spaces); line
# edges before collapsing, so lines holding only spaces count as blank.
_STEPS: tuple[_Step, ...] = (
    remove_bookmarks,
    normalise_width,
    remove_stray_spaces,
    strip_line_edges,
    collapse_blank_lines,
    strip_text,
)


def clean_text(raw: str) -> CleanText:
    t = _Text(raw, list(range(len(raw) + 1)))
    for step in _STEPS:
        t = step(t)
    return CleanText(t.text, tuple(t.offsets))
