"""Sentence-level evidence: which sentences of the retrieved chunks actually say what was asked.

A sentence's score mixes meaning and wording: cosine similarity of its embedding to the topic (carries
paraphrases such as 预算做得比较粗 → 预算编制不够细化) plus a weighted share of the topic's jieba tokens it
contains (separates 预算编制不够细化 from the near miss 绩效目标不够细化, which dense similarity alone
rates close). Weights and thresholds live in `EvidenceParams` and are tuned on the dev eval set.

Lookups score the sentences of a few chunks (`score_sentences`). An aggregate scores those of thousands of chunks
(`score_candidates`): column by column, from sentences prepared before the question (qa.sentences). Both take the
topic (`Topic`: text and embedding) and what scoring reads besides it (`Scoring`: parameters, BM25's idf, the
sentence-vector cache).
"""

from __future__ import annotations

import re
import threading
from abc import abstractmethod
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import TypeVar, overload

import numpy as np

from ingest.schema import ChunkRow, DocRecord, index_of
from ingest.text import record_label
from qa.embeddings import Embedder
from qa.lexical import LexicalIndex, tokenize
from qa.retrieve import Hit
from qa.sentences import ChunkSource, SentenceBatch, SentenceStore, chunk_sentences, prepare, ranges, release

# A topic that states a shortcoming is about problems; one that proposes something, about measures. Everyday
# wordings count too: 预算做得太粗, 钱花得太慢, 买东西没走采购程序, 年中老是追加预算, 评完就放一边.
_PROBLEM_CUE = re.compile(
    r"不|未|没|缺|无法|难以|有待|偏差|滞后|薄弱|问题|困难|短板|粗|差|低|慢|弱|乱|虚|混|多了|超|太|老是|频繁|笼统|走过场|形式|放一边|规避|"
    # Described problems: 偏高, 过多, 仓促, 闲置, 沉淀, 靠经验, 年底才…, 变动大 / 次数多 / 费用高 (a topic ending in an amount word).
    r"偏[高低多少大小紧]|过[高低多少大小快]|仓促|草率|随意|脱节|闲置|浪费|挪用|挤占|截留|拖延|拖欠|[靠凭]经验|吃喝|铺张|"
    r"改来改去|变来变去|沉淀|积压|(?<![人英天奇])才(?![能干艺华])|(?<![重扩强做壮庞广远伟博盛])[多大]$|(?:费用|成本|支出|开支|费|价格|比例|占比|负债|风险)(?:较|偏|过|太|很|特别|非常|明显)?高$|"
    # …and in the words reports and users describe them with (人员流失, 建好后一直闲着, 束之高阁, 照抄去年, 一年调了好几次,
    # 拆成几次零买, 先买后补手续, 记在一本账上, 高得离谱, 懂业务的人少); 少 only ending the topic, as 多 and 大 above.
    r"流失|断档|断层|空缺|空着|闲着|空置|搁置|吃灰|束之高阁|照抄|照搬|套用|拼凑|敷衍|走了?过场|一次次|屡次|一再|好几[回遍]|反复|来回|"
    r"多次.{0,8}(?:调|追|改|变|修|补)|拆分|拆成|绕开|绕过|避开|后补|补办|离谱|严重|紧张|紧缺|吃紧|短缺|匮乏|隐患|漏洞|失控|失衡|失真|违规|"
    r"违反|模糊|空泛|空话|空洞|含糊|重复|分散|零散|挂账|迟迟|停滞|烂尾|返工|突击|一大截|多出|撑着|只(?:找|靠|凭|听|有一)|后继无人|走光|打包|锁在|锁着|定性|落后|落在.{0,8}后|手紧|断了?档|抄(?!送)|三番五次|"
    r"集中(?:付|支付|花|拨付)|兼着|寥寥|[十几]+次|(?:费|支出|开支|经费|成本)[^，,]{0,6}涨|"
    r"在一起|并进|并入|一本账|一个(?:户头|账户|账)|(?<![减缺多])少(?=$|[、，,])|走个过场|填表应付|应付(?:了事|差事|检查|式)|毛病|照样|好几[轮次]|一大堆|(?:很|十分|比较|非常|相当|极其)有限|兼职|半路出家|躲开|化整为零|两张皮|一会儿.{1,6}一会儿|([\u4e00-\u9fa5]{2})归\1"
)
_MEASURE_CUE = re.compile(r"建议|措施|改进|整改|下一步|加强|提高|完善|规范|强化|细化|优化|提出")
# Words a topic shares with almost any report sentence: they do not make a sentence about the topic.
_GENERIC = frozenset(
    "工作 问题 情况 方面 事项 内容 有关 相关 开展 进行 存在 发现 提到 提出 单位 部门 报告 影响 完成 做 做好 较 比较 太 多 少 "
    "不 没 没有 未 到位 不到位 不够 不足 不高 不强 不严 有待 加强 提高 目标 具体 一共 总共 合计 那个 这个 哪个 万元 亿元 元".split()
)
T = TypeVar("T", float, np.ndarray)


