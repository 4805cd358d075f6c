"""Question understanding: intent, filters read from the question, follow-ups resolved from the history.

>>> from ingest.schema import DocFields, DocRecord
>>> docs = [DocRecord(DocFields("d1", "a.txt", "t", "益阳市赫山区投资促进服务中心", "益阳市赫山区", 2021, "部门整体支出"), "txt", 3, 0.0)]
>>> u = understand("赫山区投资促进服务中心2021年基本支出是多少？", [], docs)
>>> (u.intent, u.filters.year, u.filters.unit)
('lookup', 2021, '益阳市赫山区投资促进服务中心')
>>> understand("哪些单位提到预算编制不够细化？", [], docs).topic
'预算编制不够细化'
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

from ingest.schema import DocRecord
from qa.evidence import topic_role
from qa.lexical import opens_with_noun, words
from qa.retrieve import Filters

Intent = Literal["aggregate", "lookup"]

# What a which-units question asks for: units, or what stands for them (部门, 报告, 学校, 县区 …).
# Not "花在哪些地方" (where money went).
_ENTITY = r"(?:(?:项目)?单位|部门|机构|报告|学校|医院|乡镇|街道(?!办)|县区|区县|(?<![在到于]哪些)地方|地区)"
# Several of them joined ("…的医院和学校有哪些？", "有没有学校或医院…").
_ENTITIES = rf"{_ENTITY}(?:[和与及或、]?{_ENTITY})*"
# After 哪些 also the kinds of office a question names by their suffix ("哪些派出所或司法所…", "哪些站所…", "哪些局的…"); not
# after "…的" at the end, where a one-character suffix would take a lookup's last word.
# Or any kind ending like one, a few characters long ("哪些卫生院…", "哪些林场…", "哪些文化馆…", "哪些服务大厅…"): not
# across a function word, so "哪些局的…" stays 局.
_KIND_CHARS = r"[^\W\d的在了是有和与或及被把将对从给向中为]"
_KIND_SUFFIX = r"(?:院|馆|(?<!网)站|所|局|队|校|中心|大厅|协会|学会|(?<=[林农牧渔茶])场)"  # not 市场, 现场, 网站
_UNIT_KIND = rf"{_KIND_CHARS}{{1,3}}?{_KIND_SUFFIX}"
_ORG = rf"(?:派出所|司法所|站所|分局|法院|检察院|街道办|办事处|委员会|社区|幼儿园|中心|{_UNIT_KIND}|[所局站院办委厅村镇乡馆校]|县(?![城域])|区(?![域间别分])|市(?![场民值]))"
# Two kinds also without a conjunction when the second is one of these ("哪些乡镇卫生院…"; any word ending like a kind
# took 提到市场 of "哪些单位提到市场主体培育", 网站 of "哪些单位网站系统…").
_SECOND_KIND = (
    r"(?:卫生院|卫生室|卫生服务中心|服务中心|医院|学校|中学|小学|幼儿园|派出所|司法所|财政所|林场|农场|文化站|站所)"
)
_ORGS = rf"(?:{_ENTITY}|{_ORG})(?:[和与及或、](?:{_ENTITY}|{_ORG})|{_SECOND_KIND})*"
_END = r"(?=呢?[？?。！!\s]*$)"
# Projects and works when the question opens with them ("哪些项目投入不少、效果却不明显？"): the units whose reports state
# the problem answer it, each with its sentence about the project. Not later in the question, where a unit is usually
# named ("开福区楼宇经济中心有哪些项目？" stays a lookup).
_PROJECTS = r"^(?:请问)?哪(?:些|几个)(?:项目|工程)"
# "谁" opening the question or its clause after a year or place ("2021年谁的预算编得粗？"); not "由谁负责".
_WHO = r"(?:^|(?<=[年，,：:省市区县]))(?:请问)?谁家?"
# How a which-units question ends when the units come last ("…的单位有哪些？", "…的单位名单", "…的都是谁？").
_ASKED = r"(?:具体有哪些|有哪些|是哪些|有哪几个|有哪几家|有哪几所|是哪几个|是哪几家|是哪几所|包括哪些|能举出哪些|有谁|是谁|多吗|多不多|有没有)"
_LIST = r"(?:名单|清单|列表|名录)"
# What a count of the units is called ("…的单位数量", "…的单位户数"), and the words for "in all" before it.
_COUNT_NOUN = r"(?:数量|数目|总数|个数|户数|计数|数)"
_IN_ALL = r"(?:一共|总共|共计|合计|总计|统共|加起来|到底|大概|大约|共)"
# Words referring back to the topic said before them ("…——哪些单位有这种情况？").
_THIS_CASE = r"(?:这种|这类|这样的?|此类|上述)(?:情况|问题|现象)"
# "…的街道，报告里点到了哪几个？", "…的，报告里能数出多少家单位？": the units asked for after the topic, in a clause of its own.
_REPORTS_NAMED = r"[，,](?:在?报告[里中])?(?:点到|提到|写到|点名|数出|能数出)了?(?:哪几个|哪几家|哪些|多少家?(?:单位|部门)?)[？?。！!\s]*$"
# An auditor's written request ending a statement of the topic: "…的问题，请说明所涉单位。", "…。请列明具体单位。"
_NAME_THE_UNITS = r"请(?:逐一)?(?:说明|列明|列出|列示)(?:所涉|涉及的?|具体)(?:单位|部门)"
# "是不是有单位…？是哪些？", "…，有吗？是哪些？", "…，有单位这么说吗？是哪些？": which ones, asked after a yes/no question.
_WHICH_AFTER = rf"[，,]?\s*(?:有吗|有{_ENTITY}(?:这么|这样)说吗)?[？?]\s*(?:(?:都是|是|有)哪(?:些|几[个家所])|都?有谁|是谁)[？?。]?\s*$"
# Kinds of unit a count names ("有几个局…", "…的乡镇有多少个？"); not 报告 (a count of reports is a lookup) nor 机构.
_COUNTED = r"(?:(?:项目)?单位|部门|学校|医院|乡镇|街道(?!办)|县区|区县|局)"
# How a request for the list or its size may end, after the units it is about ("…的单位，给我列一下", "…的单位名录",
# "…的部门名单发我一下", "…的单位，能找出来吗", "…的单位家数", "…的单位统共几家", "…的单位，数量上有多少").
_REQUEST_END = (
    r"(?:[，,]\s*)?(?:请|麻烦)?(?:给我|帮我|发我|发给我)?(?:列一下|列个名单|点出来|找出来|能找出来吗|报个数|发我一下|发给我)|"
    # "…的部门都拎出来", "…的单位筛出来", "…的单位能不能拉个表出来", "…的单位计数"
    r"都?(?:拎|筛|挑|找|点|列)出来(?:吗)?|(?:能不能|能否|可否)?(?:拉|列)个?(?:表|单子|清单)(?:出来)?|计数|户数|"
    # "…的单位，能给个名单吗", "…的单位清单有吗", "…的单位给我拉个名单", "…的部门，数一数有多少", "…，能数出几家"
    r"(?:[，,]\s*)?能给个(?:名单|清单|数)吗|(?:名单|清单)有吗|(?:给我)?拉个(?:名单|清单)|"
    # "…的单位，请给出名称", "…，请点名", "…，帮我点个名", "…，梳理出来给我", "…，能告诉我数量吗", "…，总数多少"
    r"(?:[，,]\s*)?(?:这类\S{0,2})?(?:请|帮我|给我)?(?:给我|点(?:个|一下)?名|给出名称|列明单位名称|报个名单|梳理出来给我|"
    r"把它们筛出来|能告诉我数量吗)|(?:[，,]\s*)?(?:总数|数量)(?:是|为)?多少|"
    r"(?:[，,]\s*)?(?:数一数|能数出|统计下|统计一下|算一下)(?:有)?(?:多少|几)(?:个|家)?|"
    rf"家数|(?:[，,]\s*)?(?:数量上|{_IN_ALL})(?:有|是|占了?)?(?:多少|几)(?:个|家|所)?|"
    r"(?:[，,]\s*)?占了?(?:多少|几)(?:个|家)|(?:有|是)?(?:多少|几)所"
)
# "益阳市的单位中，哪些在报告里写了…": 哪些 right after the units it picks from.
_AMONG_UNITS = r"(?:(?<=单位[中里])|(?<=单位[中里][，,])|(?<=单位当中)|(?<=单位当中[，,])|(?<=部门[中里])|(?<=部门[中里][，,]))哪(?:一?些|几个|几家)"
_AGGREGATE = re.compile(
    rf"{_AMONG_UNITS}|哪(?:一?些|几个|几家)?{_ENTITIES}|哪(?:一?些|几个|几家){_ORGS}|{_PROJECTS}|哪个单位|哪家单位|哪一个单位|哪几家|有多少(?:个|家)?{_COUNTED}|多少(?:个|家){_COUNTED}|几(?:个|家){_COUNTED}|有几家|"
    rf"列出|列举|(?:是否有|有没有){_ENTITIES}|^(?:请问)?(?:是否有|有没有)|^(?:请问)?有{_ENTITIES}|列(?:个|一下|一个)?{_LIST}|的{_ENTITIES}(?:给我|帮我)?列一下|有哪些单位|所有单位|各单位|各个单位|分别|"
    # "提到X的单位一共有几个？", "…的单位数量是多少", "…的单位，总数是多少": a count, not a lookup.
    rf"的{_COUNTED}{_IN_ALL}?(?:有|是)?(?:几个|几家|多少个?|多少家){_END}|"
    rf"的{_COUNTED}[，,]?\s*{_COUNT_NOUN}(?:是多少|有多少|为多少|是几个)?{_END}|^{_COUNTED}(?:当中|之中|里面?)[，,]|"
    rf"的报告(?:一共|总共|共)?有(?:几份|多少份?){_END}|"  # "提到X的报告有多少份？"
    # Which-units questions put the other way round: "预算编制粗的单位有哪些？", "…的单位都有谁？", "谁说过…",
    # "有谁提到…", and requests ending in what they want listed ("存在…问题的单位", "给出…的单位名单").
    rf"的{_ENTITIES}{_LIST}?[，,]?(?:都|还)?{_ASKED}?{_END}|的{_ENTITIES}[，,]\s*都是哪(?:些|几[个家所])|的都?是谁{_END}|{_WHO}|都有谁|有谁|"
    rf"的(?:预算|事业|行政)?{_ENTITIES}(?:{_LIST}|情况)?(?:{_REQUEST_END})+{_END}|的{_ENTITIES}情况{_END}|^(?:请)?(?:列示|罗列)|"
    rf"{_REPORTS_NAMED}|{_NAME_THE_UNITS}|{_WHICH_AFTER}|^(?:请问)?是不是有{_ENTITIES}|"
    rf"[，,]\s*涉及的?{_COUNTED}{_COUNT_NOUN}?(?:是多少|有多少|有几个|为多少)?{_END}|"
    # A search-box request: the topic, a space, then the units ("拆分采购 规避招标 单位", "…超支 单位数量").
    rf"\s(?:涉及)?{_COUNTED}(?:{_LIST}|{_COUNT_NOUN})?{_END}|哪(?:一?些|几个|几家)(?:预算|事业|行政){_COUNTED}"
)
# "预算编制不细化的有哪些？": the ones that state a problem, asked without saying what they are. Only when the words
# before it state a problem (qa.evidence.topic_role) and name no unit: "赫山区投资促进服务中心2021年新增的有哪些" stays a
# lookup.
_THOSE_WHICH = re.compile(
    r"的[，,]?(?:都|还)?(?:有哪些|是哪些|有哪几个|是哪几个|有哪几家|是哪几家|"
    rf"{_IN_ALL}?有?(?:多少(?:个|家)?|几(?:个|家)))[？?。！!\s]*$"
)
# Words around an aggregate question's topic ("请列出所有提到" + topic + "的单位？"), stripped repeatedly.
_WHICH_UNITS_WORDS = (
    rf"{_AMONG_UNITS}|哪(?:一?些|几个|几家){_ORGS}(?:的单位|的部门)?|哪(?:一?些|几个|几家)?(?:预算|事业|行政)?{_ENTITIES}(?:的单位|的部门)?|{_PROJECTS}的?|哪个单位|哪家单位|哪一个单位|哪几家单位|有多少(?:个|家)?{_COUNTED}|多少(?:个|家){_COUNTED}|"
    rf"几(?:个|家){_COUNTED}|{_NAME_THE_UNITS}|(?:是否有|有没有){_ENTITIES}|有哪些单位|都有谁|有谁|{_WHO}的|{_WHO}"
)
_LEAD = re.compile(
    rf"^(?:请问|请|给出|给我|帮我|帮忙|我想知道|想知道|能告诉我|告诉我|(?:能|能不能|可以|可不可以)?(?:列出|列举出?)|列一下|找出|找一下|查一下|统计|一下|所有|全部|"
    # "有没有疾控、医院这类单位…": the kinds of unit asked about are scope, not topic.
    rf"[^，,。？?]{{1,12}}?(?:这类|这样的|之类的?){_ENTITY}|"
    rf"{_WHICH_UNITS_WORDS}|有没有|是否有|有{_ENTITIES}|还有|哪几家|各个单位|各单位|哪些|在(?:其|各自的|自己的)?(?:自评|绩效|评价|决算)?报告[里中]|(?:自评|绩效|评价|决算)?报告[里中]|"
    rf"的报告|报告|(?:自评|自查|检查)(?:时|中)?发现[了过]?|中|里|都|也|还|分别|曾经|自己|问题(?:是|为|在于|主要是)|"
    # "被审计指出…的单位": who pointed it out is no part of the topic.
    r"被(?:审计|巡视|巡察|检查|督查|上级|财政)?(?:指出|发现|点名|通报)[了过]?|发现[了过]?|反映出?|"
    # "请罗列…", "麻烦梳理一下…", "自评中被指出…", "给个名单：…"
    r"列示|罗列|梳理(?:一下)?|汇总(?:一下)?|调一下|核实一下|麻烦|想看看|给个名单[：:]?|(?:自评|自查)(?:报告)?(?:时|中)|"
    r"(?:我|我们)?(?:听说|记得|据说)|有人(?:反映|说|提到)|(?:能不能|能否|可否|请)?把|查一下|"
    rf"能数一下|(?:帮忙)?算一?下|(?:请)?说明(?!了)|这边[，,]?|是不是有(?:{_ENTITIES})?|整理一份|汇报一下|列一份|给我算一下[，,]?|"
    r"(?:口径)?按单位(?:计|统计|去重)[，,]?|领导交代下来[，,]?|要我把|"
    # A preamble before a colon about who asks or how they put it ("人大代表想问：", "刚入职，术语不熟：")
    r"[^：:？?]{0,16}(?:想问|不熟|不懂|叫法|专业词|统计数)[^：:？?]{0,8}[：:]|(?:[^？?]{0,20}?[，,：:])?(?:我理解|意思|我说的)(?:就)?是|就是|"
    r"请?逐一列示|请列明|针对|经查[，,]?|经统计[，,]?|(?:审计|评价|检查)关注到|坦言|"
    rf"(?:部分|个别|有些|一些){_ENTITIES}|"
    rf"{_COUNTED}(?:当中|之中|里面?)[，,]|"
    r"提到[了过]?|提出[了过]?|提及|[谈讲说写]到[了过]?|谈及|[写注]明[了过]?|说明了|披露[了过]?|交代[了过]?|介绍[了过]?|列明[了过]?|载明[了过]?|存在|承认|表示|(?:声|自)?称|明确(?=表示|说|提|指出|写|承认|声明)|反映[了过]?|说[了过]?|写[了过]?|指出|认为|遇到[了过]?|面临|出现[了过]?|能看到|看到|"
    r"有|了|的|，|,|：|:)"
)
_TAIL = re.compile(
    rf"(?:方面)?(?:(?:的|\s(?:涉及)?|[，,]\s*涉及的?)(?:预算|事业|行政)?{_ENTITIES}[，,]?(?:{_LIST}|{_COUNT_NOUN}|情况)?|的问题|的情况|的)?"
    rf"(?:{_REQUEST_END})*"
    rf"[，,]?(?:都|还)?{_IN_ALL}?"
    rf"(?:{_ASKED}|都是哪(?:些|几[个家所])|(?:有|是)?多少(?:个|家|份)?(?:{_ENTITIES})?|有?几(?:个|家|份)(?:{_ENTITIES})?|是多少|为多少|吗|呢)?呢?[？?。！!\s]*$"
)
# "三公超支的部门给我列个名单": the request for a list ends the question, after the units it is about.
_LIST_REQUEST = re.compile(
    rf"[，,]?(?:请)?(?:给我|帮我)?(?:列(?:一下|(?:个|一个)?{_LIST})|列(?:举)?出来|列举(?:一下)?|列出)[。？?！!]*$"
)
# Where "which units" stands inside the question, the words before it are scope ("在2021年度的项目支出报告中，"),
# read as filters by read_filters, not topic.
_WHICH_UNITS = re.compile(_WHICH_UNITS_WORDS)
_REFERS_BACK = re.compile(
    r"(?:这种|这类|这样的?|此类|这个|这一|该|上述|以上)(?:情况|问题|现象|做法|毛病)|中招|在列|上榜|"
    r"(?:这么|这样)(?:写|说|做)过?(?:的|并写进了?报告)?|"
    r"(?:在|于)?(?:自查|自评|评价|报告)?[中里]?(?:主动|明确|专门|如实)?(?:写|提|说|谈|反映|列)(?:出来|到|出)了?[？?。！!\s]*$"
)
_YEAR = re.compile(r"((?:19|20)\d{2})\s*年")
# Years as people type them: "21年" and "二〇二一年" for 2021. A report year 2015-2035 only, and not a duration
# ("实施期为10年", "使用年限15年", "工作21年来", "近3年").
_SHORT_YEAR = re.compile(
    r"(?<![\d.为期限满近共约达了过第用])(1[5-9]|2\d|3[0-5])(\s*年)(?!来|以来|内|间|多|前|后|左右|以上|以下)"
)
_CN_DIGITS = str.maketrans("〇零○一二三四五六七八九", "000123456789")
_CN_YEAR = re.compile(r"([一二][〇零○一二三四五六七八九]{3})(\s*年)")


def normalize_years(text: str) -> str:
    """'赫山招商中心21年的基本支出' → '…2021年的基本支出'; '二〇二一年' → '2021年'.

    >>> normalize_years("21年和二〇二二年度，工作21年来，使用年限15年")
    '2021年和2022年度，工作21年来，使用年限15年'
    """
    text = _CN_YEAR.sub(lambda m: m.group(1).translate(_CN_DIGITS) + m.group(2), text)
    return _SHORT_YEAR.sub(r"20\1\2", text)


_COMPARED = re.compile(r"(?:比|较|与|同|对比|相比)\s*$")
_ASKING_TAIL = re.compile(r"(?:是多少|有多少|有哪些|是什么|是哪些|多少|如何|怎么样|情况)?[？?。]?$")


def _kind_of_report(kind: str, other: str) -> re.Pattern[str]:
    """How a question names a kind of report: "项目支出（…）绩效自评报告", "项目支出类的自评报告" (with 类的), or the
    kind said after the report ("哪些报告是讲项目支出的？"); `other`: a further way of saying it."""
    return re.compile(
        rf"{kind}(?:[（(][^）)]{{0,20}}[）)]|类的?)?(?:绩效)?(?:自评|评价)?报告|{other}|"
        rf"(?<=报告)(?:是|属于)?(?:讲|关于)?{kind}(?:类)?的"
    )


_KIND = (
    ("部门决算", re.compile(r"部门决算|决算报告")),
    ("部门整体支出", _kind_of_report("部门整体支出", "整体支出报告")),
    ("项目支出", _kind_of_report("项目支出", "项目支出绩效")),
)
# The extractive composer lists near misses after this line; a follow-up's "它们" never refers to them.
RELATED_HEADER = "以下单位有相近但不相同的表述，未计入："
_FOLLOWUP_PRONOUN = re.compile(
    r"它们|他们|这些单位|上述单位|以上单位|这几个单位|这几家|这两个单位|这两家(?:单位)?|这俩|其中|该单位|这个单位|这家单位|它的|他们的"
)
_FOLLOWUP_ELLIPSIS = re.compile(r"^(?:那|那么)?(?:(?:19|20)\d{2}\s*年(?:度)?|.{1,20}?)的?呢[？?]?$")
# After a which-units question, questions about its list: the same list again ("分别是哪些？" after "有多少单位提到…？",
# "这些单位一共有几个？"), or a part of it ("其中2021年的有哪些？", "其中赫山区的呢？").
_SAME_LIST = re.compile(
    r"^(?:那|那么)?(?:它们|这些单位|这些|上述单位|以上单位)?(?:分别|都|具体|一共|总共|共)?"
    r"(?:是|有)?(?:哪些|哪几个|哪几家|谁|几个|几家|多少个|多少家)(?:单位)?[？?。！!]*$"
)
# "哪些单位没有提到预算编制不够细化？" asks for the units that do not state it (it listed those that do).
_NOT_MENTIONED = re.compile(r"^(?:都)?(?:没有|没|未|从未|并未|均未)(?:提到|提及|提出|说到|谈到|谈及|写到)[了过]?")
# Two topics in one which-units question: "既提到A又提到B" / "同时提到A和B" (units stating both), "A或者B" (either).
_BOTH = re.compile(r"^既(?:提到|提及|说到|有|存在)?(?P<a>.{2,30}?)又(?:提到|提及|说到|有|存在)?(?P<b>.{2,30})$")
# 和 joins two topics only after 同时提到 ("同时存在资金和人员不足" is one); 或者 only after a statement of its own
# ("水库或者山塘有渗漏隐患" is one topic about either).
_BOTH_AT_ONCE = re.compile(r"^同时(?:提到|提及|说到)(?P<a>.{2,30}?)(?:和|与|以及)(?P<b>.{2,30})$")
_EITHER = re.compile(r"^(?P<a>.{2,30}?)(?:或者|或是)(?:提到|提及|说到|存在)?(?P<b>.{2,30})$")
# "除了赫山区投资促进服务中心，还有哪些单位提到…？": that unit is left out of the list (it was the list's only unit).
_EXCEPT = re.compile(r"^(?:请问)?除了?(?P<who>[^，,。？?]{2,40}?)(?:以外|之外)?[，,](?:还有?|其他|另外|别的)?")


def without_exception(text: str) -> str:
    """The question without its "除了…，" clause: what it names is left out of the answer, not asked about."""
    return _EXCEPT.sub("", text, count=1)


# A count of units, not an amount ("其中基本支出有多少？" is about the listed reports); the part is a year or a place
# ("其中赫山区的基本支出呢？" asks about a unit, not about the list).
# Or a kind of report ("其中哪个单位是部门整体支出报告？").
_KIND_WORDS = r"(部门整体支出|整体支出|项目支出|部门决算)(?:绩效)?(?:自评|评价)?"
_KIND_PART = re.compile(_KIND_WORDS + r"(?:报告)?")
_PART = rf"(?:19|20)\d{{2}}\s*年(?:度)?|{_KIND_PART.pattern}|[^\W\d的哪是]{{1,12}}?(?:省|市|区|县|州|旗|镇|乡)"
_PART_OF_LIST = re.compile(
    rf"^(?:那|那么)?(?:其中|这些(?:里面?|当中|中间?)|这里面|它们(?:里面?|当中|中间?))(?:(?P<part>{_PART})的?(?:单位)?(?:有哪些|是哪些|有几个|有几家|有多少个|有多少家|呢)?"
    # "其中哪些是2021年的？", "其中哪几个是芙蓉区的单位？"
    rf"|(?:哪些|哪几个|哪几家|哪个|哪家|有几个|有几家|有多少个?)(?:单位)?(?:是|属于|在|的报告是)(?P<asked_part>{_PART})的?(?:单位|报告)?)"
    r"[？?。！!]*$"
)
# An aggregate answer that lists one page of its units opens with `page_header`; "继续" (and the like) after it asks
# the same question for the next page, which is how a chat client without the API's offset pages. The header, not
# the closing line, is read back: a client may send back only the start of a long answer (the widget keeps 8,000
# characters of each turn).
_MORE_ASKED = re.compile(
    r"^(?:请|那)?(?:继续(?:列出|列举|显示|说)?|接着(?:列|说)?|还有(?:呢|吗|哪些|别的)?|更多|显示更多|下一页|再列(?:一些|几个)?|"
    r"(?:剩下|剩余|其余|其他)的?(?:单位)?(?:呢|有哪些|是哪些)?)[吧呢。？?！!\s]*$"
)
# The first line of a list of units (`list_header`), read back by "继续" (`_continued`): what the units do is
# "提到…", "同时提到…" or, for the library's own units, "有…报告" — never "未提到…" (a complement is not paged on).
_LISTED = r"(?:(?:同时)?提到|有)"
_PAGE_HEADER = re.compile(rf"^共有 (\d+) 个单位{_LISTED}.*，以下列出第 \d+–(\d+) 个：$", re.MULTILINE)
_WHOLE_LIST = re.compile(rf"共有 (\d+) 个单位{_LISTED}.*(?:：|，第 \d+ 个起已没有更多单位。)$", re.MULTILINE)


def list_header(total: int, predicate: str, start: int, shown: int) -> str:
    """The first line of an answer listing `shown` of the `total` units that `predicate` ("提到“X”",
    "有2022年的报告"), from position `start` (0-based): the whole list, a page of it, or past its end."""
    if not shown:
        return f"共有 {total} 个单位{predicate}，第 {start + 1} 个起已没有更多单位。"
    if shown == total:
        return f"共有 {total} 个单位{predicate}："
    return _paged(total, predicate, start, start + shown)


def page_header(total: int, subject: str, start: int, end: int) -> str:
    """The first line of an aggregate answer listing units `start` (0-based) to `end` (exclusive) of `total`."""
    return _paged(total, f"提到{subject}", start, end)


def _paged(total: int, predicate: str, start: int, end: int) -> str:
    return f"共有 {total} 个单位{predicate}，以下列出第 {start + 1}–{end} 个："


def more_units_line(left: int, offset: int) -> str:
    """The last line of an aggregate answer with `left` units after this page; the next page starts at `offset`."""
    return f"另有 {left} 个单位未列出，回复“继续”可查看（API：offset={offset}）。"


def _continued(question: str, history: Sequence[Turn]) -> tuple[str, int] | None:
    """For "继续" after a page of units: the question that page answered and where the next page starts."""
    if not _MORE_ASKED.match(question):
        return None
    last = next((t for t in reversed(history) if t.role == "assistant"), None)
    m = _PAGE_HEADER.search(last.content) if last else None
    # After the whole list or its last page, the next page is an empty one: the answer says there are no more units
    # (the words "继续" were read as part of the last question: "2021年哪些单位提到了招商引资继续").
    whole = None if m or last is None else _WHOLE_LIST.match(last.content)
    if not (m or whole):
        return None
    end = int(m.group(2)) if m else int(whole.group(1)) if whole else 0
    asked = [t.content for t in history if t.role == "user" and t.content.strip() and not _MORE_ASKED.match(t.content)]
    return (asked[-1], end) if asked else None


@dataclass(frozen=True)
class Turn:
    role: str
    content: str


@dataclass(frozen=True)
class Understood:
    question: str
    standalone: str  # the question with follow-up references resolved; shown to the user
    intent: Intent
    topic: str  # what the evidence must say (aggregate) or what is asked (lookup)
    filters: Filters
    units: tuple[str, ...] = field(default_factory=tuple)  # units a follow-up refers to ("它们")
    offset: int = 0  # "继续" after a page of an aggregate: where the next page of units starts
    # Which-units questions only: units the question leaves out ("除了赫山区投资促进服务中心，还有哪些…"), and whether
    # it asks for the units that do not state the topic ("哪些单位没有提到…").
    excluded: tuple[str, ...] = field(default_factory=tuple)
    complement: bool = False
    # Which-units questions of two topics: "既提到A又提到B" (both: "and"), "提到A或者B" (either: "or"); `topic` is A.
    also: str = ""
    joined: Literal["and", "or"] = "and"


@functools.lru_cache(maxsize=65536)  # a pure function of the catalogue's names, asked for every unit on every question
def unit_aliases(unit: str, region: str) -> tuple[str, ...]:
    """Ways a question may name a unit: in full, and without leading 省/市/县区 parts of its name."""
    aliases = [unit]
    rest = unit
    while m := re.match(r"^[\u4e00-\u9fa5]{2,4}?(?:省|自治区|市|区|县)", rest):
        if len(rest) - m.end() < 4:
            break
        rest = rest[m.end() :]
        aliases.append(rest)
        # "中共上海市普陀区委社会工作部": the party committee's department goes by "社会工作部".
        if rest.startswith("委") and len(rest) >= 5:
            aliases.append(rest[1:])
    # "大祥工业集中区" for "…大祥工业集中区管理委员会": people drop the committee part.
    aliases += [
        a[: -len(m.group(0))]
        for a in list(aliases)
        if (m := re.search(r"管理委员会$|管委会$", a)) and len(a) - len(m.group(0)) >= 4
    ]
    # "大祥园区" for "…大祥工业集中区…": an industrial park goes by its name and 园区.
    aliases += [
        a[: m.start()] + "园区"
        for a in list(aliases)
        if (m := re.search(r"(?:工业集中区|工业园区|经济开发区|开发区|高新区|产业园区|工业园)$", a)) and m.start() >= 2
    ]
    return tuple(dict.fromkeys(aliases))


# A place name (赫山区, 资阳区, 桃江县, 益阳市) and the stems of words ending like one that are not places (开发区, 全县).
# Not a word that only contains one: 区域, 市场 ("怡亚通湖南区域公司" names no place 通湖南区).
PLACE = re.compile(r"[^\s\W市省县区]{1,3}?(?:省|自治区|市(?!场)|区(?!域)|县)")
_PLACE_BEFORE = re.compile(r"([^\s\W市省县区]{1,3}(?:区|县|市))[的]?$")
_NOT_PLACE = frozenset(
    "开发 园 城 本 全 该 辖 我 各 各地 地 地级 集中 工业集中 高新 新 经开 景 社 街 片 校 厂 矿 小 市 县 区 我县 我市 我区".split()
)
# An organisation named in a question ("长沙市财政局", "赫山那个招商服务中心"). A suffix that begins a longer word
# is none ("提及政府采购不规范的单位…" named no 提及政府 and was declined as out of library; 中心工作, 工作局面).
ORG = re.compile(
    r"[\u4e00-\u9fa5]{2,14}?(?:局(?![面限势部])|中心(?!工作|任务|城区|环节)|委员会|管委会|办公室|"
    r"政府(?!采购|购买|性|债|投资|补助|补贴|信息|会计|预算|和社会|与社会)|医院|学校|研究院)"
)
# Not an organisation: a question word ("有几个局…") or a description of the kind ("…未用于改进管理的医院"), unless a
# place is what comes before 的 ("长沙市的财政局").
_NOT_ORG = re.compile(
    r"哪|谁|几|有些|一些|某些|个别|部分|单位|提到|是否|什么|多少|如何|怎么|的报告|和|与|在|^(?![^的]{2,8}?[省市县区]的)[^的]+的"
)


def is_place(name: str) -> bool:
    """A place name, not a word that only ends like one (开发区, 园区, 全县, 社区) nor the kinds of unit a which-units
    question asks for ("哪些社区…", "哪些派出所或社区…" gave 哪些社区 and 所或社区).

    >>> [is_place(p) for p in ("赫山区", "开发区", "哪些社区", "所或社区", "和平区")]
    [True, False, False, False, True]
    """
    stem = re.sub(r"(?:省|自治区|市|区|县)$", "", name)
    return (
        bool(stem)
        and stem not in _NOT_PLACE
        and not stem.endswith(("开发", "集中", "园", "新", "社"))
        and not re.search(r"[哪或]", stem)
    )


def _places_of(doc: DocRecord) -> str:
    return f"{doc.doc.region} {doc.doc.unit} {doc.doc.title}"


@dataclass(frozen=True)
class CatalogueNames:
    """What reading a question's filters matches against, computed once per catalogue (at 1M chunks going over the
    77,480 reports' names took 0.25 s of every question): each distinct alias tuple (`unit_aliases`) with the
    reports named by it (catalogue position, record), and the place parts of the reports' regions."""

    by_aliases: dict[tuple[str, ...], list[tuple[int, DocRecord]]]
    region_parts: frozenset[str]

    @functools.cached_property
    def aliases(self) -> dict[str, tuple[str, ...]]:
        """Each unit as `match_units` names it, with every name its reports give it."""
        out: dict[str, dict[str, None]] = {}
        for names, records in self.by_aliases.items():
            for _, d in records:
                out.setdefault(d.doc.unit or d.doc.source, {}).update(dict.fromkeys(names))
        return {unit: tuple(names) for unit, names in out.items()}

    @functools.cached_property
    def units_in(self) -> dict[str, frozenset[str]]:
        """Each place part with the units (as answers name them) whose region holds it."""
        out: dict[str, set[str]] = {p: set() for p in self.region_parts}
        parts_of: dict[str, list[str]] = {}  # per distinct region: a province's reports share a few hundred
        for records in self.by_aliases.values():
            for _, d in records:
                region = d.doc.region
                if region not in parts_of:
                    parts_of[region] = [p for p in self.region_parts if p in region]
                for p in parts_of[region]:
                    out[p].add(d.doc.display_unit)
        return {p: frozenset(u) for p, u in out.items()}

    @functools.cached_property
    def counties(self) -> tuple[str, ...]:
        """The county and district places ("开福区", "桃江县"), which a question may name by their two-character stem;
        a province's or city's stem is part of many company names (怡亚通湖南区域公司)."""
        return tuple(sorted(p for p in self.region_parts if _COUNTY.fullmatch(p) and is_place(p)))

    def names_of(self, units: Iterable[str | None]) -> list[str]:
        """Every name of these units (none for None), longest first: what a question may call them."""
        return sorted({a for x in units if x for a in self.aliases.get(x, ())}, key=len, reverse=True)


