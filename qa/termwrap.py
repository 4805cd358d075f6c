"""Line wrapping for Chinese text in a terminal (`qa ask`).

Rich wraps at spaces: "1. 益阳市赫山区…" is two words to it, the second wider than the line, so the number
was left alone on its line and the text folded below it. Here a line breaks between any two characters, by
display width (a Chinese character is two cells), with the rules Chinese typesetting uses: closing punctuation
and citation markers ([1]) never start a line, opening punctuation never ends one, ASCII words and numbers
(388.07, 2021, file names) are not split unless longer than a line. List items (1. / - / [1]) continue under
their text, not under their number.

>>> wrap("1. 益阳市赫山区投资促进服务中心：预算编制不够细化。[1]", 21)
['1. 益阳市赫山区投资促', '   进服务中心：预算编', '   制不够细化。[1]']
>>> wrap("1. 益阳市赫山区投资促进服务中心：预算编制不够细化。[1]", 20)[-1]  # "。[1]" never starts a line
'   化。[1]'
"""

from __future__ import annotations

import re

from rich.cells import cell_len

# Never at the start of a line / never at the end of one (GB/T 15834 line-breaking rules, simplified).
_NO_START = set("，。、；：！？）》」』】〕〉”’…—·%,.;:!?)]}")
_NO_END = set("（《「『【〔〈“‘([{")
_ITEM = re.compile(r"^(\d{1,3}[.、]\s|[-•*]\s|\[\d+\]\s|（\d+）)")
_TOKEN = re.compile(r"\[\d+(?:[,，、]\s*\d+)*\]|[A-Za-z0-9_./:%+\-–~@#&=]+|\s+|.", re.S)


def _tokens(text: str) -> list[str]:
    return _TOKEN.findall(text)


def _starts_badly(token: str) -> bool:
    return token[0] in _NO_START or token.startswith("[")


def wrap(line: str, width: int) -> list[str]:
    """One logical line as display lines of at most `width` cells (width < 8: returned whole)."""
    if width < 8 or cell_len(line) <= width:
        return [line]
    item = _ITEM.match(line)
    indent = " " * min(cell_len(item.group(1)) if item else 0, width // 2)
    lines: list[list[str]] = [[]]
    used, limit = 0, width
    for token in _tokens(line):
        size = cell_len(token)
        if used + size <= limit:
            lines[-1].append(token)
            used += size
            continue
        if token.isspace():
            continue  # a break at a space drops the space
        carry: list[str]
        current, carry = lines[-1], []
        # A token that must not start a line takes the character before it along; an opening bracket at the
        # end of the line goes down with what it opens (as long as something stays behind).
        while len(current) > 1 and not current[-1].isspace() and _starts_badly(carry[0] if carry else token):
            carry.insert(0, current.pop())
        while len(current) > 1 and current[-1][-1] in _NO_END:
            carry.insert(0, current.pop())
        while current and current[-1].isspace():
            current.pop()
        limit = width - len(indent)
        lines.append(carry)
        used = sum(cell_len(t) for t in carry)
        while used + size > limit and size > limit:  # a word longer than a whole line: split it
            room = max(1, limit - used)
            lines[-1].append(token[:room])
            token = token[room:]
            lines.append([])
            used, size = 0, cell_len(token)
        lines[-1].append(token)
        used += size
    out = ["".join(lines[0]).rstrip()]
    out += [indent + "".join(parts).rstrip() for parts in lines[1:] if "".join(parts).strip()]
    return out


def wrap_text(text: str, width: int | None) -> list[str]:
    """Every line of `text` wrapped; `width` None (output is not a terminal): lines as they are."""
    return [part for line in text.split("\n") for part in ([line] if width is None else wrap(line, width))]