@dataclass(frozen=True)
class EvidenceParams:
    """Chosen on eval_sets/dev.jsonl by scripts/tune.py (grid in docs/evaluation.md)."""

    # Weight of token coverage next to cosine similarity. Aggregates need wording to separate near misses
    # (绩效目标不够细化 vs 预算编制不够细化); lookups need meaning more (the question is not the answer).
    aggregate_lexical_weight: float = 0.3
    lookup_lexical_weight: float = 0.3
    aggregate_threshold: float = 0.8  # absolute floor for a unit to count in an aggregate answer
    related_threshold: float = 0.75  # below the floor but above this: shown as related, never counted
    lookup_threshold: float = 0.7  # below this a lookup is declined as unanswerable
    # A question asking for a number is answered by the best sentence holding one of the asked kind, within this of
    # the best sentence; none there: declined.
    number_window: float = 0.1
    number_subject_gap: float = 0.3
    # A table's record line whose row label the question names ("…绩效工资是多少" → "… · 30107 绩效工资 · 决算数 …"):
    # the row is the answer, not a sentence that lists 绩效工资 among ten items (tuned on eval_sets/tables_dev.jsonl).
    record_label_bonus: float = 0.1
    # Aggregate recall: each document's best chunks by BM25 and by dense similarity (Retriever.candidate_chunks);
    # one loses recall, more gain nothing on dev (docs/evaluation.md).
    aggregate_chunks_per_doc: int = 2
    # The corpus-wide aggregate pass embeds a sentence sharing no token with the topic only if its chunk is among
    # this many nearest the topic by meaning (缺乏懂法律的、懂财经的…专业人才 for 身边缺少懂行的人: nearest chunk);
    # elsewhere such sentences were never evidence, only near misses, and embedding them was most of the question's
    # time (docs/evaluation.md, docs/benchmarks.md).
    aggregate_meaning_chunks: int = 5
    # A sentence counts for a topic of no concept only when it repeats this share of the topic's key words
    # (`KeyTerms`): 碳呼气试验 shares a character with 碳达峰碳中和, 达标排放 a word, neither says it.
    key_coverage: float = 0.5


@dataclass(frozen=True)
class Topic:
    """What is asked about: the topic or question text and its embedding (by the query model), computed once.
    `key_floor`: the share of the topic's key words (`KeyTerms`) a sentence must repeat to be evidence at all
    (aggregate passes; 0 admits every sentence)."""

    text: str
    vector: np.ndarray
    key_floor: float = 0.0


@dataclass(frozen=True)
class Scoring:
    """What scoring sentences reads besides the topic: the parameters, BM25's idf (the current lexical index) and
    the cache of sentence embeddings."""

    params: EvidenceParams
    lexical: LexicalIndex
    vectors: SentenceVectors


@dataclass(frozen=True)
class CandidateSource:
    """Where an aggregate's candidate chunks come from: the committed documents (a citation's document fields),
    the prepared sentences, and the store for chunks not prepared yet."""

    records: Mapping[str, DocRecord]
    prepared: SentenceStore
    fetch: Callable[[list[str]], list[ChunkRow]]


@dataclass(frozen=True)
class Sentence:
    hit: Hit  # the chunk it comes from (for metadata)
    text: str
    char_start: int
    char_end: int
    score: float
    # The parts of the score, kept so thresholds can be tuned without re-embedding (scripts/tune.py).
    similarity: float = 0.0
    coverage: float = 0.0
    in_role: bool = False  # from the section role the topic implies (reported; it does not change the score)

    @property
    def doc_id(self) -> str:
        return self.hit.doc.doc_id


class Counted(Sequence[Sentence]):
    """An aggregate's counted sentences, one per document, best first. An answer lists one page of units
    (qa.answering.result.Page), so it asks for every sentence's unit (`units`, cheap) and builds only the
    sentences its page cites (`take`): at 1M chunks a findings topic counts ~9,000 documents. A subclass gives
    `__len__`, `units` and `take`."""

    @abstractmethod
    def take(self, positions: Sequence[int]) -> list[Sentence]:
        """The sentences at `positions`, in that order."""

    @abstractmethod
    def units(self) -> list[str]:
        """The unit each sentence is listed under (DocFields.display_unit), in order."""

    @overload
    def __getitem__(self, i: int) -> Sentence: ...
    @overload
    def __getitem__(self, i: slice) -> list[Sentence]: ...
    def __getitem__(self, i: int | slice) -> Sentence | list[Sentence]:
        if isinstance(i, slice):
            return self.take(range(len(self))[i])
        return self.take([range(len(self))[i]])[0]


class SentenceList(Counted):
    """Counted sentences already built (the corpus-wide pass makes them as it scores)."""

    def __init__(self, sentences: Sequence[Sentence]) -> None:
        self._sentences = list(sentences)

    def __len__(self) -> int:
        return len(self._sentences)

    def units(self) -> list[str]:
        return [s.hit.doc.display_unit for s in self._sentences]

    def take(self, positions: Sequence[int]) -> list[Sentence]:
        return [self._sentences[i] for i in positions]