_names_cache: tuple[Sequence[DocRecord], int, CatalogueNames] | None = None


def catalogue_names(catalogue: Sequence[DocRecord]) -> CatalogueNames:
    """`CatalogueNames` of this catalogue. One entry, kept by identity and length: the answerer passes the same list
    for as long as the retriever's catalogue is unchanged (a change makes a new list). A list changed in place at the
    same length would not be noticed; nothing in the service changes one."""
    global _names_cache
    cached = _names_cache
    if cached is not None and cached[0] is catalogue and cached[1] == len(catalogue):
        return cached[2]
    groups: dict[tuple[str, ...], list[tuple[int, DocRecord]]] = {}
    for i, d in enumerate(catalogue):
        names = unit_aliases(d.doc.unit, d.doc.region) if d.doc.unit else (d.doc.source,)
        groups.setdefault(names, []).append((i, d))
    regions = {d.doc.region for d in catalogue}
    parts = frozenset(p for r in regions for p in re.findall(r"[\u4e00-\u9fa5]{2,4}?(?:省|自治区|市|区|县)", r))
    out = CatalogueNames(groups, parts)
    _names_cache = (catalogue, len(catalogue), out)
    return out


def match_units(text: str, catalogue: Sequence[DocRecord]) -> list[str]:
    """Catalogue units named in the text, in order of appearance; a report without a unit is named by
    its file name (as answers show it). A short alias (投资促进服务中心 of 益阳市赫山区投资促进服务中心) does not match
    where the text puts another place before it (资阳区投资促进服务中心)."""
    found: dict[str, tuple[int, int]] = {}  # unit → (first position in the text, first report naming it there)
    for names, records in catalogue_names(catalogue).by_aliases.items():
        hits = []
        for a in names:
            # Plain substring search: a regex per unit would recompile thousands of patterns per question.
            start = text.find(a)
            while start >= 0:
                hits.append((a, start, _PLACE_BEFORE.search(text, 0, start)))
                start = text.find(a, start + 1)
        if not hits:
            continue
        for i, d in records:
            positions = [
                start
                for a, start, before in hits
                if a == names[0] or before is None or not is_place(before.group(1)) or before.group(1) in _places_of(d)
            ]
            if positions:
                key = d.doc.display_unit
                first = found.get(key, (len(text), i))
                found[key] = (min(min(positions), first[0]), min(i, first[1]))
    return sorted(found, key=lambda k: found[k])


