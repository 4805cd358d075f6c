"""Lookup answers: the sentence(s) of the retrieved passages that answer the question, cited; declined when none
is strong enough. With an LLM configured, its answer is used when every kept sentence checks out (qa.llm)."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace

from qa.answering.context import AnswerContext
from qa.answering.result import Answer, Citation, decline
from qa.evidence import EvidenceParams, KeyTerms, Sentence, score_sentences
from qa.lexical import LexicalIndex, nouns, tokenize, verb_before
from qa.llm import Passage
from qa.retrieve import Hit
from qa.understand import Understood

log = logging.getLogger("qa.answer")
_ROLE_WORDS = (
    ("measures", re.compile(r"措施|建议|改进|整改|下一步")),
    ("problems", re.compile(r"问题|不足|困难|短板")),
)
# What a question asking for a number asks for, and what its answer must then contain: an amount of money, a score,
# a share, a count, or any number (or a person, who must at least be named by the asked role). A sentence about the
# asked thing without it ("“三公”经费支出低于年初预算" for "…“三公”经费支出了多少万元？") does not answer.
_NUMBER = r"\d[\d,，.]*"
COUNT_NUMBER = r"(?:\d+|[一二三四五六七八九十两百千]+)"  # a count as reports write it: digits or Chinese numerals
_NUMERAL = COUNT_NUMBER + r"\s*余?\s*(?:个|项)"  # a count in the generic classifiers
_COUNT_OF_ANY = re.compile(_NUMERAL)
_SHARE = re.compile(_NUMBER + r"\s*[%％]|百分")
# A count in a classifier answers with that classifier ("几所学校" → "3所", not the 12次 of another count).
_CLASSIFIED: tuple[tuple[re.Pattern[str], re.Pattern[str]], ...] = tuple(
    (
        re.compile(f"(?:多少|几){asked}"),
        re.compile(COUNT_NUMBER + r"\s*余?\s*(?:" + answered + ")"),
    )
    for asked, answered in (
        ("个?(?:人|名|位)", "人|名|位"),
        ("(?:栋|幢)", "栋|幢"),
        *(
            (c, c)
            for c in (
                "期",
                "家",
                "次",
                "亩",
                "条",
                "件",
                "户",
                "所",
                "座",
                "公里",
                "平方米",
                "辆",
                "台",
                "套",
                "场",
                "批",
                "篇",
                "份",
            )
        ),
    )
)
_CLASSIFIED_COUNTS = frozenset(answer for _, answer in _CLASSIFIED)
_AMOUNT = re.compile(_NUMBER + r"\s*(?:万元|元|亿元|万美元|美元|亿|万)")
# "该项目资金金额17.99万元" states the amount of a project asked as "…项目一共多少钱？" (钱 is one character, so no
# key word); not a line or share of it ("人均经费", "宣传费具体用了多少").
_AMOUNT_WORDS = re.compile(r"资金|金额|经费|总额|总投资")
_PROJECT_MONEY = re.compile(r"项目的?(?:资金|经费|总额|金额)?(?:一共|总共|共|合计)?(?:有|是|为)?多少钱")
_ASKED_NUMBER: tuple[tuple[re.Pattern[str], re.Pattern[str]], ...] = (
    # A rate is a share even when it is a rate of money ("投资回报率是多少" asks for a percentage, not 30亿元).
    (re.compile(r"比例|百分之|(?:率|占比|比重)[^，。？?]{0,3}多少"), _SHARE),
    # A question asking why ("为什么没有年初预算") is answered by a sentence giving a reason, not by one restating the
    # fact ("本年度未产生项目招投标等情况" for "为什么没有开展项目招投标").
    (re.compile(r"为什么|为何|什么原因|原因是什么|咋回事"), re.compile(r"因|由于|原因|导致|所以|为了|主要是|是为")),
    # A rank asked ("排第几", "第几名") is answered by a rank: "排名第一", "第3位"; not "排名前列" nor the amount ranked.
    (
        re.compile(r"排(?:名|在)?第几|第几[名位]|排多少名|名次"),
        re.compile(r"第\s*[一二三四五六七八九十\d]+\s*(?:名|位)?|排(?:名|位|行)\s*[一二三四五六七八九十\d]+"),
    ),
    # Dollars asked are dollars answered ("外商直接投资完成了多少万美元" is not 投资14.83亿元).
    (re.compile(r"美元"), re.compile(_NUMBER + r"\s*(?:万|亿)?美元")),
    (
        re.compile(
            r"多少钱|多少万|多少元|多少亿|多少税|金额|总额|(?:费|资金|支出|预算|收入|投资|补助|拨款|工资|花|安排|拨付|下达)[^，。？?]{0,8}多少"
        ),
        _AMOUNT,
    ),
    (re.compile(r"多少分|几分|得分|分值|打分"), re.compile(_NUMBER + r"\s*分")),
    (re.compile(r"增幅|降幅|增长了多少|下降了多少"), _SHARE),
    # A date: "哪一天" is answered by a day, "哪个月 / 什么时候" at least by a month, not by the year every sentence of
    # the report carries.
    (
        re.compile(r"哪一?天|几月几[日号]|具体日期"),
        re.compile(r"\d{1,2}\s*月\s*\d{1,2}|\d{1,2}\s*日|[一二三四五六七八九十]{1,3}日"),
    ),
    (
        re.compile(r"哪个月|几月份?|什么时[候间]|何时|啥时候?"),
        re.compile(r"\d{1,2}\s*月|[一二三四五六七八九十]{1,3}月|\d{1,2}\s*日"),
    ),
    # A count in 个 / 项 (of the thing named, `_count_of`), or in the classifier it was asked in (`_CLASSIFIED`).
    (re.compile(r"(?:多少|几)(?:个|项)(?!人)"), _COUNT_OF_ANY),  # "几个人" counts people
    *_CLASSIFIED,
    (re.compile(r"多少|几"), re.compile(r"\d|[一二三四五六七八九十百千万]")),
    # A person: no number, but the sentence must still name the asked role ("主任是谁" → a sentence with 主任).
    (re.compile(r"是谁|哪位|姓名"), re.compile(r".")),
)


# Expense lines of the 商品和服务支出 class: a question asking for one is answered by that line's amount, not by an
# amount it is listed under ("该项目资金金额17.99万元，主要用于…差旅费等支出"): the line's number must follow it.
_OFFICE_LINES = r"办公费|印刷费|邮电费|水电费|物业管理费|维修|租赁费|劳务费|咨询费|手续费|福利费|委托业务费"
_LINE_ITEMS = frozenset({"会议费", "培训费", "差旅费", _OFFICE_LINES})
# Budget line items, report figures and facts a question can name exactly. Reports name them the same way, so a number
# question naming one ("公务接待费是多少？") is answered only by a sentence naming it: without it, the best passage's
# number is another figure's (a title's year, 基本支出 for 会议费). Each entry: what the question says, what the
# answer must then say. Paraphrased questions ("维持机构日常运转花了多少钱") name no item and are not affected.
_ITEMS: tuple[tuple[re.Pattern[str], re.Pattern[str]], ...] = tuple(
    (re.compile(q), re.compile(a))
    for q, a in (
        (r"三公", r"三公"),
        (r"财政拨款", r"财政拨款"),
        (r"一般公共预算", r"一般公共预算"),
        (r"政府性基金", r"政府性基金"),
        (r"基本支出", r"基本支出"),
        (r"人员经费", r"人员经费"),
        (r"公用经费", r"公用经费"),
        (r"接待费|接待", r"接待"),
        (r"会议费", r"会议费"),
        (r"培训费", r"培训费"),
        (r"差旅费", r"差旅费"),
        (r"公务用车|公车|车辆购置|车辆运行", r"公务用车|公车|车辆"),
        (r"出国|出境", r"出国|出境"),
        (
            r"办公费|印刷费|邮电费|水电费|物业管理费|维修(?:\(护\))?费|租赁费|劳务费|咨询费|手续费|福利费|委托业务费",
            _OFFICE_LINES,
        ),
        (r"满意度", r"满意"),
        (r"得分|评分|打分|多少分|几分", r"\d\s*分"),
        (r"平均工资|人均工资", r"平均工资|人均"),
        (r"固定资产|资产总额|资产总计", r"资产"),
        (r"政府采购", r"采购"),
        (r"在职|编制数|编制人数|实有人数|(?:多少|几)个?人|人数", r"人"),
        (r"结转结余|结余", r"结转|结余"),
        (r"执行率", r"执行率|执行进度"),
        (r"主任|局长|书记|负责人|主席|主管", r"主任|局长|书记|负责人|主席|主管"),
        # Where: a place stated ("落户自贸区", "位于…", "入驻中国黄金街"), not that it arrived ("已顺利落地").
        (
            r"地址|(?<![花用投])在哪|位于|哪个(?:园区|地方|区县|乡镇|街道)|(?<![花用投]在)什么地方",
            r"地址|位于|坐落|落户(?!我)|入驻|选址|建在|设在",
        ),
        # What money went on ("这笔钱主要花在哪些地方？"): its uses, not where it is.
        (r"[花用投]在(?:哪|什么地方)|用于哪|用途|用来(?:干|做)", r"用于|用途|用在|花在|支付|购买|购置"),
        (r"电话|联系方式", r"电话|\d{7,}"),
        (r"荣誉|表彰|奖", r"荣誉|表彰|获|奖|评为|先进"),
        (r"等级|评级|等次", r"等级|等次|优秀|良好|合格"),
        (r"单位性质", r"性质|行政单位|事业单位|参公|参照公务员"),
        (r"增值税", r"增值税"),
        (r"所得税", r"所得税"),
        (r"税收|税款|纳税|税金|[交缴]了?(?:多少|几)?(?:亿|万)?(?:元)?(?:的)?税", r"税"),
        # Which company: an answer names one, not only the tender ("工程招投标等工作已全部完成").
        (r"哪家公司|哪个公司|哪家企业|中标单位|中标方|承建单位|施工单位", r"公司|集团|有限|研究院|设计院|事务所"),
        # A comparison with another year ("比2020年多了几个？", "同比增长了百分之多少？"): the answer compares too, not
        # a figure of the year alone ("在手在谈项目共42个", "完成指标任务的125.79%").
        (
            r"比(?:\d{4}|上|去|前)一?年|同比|较(?:\d{4}|上|去|前)一?年|环比",
            r"较|比|同比|增加|减少|增长|下降|上升|增幅|降幅|持平|翻",
        ),
    )
)


_ANY = re.compile(r".")
# A question answered by yes or no about one unit ("是否开展了…", "有没有发生…").
_YES_NO = re.compile(r"有没有|是否|有无|是不是|[了过]吗")
_PUNCT = re.compile(r"[\s，。、；：“”\"'（）()《》]")


def _bare(text: str) -> str:
    return _PUNCT.sub("", text)


# A term in Latin letters (GDP, PPP, 5G) names one thing exactly, and reports write it the same way: an answer to a
# question naming one must name it too (without it, "GDP增长率是多少" took the best passage's 增加47.78%).
_LATIN_TERM = re.compile(r"[A-Za-z0-9]*[A-Za-z][A-Za-z0-9]*")


def named_items(question: str) -> list[re.Pattern[str]]:
    """What an answer must name for each budget item (`_ITEMS`) and each Latin-letter term the question names.

    >>> [p.pattern for p in named_items("芙蓉区商务局2021年会议费是多少？")]
    ['会议费']
    >>> [p.pattern for p in named_items("2021年GDP增长率是多少？")]
    ['GDP']
    """
    latin = [
        re.compile(re.escape(t), re.IGNORECASE) for t in dict.fromkeys(_LATIN_TERM.findall(question)) if len(t) >= 2
    ]
    return [answer for asked, answer in _ITEMS if asked.search(question)] + latin


@dataclass(frozen=True)
class NumberAsk:
    """A question asking for a number: what its answer must contain, and how much of the question's subject a
    sentence repeats (`KeyTerms`), so a number about something else is not taken for the answer."""

    pattern: re.Pattern[str]
    subject: KeyTerms
    items: tuple[re.Pattern[str], ...] = ()  # budget items the question names: the answer must name each
    question: str = ""
    # Qualifiers of a number that make it another figure than the one asked (`_QUALIFIED`), and whether an expense
    # line is asked (`_LINE_ITEMS`): derived from the question by `asked_number`.
    other_figures: tuple[re.Pattern[str], ...] = ()
    line_item: bool = False
    spent: bool = False  # what was actually spent is asked (`_ASKED_SPENT`)
    measure: tuple[str, ...] = ()  # what the number is of (`measured_words`): an answer names one of them

    def names_measure(self, text: str) -> bool:
        """The text names what the number asked is of ("外商直接投资" for "…外商直接投资完成了多少？"), or refers back to
        a subject named before it ("该项目资金金额17.99万元"); always true when the question names nothing measured."""
        return not self.measure or any(w in text for w in self.measure) or bool(_ANAPHOR.search(text))

    def part_row(self, text: str) -> bool:
        """The text is a table row of one class of a classification ("支出决算表 · 22001 自然资源事务 · … 基本支出
        2339.58 万元") the question does not name: a part of the unit's figure, not the figure it asks for."""
        m = _CLASS_ROW.match(text)
        return m is not None and m["code"] not in self.question and m["name"].strip() not in self.question

    def answers(self, text: str, lead: str = "") -> bool:
        """`lead`: the opening of the list the text is an item of ("项目支出年初预算为450.00万元，其中："), which
        qualifies its numbers like their own clause does."""
        if not all(item.search(text) for item in self.items):
            return False
        if self.line_item and not self.states(text):
            return False  # an expense line's amount follows it (_LINE_ITEMS)
        if any(o.search(lead) for o in self.other_figures):
            return False
        if self.spent and not _SPENT.search(text):
            return False  # "农贸市场提质改造项目250万元" is what was planned for it, not what it cost
        return any(
            not any(o.search(_clause_before(text, m.start())) for o in self.other_figures)
            for m in self.pattern.finditer(text)
        )

    def names_figure(self, text: str) -> bool:
        """The text states the asked kind of number right after a key word of the question ("该项目资金金额17.99万元"
        for "…“经费补助缺口”项目资金有多少？", "绩效分值100分" for "…绩效自评得分是多少？")."""
        words = [re.compile(re.escape(w)) for w in self.subject.words]
        if _PROJECT_MONEY.search(self.question):
            words.append(_AMOUNT_WORDS)
        return any(self._number_after(text, w) for w in words)

    def _number_after(self, text: str, word: re.Pattern[str]) -> bool:
        """The asked kind of number within `_STATED_WITHIN` characters after an occurrence of the word, in its clause."""
        return any(self.pattern.match(text, m.end() + gap) for m in word.finditer(text) for gap in _gaps(text, m.end()))

    def states(self, text: str) -> bool:
        """The text states the asked number of a named item: the item with the number right after it, in one clause
        ("基本支出为388.07万元", not "公用经费254.49万元，占基本支出的65.58%"). Never true when no item is named."""
        return bool(self.items) and all(self._number_after(text, item) for item in self.items)


# A figure qualified otherwise than asked is another figure: what was actually done ("实际完成了多少万美元") is not a
# target's ("外商直接投资目标任务630万美元"), and the year's own ("2021年当年完成投资多少") not a cumulative or total one
# ("累计完成投资304.7万元", "总投资1903万元"). Each: what the question asks, and the qualifier of a number (in its
# clause, before it) that then does not answer, unless the question names it too.
_QUALIFIED = (
    (re.compile(r"实际|实现了|完成了|完成额|完成数"), re.compile(r"目标|任务数|计划|预期|预算")),
    (re.compile(r"当年|本年|当期|年内"), re.compile(r"累计|总投资")),
    # A share of a whole ("占全区税收的比重") is not a growth rate ("实缴税金4.92亿元，同比增长18%").
    (re.compile(r"占[^，。？?]{0,16}(?:比重|比例)|占比"), re.compile(r"同比|增长|增速|增幅|下降|降幅|较上年|比上年")),
)


# "实际花了多少？" asks what was spent: an amount without a word of spending (a project's line in a plan) does not say.
_ASKED_SPENT = re.compile(r"实际(?:上)?(?:花|支出|使用|用了|开支|发生|拨付)")
_SPENT = re.compile(r"实际|支出|使用|花|决算|执行|开支|拨付")


def _clause_before(text: str, at: int) -> str:
    """The clause a number at `at` stands in, up to it; a clause opening with 其中 with the one before it, whose
    figure it breaks down ("项目支出年初预算为450.00万元，其中：招商节会200.00万元": a budget line)."""
    clauses = re.split(r"[，,。；;！!？?]", text[:at])
    if len(clauses) > 1 and clauses[-1].lstrip().startswith("其中"):
        return f"{clauses[-2]}，{clauses[-1]}"
    return clauses[-1]


# A table row (ingest.tables: "表名 · 行 · 列 值 · …") whose row is one class of a budget classification, coded.
_CLASS_ROW = re.compile(r"^[^·]{0,40}表 · (?P<code>\d{3,})\s*(?P<name>[^·]+) · ")
_STATED_WITHIN = 10  # characters between an item and its number ("基本支出决算数为 388.07万元")


def _gaps(text: str, start: int) -> range:
    """Offsets after `start` where the item's number may begin: up to `_STATED_WITHIN` characters, within the clause."""
    end = start
    while end < len(text) and end - start < _STATED_WITHIN and text[end] not in "，,。；;、%％":
        end += 1
    return range(end - start + 1)


def asked_number(question: str, subject: KeyTerms, measure: Sequence[str] = ()) -> NumberAsk | None:
    """What an answer to a question asking for a number (or naming an item, `_ITEMS`) must contain, or None for
    other questions.

    >>> from qa.evidence import KeyTerms
    >>> ask = asked_number("“三公”经费具体支出了多少万元？", KeyTerms(set(), lambda t: 1.0))
    >>> bool(ask.pattern.search("“三公”经费支出总额小，低于年初预算。")), bool(ask.pattern.search("基本支出388.07万元。"))
    (False, True)
    """
    items = tuple(named_items(question))
    # "…的办公地址在哪里？" asks for no number, but its answer must still name what it asks about.
    pattern = next((answer for ask, answer in _ASKED_NUMBER if ask.search(question)), _ANY if items else None)
    if pattern is None:
        return None
    if pattern is _COUNT_OF_ANY or pattern in _CLASSIFIED_COUNTS:
        pattern = _counted_by_verb(question, (_count_of(question) if pattern is _COUNT_OF_ANY else None) or pattern)
    other = tuple(o for asked, o in _QUALIFIED if asked.search(question) and not o.search(question))
    lines = any(item.pattern in _LINE_ITEMS for item in items)
    spent = bool(_ASKED_SPENT.search(question))
    return NumberAsk(pattern, subject, items, question, other, lines, spent, tuple(measure))


# What a number question asks the number of: the words between its scope (a year, the last 的) and the question word,
# and the thing counted after it ("外商直接投资完成了多少？", "…的政府性债务余额有多少？", "发行了多少地方政府专项债券？").
# Without one of them the best passage's number is another figure's ("基本支出为388.07万元" for 社会消费品零售总额,
# "落实银行贷款2000万元" for 部门整体支出决算总额). Not measured: words of the unit's name (投促 of 赫山投促中心), of
# every budget text (`_GENERIC`), single characters, amounts and the verbs of asking; nor a word no report holds (a
# paraphrase the library cannot match: no check, as before).
_HOW_MANY = re.compile(r"多少|第几|几(?=[个家人项次天名位所年月号倍]|$|[？?。])")
_SCOPE_END = re.compile(r"(?:19|20)\d{2}\s*年度?|的")
_ASKING_VERB = re.compile(r"(?:一共|总共|共计|合计|累计|大概|大约|约|具体)?(?:是|为|有|达到|达|在)?$")
_NOT_MEASURED = frozenset(
    "万元 亿元 元 万 亿 美元 亿美元 万美元 个 家 人 项 次 名 位 所 平方米 亩 吨 分 完成 实现 达到 花 用 支出 是 为 "
    "一共 总共 合计 累计 共计 具体 分别 大概 大约 目前 实际 全年 当年 本年 其中".split()
)
# Everyday names of budget figures: the figure's own term names it too ("维持机构日常运转花了多少钱" → 公用经费).
_MEASURE_TERMS = (
    (re.compile(r"日常运转|机构运转|维持运转|运转经费|运行经费|办公经费"), ("公用经费",)),
    (re.compile(r"工资|人头费|养人"), ("人员经费", "工资")),
    (re.compile(r"日常开销|日常开支|日常花销"), ("公用经费",)),
    (re.compile(r"外资"), ("外商直接投资", "外商投资", "利用外资")),
)


def measured_words(question: str, unit_names: Iterable[str], known: Callable[[str], bool]) -> tuple[str, ...]:
    """The words naming what a number question asks the number of (see `_HOW_MANY`); () when it names none.
    `known`: whether a word occurs in the library.

    >>> known = lambda w: w in "外商直接投资目标任务 完成园区各类投资 公用经费"
    >>> measured_words("大祥工业集中区2021年外商直接投资完成了多少？", ["湖南省大祥工业集中区管理委员会"], known)
    ('外商', '直接', '投资')
    >>> measured_words("赫山投促中心维持机构日常运转一共花了多少钱？", ["益阳市赫山区投资促进服务中心"], known)
    ('公用', '经费', '公用经费')
    """
    m = _HOW_MANY.search(question)
    if m is None:
        return ()
    before = question[: m.start()]
    scope = [e.end() for e in _SCOPE_END.finditer(before)]
    span = _ASKING_VERB.sub("", before[scope[-1] :] if scope else before)
    after = re.split(r"[，,。？?！!；;]", question[m.end() :], maxsplit=1)[0]
    words = list(tokenize(f"{span} {after}"))
    words += [
        w for pattern, terms in _MEASURE_TERMS if pattern.search(f"{span} {after}") for t in terms for w in tokenize(t)
    ]
    names = list(unit_names)
    keys = set(KeyTerms.key_words(set(words)))  # no generic word, single character or year
    return tuple(
        dict.fromkeys(
            w
            for w in words
            if w in keys
            and w not in _NOT_MEASURED
            and not re.fullmatch(r"[\d.]+", w)
            and not any(all(c in n for c in w) for n in names)
            and known(w)
        )
    )


# "引进了多少项目？" / "有几个重点项目？": a count in the generic classifiers (个, 项) of a named thing is answered by a
# count of that thing ("新引进项目61个", "已引进三个500强项目"), not by the first "N个" of the sentence ("目标任务2个").
_ASKED_COUNT = re.compile(r"(?:多少|几)(?:个|项(?!目))?(?P<rest>[^，,。；;？?！!]*)")


def _counted_by_verb(question: str, count: re.Pattern[str]) -> re.Pattern[str]:
    """A count asked with its verb ("新引进了多少个项目？", "集中学习了几次？") is answered by a count sharing a clause
    with that verb: "共计11个项目…用地审批" brought no project in, "对接客商220余次" was no study session."""
    m = re.search(r"多少|几", question)
    verb = verb_before(question, m.start()) if m else None
    if verb is None:
        return count
    v, c = re.escape(verb), count.pattern
    return re.compile(rf"{v}[^，,。；;]*?(?:{c})|(?:{c})[^，,。；;]*?{v}")


def _count_of(question: str) -> re.Pattern[str] | None:
    """The answer pattern of a count question naming what it counts: the count with that noun after it (a few
    characters on, in its clause) or just before it. None when the question names nothing after the count.

    >>> ask = _count_of("芙蓉区商务局引进了多少项目？")
    >>> bool(ask.search("全区新引进项目61个。")), bool(ask.search("已引进三个500强项目。")), bool(ask.search("目标任务2个。"))
    (True, True, False)
    >>> bool(_count_of("有多少个在建重点项目完成建设？").search("23个在建项目完成建设"))
    True
    >>> _count_of("新引进项目多少个？") is None
    True
    """
    m = _ASKED_COUNT.search(question)
    # A noun's head is its end ("在建重点项目" is counted as "23个在建项目").
    heads = sorted({n[-2:] for n in nouns(m["rest"]) if len(n) > 1}) if m else []
    if m is None or not heads:
        return None
    n = "(?:" + "|".join(map(re.escape, heads)) + ")"
    return re.compile(rf"{_NUMERAL}[^，,。；;]{{0,8}}?{n}|{n}[^，,。；;]{{0,6}}?{_NUMERAL}")


# "巡视反馈了几个问题？" asks for a number, not for the list of problems.
_COUNTED_ITEMS = re.compile(r"(?:几|多少)(?:个|项|条|类)?(?:问题|措施|建议|困难)")


def asked_role(question: str) -> str | None:
    """The section role a question asks for (措施 → measures, 问题 → problems), if any; none for a count of them."""
    if _COUNTED_ITEMS.search(question):
        return None
    return next((role for role, cue in _ROLE_WORDS if cue.search(question)), None)


@dataclass(frozen=True)
class LookupEvidence:
    hits: list[Hit]
    sentences: list[Sentence]
    role: str | None  # the section role the question asks for (措施 → measures), if any
    from_section: bool  # hits are that unit's section itself: its content answers, whatever the wording


def list_lead(s: Sentence) -> str:
    """The opening of the list a sentence is an item of: the text of its chunk since the last 。 before it, up to
    its "：", when the sentence follows a "；" or that "：" ("其中：招商节会200.00万元；农贸市场提质改造项目250.00万元；");
    "" for a sentence of its own."""
    before = s.hit.text[: max(0, s.char_start - s.hit.char_start)]
    tail = before[before.rfind("。") + 1 :].rstrip()
    if not tail.endswith(("；", ";", "：", ":")) or "：" not in tail:
        return ""
    return tail[: tail.index("：") + 1]


# "该项目资金金额17.99万元": the sentence names its subject in one before it (the report's opening, which names the
# project and outranks it), so how much of the question it repeats says little.
_ANAPHOR = re.compile(r"该(?:项目|资金|单位|中心|局|工程)|此项目|本项目|上述")


def _refers_back(s: Sentence, number: NumberAsk, p: EvidenceParams) -> bool:
    """A sentence referring back to its subject that states the asked kind of number after a word of the question
    answers it, however far below the best sentence it ranks (above the lookup threshold)."""
    return s.score >= p.lookup_threshold and bool(_ANAPHOR.search(s.text)) and number.names_figure(s.text)


def choose_lookup(
    sentences: Sequence[Sentence],
    role: str | None,
    from_section: bool,
    p: EvidenceParams,
    number: NumberAsk | None = None,
) -> list[Sentence]:
    """The answering sentences, best first; [] when the best one is too weak to answer (declined). `number`: the
    answer is the best sentence holding a number of the asked kind within `number_window` of the best sentence, and
    about the asked subject about as much as the best (`number_subject_gap`): "“三公”经费支出低于年初预算" best for
    "“三公”经费支出了多少万元？" and a sentence on 基本支出 with an amount next: declined."""
    if not sentences or (sentences[0].score < p.lookup_threshold and not from_section):
        return []
    if number is not None and not from_section:
        floor = max(p.lookup_threshold, sentences[0].score - p.number_window)
        subject = number.subject(sentences[0].text) - p.number_subject_gap
        sentences = [
            s
            for s in sentences
            if number.answers(s.text, list_lead(s))
            and number.names_measure(list_lead(s) + s.text)
            and ((s.score >= floor and number.subject(s.text) >= subject) or _refers_back(s, number, p))
        ]
        if not sentences:
            return []
        # Of the close candidates, one stating the number of the named item right after it comes first, and the
        # unit's own figure before a class row's part of it (a report's total 基本支出, not 自然资源事务's).
        sentences = sorted(sentences, key=lambda s: (not number.states(s.text), number.part_row(s.text)))
    best = sentences[0]
    # A list answer (措施/问题) takes the unit's next items too; a number answer stays one sentence.
    window = 1.0 if from_section else 0.1 if role else 0.03

    # A class row's part does not follow the unit's own figure (it was put after it above).
    def part(s: Sentence) -> bool:
        return number is not None and number.part_row(s.text) and not number.part_row(best.text)

    return [best] + [
        s
        for s in sentences[1 : 4 if role else 3]
        if s.doc_id == best.doc_id and best.score - s.score < window and not part(s)
    ]


def lookup_evidence(ctx: AnswerContext, u: Understood, top_k: int | None = None) -> LookupEvidence:
    topic = ctx.topic(u.standalone)
    role = asked_role(u.standalone)
    hits: list[Hit] = []
    # A yes/no question ("有没有被审计查出问题？") asks about one thing, not for the section of its role.
    if role and u.filters.unit and not u.filters.section_role and not _YES_NO.search(u.standalone):
        # "某单位提出了哪些改进措施？": that unit's measures section is the answer, whatever its wording.
        hits = ctx.retriever.search(
            u.standalone, top_k=top_k or 8, filters=replace(u.filters, section_role=role), vector=topic.vector
        )
    from_section = bool(hits)
    hits = hits or ctx.retriever.search(
        u.standalone, mode="hybrid", top_k=top_k or 8, filters=u.filters, vector=topic.vector
    )
    sentences = score_sentences(
        ctx.scoring(),
        topic,
        hits,
        lexical_weight=ctx.params.lookup_lexical_weight,
        ignore_tokens=sorted(unit_words(hits)),
    )
    return LookupEvidence(hits, sentences, role, from_section)


def unit_words(hits: Sequence[Hit]) -> set[str]:
    """Tokens of the answering units' names: they match every sentence of their own report's prefix, so they are no
    evidence of an answer. (Ignoring the words a question names the unit by too, 招商 of "赫山招商中心", was tried:
    dev-037 "桃江那个管重点项目的中心…" was then declined.)"""
    return {t for name in {h.doc.unit for h in hits} for t in tokenize(name)}


def yes_no_key(question: str, ignore: set[str], lexical: LexicalIndex) -> str | None:
    """What a yes/no question about one unit ("…有没有发生安全生产事故？") asks about, which an answering sentence
    must name: its most specific noun token, the one fewest chunks contain (none: no report says anything about it).
    None for other questions, or when it names nothing but the unit (`ignore`: the unit names' tokens)."""
    if not _YES_NO.search(question):
        return None
    asked = {t for w in nouns(question) for t in tokenize(w) if len(t) >= 2 and t not in ignore}
    return min(asked, key=lambda t: (lexical.df(t), -len(t), t)) if asked else None


def answer_lookup(ctx: AnswerContext, u: Understood, top_k: int | None) -> Answer:
    ev, chosen, _ = lookup_answer(ctx, u, top_k)
    if not ev.hits:
        return decline(u, "未在已收录报告中找到与该问题相关的内容。", [])
    if not chosen:
        return decline(u, "未在已收录报告中找到能回答该问题的内容。", ev.hits)
    if ctx.composer is not None:
        written = _written(ctx, u, ev.hits)
        if written is not None:
            return written
    best = chosen[0]
    chosen.sort(key=lambda s: s.char_start)
    citations = [Citation(i, s.hit, s.text, s.char_start, s.char_end, s.score) for i, s in enumerate(chosen, 1)]
    body = "".join(f"{c.text.strip()}[{c.id}]" for c in citations)
    return Answer(f"{best.hit.doc.display_unit}：{body}", "lookup", u.standalone, citations, None, [], u.filters)


def lookup_answer(
    ctx: AnswerContext, u: Understood, top_k: int | None = None
) -> tuple[LookupEvidence, list[Sentence], NumberAsk | None]:
    """The lookup's evidence, its answering sentences best first ([]: declined) after every check a lookup answer
    passes (the asked number, a named item, a yes/no question's noun, never a title line), and the number asked for
    (None: the question asks for none)."""
    ev = lookup_evidence(ctx, u, top_k)
    if not ev.hits:
        return ev, [], None
    ignore = unit_words(ev.hits)
    lexical = ctx.scoring().lexical
    subject = KeyTerms(set(tokenize(u.standalone)) - ignore, lexical.idf)
    names = {n for h in ev.hits for n in (h.doc.unit, h.doc.display_unit)}
    ask = asked_number(u.standalone, subject, measured_words(u.standalone, names, lambda w: lexical.df(w) > 0))
    # A report's title line names the unit, the year and the kind: it repeats a question's words, never answers it.
    titles = {_bare(h.doc.title) for h in ev.hits if h.doc.title}
    sentences = [s for s in ev.sentences if not (len(_bare(s.text)) >= 6 and any(_bare(s.text) in t for t in titles))]
    key = yes_no_key(u.standalone, ignore, lexical) if not ev.from_section else None
    if key is not None:
        sentences = [s for s in sentences if key in s.text.lower()]
    return ev, choose_lookup(sentences, ev.role, ev.from_section, ctx.params, ask), ask


def _written(ctx: AnswerContext, u: Understood, hits: list[Hit]) -> Answer | None:
    """The LLM's answer, checked sentence by sentence; None (→ extractive) when the model fails."""
    assert ctx.composer is not None
    passages = [Passage(n, h.doc.display_unit, h.section, h.text) for n, h in enumerate(hits[: ctx.llm_passages], 1)]
    try:
        composed = ctx.composer.compose(u.standalone, passages)
    except Exception as exc:  # network, timeout, malformed reply: the extractive answer still stands
        log.warning("LLM composer failed, answering extractively: %s", type(exc).__name__)
        return None
    if not composed.text or composed.text.startswith("未在已收录报告中找到"):
        # The extractive evidence already passed the lookup threshold: a small model that declines, or whose
        # every sentence failed verification, does not overrule it (docs/evaluation.md, make test-llm).
        log.info("LLM composer gave no supported answer; answering extractively")
        return None
    citations = [
        Citation(
            n, hits[n - 1], hits[n - 1].text, hits[n - 1].char_start, hits[n - 1].char_end, round(hits[n - 1].score, 4)
        )
        for n in composed.cited
    ]
    return Answer(composed.text, "lookup", u.standalone, citations, None, [], u.filters, composed.dropped, "llm")