# A topic asking whether something happened ("项目施工时发生过安全事故") or was done ("完成了工程招投标工作") is not stated
# by a sentence denying it ("全年未发生安全事故", the stock line of a report's safety paragraph; "本年度未产生项目招投标等
# 情况"): the corpus-wide pass matches their words all the same.
_OCCURS = r"发生|出现|存在|发现|有过|产生|开展|完成"
_DENIED = re.compile(rf"(?:未|没有|没|无|不|从未|均未|杜绝)(?:{_OCCURS})")
_ASSERTED = re.compile(_OCCURS)


_DONE = re.compile(r"已经|(?<![而])已(?![知有])")
# "开展了服务对象满意度调查", "制定出台了考核办法": an action's completed aspect says it is done as much as 已 does (a
# plan to do it is no answer); not what merely occurs or exists (发生了, 存在了: `denial_of`), nor what a report
# says (提到了, 反映了, 给出了: "反映了前期工作不足的问题" is stated by "认识不足", which negates 前期工作).
_DONE_ASPECT = re.compile(
    r"(?!提到|提及|说到|谈到|写到|写明|反映|指出|提出|给出|列出|报告|披露|说明|存在|发生|出现|有)"
    r"[\u4e00-\u9fa5]{1,4}了(?=[\u4e00-\u9fa5“]{2})"
)
# 要 and 应 as modals, not inside 要求 / 主要 / 相应 / 应用.
_PLANNED = re.compile(
    r"争取|力争|将|拟|计划|准备|打算|下一步|下阶段|今后|进一步|(?<![主重必纲概摘])要(?![求素点])|"
    r"(?<![相响对适供反效回])应(?![用急届收付])|需要|需|尽快|逐步"
)
# A topic saying something is done ("已经实行了项目专账核算") is denied by a sentence putting a negation shortly before
# one of its words, in its clause ("项目资金未实行专账核算", "预算编制不够明确和细化", "预算编制工作有待细化");
# "不断完善" and "不仅" are no negations.
_NEGATED = re.compile(r"尚未|还未|仍未|均未|从未|未能|未|没有|没|有待|亟待|不(?!断|仅|但|只|少|同|足)")
_NEGATION_REACH = 5  # characters between the negation and the topic's word ("未按项目进行专账核算")


def done_stripped(topic: str) -> str:
    """The topic without its 已/已经 ("已经开展了绩效自评" → "开展了绩效自评")."""
    return _DONE.sub("", topic)


def says_done(topic: str) -> bool:
    """Whether a topic says something is already done ("已经细化了预算编制"), not that it is not ("已经未实行…").

    >>> says_done("已经细化了预算编制"), says_done("细化预算编制"), says_done("已经未实行专账核算")
    (True, False, False)
    >>> says_done("开展了服务对象满意度调查"), says_done("存在了资金挪用"), says_done("预算做得太粗了")
    (True, False, False)
    """
    done = _DONE.search(topic) or _DONE_ASPECT.match(topic)
    return bool(done) and not (_DENIED.search(topic) or _NEGATED.search(done_stripped(topic)))


def denial_of(topic: str) -> Callable[[str], bool] | None:
    """When the topic asserts an occurrence: whether a sentence denies it of one of the topic's words (within its
    clause). None for any other topic. The topic is tokenised once, not once per sentence judged.

    >>> denied = denial_of("项目施工时发生过安全事故")
    >>> denied("安全生产责任制落实到位，全年未发生安全事故。"), denied("6月施工时发生一起安全事故。")
    (True, False)
    >>> denial_of("完成了工程招投标工作")("本年度未产生项目招投标等情况。")
    True
    >>> denial_of("安全事故"), denial_of("没有发生安全事故"), denial_of("未完成年度目标")
    (None, None, None)
    """
    if not _ASSERTED.search(topic) or _DENIED.search(topic):
        return None
    words = {t for t in tokenize(topic) if len(t) > 1 and not _ASSERTED.fullmatch(t) and t not in _GENERIC}
    return _denied_in_clause(_DENIED, words, after=True)


def _denied_in_clause(denial: re.Pattern[str], words: AbstractSet[str], *, after: bool) -> Callable[[str], bool]:
    """Whether a sentence holds a denial whose clause (to the next comma or stop) holds one of the words: after the
    denial (`after`), or from its start when the denial's match takes in the denied word itself."""

    def denied(sentence: str) -> bool:
        for m in denial.finditer(sentence):
            clause = re.split(r"[，,。；;！!？?]", sentence[m.end() if after else m.start() :], maxsplit=1)[0]
            if any(w in clause for w in words):
                return True
        return False

    return denied