def _org_suffix(name: str) -> str:
    m = re.search(r"(?:局|中心|委员会|管委会|办公室|政府|医院|学校|研究院)$", name)
    return m.group(0) if m else ""


def fuzzy_units(mention: str, catalogue: Sequence[DocRecord]) -> list[str]:
    """Units a loosely named organisation may be ("赫山那个招商服务中心" → 益阳市赫山区投资促进服务中心): of the same kind
    (its last word: 中心, 局 …), in a place the mention names (赫山 of 赫山区), and in no other place it names."""
    named = [p for p in PLACE.findall(mention) if is_place(p)]
    out: dict[str, None] = {}
    for d in catalogue:
        unit = d.doc.unit
        if not unit or _org_suffix(unit) != _org_suffix(mention) or not _org_suffix(mention):
            continue
        places = _places_of(d)
        stems = {re.sub(r"(?:省|自治区|市|区|县)$", "", p) for p in PLACE.findall(places) if is_place(p)}
        if any(p not in places for p in named) or not any(len(s) >= 2 and s in mention for s in stems):
            continue
        out[unit] = None
    return list(out)


def _match_region(text: str, catalogue: Sequence[DocRecord]) -> str | None:
    """The longest place of the catalogue the text names, in full, or a county's by its stem ("开福楼宇经济中心" names
    开福区)."""
    names = catalogue_names(catalogue)
    hits = sorted((p for p in names.region_parts if p in text), key=len, reverse=True)
    return hits[0] if hits else next((p for p in names.counties if p[:2] in text), None)


