"""Aggregate answers (qa.answering.aggregate) on the bundled samples: problem and measure topics from the findings,
other topics from the corpus-wide pass, whose shortcuts must not change a verdict."""

from __future__ import annotations

from dataclasses import replace

import pytest

from qa.answer import Answerer
from qa.evidence import Coverage
from qa.lexical import tokenize
from qa.retrieve import Retriever
from qa.understand import understand
from tests.support.recording import RecordingVectors


def test_aggregate_answers_come_from_findings_and_fall_back(sample_retriever: Retriever) -> None:
    answerer = Answerer(sample_retriever)
    ans = answerer.ask("哪些单位提到预算编制不够细化？")
    assert [u.unit for u in ans.units or []] == ["益阳市赫山区投资促进服务中心", "湖南省大祥工业集中区管理委员会"]
    # Cited from the problems sections' findings; every citation is the document's own text.
    for c in ans.citations[: len(ans.units or [])]:
        assert c.hit.section_role == "problems" and c.hit.chunk_index == -1
        assert sample_retriever.store.get_document(c.hit.doc.doc_id)[1][c.char_start : c.char_end] == c.text  # type: ignore[index]
    # Not a problems/measures topic: the corpus-wide pass still answers.
    invest = answerer.ask("哪些单位提到招商引资？")
    assert invest.units and all(c.hit.chunk_index >= 0 for c in invest.citations)


# Problem and measure topics are answered from findings; these neutral topics take the corpus-wide pass, whose key-word
# floor (Topic.key_floor) already keeps most unrelated sentences out, so the pruning may add nothing: it must never
# change an answer.
@pytest.mark.parametrize("question", ["哪些单位提到招商引资？", "哪些单位提到500强企业？"])
def test_corpus_wide_pass_embeds_unrelated_sentences_only_from_the_nearest_chunks(
    sample_retriever: Retriever, question: str
) -> None:
    runs = {}
    for pruned in (True, False):
        answerer = Answerer(sample_retriever)
        nearest = answerer.params.aggregate_meaning_chunks if pruned else 10**6
        answerer.ctx.params = replace(answerer.params, aggregate_meaning_chunks=nearest)
        answerer.ctx.vectors = recording = RecordingVectors(answerer.ctx.vectors)
        ans = answerer.ask(question)
        runs[pruned] = (
            recording.asked,
            [(u.unit, u.citation_ids) for u in ans.units or []],
            [u.unit for u in ans.related],
        )
    pruned, every = runs[True][0], runs[False][0]
    topic = understand(question, (), list(sample_retriever.catalogue().values()), None).topic
    coverage = Coverage(set(tokenize(topic)), sample_retriever.lexical().idf)
    assert pruned and set(pruned) <= set(every)
    assert sum(coverage(s) == 0 for s in pruned) <= sum(coverage(s) == 0 for s in every)
    assert runs[True][1:] == runs[False][1:]  # same units, same evidence, same near misses