# "哪些单位明确表示不存在挤占、挪用资金的情况？", "…全年未发生安全事故？": a topic denying a fault asks for the reports
# that deny it (an auditor asking who states compliance), which no problems section holds; not a problem stated with a
# negation ("资金没有及时拨付", "未实行专账核算": what is negated there is no fault).
# Faults by kind: a report denying one of a kind denies what the question asks in another word of it ("钱没有被挪作
# 他用" is denied by "不存在截留、挤占、挪用…").
_FAULT_KINDS = (
    ("挤占", "挪用", "挪作", "套取", "套走", "截留", "虚列", "冒领", "骗取", "侵占", "贪污", "占用"),
    ("违规", "违纪", "违法", "违反"),
    ("事故",),
    ("浪费", "超支", "超标", "损失", "闲置"),
    ("差错", "失误"),
    ("投诉", "处罚"),
)
_FAULT = "|".join(w for kind in _FAULT_KINDS for w in kind)
# 问题 is a fault only right after the denial ("未发现问题", "不存在明显问题"): "未按期完成项目的问题" is a problem.
_DENIED_FAULT = (
    rf"(?:不存在|没有|没|无|未|杜绝了?)(?:发生|出现|存在|发现|有过?)?(?:[^，,。；;！!？?]{{0,12}}?(?:{_FAULT})|"
    r"(?:明显|重大|任何|其他)?问题)"
)
# At a clause's start ("全年未发生安全事故", "专款专用、没有挪用"), or after its subject when the fault follows the denial
# at once ("资金不存在违规使用", "资金没有被挤占挪用"; not "项目未按期完成造成损失", a problem).
_DENIAL_TOPIC = re.compile(
    rf"(?:^|[、，,；;])(?:全年|本年度?|今年|当年|均|都|从|从来|一直)?{_DENIED_FAULT}|"
    rf"^[^，,。；;]{{1,8}}?(?:不存在|没有|没|未|无)(?:发生|出现|存在|发现|被)?(?:任何|明显|重大)?(?:{_FAULT})"
)
_FAULT_DENIED = re.compile(_DENIED_FAULT)


def denied_faults(topic: str) -> list[str] | None:
    """When the topic denies a fault ("不存在挤占、挪用资金的情况", "资金没有被挤占挪用"): the faults it denies. None for
    any other topic, also a problem stated with a negation ("资金没有及时拨付").

    >>> denied_faults("不存在挤占、挪用、套取资金的情况"), denied_faults("资金没有被挤占挪用")
    (['挤占', '挪用', '套取'], ['挤占', '挪用'])
    >>> denied_faults("全年未发生安全事故"), denied_faults("资金没有及时拨付"), denied_faults("挤占挪用资金")
    (['事故'], None, None)
    >>> denied_faults("资金不存在违规使用"), denied_faults("专款专用、没有挪用"), denied_faults("项目未按期完成造成损失")
    (['违规'], ['挪用'], None)
    """
    m = _DENIAL_TOPIC.search(topic)
    if not m:
        return None
    faults = re.findall(rf"{_FAULT}|问题", topic[m.start() :])
    return list(dict.fromkeys(faults)) or None


def fault_words(faults: Sequence[str]) -> list[str]:
    """The faults with every word of their kinds (`_FAULT_KINDS`), the asked ones first.

    >>> fault_words(["挪作", "问题"])[:4]
    ['挪作', '问题', '挤占', '挪用']
    """
    return list(dict.fromkeys([*faults, *(w for kind in _FAULT_KINDS if set(kind) & set(faults) for w in kind)]))


def denies(faults: Sequence[str]) -> Callable[[str], bool]:
    """Whether a sentence denies one of the faults in a clause ("不存在截留、挤占、挪用等情况", "无挪用、占用、套取的现象
    发生"; the clause runs to the next comma, so the fault listed after 、 is still denied).

    >>> denied = denies(["挤占", "挪用"])
    >>> denied("不存在截留、挤占、挪用、虚列支出等情况。"), denied("无挪用、占用、套取的现象发生。"), denied("存在挤占挪用。")
    (True, True, False)
    >>> denies(["挪作", "套走"])("不存在截留、挤占、挪用等情况。"), denies(["事故"])("不存在挤占挪用。")
    (True, False)
    """
    return _denied_in_clause(_FAULT_DENIED, set(fault_words(faults)), after=False)


def _done_words(topic: str) -> set[str] | None:
    """The words of what a topic says is done, None when it says nothing is (`says_done`)."""
    if not says_done(topic):
        return None
    return {t for t in tokenize(done_stripped(topic)) if len(t) > 1 and t not in _GENERIC}


def undone_of(topic: str) -> Callable[[str], bool] | None:
    """When the topic says something is done (已/已经): whether a sentence puts a negation right before one of its
    words. None for any other topic.

    >>> undone = undone_of("已经实行了项目专账核算")
    >>> undone("2、项目资金未实行专账核算。"), undone("由于未按项目进行专账核算。"), undone("按要求实行项目专账核算。")
    (True, True, False)
    >>> undone("不断完善专账核算办法。"), undone_of("已经细化了预算编制")("预算编制不够明确和细化。")
    (False, True)
    >>> undone_of("实行项目专账核算"), undone_of("已经未实行专账核算")
    (None, None)
    """
    words = _done_words(topic)
    if words is None:
        return None

    def negated(sentence: str) -> bool:
        for m in _NEGATED.finditer(sentence):
            reach = re.split(r"[，,。；;！!？?、]", sentence[m.end() : m.end() + _NEGATION_REACH + 4], maxsplit=1)[0]
            if any(0 <= reach.find(w) <= _NEGATION_REACH for w in words):
                return True
        return False

    return negated