_COUNTY = re.compile(r"[\u4e00-\u9fa5]{2}(?:区|县)")


def named_orgs(text: str) -> list[str]:
    """Organisations a question names ("长沙市天心区商务局"), whether or not the library has them.

    >>> named_orgs("提及政府采购不规范的单位数量是多少？"), named_orgs("长沙市财政局的政府采购支出是多少？")
    ([], ['长沙市财政局'])
    """
    return [m.group(0) for m in ORG.finditer(text) if not _NOT_ORG.search(m.group(0))]


def _report_year(text: str) -> re.Match[str] | None:
    """The first year the text names that is not a comparison's ("比2023年度减少多少": 2023 is not the report's)."""
    return next(
        (m for m in _YEAR.finditer(text) if not _COMPARED.search(text[max(0, m.start() - 3) : m.start()])), None
    )


def read_filters(text: str, catalogue: Sequence[DocRecord]) -> tuple[Filters, list[str]]:
    """Filters named in the text, and every catalogue unit it names (loosely named ones too, when exactly one
    unit fits: `fuzzy_units`)."""
    year_m = _report_year(text)
    units = match_units(text, catalogue)
    if not units:
        loose = [fuzzy_units(name, catalogue) for name in named_orgs(text)]
        units = [u[0] for u in loose if len(u) == 1]
    kind = next((k for k, pattern in _KIND if pattern.search(text)), None)
    region = None if units else _match_region(text, catalogue)
    return (
        Filters(
            year=int(year_m.group(1)) if year_m else None,
            region=region,
            unit=units[0] if len(units) == 1 else None,
            report_kind=kind,
        ),
        units,
    )


