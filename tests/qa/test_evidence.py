"""Sentence evidence of the corpus-wide aggregate pass (qa.evidence): the shortcuts must not change a verdict."""

from __future__ import annotations

from dataclasses import replace

import pytest

from ingest.chunking import sentence_spans
from qa.answer import Answerer
from qa.evidence import Coverage
from qa.lexical import tokenize
from qa.retrieve import Retriever
from qa.understand import understand
from tests.conftest import SAMPLES
from tests.support.recording import RecordingVectors

TOPICS = ("政府采购", "招商引资", "PPP项目", "引进500强企业", "抱怨身边缺少懂行的人", "预算编制不够细化")


def test_coverage_without_jieba_for_sentences_lacking_every_topic_token(sample_retriever: Retriever) -> None:
    texts = [p.read_text(encoding="utf-8") for p in sorted(SAMPLES.glob("*.txt"))]
    sentences = [t[s:e] for t in texts for s, e in sentence_spans(t)]
    idf = sample_retriever.lexical().idf
    zero = 0
    for topic in TOPICS:
        coverage = Coverage(set(tokenize(topic)), idf)
        for s in sentences:
            fast = coverage(s)
            assert fast == coverage.of_tokens(set(tokenize(s))), (topic, s)
            zero += fast == 0
    assert 0 < zero < len(TOPICS) * len(sentences)  # both branches ran


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