def plan_of(topic: str) -> Callable[[str], bool] | None:
    """When the topic says something is already done: whether a sentence only plans it (a plan word before one of
    the topic's words, and no 已 between the sentence's start and that word; a plan's clauses share its modal:
    "财务应尽量利用…，实行项目专账核算"). None for any other topic.

    >>> planned = plan_of("已经采用了社会监理")
    >>> planned("四是加强对项目的监理，争取一定金额以上的项目均采用社会监理服务。"), planned("项目均已采用社会监理服务。")
    (True, False)
    >>> account = plan_of("已经实行了项目专账核算")
    >>> account("为提高核算准确性，财务应尽量利用软件功能，实行项目专账核算。"), account("按要求实行项目专账核算。")
    (True, False)
    >>> plan_of("采用社会监理"), plan_of("尚未采用社会监理")
    (None, None)
    """
    words = _done_words(topic)
    if words is None:
        return None

    def planned(sentence: str) -> bool:
        for w in words:
            for m in re.finditer(re.escape(w), sentence):
                before = sentence[: m.start()]
                if _PLANNED.search(before) and not _DONE.search(before):
                    return True
        return False

    return planned


def topic_role(topic: str) -> str | None:
    """The section role a topic belongs to: 不够细化 is a problem, 加强监管 a measure. Words in quotes are what a report
    wrote, not what the topic does ("考核口径全是“明显提升”“进一步加强”这种说法" is a problem, not a measure)."""
    unquoted = re.sub(r"“[^”]*”|\"[^\"]*\"", "", topic)
    if _MEASURE_CUE.search(unquoted) and not _PROBLEM_CUE.search(topic):
        return "measures"
    if _PROBLEM_CUE.search(topic):
        return "problems"
    return None


class Coverage:
    """Share of the topic's information a sentence repeats: matched tokens weighted by idf, so a generic word
    (程序, 工作) counts for little and a specific one (专账核算, 细化) for much. The topic's weights are looked
    up once; a sentence comes as text or as its token set (findings keep theirs, tokenised once per process)."""

    def __init__(self, topic_tokens: set[str], idf: Callable[[str], float]) -> None:
        self._weights = {t: idf(t) for t in sorted(topic_tokens)}  # sorted: one summation order, so one float
        self._total = sum(self._weights.values())

    def of_tokens(self, tokens: AbstractSet[str]) -> float:
        if self._total <= 0:
            return 0.0
        return sum(w for t, w in self._weights.items() if t in tokens) / self._total

    def __call__(self, sentence: str) -> float:
        # A token is a substring of its text, so a sentence containing none of the topic's tokens as text has
        # coverage 0 without running jieba (most sentences of an aggregate's candidate chunks: 2 s at 100k).
        low = sentence.lower()
        if not any(t in low for t in self._weights):
            return 0.0
        return self.of_tokens(set(tokenize(sentence)))

    def of_postings(self, postings: Mapping[str, np.ndarray], n_rows: int) -> np.ndarray:
        """The coverage of every row at once, from the rows each token occurs in (row token sets, inverted)."""
        cov = np.zeros(n_rows, dtype=np.float64)
        if self._total <= 0:
            return cov
        for t, w in self._weights.items():
            if t in postings:
                cov[postings[t]] += w
        return cov / self._total

    def of_batch(self, batch: SentenceBatch, rows: np.ndarray) -> np.ndarray:
        """The coverage of some sentence rows of a prepared batch, from their stored token ids (no jieba). Same
        sums in the same order as `of_tokens`, so the same floats."""
        cov = np.zeros(len(rows), dtype=np.float64)
        present = batch.token_ids(self._weights)
        if self._total <= 0 or not present or not len(rows):
            return cov
        owner = np.repeat(np.arange(len(rows)), batch.tok_ptr[rows + 1] - batch.tok_ptr[rows])
        flat = batch.tok_flat[ranges(batch.tok_ptr, rows)]
        for t, w in self._weights.items():
            if t in present:
                has = np.zeros(len(rows), dtype=bool)
                has[owner[flat == present[t]]] = True
                cov[has] += w
        return cov / self._total


_YEAR_NUMBER = re.compile(r"(?:19|20)\d{2}")


class KeyTerms(Coverage):
    """Coverage of a topic's key words only: its tokens without the generic ones (`_GENERIC`), years (filters read
    them) and single characters (碳 of 碳达峰, 年, 钱: a character says little on its own).

    >>> KeyTerms.key_words(set(tokenize("碳达峰碳中和工作")))
    ['碳达峰']
    >>> KeyTerms.key_words(set(tokenize("2021年500强")))
    ['500']
    """

    def __init__(self, topic_tokens: set[str], idf: Callable[[str], float]) -> None:
        self.words = tuple(self.key_words(topic_tokens))
        super().__init__(set(self.words), idf)

    @staticmethod
    def key_words(tokens: AbstractSet[str]) -> list[str]:
        # A number is key unless it is a year (filters read those): "500强" is 500 and 强, and 500 is what says it.
        return sorted(t for t in tokens if t not in _GENERIC and len(t) > 1 and not _YEAR_NUMBER.fullmatch(t))

    @classmethod
    def of_topic(cls, text: str, idf: Callable[[str], float]) -> KeyTerms:
        return cls(set(tokenize(text)), idf)