def merge_filters(read: Filters, explicit: Filters | None) -> Filters:
    """Explicit API filters win over what the question says."""
    if explicit is None:
        return read
    return Filters(
        year=explicit.year if explicit.year is not None else read.year,
        region=explicit.region or read.region,
        unit=explicit.unit or read.unit,
        report_kind=explicit.report_kind or read.report_kind,
        section_role=explicit.section_role or read.section_role,
    )


def aggregate_topic(question: str) -> str:
    """'哪些单位提到预算编制不够细化？' → '预算编制不够细化'; '在2021年度的报告中，哪些单位提到招商引资？' → '招商引资'."""
    asked = re.sub(_WHICH_AFTER, "", re.sub(_REPORTS_NAMED, "", question.strip()))
    asked = re.sub(rf"[，,。]?\s*{_NAME_THE_UNITS}[。？?！!\s]*$", "", asked)
    topic = _TAIL.sub("", _LIST_REQUEST.sub("", asked))
    which = _WHICH_UNITS.search(topic)
    if which and which.start() > 0:
        after = _strip_lead(topic[which.end() :])
        # "预算编制不够细化，哪些单位提到了": nothing after it, the topic comes first; so where what follows only refers
        # back to it ("…——哪些单位有这种情况？", "…的问题，有几家单位在自查中主动写出来了？").
        topic = (
            after
            if after and not _LEAD.fullmatch(after) and not _REFERS_BACK.match(after)
            else re.sub(
                rf"(?:[，,]?{_THIS_CASE})?(?:的情况)?"
                r"(?:的|有|都|是|在|[，,：:。]|[—－-]+|涉及|出现|存在于?|见于|具体指|指的是|具体是|到底是|具体)*$",
                "",
                topic[: which.start()],
            )
        )
    # "…，这种情况涉及多少家单位？": the words referring back to the topic are no part of it.
    topic = re.sub(rf"[，,]?{_THIS_CASE}(?:涉及|出现在|存在于)?$", "", topic)
    # "在湖南省，资产管理不规范的单位都有谁？": a scope clause before the topic is read as filters, not topic.
    topic = re.sub(r"^在[^，,]{0,20}[，,]", "", topic)
    topic = _strip_lead(topic).strip(" ，,：:")
    # "存在预算编制不细问题的单位", "预算编制不够细化这个问题，哪些单位有": the word 问题 names what was asked about.
    # Not 有问题 / 存在问题 / 出现问题, where it is what the topic says of its subject.
    topic = re.sub(r"(?<=..)(?<![有在现])(?:的|这个|这一|这类|这种|方面的?)?问题$", "", topic)
    # "提出要加强资金监管": the modal is no part of the topic, when jieba reads it as a word of its own (not 要素保障).
    first = _first_word(topic)
    if first in _MODALS and len(topic) > len(first) + 1:
        topic = topic[len(first) :]
    return topic or question.strip(" ？?")


