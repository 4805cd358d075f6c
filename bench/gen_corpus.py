"""Report-shaped synthetic documents for load and scale runs — never for quality claims.

Every document is a function of (seed, index) alone, so any count can be generated, streamed, or regenerated
piecewise. A document looks like a 部门整体支出 / 项目支出 self-assessment report: a title naming the unit,
region and year, then the usual numbered sections (一、基本情况 … 存在的问题 … 改进措施 …) with 1、2、3、 items
drawn from varied phrasings, numbers, and a few table rows. Texts run ≈ 1.5–2.5k characters (≈ 13 chunks
of ≤ 300 characters; the bundled samples give 16 a document).

    python -m bench.gen_corpus --docs 20 --out /tmp/corpus      # write .txt files
    python -m bench.gen_corpus --real-copies 30 --out /tmp/real # replicate samples/ (ingest-throughput run)

`real_copies()` builds the real-text corpus for the ingest-throughput run: every bundled sample repeated with
its year and a unit/region line changed, so every copy has its own content hash (doc_id) while the body
paragraphs stay the real ones.
"""

from __future__ import annotations

import argparse
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"

PROVINCES = {
    "湖南省": [
        "长沙市",
        "益阳市",
        "邵阳市",
        "株洲市",
        "湘潭市",
        "衡阳市",
        "岳阳市",
        "常德市",
        "郴州市",
        "永州市",
        "怀化市",
        "娄底市",
    ],
    "江西省": ["南昌市", "赣州市", "九江市", "宜春市", "上饶市", "吉安市"],
    "四川省": ["成都市", "绵阳市", "德阳市", "宜宾市", "南充市", "泸州市"],
    "广东省": ["广州市", "佛山市", "东莞市", "惠州市", "江门市", "湛江市"],
}
COUNTY_STEMS = "赫山 资阳 大祥 双清 北塔 开福 芙蓉 天心 岳麓 雨花 望城 浏阳 宁乡 桃江 安化 南县 沅江 隆回 洞口 新邵 邵东 武冈 章贡 南康 信丰 瑞金 青山湖 东湖 武侯 锦江 青羊 金牛 涪城 游仙 旌阳 翠屏 顺庆 江阳 天河 越秀 海珠 禅城 南海 顺德 惠城 蓬江 赤坎".split()
UNIT_KINDS = [
    "财政局",
    "教育局",
    "卫生健康局",
    "农业农村局",
    "自然资源局",
    "交通运输局",
    "住房和城乡建设局",
    "水利局",
    "民政局",
    "文化旅游广电体育局",
    "市场监督管理局",
    "人力资源和社会保障局",
    "司法局",
    "审计局",
    "统计局",
    "医疗保障局",
    "林业局",
    "应急管理局",
    "生态环境分局",
    "商务局",
    "发展和改革局",
    "科学技术局",
    "退役军人事务局",
    "城市管理和综合执法局",
    "投资促进服务中心",
    "政务服务中心",
    "疾病预防控制中心",
    "机关事务服务中心",
    "融媒体中心",
    "档案馆",
    "图书馆",
    "工业集中区管理委员会",
    "高新技术产业开发区管理委员会",
    "人民医院",
    "第一中学",
    "实验小学",
    "职业技术学校",
]
TOWN_STEMS = "龙光桥 泉交河 欧江岔 沧水铺 岳家桥 新市渡 兰溪 笔架山 会龙山 金银山 桃花仑 鹅羊山 洞井 黎托 同升 高桥 井湾子".split()
PROJECTS = [
    "农村人居环境整治",
    "义务教育薄弱环节改善",
    "基层医疗卫生机构能力建设",
    "高标准农田建设",
    "城乡供水一体化",
    "老旧小区改造",
    "乡村振兴示范创建",
    "河湖长制工作",
    "森林防火",
    "食品安全抽检",
    "就业创业补贴",
    "困难群众救助",
    "政务信息化建设",
    "招商引资工作经费",
    "楼宇经济工作经费",
    "公共文化服务体系建设",
    "全民健身设施建设",
    "安全生产专项整治",
    "道路养护",
]