_SLICE = 256


class SentenceVectors:
    """In-process cache of sentence embeddings: aggregate questions revisit the same sentences."""

    def __init__(self, embedder: Embedder, capacity: int = 50_000) -> None:
        self._embedder = embedder
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._capacity = capacity
        self._lock = threading.Lock()

    def get(self, texts: Sequence[str], workers: int = 1) -> np.ndarray:
        """`workers`: encoder threads for a bulk job (`Embedder.encode_queries`)."""
        with self._lock:
            found = {t: self._cache[t] for t in texts if t in self._cache}
        missing = list(dict.fromkeys(t for t in texts if t not in found))
        if missing:
            # In slices: a search arriving during a large aggregate waits for one slice of the shared query model,
            # not for thousands of sentences.
            vectors = np.concatenate(
                [
                    self._embedder.encode_queries(missing[i : i + _SLICE], workers)
                    for i in range(0, len(missing), _SLICE)
                ]
            )
            found.update(zip(missing, vectors))
            with self._lock:
                self._cache.update(zip(missing, vectors))
                while len(self._cache) > self._capacity:  # oldest first out; a plain FIFO is enough here
                    self._cache.popitem(last=False)
        return np.stack([found[t] for t in texts])


def split_hits(hits: Iterable[Hit]) -> list[tuple[Hit, int, int, str]]:
    """(hit, start, end, text) for each distinct sentence of the hits that can be evidence, in document offsets."""
    seen: set[tuple[str, int]] = set()
    out: list[tuple[Hit, int, int, str]] = []
    for hit in hits:
        for s, e in chunk_sentences(hit.text, hit.section):
            key = (hit.doc.doc_id, hit.char_start + s)
            if key not in seen:
                seen.add(key)
                out.append((hit, hit.char_start + s, hit.char_start + e, hit.text[s:e]))
    return out


def score_sentences(
    scoring: Scoring, topic: Topic, hits: Iterable[Hit], *, lexical_weight: float, ignore_tokens: Iterable[str] = ()
) -> list[Sentence]:
    """Every sentence of the hits with its evidence score, best first (lookups and per-unit answers: a few chunks;
    an aggregate's thousands go through `score_candidates`). `ignore_tokens`: topic words that are no evidence."""
    parts = split_hits(hits)
    coverage = Coverage(set(tokenize(topic.text)) - set(ignore_tokens), scoring.lexical.idf)
    by_text = {text: coverage(text) for text in {p[3] for p in parts}}  # boilerplate sentences recur across reports
    covs = [by_text[p[3]] for p in parts]
    if not parts:
        return []
    sims = similarities(scoring.vectors.get([p[3] for p in parts]), topic.vector)
    scored: list[Sentence] = []
    for (hit, start, end, text), sim, cov in zip(parts, sims, covs):
        score = combine(float(sim), cov, lexical_weight)
        label = record_label(text)
        if len(label) >= 2 and label in topic.text:
            score += scoring.params.record_label_bonus
        scored.append(Sentence(hit, text, start, end, round(score, 4), float(sim), cov, False))
    return sorted(scored, key=lambda s: (-s.score, s.doc_id, s.char_start))


def similarities(vectors: np.ndarray, topic_vec: np.ndarray) -> np.ndarray:
    """Cosines in float64: float32 products summed in blocks that depend on how many rows there are would make a
    sentence's score depend on which other sentences were scored with it (last digits, enough to flip a tie)."""
    return vectors.astype(np.float64) @ topic_vec.astype(np.float64)


def round4(values: np.ndarray) -> np.ndarray:
    """Python's `round(x, 4)` of each value, as float64, without a Python call per value (~0.1 s per 100,000).

    np.round scales first (rint(x * 1e4) / 1e4): the quotient of an integer by 1e4 is the double nearest the
    decimal, as Python's is, so the two differ only when the rounded product x * 1e4 falls on the other side of a
    half than x * 1e4 exactly does. That needs the product within an ulp of a half; those few values take
    Python's round."""
    x = np.asarray(values, dtype=np.float64)
    scaled = x * 1e4
    out = np.rint(scaled) / 1e4
    with np.errstate(invalid="ignore"):  # inf - inf: those take Python's round too
        near_half = np.abs(scaled - np.floor(scaled) - 0.5) < 1e-6
    for i in np.flatnonzero(near_half | ~np.isfinite(x)).tolist():
        out[i] = round(float(x[i]), 4)
    return out


def combine(similarity: T, cov: T, lexical_weight: float) -> T:
    """A sentence's evidence score: meaning plus weighted wording (floats, or numpy arrays of them)."""
    return similarity + lexical_weight * cov