_MODALS = frozenset({"要", "需要", "应当", "应该", "必须"})


def _strip_lead(text: str) -> str:
    """Leading question words off, as long as something is left; a single character only where jieba reads it as a
    word: 还, 中, 有, 都 and 请 begin 还本付息, 中央资金, 有机肥, 都市农业 and 请客, which were cut to 本付息, 央资金 …

    >>> _strip_lead("提到了还本付息"), _strip_lead("中央资金"), _strip_lead("还存在预算编制不够细化")
    ('还本付息', '中央资金', '预算编制不够细化')
    """
    while (m := _LEAD.match(text)) and m.end() < len(text) and (m.end() > 1 or len(_first_word(text)) == 1):
        text = text[m.end() :]
    return text


def _first_word(text: str) -> str:
    """jieba's first word of the text ("" for none)."""
    return next(iter(words(text)), "")


def _strip_filter_words(topic: str, filters: Filters, units: Sequence[str]) -> str:
    text = re.sub(rf"{_YEAR.pattern}度?", "", topic)  # "请列示2022年度绩效报告中…": not 度绩效报告
    if filters.region:
        text = text.replace(filters.region, "")
    for unit in units:
        for alias in unit_aliases(unit, ""):
            text = text.replace(alias, "")
    return re.sub(r"^(?:年度|的|，|,|那|那么)+", "", text).strip() or topic


def _previous_units(history: Sequence[Turn], catalogue: Sequence[DocRecord]) -> list[str]:
    for i in range(len(history) - 1, -1, -1):
        if history[i].role == "assistant":
            asked = history[i - 1].content if i > 0 and history[i - 1].role == "user" else ""
            # A list written in other words than ours ("开福区楼宇经济中心…和区商务局（芙蓉区）…"): its units by place.
            units = _units_said(history[i].content, catalogue, by_place=bool(_AGGREGATE.search(asked)))
            if units:
                return units
    return []


def _units_said(answer: str, catalogue: Sequence[DocRecord], by_place: bool) -> list[str]:
    """The units an answer names (not its near misses), by name and, `by_place`, by their county or district."""
    said = answer.split(RELATED_HEADER)[0]
    units = match_units(said, catalogue)
    return units + [u for u in _units_by_place(said, catalogue) if u not in units] if by_place else units


# "第二个单位呢？", "第一家提了哪些改进措施？": a unit of the last list by its place in it.
_ORDINAL = re.compile(
    r"(?:第(?P<n>[一二三四五六七八九十]|\d{1,2})|(?P<first>头一|首)|(?P<last>最后一))"
    r"(?:个单位|家单位|家|个(?=呢|的|提|有|是|在|说|写|编|[，,？?]|$))"
)


def _ordinal_named(question: str, history: Sequence[Turn], catalogue: Sequence[DocRecord]) -> str:
    """The question with "第N个单位" replaced by the Nth unit of the last answer naming several (as said)."""
    m = _ORDINAL.search(question)
    if m is None:
        return question
    # Index into the list: the first, the last (from the end), or the Nth.
    if m["first"] or m["last"]:
        at = 0 if m["first"] else -1
    else:
        at = (int(m["n"]) if m["n"].isdigit() else "一二三四五六七八九十".index(m["n"]) + 1) - 1
    for turn in reversed(history[-_CONTEXT_TURNS:]):
        if turn.role != "assistant":
            continue
        units = _units_said(turn.content, catalogue, by_place=True)
        if len(units) >= 2:
            unit = units[at] if -len(units) <= at < len(units) else None
            return question[: m.start()] + unit + question[m.end() :] if unit else question
    return question


def _picked(question: str, units: list[str], catalogue: Sequence[DocRecord]) -> list[str]:
    """The units of a list a follow-up picks by name or place ("其中桃江县那家…"), else all of them."""
    named = [u for u in match_units(question, catalogue) if u in units]
    if named:
        return named
    region = read_filters(question, catalogue)[0].region
    there = catalogue_names(catalogue).units_in.get(region or "", frozenset())
    return [u for u in units if u in there] or units


def _units_by_place(text: str, catalogue: Sequence[DocRecord]) -> list[str]:
    """The units a text names by their county or district ("区商务局（芙蓉区）"; a report naming no unit, by its
    place): for each such place of the catalogue the text names, the one unit there (none when it has several)."""
    names = catalogue_names(catalogue)
    found = sorted(
        (text.find(p), next(iter(names.units_in[p])))
        for p in names.counties
        if p in text and len(names.units_in[p]) == 1
    )
    return [u for _, u in found]


def _before(history: Sequence[Turn], question: str) -> list[Turn]:
    """The turns before the last time `question` was asked."""
    at = max(i for i, t in enumerate(history) if t.role == "user" and t.content == question)
    return list(history[:at])


def _with_year(question: str, year: str) -> str:
    """The question asked of another year: its year replaced, or the year put in front."""
    return _YEAR.sub(f"{year}年", question, count=1) if _YEAR.search(question) else f"{year}年{question}"


def _listing_question(history: Sequence[Turn]) -> str | None:
    """The last which-units question asked in its own words (not "它们分别…", "其中…", "继续"): the list that "分别是哪些？"
    or "其中2021年的呢？" is about."""
    for t in reversed(history):
        c = t.content.strip()
        if t.role != "user" or not c:
            continue
        if _FOLLOWUP_PRONOUN.search(c) or _SAME_LIST.match(c) or _PART_OF_LIST.match(c) or _MORE_ASKED.match(c):
            continue
        return c if _AGGREGATE.search(c) else None
    return None


# How many turns before a question its follow-up reading looks back through (each earlier question is read again in
# its own context, so this bounds the work and the depth of that reading in a long chat).
_CONTEXT_TURNS = 40


def _previous_question(history: Sequence[Turn], catalogue: Sequence[DocRecord]) -> str | None:
    """The previous question as it was understood: a follow-up of a follow-up ("人员经费呢？" then "那公用经费占多少？")
    builds on "赫山区投资促进服务中心2021年人员经费是多少？", not on the words "人员经费呢？"."""
    recent = list(history[-_CONTEXT_TURNS:])
    for i in range(len(recent) - 1, -1, -1):
        t = recent[i]
        if t.role == "user" and t.content.strip():
            return understand(t.content, recent[:i], catalogue).standalone
    return None


# A short follow-up that names a new item of the same unit and year: "人员经费呢？", "那公用经费占多少？" or "公用经费占
# 基本支出的比例是多少？" after "赫山区投资促进服务中心2021年基本支出是多少？" asks it of the scope of the previous
# question (the words naming its unit, region and year), not of its item (基本支出).
_NEW_SUBJECT = re.compile(r"^(?:(?:那么|那)(?!个|些|里|儿|时|样)|换成|换作|改成|如果是|要是)")