PROBLEMS = [
    "预算编制不够细化，部分项目支出预算未细化到具体事项，预算执行过程中调整较多。",
    "预算编制不够科学精准，年初预算与实际支出存在一定偏差。",
    "部门预算编制的精细化程度有待提高，项目支出测算依据不够充分。",
    "预算编制较为粗放，个别项目未按经济分类细化编列。",
    "绩效目标设置不够明确，部分指标难以量化，绩效目标与预算资金匹配度不高。",
    "绩效目标不够细化，个别项目产出指标和效益指标设置不合理。",
    "项目资金未实行专账核算，资金使用情况难以清晰反映。",
    "部分专项资金未单独设立明细账核算，存在与基本支出混用的情况。",
    "预算执行进度偏慢，部分项目资金支出滞后，年底突击支出现象仍然存在。",
    "资金支付进度与序时进度存在差距，结转结余资金较多。",
    "绩效自评工作不够深入，自评报告质量有待提升，自评结果应用不充分。",
    "绩效管理意识不强，重资金分配、轻绩效管理的现象依然存在。",
    "专业人才缺乏，财务人员身兼数职，业务培训不足。",
    "财务管理制度执行不到位，个别报账凭证附件不全。",
    "政府采购程序不够规范，部分采购项目未及时公开。",
    "固定资产管理不规范，资产账实不符，资产清查不及时。",
    "三公经费控制仍有压缩空间，公务接待审批手续不够完善。",
    "项目前期论证不充分，立项依据不足，导致项目实施进度滞后。",
    "绩效监控机制不健全，未对项目实施过程开展有效跟踪。",
    "信息公开不够及时，部门预决算及绩效信息公开内容不完整。",
    "项目实施缺乏统筹，部门之间协调配合不够顺畅。",
    "基础数据统计不完整，部分绩效指标完成情况缺乏佐证材料。",
    "经费保障不足，部分工作依靠上级转移支付资金，可持续性较差。",
    "内部控制制度不够健全，关键岗位分离不彻底。",
]
MEASURES = [
    "进一步细化预算编制，严格按照经济分类和具体事项编列预算，提高预算编制的科学性和准确性。",
    "加强预算编制管理，做到预算编制精细化，减少预算执行中的调整。",
    "科学设置绩效目标，细化量化绩效指标，确保绩效目标与预算资金相匹配。",
    "严格执行专账核算制度，对项目资金实行单独核算、专款专用。",
    "加快预算执行进度，建立支出进度通报机制，减少结转结余资金。",
    "强化绩效自评工作，提高自评报告质量，将评价结果与下年度预算安排挂钩。",
    "加强财务人员业务培训，充实专业力量，提高财务管理水平。",
    "完善内部控制制度，规范报账审批流程，确保凭证附件齐全。",
    "规范政府采购行为，严格按程序组织采购并及时公开采购信息。",
    "加强固定资产管理，定期开展资产清查，做到账实相符。",
    "严控三公经费支出，严格执行公务接待审批制度。",
    "加强项目前期论证，充分做好立项准备，确保项目按期实施。",
    "建立健全绩效运行监控机制，对项目实施全过程进行跟踪管理。",
    "按规定及时公开部门预决算和绩效信息，主动接受社会监督。",
    "加强部门之间的沟通协调，形成工作合力，提升项目实施效果。",
    "完善基础数据统计，收集整理绩效佐证材料，提高绩效评价的客观性。",
    "积极争取上级资金支持，拓宽经费保障渠道。",
]
FUNCTIONS = [
    "贯彻执行国家和省、市有关方针政策和法律法规，拟订本地区相关发展规划并组织实施。",
    "负责本行业领域的监督管理工作，组织开展业务指导和培训。",
    "承担本级财政资金的管理和使用，组织实施重点项目建设。",
    "负责相关公共服务的组织实施，统筹推进重点民生工程。",
    "承办本级人民政府和上级部门交办的其他事项。",
    "负责辖区内招商引资、项目服务和营商环境优化工作。",
]
WORK_OPENERS = [
    "围绕年度工作目标",
    "按照上级部署要求",
    "坚持以人民为中心的发展思想",
    "紧扣全年重点任务",
    "在上级主管部门的指导下",
]
WORK_ACTIONS = [
    "扎实推进{p}，完成投资{m}万元，建成项目{n}个",
    "组织开展{p}专项行动{n}次，覆盖{n2}个村（社区）",
    "持续优化营商环境，新引进项目{n}个，合同引资{m}万元",
    "加强行业监管，开展督查检查{n}次，整改问题{n2}个",
    "完善制度建设，新制定或修订管理制度{n}项",
    "推进信息化建设，建成业务系统{n}套，实现数据互联互通",
    "强化队伍建设，组织干部职工参加业务培训{n}次",
    "落实惠民政策，发放各类补助资金{m}万元，惠及{n2}户",
]
WORK_CLOSERS = [
    "取得了较好的经济效益和社会效益。",
    "各项工作任务均按时完成。",
    "得到了上级部门和社会各界的肯定。",
    "为全年目标的实现奠定了基础。",
]
INDICATORS = [
    "培训人次",
    "项目完成率",
    "资金到位率",
    "群众满意度",
    "验收合格率",
    "设施建成数",
    "覆盖村（社区）数",
    "投诉办结率",
    "信息公开及时率",
]
CAUSES = [
    "主要原因是前期调研不够充分。",
    "主要原因是人员力量不足、业务能力有待提高。",
    "原因在于相关制度执行不严格。",
    "受客观因素影响，部分工作推进不及预期。",
    "主要是对政策理解不够深入。",
    "",
]
ACHIEVEMENTS = [
    "全年共完成{n1}项重点工作任务，群众满意度达到{p}%。",
    "项目完成率{p}%，资金到位率100%，项目按计划完成验收。",
    "通过项目实施，惠及群众{n2}人次，社会效益明显。",
    "组织开展业务培训{n3}次，参训人员{n2}人次。",
    "新建和改造设施{n3}处，有效改善了基础条件。",
    "年度绩效目标基本完成，自评得分{score}分，评价等级为{grade}。",
]