@dataclass(frozen=True)
class Candidates:
    """The chunks an aggregate considers, as columns: ids, entry keys (`qa.sentences.entry_key`, int64), cosine
    to the topic (0 when only BM25 found it), and each one's document as a code: `doc_names[code]` is its id and
    `doc_units[code]` the unit it is listed under (None: not a committed document). At 1M chunks a broad topic has
    ~100,000 candidates of ~50,000 documents: per-id Python work on them cost ~0.5 s an answer."""

    ids: list[str]
    keys: np.ndarray
    similarity: np.ndarray
    doc_code: np.ndarray
    doc_names: Sequence[str]
    doc_units: np.ndarray  # object: str | None per code

    def __len__(self) -> int:
        return len(self.ids)


class ScoredSentences(Counted):
    """Sentences the corpus-wide pass scored, best first, kept as columns: a `Sentence` (with its chunk as a `Hit`,
    text cut from the prepared segment) is built only when taken. An answer lists one page of units, so a broad
    topic at 1M chunks (~11,000 counted documents) builds ~50, not all (docs/benchmarks.md)."""

    def __init__(self, pass_: _ScoredColumns, positions: np.ndarray) -> None:
        self._c = pass_
        self._positions = positions

    def __len__(self) -> int:
        return len(self._positions)

    @property
    def scores(self) -> np.ndarray:
        """Each sentence's score (float64, in order)."""
        out: np.ndarray = self._c.scores[self._positions]
        return out

    def units(self) -> list[str]:
        c = self._c
        units: list[str] = c.candidates.doc_units[c.doc_code[self._positions]].tolist()
        return units

    def section_role(self, i: int) -> str:
        """The section role of the sentence at position `i` ("problems", "measures", …; "" for none)."""
        c, p = self._c, int(self._positions[i])
        batch = c.batches[int(c.bnum[p])]
        role: str = batch.labels[batch.role[int(c.ent[p])]]
        return role

    def documents(self) -> np.ndarray:
        """Each sentence's document as a code (`Candidates.doc_names`), in order."""
        out: np.ndarray = self._c.doc_code[self._positions]
        return out

    def subset(self, positions: Sequence[int] | np.ndarray) -> ScoredSentences:
        """These positions (of this sequence), in that order."""
        return ScoredSentences(self._c, self._positions[np.asarray(positions, dtype=np.int64)])

    def text(self, i: int) -> str:
        """The text of the sentence at position `i`, without building it."""
        c, p = self._c, int(self._positions[i])
        text: str = c.batches[int(c.bnum[p])].sentence(int(c.row[p]), int(c.ent[p]))
        return text

    def __iter__(self) -> Iterator[Sentence]:
        return iter(self.take(range(len(self))))

    def take(self, positions: Sequence[int]) -> list[Sentence]:
        out = [self._c.sentence(int(self._positions[i])) for i in positions]
        # The texts are copied out: their pages leave this process (qa.sentences.release).
        release(*(self._c.batches[b].blob for b in {int(self._c.bnum[self._positions[i]]) for i in positions}))
        return out


@dataclass
class _ScoredColumns:
    """What `ScoredSentences` reads: one entry per scored sentence (its candidate, batch, row and entry), the
    scores, and what building a Sentence needs."""

    candidates: Candidates
    records: Mapping[str, DocRecord]
    batches: list[SentenceBatch]
    role: str | None
    cand: np.ndarray
    bnum: np.ndarray
    row: np.ndarray
    ent: np.ndarray
    scores: np.ndarray
    sims: np.ndarray
    covs: np.ndarray
    doc_code: np.ndarray  # per sentence
    hits: dict[int, Hit]

    def sentence(self, p: int) -> Sentence:
        b, e, r, k = int(self.bnum[p]), int(self.ent[p]), int(self.row[p]), int(self.cand[p])
        batch = self.batches[b]
        section_role = batch.labels[batch.role[e]]
        hit = self.hits.get(k)
        if hit is None:
            doc_id = self.candidates.doc_names[self.doc_code[p]]
            hit = self.hits[k] = _hit(self.candidates, k, self.records[doc_id], batch, e, section_role)
        s, end = int(batch.start[r]), int(batch.end[r])
        return Sentence(
            hit,
            hit.text[s:end],
            hit.char_start + s,
            hit.char_start + end,
            float(self.scores[p]),
            float(self.sims[p]),
            float(self.covs[p]),
            bool(self.role) and section_role == self.role,
        )