_ACTUAL = re.compile(r"实际|决算|最后花|最终花|花掉")
_BUDGETED = re.compile(r"(?:年初)?预算(?:数|额|金额)?(?:为|是|有)?")
# "赫山那边呢？": where a unit or place is, said of it.
_DEIXIS = re.compile(r"(?:那边|这边|那里|这里|那儿|这儿|方面)$")


def _as_scope(item: str, catalogue: Sequence[DocRecord]) -> str:
    """A follow-up's new subject as a scope when it names a place by its stem ("赫山那边" → "赫山区") or the one unit
    whose name holds its stem ("大祥" / "大祥管委会" → "大祥园区"); else as said."""
    bare = _DEIXIS.sub("", item)
    if len(bare) >= 2:
        said, units = read_filters(bare, catalogue)
        if units or said.year or (said.region and said.region in bare):
            return bare
        # The place in full: its stem alone names it too ("赫山" → 赫山区) but reads worse in the question.
        for named in (bare + "区", bare + "县", bare + "市", bare):
            if _names_scope(named, catalogue):
                return named
    stem = re.sub(r"(?:管理委员会|管委会|那个单位|单位)$", "", bare)
    if len(stem) >= 2 and not _names_scope(bare, catalogue):
        owners = [u for u in catalogue_names(catalogue).aliases if stem in u]
        if len(owners) == 1:
            unit = owners[0]
            return min((a for a in unit_aliases(unit, "") if stem in a), key=len)
    return item


def _names_org(item: str) -> bool:
    """Whether a follow-up's new subject is itself an organisation or a place ("那天心区商务局呢？"), in the library or
    not: it is asked the previous question (and declined when no report is its), not taken for an item of the old one."""
    return [item] == named_orgs(item) or bool(PLACE.fullmatch(item) and is_place(item))


def _scope_and_tail(previous: str, catalogue: Sequence[DocRecord]) -> tuple[str, str] | None:
    """The previous question's scope words (a prefix of it) and its asking tail ("是多少？"): None when it names no
    unit, region or year, or its scope words do not come first."""
    core = _ASKING_TAIL.sub("", previous)
    filters, units = read_filters(core, catalogue)
    if not (filters.unit or filters.region or filters.year):
        return None
    item = _strip_filter_words(core, filters, units)
    if 2 <= len(item) < len(core) and core.endswith(item):
        return core[: -len(item)], previous[len(core) :]
    # The item is not a phrase after the scope ("…总产值同比增长了"): the scope ends with its last year or name.
    ends = [m.end() for m in _YEAR.finditer(core)]
    # A unit named loosely ("桃江重点项目中心") ends where that name does.
    names = [*(filters.region,), *(a for u in units for a in unit_aliases(u, "")), *named_orgs(core)]
    ends += [core.find(n) + len(n) for n in names if n and n in core]
    return (core[: max(ends)], previous[len(core) :]) if ends and max(ends) < len(core) else None


# "这两项加起来是多少？" / "两者相差多少？" after two questions asking for amounts ("…2021年基本支出是多少？", "项目支出
# 呢？"): the two items, in the scope of the last, added up or subtracted (qa.answering.figures reads the result).
_THESE_TWO = re.compile(
    r"^(?:那么?)?(?:这|那)?(?:两项|两个数?|两笔|两者|二者|俩)(?:的?(?:金额|数字|数|钱))?(?:(?P<sum>加起来|加在一起|一共|合计|总共|之和|相加|总和|共计)|(?:相差|差了?|差额|差距|相减))"
    r"(?:是|有|为)?多少"
)


def _these_two(history: Sequence[Turn], catalogue: Sequence[DocRecord], question: str) -> str | None:
    """ "这两项加起来是多少？" as the two previous questions' items in the last one's scope ("赫山区投资促进服务中心2021年
    基本支出和项目支出一共是多少？"); None unless both name an item after their scope."""
    m = _THESE_TWO.match(question)
    if not m:
        return None
    recent = list(history[-_CONTEXT_TURNS:])
    asked = [i for i, t in enumerate(recent) if t.role == "user" and t.content.strip()]
    if len(asked) < 2:
        return None
    # The question before the last, and the last, each as it was understood.
    understood = [_previous_question(recent[: asked[-1]], catalogue), _previous_question(recent, catalogue)]
    splits = [_scope_and_tail(q, catalogue) if q else None for q in understood]
    items = [q[len(sp[0]) : len(q) - len(sp[1])].strip("的 ") for q, sp in zip(understood, splits) if q and sp]
    if len(items) < 2 or not all(items) or items[0] == items[1]:
        return None
    scope = splits[1]
    assert scope is not None
    return f"{scope[0]}{items[0]}和{items[1]}{'一共是多少？' if m['sum'] else '相差多少？'}"


# "还有别的单位也提到…吗？", "其他单位有没有也说…的？": the same topic asked of the units not yet named.
# "别的单位呢？还有谁明确说过…的？": the same, asked with 还有谁.
_SAID = r"(?:明确|专门)?(?:提到|提及|提出|说到|说[了过]?|谈到|写到|写[了过]|表示|存在|有)[^？?]{2,40}"
_OTHERS = re.compile(
    rf"^(?:那|那么)?(?:还有)?(?:别的|其他|其它|另外的?)(?:单位|部门|报告)(?:里)?(?:有没有|还有|也有|是否)?(?:也|还)?(?P<said>{_SAID})[？?]*$|"
    rf"^(?:那|那么)?(?:(?:别的|其他|其它|另外的?)(?:单位|部门)呢[？?，,]?)?还有(?:谁|哪些单位|哪些部门|哪个单位|哪家(?:单位)?)(?:也|还)?"
    rf"(?P<said2>{_SAID})[？?]*$"
)
# "这个项目的资金有多少？" after "桃江重点项目中心那个“经费补助缺口”项目是干什么用的？": the thing the previous question
# named, in its scope; not a word of the question a report would write.
_THIS_THING = re.compile(
    r"(?:这个|这一|这项|这笔|这次|本次|此次|该|此|那个)(?P<noun>项目|工程|峰会|活动|会议|资金|经费|平台|园区|政策|钱)|"
    r"这(?P<money>钱)"
)
_KIND_REPORT = re.compile(_KIND_WORDS + "报告")


def _this_thing(question: str, previous: str, catalogue: Sequence[DocRecord]) -> str | None:
    """The question in the previous one's scope, its "这个项目" replaced by the project that question named (kept as
    said when that question only asked which one: "计划办什么峰会")."""
    m = _THIS_THING.search(question)
    split = _scope_and_tail(previous, catalogue)
    if m is None or split is None:
        return None
    body = previous[len(split[0]) : len(previous) - len(split[1])]
    noun = m["noun"] or m["money"]
    # "这笔钱" is the money of the project or fund named before ("那个“经费补助缺口”项目有多少钱？").
    # The noun said last in the previous question, unless what precedes it is still a question ("多少钱").
    found, phrase, last = noun, m.group(0), -1
    for n in ("资金", "经费", "项目") if noun == "钱" else (noun,):
        at = body.rfind(n)
        said = re.sub(r"^(?:的|那个|这个|该|那|这)+", "", body[: at + len(n)])
        if at > last and not re.search(r"什么|哪|多少|几", said):
            found, phrase, last = n, said, at
    if noun == "钱" and found == "项目":
        phrase += "资金"
    return split[0] + _NEW_SUBJECT.sub("", question).replace(m.group(0), phrase, 1)


def _names_scope(text: str, catalogue: Sequence[DocRecord]) -> bool:
    f, _ = read_filters(text, catalogue)
    return bool(f.unit or f.region or f.year)


# How a question typed in a chat may end after what it asks: particles ("…都是谁啊", "…有多少家呗") and requests to
# look it up ("…有几个，麻烦报个数", "…，给个数就行", "…的单位，麻烦您帮忙整理下", "…共有多少个？请说明。").
# 吗 only after a count ("…有几个吗"), not where it asks yes or no.
_PARTICLES = re.compile(r"(?:[呀啊哈呗吧嘛哦]|(?<=[个家少所])吗)+(?=[？?。！!\s]*$)")
_POLITE_TAIL = re.compile(
    r"[，,。？?]\s*(?:请|麻烦您?|帮忙|帮我)*(?:说明|查|找|整理|统计|算|数|列|报个数|给个数)(?:一下|下)?(?:就行)?"
    r"[？?。！!\s]*$"
)