@dataclass(frozen=True)
class GeneratedDoc:
    source: str
    text: str
    unit: str
    region: str
    year: int


def _unit_and_region(rng: random.Random) -> tuple[str, str]:
    province = rng.choice(list(PROVINCES))
    city = rng.choice(PROVINCES[province])
    stem = rng.choice(COUNTY_STEMS)
    county = stem + ("区" if rng.random() < 0.6 else "县" if len(stem) == 2 else "市")
    kind = rng.choice(UNIT_KINDS)
    if rng.random() < 0.1:
        unit = f"{county}{rng.choice(TOWN_STEMS)}{'镇人民政府' if rng.random() < 0.5 else '街道办事处'}"
    elif rng.random() < 0.2:
        unit = f"{city}{kind}"
        return unit, province + city
    else:
        unit = f"{county}{kind}"
    return unit, province + city + county


def _money(rng: random.Random) -> float:
    return round(rng.uniform(5, 5000), 2)


def _items(rng: random.Random, pool: list[str], lo: int, hi: int) -> list[str]:
    return rng.sample(pool, rng.randint(lo, hi))


def generate_doc(index: int, seed: int = 0) -> GeneratedDoc:
    rng = random.Random(seed * 1_000_003 + index)
    unit, region = _unit_and_region(rng)
    year = rng.randint(2019, 2024)
    project = rng.random() < 0.35
    subject = rng.choice(PROJECTS) if project else ""
    title = f"{unit}{year}年度{subject + '项目支出' if project else '部门整体支出'}绩效自评报告"
    total = _money(rng)
    basic = round(total * rng.uniform(0.3, 0.8), 2)
    staff = rng.randint(8, 260)
    lines = [title, ""]
    lines.append("一、部门基本情况" if not project else "一、项目基本情况")
    lines.append("（一）主要职能")
    lines += [f"{n}、{f}" for n, f in enumerate(_items(rng, FUNCTIONS, 3, 5), 1)]
    lines.append("（二）机构设置及人员情况")
    lines.append(
        f"{unit}内设机构{rng.randint(3, 15)}个，下属单位{rng.randint(0, 6)}个。核定编制{staff}人，实有在职人员{staff - rng.randint(0, 8)}人，"
        f"退休人员{rng.randint(0, 90)}人。单位执行《政府会计制度》，财务由{'本单位' if rng.random() < 0.7 else '会计核算中心'}统一核算。"
    )
    lines.append("二、一般公共预算支出情况")
    lines.append(
        f"{year}年度{unit}一般公共预算支出{total}万元，其中基本支出{basic}万元，项目支出{round(total - basic, 2)}万元。"
        f"基本支出中人员经费{round(basic * 0.78, 2)}万元，公用经费{round(basic * 0.22, 2)}万元。"
    )
    lines.append("项目 | 预算数 | 执行数 | 执行率")
    for name in ("基本支出", "项目支出", "合计"):
        budget = _money(rng)
        lines.append(f"{name} | {budget} | {round(budget * rng.uniform(0.8, 1.0), 2)} | {rng.randint(80, 100)}%")
    lines.append(
        f"“三公”经费支出{round(rng.uniform(1, 60), 2)}万元，比上年{'减少' if rng.random() < 0.7 else '增加'}{round(rng.uniform(0.1, 9), 2)}万元，"
        f"其中公务接待费{round(rng.uniform(0.1, 10), 2)}万元，公务用车运行维护费{round(rng.uniform(0.5, 20), 2)}万元。"
    )
    lines.append("三、政府性基金预算支出情况")
    lines.append(
        f"本单位{year}年度{'无政府性基金预算支出。' if rng.random() < 0.6 else f'政府性基金预算支出{_money(rng)}万元，主要用于{rng.choice(PROJECTS)}。'}"
    )
    lines.append("四、部门整体支出绩效情况" if not project else "四、项目绩效情况")
    lines.append("（一）绩效目标完成情况")
    for n, a in enumerate(_items(rng, ACHIEVEMENTS, 3, 5), 1):
        lines.append(
            f"{n}、"
            + a.format(
                n1=rng.randint(5, 60),
                n2=rng.randint(100, 50000),
                n3=rng.randint(2, 40),
                p=rng.randint(85, 100),
                score=rng.randint(80, 100),
                grade=rng.choice(["优", "良", "优秀"]),
            )
        )
    lines.append("（二）年度主要工作及成效")
    for _ in range(rng.randint(3, 6)):
        acts = "；".join(
            a.format(p=rng.choice(PROJECTS), m=_money(rng), n=rng.randint(2, 60), n2=rng.randint(10, 900))
            for a in _items(rng, WORK_ACTIONS, 2, 4)
        )
        lines.append(f"{rng.choice(WORK_OPENERS)}，{unit}{acts}，{rng.choice(WORK_CLOSERS)}")
    lines.append("绩效指标 | 年度目标值 | 实际完成值 | 得分")
    for name in _items(rng, INDICATORS, 4, 8):
        lines.append(f"{name} | {rng.randint(50, 100)} | {rng.randint(50, 100)} | {rng.randint(5, 10)}")
    lines.append("（三）资金管理情况")
    lines.append(
        f"严格执行《{unit}财务管理制度》和专项资金管理办法，按规定的用途和计划使用资金，资金拨付有完整的审批程序和手续，"
        f"{'未发现' if rng.random() < 0.8 else '基本不存在'}截留、挤占、挪用、虚列支出等情况。"
    )
    lines.append("（四）项目组织实施情况")
    lines.append(
        f"成立了由主要负责人任组长的绩效管理工作领导小组，{rng.choice(['财务股', '计划财务科', '综合科', '办公室'])}牵头，各股室配合，"
        f"对{subject or '各项目'}实施情况开展了{rng.choice(['全面', '重点', '抽样'])}自评。"
    )
    sec = 5
    numerals = "一二三四五六七八九十"
    lines.append(
        f"{numerals[sec - 1]}、{rng.choice(['存在的问题及原因分析', '存在的问题', '存在的困难与问题', '主要问题'])}"
    )
    lines += [f"{n}、{p}{rng.choice(CAUSES)}" for n, p in enumerate(_items(rng, PROBLEMS, 2, 5), 1)]
    lines.append(f"{numerals[sec]}、{rng.choice(['下一步改进措施', '改进措施及建议', '有关建议', '下一步工作打算'])}")
    lines += [f"{n}、{m}" for n, m in enumerate(_items(rng, MEASURES, 2, 5), 1)]
    lines.append(f"{numerals[sec + 1]}、其他需要说明的情况")
    lines.append("无。" if rng.random() < 0.5 else f"本报告数据以{year}年度部门决算数据为准，评价结果将按规定公开。")
    source = f"gen_{seed}_{index:07d}.txt"
    return GeneratedDoc(source, "\n".join(lines) + "\n", unit, region, year)


