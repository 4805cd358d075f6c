"""Sentence evidence (qa.evidence): the coverage shortcut must give what tokenising the sentence gives."""

from __future__ import annotations

from ingest.chunking import sentence_spans
from qa.evidence import Coverage
from qa.lexical import tokenize
from qa.retrieve import Retriever
from tests.conftest import SAMPLES

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