def plain(question: str) -> str:
    """The question without the chat endings it may carry (`_PARTICLES`, `_POLITE_TAIL`).

    >>> plain("三公经费控制不严的单位都是谁啊"), plain("年中钱还没花出去的单位有几个，麻烦报个数")
    ('三公经费控制不严的单位都是谁', '年中钱还没花出去的单位有几个')
    >>> plain("赫山区投资促进服务中心2021年基本支出是多少？")
    '赫山区投资促进服务中心2021年基本支出是多少？'
    """
    return _POLITE_TAIL.sub("", _PARTICLES.sub("", question.strip())) or question.strip()


def understand(
    question: str, history: Sequence[Turn], catalogue: Sequence[DocRecord], explicit: Filters | None = None
) -> Understood:
    question = _ordinal_named(normalize_years(plain(question)), history, catalogue)
    # Whether there is a previous question; what it was understood as is worked out only by the branches that
    # build on it (it reads each earlier question again).
    asked_before = any(t.role == "user" and t.content.strip() for t in history[-_CONTEXT_TURNS:])
    standalone = question
    focus: list[str] = []
    continued = _continued(question, history)
    if continued:
        # The earlier question again, from where its answer stopped; it is understood anew below, so "它们" in it
        # resolves as it did then only when the history still holds what it referred to.
        return replace(
            understand(continued[0], _before(history, continued[0]), catalogue, explicit), offset=continued[1]
        )
    part = _PART_OF_LIST.match(question)
    listing = _listing_question(history) if part or _SAME_LIST.match(question) else None
    if listing:
        which = (part["part"] or part["asked_part"]) if part else None
        year_m = _YEAR.search(which) if which else None
        kind_m = _KIND_PART.fullmatch(which) if which else None
        if year_m:
            standalone = _with_year(listing, year_m.group(1))
        elif kind_m:
            standalone = f"{kind_m.group(1)}报告中{listing}"
        else:
            standalone = f"{which}{listing}" if which else listing
    elif asked_before and (both := _these_two(history, catalogue, question)):
        standalone = both
    elif asked_before and _MORE_ASKED.match(question):
        # "继续" with no list to go on with (a lookup, an answer per unit): the previous question, not its words + 继续.
        standalone = _previous_question(history, catalogue) or question
    elif asked_before and _FOLLOWUP_ELLIPSIS.match(question):
        # "那2022年的呢？": the previous question with the new year put in; "人员经费呢？": with the new item in place of
        # its own; "那大祥工业集中区呢？": asked of that unit (or place), in the same year; anything else: put in front.
        previous = _previous_question(history, catalogue) or ""
        year_m = _YEAR.search(question)
        asked_item = _as_scope(_NEW_SUBJECT.sub("", question.rstrip("？?呢的")), catalogue)
        split = None if year_m else _scope_and_tail(previous, catalogue)
        if year_m:
            standalone = _with_year(previous, year_m.group(1))
        elif split and (_names_scope(asked_item, catalogue) or _names_org(asked_item)):
            year = read_filters(split[0], catalogue)[0].year
            # Another unit's report may be of another kind: "项目支出自评报告里" of the old unit is just "报告里".
            rest = _KIND_REPORT.sub("报告", previous[len(split[0]) :])
            standalone = f"{asked_item}{f'{year}年' if year else ''}{rest}"
        elif split and 2 <= len(asked_item) <= 10:
            standalone = f"{split[0]}{asked_item}{split[1] or '是多少？'}"
        else:
            standalone = f"{question.rstrip('？?呢的')}{previous}"
    elif asked_before and (others := _OTHERS.match(question)):
        # "还有别的单位也提到预算编制不够细化吗？": a new list without the units the last answer was about.
        named = _previous_units(history, catalogue) or [
            u for u in [read_filters(_previous_question(history, catalogue) or "", catalogue)[0].unit] if u
        ]
        said = (others["said"] or others["said2"]).rstrip("吗呢没有的？?")
        standalone = f"除了{'、'.join(named)}，还有哪些单位{said}？" if named else f"哪些单位{said}？"
    elif (
        asked_before
        and _THIS_THING.search(question)
        and not _AGGREGATE.search(question)
        and not _names_scope(question, catalogue)
        and (this := _this_thing(question, _previous_question(history, catalogue) or "", catalogue))
    ):
        standalone = this
    elif history and _FOLLOWUP_PRONOUN.search(question):
        focus = _picked(question, _previous_units(history, catalogue), catalogue)
        if focus:
            standalone = _FOLLOWUP_PRONOUN.sub("、".join(focus), question, count=1)
            # "除了它们，还有谁提到…？": the units are left out of a new list, not asked about.
            if (exc := _EXCEPT.match(question)) and _FOLLOWUP_PRONOUN.search(exc["who"]):
                focus = []

    elif (
        asked_before
        and len(question) <= 16
        and not _AGGREGATE.search(question)
        and not match_units(question, catalogue)
    ):
        # "同比增长了多少？" after "大祥工业集中区2021年规模以上工业总产值是多少？": same subject, new predicate. "那公用经费
        # 占多少？": a new subject of the same unit and year.
        previous = _previous_question(history, catalogue) or ""
        asked = _NEW_SUBJECT.sub("", question)
        new_subject = asked != question or opens_with_noun(asked)
        scope, _ = read_filters(asked, catalogue)
        # "那2022年交了多少税？": the previous scope in another year (its own year would otherwise stay and answer).
        new_year = scope.year is not None and not (scope.unit or scope.region)
        split = _scope_and_tail(previous, catalogue) if new_subject or new_year else None
        if split and new_year:
            standalone = _with_year(split[0], str(scope.year)) + _YEAR.sub("", asked, count=1).lstrip("度的")
        elif split and not _names_scope(asked, catalogue):
            standalone = split[0] + asked
        else:
            core = _ASKING_TAIL.sub("", previous)
            # "最后实际花了多少？" after "…项目支出年初预算多少？": what was spent, not the budget asked before.
            if _ACTUAL.search(question):
                core = _BUDGETED.sub("", core)
            standalone = core + question

    # The units an "except" clause names are no filter: the rest of the question is read without it.
    exc = _EXCEPT.match(standalone) if not focus else None
    excepting = bool(exc and _AGGREGATE.search(standalone[exc.end() :]))
    asked = standalone[exc.end() :] if exc and excepting else standalone
    read, named_units = read_filters(asked, catalogue)
    filters = merge_filters(read, explicit)
    units = tuple(focus or (named_units if len(named_units) > 1 else ()))
    intent: Intent = "aggregate" if _AGGREGATE.search(asked) or len(units) > 1 else "lookup"
    if intent == "lookup" and not named_units and _THOSE_WHICH.search(asked):
        if topic_role(aggregate_topic(asked)) == "problems":
            intent = "aggregate"
    excluded: tuple[str, ...] = ()
    complement = False
    also = ""
    joined: Literal["and", "or"] = "and"
    if intent == "aggregate":
        source = _FOLLOWUP_PRONOUN.sub("", question) if focus else asked
        topic = aggregate_topic(_strip_filter_words(source, filters, units))
        if units:
            filters = replace(filters, unit=None)
        if exc and excepting:
            excluded = tuple(match_units(exc["who"], catalogue)) or (exc["who"].strip(),)
        if (neg := _NOT_MENTIONED.match(topic)) and neg.end() < len(topic):
            topic, complement = aggregate_topic(topic[neg.end() :]), True
        two = _BOTH.match(topic) or _BOTH_AT_ONCE.match(topic)
        either = None if two else _EITHER.match(topic)
        if either and topic_role(either["a"]) is None:
            either = None
        if (pair := two or either) and not complement:
            topic, also = aggregate_topic(pair["a"]), aggregate_topic(pair["b"])
            joined = "and" if two else "or"
    else:
        topic = standalone
    return Understood(
        question,
        standalone,
        intent,
        topic,
        filters,
        units,
        excluded=excluded,
        complement=complement,
        also=also,
        joined=joined,
    )