def score_candidates(
    scoring: Scoring,
    topic: Topic,
    candidates: Candidates,
    source: CandidateSource,
    *,
    meaning_chunks: int,
    best_per_document: bool = False,
) -> ScoredSentences:
    """`score_sentences` for an aggregate's candidate chunks (same sentences, same scores, same order), column by
    column from the prepared entries (qa.sentences); only chunks without one are read (`source.fetch`), split,
    tokenised and embedded now. A sentence sharing no token with the topic counts only from the `meaning_chunks`
    candidates nearest the topic by meaning. With `best_per_document`, each document's best sentence only (all `select_units` reads)."""
    records = source.records
    coverage = Coverage(set(tokenize(topic.text)), scoring.lexical.idf)
    key_terms = KeyTerms.of_topic(topic.text, scoring.lexical.idf) if topic.key_floor > 0 else None
    seg, entry, segments = source.prepared.find(candidates.keys)
    batches: list[SentenceBatch] = []
    groups: list[tuple[np.ndarray, np.ndarray]] = []  # per batch: its entries, and the candidate of each
    missing = np.flatnonzero(seg < 0)
    if len(missing):
        ids = candidates.ids
        rows = {r.id: r for r in source.fetch([ids[i] for i in missing.tolist()])}
        present = np.array([i for i in missing.tolist() if ids[i] in rows], dtype=np.int64)
        batches.append(prepare(ChunkSource.of_row(rows[ids[i]], int(candidates.keys[i])) for i in present.tolist()))
        groups.append((np.arange(len(present)), present))
    for number in np.unique(seg[seg >= 0]).tolist():
        idx = np.flatnonzero(seg == number)
        batches.append(segments[number])
        groups.append((entry[idx], idx))

    near = np.zeros(len(candidates), dtype=bool)
    near[np.argsort(-candidates.similarity, kind="stable")[:meaning_chunks]] = True
    cols: dict[str, list[np.ndarray]] = {
        "cand": [],
        "batch": [],
        "row": [],
        "entry": [],
        "sim": [],
        "cov": [],
        "start": [],
        "at": [],
    }
    for b, (batch, (entries, owners)) in enumerate(zip(batches, groups)):
        counts = batch.ptr[entries + 1] - batch.ptr[entries]
        srows = ranges(batch.ptr, entries)
        owner, ent = np.repeat(owners, counts), np.repeat(entries, counts)
        cov = coverage.of_batch(batch, srows)
        keep = (cov > 0) | near[owner]
        if key_terms is not None:
            keep &= key_terms.of_batch(batch, srows) >= topic.key_floor
        srows, owner, ent, cov = srows[keep], owner[keep], ent[keep], cov[keep]
        if not len(srows):
            continue
        if batch.vectors is not None:
            vecs = np.asarray(batch.vectors[srows], dtype=np.float32)
            release(batch.vectors)
        else:
            vecs = scoring.vectors.get([batch.sentence(r, e) for r, e in zip(srows.tolist(), ent.tolist())])
        start = batch.start[srows].astype(np.int64)
        for name, values in (
            ("cand", owner),
            ("batch", np.full(len(srows), b)),
            ("row", srows),
            ("entry", ent),
            ("sim", similarities(vecs, topic.vector)),
            ("cov", cov),
            ("start", start),
            ("at", batch.char_start[ent].astype(np.int64) + start),  # in its document
        ):
            cols[name].append(values)
    empty = np.zeros(0, dtype=np.int64)
    col = {k: (np.concatenate(v) if v else empty) for k, v in cols.items()}
    cand = col["cand"]
    sims, covs = col["sim"].astype(np.float64), col["cov"].astype(np.float64)
    weight = scoring.params.aggregate_lexical_weight
    # Python's round (round4), one float per score as lookups get.
    scores = round4(combine(sims, covs, weight))
    # The order of score_sentences: best first, then by document and position (chunk ids sort by both).
    present_cands = np.unique(cand)
    id_rank = np.zeros(len(candidates), dtype=np.int64)
    id_rank[present_cands] = np.argsort(np.argsort(np.array([candidates.ids[i] for i in present_cands.tolist()])))
    order = np.lexsort((col["start"], id_rank[cand], -scores)) if len(cand) else empty
    doc_code = candidates.doc_code[cand] if len(cand) else empty
    # A document deleted meanwhile has no record: its sentences go.
    live = candidates.doc_units[doc_code[order]] != None  # noqa: E711 (elementwise)
    order = order[live] if len(order) else order
    if best_per_document:
        _, first = np.unique(doc_code[order], return_index=True)
    else:  # a sentence repeated by overlapping chunks of one document counts once
        _, first = np.unique((doc_code[order] << 34) + col["at"][order], return_index=True)
    order = order[np.sort(first)]
    columns = _ScoredColumns(
        candidates,
        records,
        batches,
        topic_role(topic.text),
        cand,
        col["batch"],
        col["row"],
        col["entry"],
        scores,
        sims,
        covs,
        doc_code,
        {},
    )
    return ScoredSentences(columns, order)


def _hit(candidates: Candidates, k: int, record: DocRecord, batch: SentenceBatch, entry: int, section_role: str) -> Hit:
    """Candidate `k` as a Hit, from its prepared entry and its document's record (what Hit.from_row reads from the
    stored chunk's metadata: the chunk carries its document's fields)."""
    chunk_id = candidates.ids[k]
    return Hit(
        id=chunk_id,
        doc=record.doc,
        section=batch.labels[batch.section[entry]],
        section_role=section_role,
        text=batch.text(entry),
        char_start=int(batch.char_start[entry]),
        char_end=int(batch.char_end[entry]),
        chunk_index=index_of(chunk_id),
        score=float(candidates.similarity[k]),
    )