def generate(n_docs: int, seed: int = 0, start: int = 0) -> Iterator[GeneratedDoc]:
    for i in range(start, start + n_docs):
        yield generate_doc(i, seed)


# --- real text, replicated ---------------------------------------------------------------------------------

_YEAR = re.compile(r"20[12]\d(?=年)")


def real_copies(copies: int, seed: int = 0) -> Iterator[tuple[str, str]]:
    """(file name, text): each bundled sample `copies` times. Copy k gets another year in every "20xx年" and a
    last line naming another unit in another region, so its cleaned text (and doc_id) differs while every body
    paragraph is the real one."""
    samples = sorted(SAMPLES.glob("*.txt"))
    rng = random.Random(seed)
    for k in range(copies):
        for path in samples:
            text = path.read_text(encoding="utf-8")
            unit, region = _unit_and_region(rng)
            year = 2015 + (k % 10)
            body = _YEAR.sub(str(year), text)
            yield f"real_{k:03d}_{path.name}", f"{body.rstrip()}\n填报单位：{region}{unit}\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--docs", type=int, default=0, help="synthetic documents to write")
    ap.add_argument("--real-copies", type=int, default=0, help="copies of each bundled sample to write")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for doc in generate(args.docs, args.seed):
        (args.out / doc.source).write_text(doc.text, encoding="utf-8")
    for name, text in real_copies(args.real_copies, args.seed):
        (args.out / name).write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
