"""What the scale evaluation's phrasing bank says, as one set of sentences (to check that a half never leaks into
the other, into the project or into the reporting results)."""

from __future__ import annotations

from qa.scale.bank import Bank


def bank_sentences(bank: Bank) -> set[str]:
    out = {w.text for t in bank.topics for w in t.wordings}
    out |= {x for t in bank.topics for x in (*t.positive, *t.plan, *t.surface, *t.paraphrases)}
    out |= (
        set(bank.no_problem)
        | {d.text for n in bank.nobody for d in n.decoys}
        | {q for n in bank.nobody for q in n.questions}
    )
    return out
