"""Every word the app shows, in Chinese (default) and English, and the number/date formats of each language."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from etl.contract.tables import LOCAL_TZ, TABLES
from etl.ingest import messages
from etl.stores import loop as loop_messages

LANGS = ("zh", "en")
DEFAULT_LANG = "zh"

# key -> (zh, en). One table, so a test can check that every key has both languages.
MESSAGES: dict[str, tuple[str, str]] = {
    # -- shell -------------------------------------------------------------------------------------------------
    "app.title": ("一网通办 用户中心绩效指数", "One-Stop Service User-Centred Performance Index"),
    "app.subtitle": ("上海市 16 区 · 供给侧与需求侧综合评价", "Shanghai's 16 districts · supply and demand side evaluation"),
    "nav.overview": ("总览", "Overview"),
    "district.quarantine_print": ("本区被隔离的问题数据 {n} 条，明细见 XLSX 评分卡的“问题数据”工作表。",
                                  "{n} rejected rows of this district: listed in the XLSX scorecard's rejected-rows sheet."),
    "district.context_print": ("背景指标 {n} 项（计算并显示、不计分）列在屏幕上的指标表和 XLSX 评分卡中，本页只打印计分指标。",
                               "{n} context indicators (shown, not scored) are in the on-screen table and the XLSX "
                               "scorecard; this page prints the scored ones."),
    "nav.district": ("区画像", "District profile"),
    "nav.weights": ("权重", "Weights"),
    "nav.sensitivity": ("敏感性", "Sensitivity"),
    "nav.data_quality": ("数据质量", "Data quality"),
    "nav.methodology": ("方法说明", "Methodology"),
    "lang.switch": ("English", "中文"),
    "profile.label": ("权重方案", "Weight profile"),
    "period.label": ("评价期", "Period"),
    "footer.snapshot": ("数据快照", "Data snapshot"),
    "footer.loaded": ("载入于", "loaded"),
    "footer.nodata": ("尚无数据仓库", "no warehouse yet"),
    "print": ("打印", "Print"),
    "print.summary": ("打印一页摘要", "Print one-page summary"),
    "print.scorecard": ("打印 A4 评分卡", "Print A4 scorecard"),
    "export.xlsx": ("导出 Excel", "Export XLSX"),
    "export.csv": ("导出 CSV", "Export CSV"),
    "none": ("无", "none"),
    "na": ("—", "—"),
    "error.title": ("无法显示", "Cannot show this"),
    "error.nodata": (
        "数据仓库尚未生成或没有指标值。请先运行 govindex demo 与 govindex ingest。",
        "The warehouse is missing or holds no indicator values. Run govindex demo and govindex ingest first.",
    ),
    "error.unknown_district": ("未知的区代码：{code}", "Unknown district code: {code}"),
    "notfound.title": ("页面不存在", "Page not found"),
    "notfound.lead": ("没有找到地址 {path} 对应的页面。请从上方导航进入，或返回总览。",
                      "There is no page at {path}. Use the navigation above, or go back to the overview."),
    "notfound.back": ("返回总览", "Back to the overview"),
    "notfound.district": ("区画像（全部区）", "District profiles (all districts)"),
    "time.zone": ("北京时间", "Beijing time"),
    "stale.badge": ("已失效", "Out of date"),
    # -- common columns ----------------------------------------------------------------------------------------
    "col.rank": ("排名", "Rank"),
    "col.district": ("区", "District"),
    "col.code": ("代码", "Code"),
    "col.score": ("综合得分", "Composite"),
    "col.supply": ("供给侧", "Supply side"),
    "col.demand": ("需求侧", "Demand side"),
    "col.gap": ("供需差", "Supply − demand"),
    "col.rank_interval": ("排名区间 (5–95%)", "Rank interval (5–95%)"),
    "col.change": ("排名变化", "Rank change"),
    "col.indicator": ("指标", "Indicator"),
    "col.dimension": ("维度", "Dimension"),
    "col.side": ("侧", "Side"),
    "col.value": ("数值", "Value"),
    "col.unit": ("单位", "Unit"),
    "col.ind_score": ("得分", "Score"),
    "col.ind_rank": ("排名", "Rank"),
    "col.gap_best": ("距最优", "Gap to best"),
    "col.gap_target": ("距目标", "Gap to target"),
    "col.target": ("目标值", "Target"),
    "col.trend": ("趋势", "Trend"),
    "col.sample": ("样本量", "Sample size"),
    "col.n": ("样本量（有效）", "Observations (effective n)"),
    "col.ci_low": ("95% 区间下限", "95% interval, low"),
    "col.ci_high": ("95% 区间上限", "95% interval, high"),
    "col.interval": ("数值与 95% 区间", "Value and 95% interval"),
    "col.interval_method": ("区间计算方法", "Interval method"),
    "col.missing_reason": ("缺失原因", "Why it is missing"),
    "interval.text": ("{value}（95% 区间 {low}–{high}，样本量 {n}）", "{value} (95% interval {low}–{high}, n = {n})"),
    "interval.census": ("{value}（全量统计，无抽样误差）", "{value} (a census: no sampling error)"),
    "interval.missing": ("不显示：{reason}", "not shown: {reason}"),
    # the district table's line under a value (the n stands in its own column beside it)
    "interval.short": ("95% 区间 {low}–{high}", "95% interval {low}–{high}"),
    "interval.census_short": ("全量统计，无抽样误差", "a census: no sampling error"),
    "interval.missing_with": ("不显示：{reason}（95% 区间 {low}–{high}，样本量 {n}）",
                              "not shown: {reason} (95% interval {low}–{high}, n = {n})"),
    "missing_reason.no_cases": ("本期无办件或样本", "no cases or responses in the period"),
    "missing_reason.imprecise": ("样本太少，95% 区间过宽", "too few observations: the 95% interval is too wide"),
    "missing_reason.not_applicable": ("本期不适用", "not applicable in the period"),
    "missing_reason.not_recorded": ("数据未记录（导出中没有该列）", "not recorded: the export lacks the column it needs"),
    "missing_reason.no_source": ("数据未提供此指标所需的表（如旧版导出没有办件过程或取号排队文件）",
                                 "the data hold no rows of a table this indicator needs (e.g. an older export "
                                 "without case-event or hall-queue files)"),
    "interval_method.wilson": ("比例的威尔逊区间", "Wilson interval of a proportion"),
    "interval_method.poisson": ("事件数的泊松区间", "Poisson interval of an event count"),
    "interval_method.design": ("加权调查的设计区间（有效样本量）", "design-based interval of a weighted survey (effective n)"),
    "interval_method.agresti_caffo": ("两个比例之差的调整区间", "adjusted interval of a difference of two proportions"),
    "interval_method.exact": ("中位数的次序统计量区间", "order-statistic interval of a median"),
    "interval_method.delta": ("比率的德尔塔法区间", "delta-method interval of a ratio"),
    "interval_method.none": ("全量统计，无抽样误差", "a census: no sampling error"),
    "col.direction": ("方向", "Direction"),
    "col.weight": ("权重", "Weight"),
    "col.eff_weight": ("有效权重", "Effective weight"),
    "col.gain": ("综合分提升", "Composite gain"),
    "col.source": ("数据来源", "Source"),
    "col.formula": ("计算公式 (SQL)", "Formula (SQL)"),
    "col.definition": ("定义", "Definition"),
    "col.goalposts": ("目标值区间", "Goalposts"),
    "col.band": ("等级", "Band"),
    "col.period": ("期", "Period"),
    "dir.up": ("越高越好 ↑", "higher is better ↑"),
    "dir.down": ("越低越好 ↓", "lower is better ↓"),
    "side.supply": ("供给侧", "Supply side"),
    "side.demand": ("需求侧", "Demand side"),
    # -- overview ----------------------------------------------------------------------------------------------
    "overview.title": ("总览", "Overview"),
    "overview.lead": (
        "只看供给侧产出的评价会奖励“任务导向”的区；需求侧证据（非引导好评、自愿使用、老年数字鸿沟）必须计入。",
        "Evaluation that counts only supply-side output rewards 'task-oriented' districts; demand-side evidence "
        "(unprompted satisfaction, voluntary use, the elderly digital gap) must weigh in.",
    ),
    "overview.ranking": ("综合排名（含 5–95% 排名区间）", "Composite ranking (with 5–95% rank intervals)"),
    "overview.quadrant": ("供给侧 vs 需求侧", "Supply side vs demand side"),
    "overview.quadrant_note": (
        "右下象限：供给强、需求弱的“任务导向型”区（红色标出）。虚线为全市中位数。",
        "Lower right: 'task-oriented' districts, strong on supply but weak on demand (in red). Dashed lines: city medians.",
    ),
    "overview.map": ("各区综合得分", "Composite score by district"),
    "overview.movers": ("较上期排名变化", "Rank movers since the previous period"),
    "overview.movers_none": ("只有一个评价期，暂无变化可比。", "Only one period so far: no movers to show."),
    "overview.kpi.leader": ("第一名", "Leader"),
    "overview.kpi.task": ("任务导向型区", "Task-oriented districts"),
    "overview.kpi.blend": ("需求侧权重", "Demand-side weight"),
    "overview.kpi.units": ("参评区", "Districts scored"),
    "overview.mc_note": (
        "排名区间为即时计算（{n} 次权重蒙特卡洛抽样），未存储。",
        "Rank intervals computed now from {n} Monte Carlo weight samples, not stored.",
    ),
    "overview.mc_note_stored": (
        "排名区间来自已存储的不确定性分析（{n} 次有效抽样，运行 {run}）。",
        "Rank intervals from the stored uncertainty analysis ({n} successful samples, run {run}).",
    ),
    # -- h13s: plain-language readings (app.ui.readings), k of n indicators, shrinkage, reliability ------------------
    "read.title": ("结论要点", "What the numbers say"),
    "read.sep": ("、", ", "),
    "read.and": ("和", " and "),
    "read.rank_iv": ("第 {lo}–{hi} 名", "ranks {lo}–{hi}"),
    "read.rank_one": ("第 {lo} 名", "rank {lo}"),
    "read.k_of_n": ("{k}/{n} 项指标", "{k} of {n} indicators"),
    "read.k_of_n.title": ("得分基于 {n} 项指标中有实测值的 {k} 项；其余缺失（或经插补），结论须谨慎。",
                          "The score rests on the {k} of {n} indicators that were measured; the rest are missing (or "
                          "imputed), so read it with care."),
    "read.leader_clear": ("{name}在 95% 以上的模拟中均居第一，领先地位稳固。",
                          "{name} is first in over 95% of the simulations: a secure lead."),
    "read.top_group": ("{names}在 95% 以上的模拟中位列前 {k} 名，彼此难分先后。",
                       "{names} are in the top {k} in over 95% of the simulations, and cannot be told apart."),
    "read.top_one_of_group": ("{name}在 95% 以上的模拟中位列前 {k} 名，但第一名并不确定。",
                              "{name} is in the top {k} in over 95% of the simulations, but first place is not settled."),
    "read.leader_uncertain": ("第一名{name}的排名区间为{iv}，与{others}重叠：名次之差在不确定性范围之内，不宜据此排先后。",
                              "The leader, {name}, spans {iv}, overlapping {others}: the gap is within the uncertainty, "
                              "so the order should not be read as a result."),
    "read.bottom_group": ("{names}在 95% 以上的模拟中均处于后 {k} 名，应优先关注。",
                          "{names} are in the bottom {k} in over 95% of the simulations: they need attention first."),
    "read.bottom_one": ("{names}在 95% 以上的模拟中均处于后 {k} 名，应优先关注。",
                        "{names} is in the bottom {k} in over 95% of the simulations: it needs attention first."),
    "read.no_composite_one": ("{names}本期有实测值的指标不足，没有综合得分，也不参与排名。",
                              "{names} has too few measured indicators this period for a composite, and is not ranked."),
    "read.tie": ("{names}得分相同，并列第 {rank} 名。", "{names} have the same score and share rank {rank}."),
    "read.width": ("排名区间的中位宽度为 {w} 个名次：相邻名次之间的差距多在不确定性范围之内，宜看档次和区间，不宜只看名次。",
                   "The median rank interval spans {w} places: most neighbouring places differ by less than the "
                   "uncertainty, so read bands and intervals, not single places."),
    "read.width_narrow": ("排名区间的中位宽度为 {w} 个名次：多数名次是稳定的。",
                          "The median rank interval spans {w} places: most places are stable."),
    "read.no_intervals": ("本期没有排名区间，名次之差是否可靠无法判断。",
                          "There are no rank intervals for this period, so whether places differ reliably cannot be told."),
    "read.bands": ("按绝对分档：{items}。", "By absolute band: {items}."),
    "read.band_item": ("{label} {n} 个区", "{n} {label}"),
    "read.missing": ("{items}的综合得分并非基于全部指标，结论须谨慎。",
                     "The composite of {items} does not rest on every indicator; read it with care."),
    "read.missing_item": ("{name}（仅 {kn}）", "{name} (only {kn})"),
    "read.more": ("{names}等 {n} 个单位", "{names} and {n} more"),
    "read.ties_more": ("另有 {n} 组共 {units} 个单位得分相同、名次并列（见下方表格）。",
                       "{n} more groups of {units} units in all share a rank (see the table below)."),
    "read.no_composite": ("{names}本期有实测值的指标不足，没有综合得分，也不参与排名。",
                          "{names} have too few measured indicators this period for a composite, and are not ranked."),
    "read.shrunk": ("本方案对小样本指标做了经验贝叶斯收缩：数值已向全市水平靠拢（标“收缩”）。",
                    "This profile shrinks small-sample values toward the city level (empirical Bayes, marked 'shrunk')."),
    "col.k_of_n": ("有实测值的指标", "Indicators measured"),
    "mark.shrunk": ("收缩", "shrunk"),
    "mark.shrunk_title": ("计分采用向全市水平收缩后的数值 {v}（实测值 {raw}）",
                          "scored with the value shrunk toward the city level, {v} (measured {raw})"),
    "mark.imputed": ("插补", "imputed"),
    "mt.shrink.none": ("不做收缩：各区数值按实测值计分；小样本的抽样误差见信度与排名区间。",
                       "No shrinkage: every value is scored as measured; the sampling error of small samples shows in "
                       "reliability and the rank intervals."),
    "mt.shrink.eb": ("经验贝叶斯收缩：每个数值按其自身抽样误差向本期全市水平（各区按精度加权的平均）靠拢，"
                     "x̃ = m + B(x − m)，B = τ²/(τ² + se²)，τ² = 区间方差 − 平均抽样方差（不小于 0）。样本越小，靠拢越多；"
                     "收缩后的数值处处标注“收缩”，实测值仍保留。",
                     "Empirical-Bayes shrinkage: every value moves toward the period's city level (the districts' "
                     "precision-weighted mean) by its own sampling error, x̃ = m + B(x − m), B = τ²/(τ² + se²), τ² = "
                     "between-district variance − mean sampling variance (at least 0). The smaller the sample, the "
                     "further it moves; shrunk values are marked 'shrunk' wherever they appear, and the measured value "
                     "is kept."),
    "mt.avail.dims": ("每个维度至少需要 {share} 的指标有值，否则该维度为缺失（不以其余指标的平均代替）；供给侧、需求侧和综合得分按有值的维度计算。",
                      "Every dimension needs at least {share} of its indicators present, else it is missing (not the "
                      "mean of the rest); the sides and the composite aggregate the dimensions present."),
    "mt.k_of_n": ("有缺失的得分标注“k/n 项指标”：n 为该节点计入的指标数（权重为 0 的对照指标不计），k 为其中有实测值（未插补）的项数。",
                  "Scores with gaps are marked 'k of n indicators': n is how many indicators the node counts "
                  "(comparison-only indicators with weight 0 are not counted), k how many of them were measured "
                  "(not imputed)."),
    "rel.title": ("指标信度", "Indicator reliability"),
    "rel.lead": ("信度 = 区间方差中不是抽样噪声的比例：每期 1 − 平均抽样方差 ÷ 各区数值的方差（不小于 0），取各完整期的中位数；"
                 "低于 {threshold} 的指标不宜单独据以排名，并注明在哪一时间粒度达到可靠。",
                 "Reliability = the share of between-district variance that is not sampling noise: per period, "
                 "1 − mean sampling variance ÷ variance of the districts' values (at least 0), the median over the "
                 "complete periods; indicators below {threshold} should not rank districts on their own, and the grain "
                 "at which they become reliable is given."),
    "rel.flag": ("{name}：{grain}信度 {r}，{verdict}", "{name}: {grain} reliability {r}, {verdict}"),
    "rel.reliable_at": ("按{grain}汇总后可靠", "reliable at the {grain} grain"),
    "rel.never": ("各时间粒度均不可靠", "not reliable at any grain"),
    "rel.none": ("所有指标的信度均达到 {threshold}。", "Every indicator reaches a reliability of {threshold}."),
    "rel.nodata": ("数据中没有抽样误差，无法计算信度。", "The data carry no sampling errors: reliability cannot be computed."),
    "rel.col.indicator": ("指标", "Indicator"),
    "rel.col.quarter": ("季度", "Quarterly"),
    "rel.col.year": ("年度", "Annual"),
    "rel.col.month": ("月度", "Monthly"),
    "grain.quarter": ("季度", "quarter"),
    "grain.year": ("年度", "year"),
    "grain.month": ("月度", "month"),
    "dup.title": ("重复计分检查", "Double counting"),
    "dup.lead": ("各区之间相关系数绝对值 ≥ {threshold} 的指标对（每期跨区相关，取中位数）携带同一信息；权重为 0 的诊断指标不重复计分。",
                 "Pairs of indicators whose correlation across districts (per period, the median) reaches |r| ≥ "
                 "{threshold} carry the same information; diagnostic indicators with weight 0 are not counted twice."),
    "dup.pair": ("{a}与{b}：r = {r}（{grain}）", "{a} and {b}: r = {r} ({grain})"),
    "dup.none": ("没有相关系数绝对值 ≥ {threshold} 的指标对。", "No pair of indicators reaches |r| ≥ {threshold}."),
    "source.stored": ("已存储的评分结果：运行 {run}（{time}）。", "Stored results: run {run} ({time})."),
    "source.computed": (
        "尚未存储的计算结果：当前数据快照中没有此权重方案的已存储评分（例如方案在最近一次刷新之后保存），"
        "以下数字为即时计算，未存储。",
        "Computed, not stored: the current data snapshot holds no stored run for this weight profile (e.g. it was "
        "saved after the last refresh); the numbers below are computed now and not stored.",
    ),
    "quadrant.task": ("任务导向型", "Task-oriented"),
    "quadrant.balanced_high": ("供需均强", "Strong on both"),
    "quadrant.user": ("用户导向型", "User-led"),
    "quadrant.low": ("供需均弱", "Weak on both"),
    "quadrant.median": ("中位数", "median"),
    # -- district ----------------------------------------------------------------------------------------------
    "district.title": ("区画像", "District profile"),
    "district.choose": ("选择区", "Choose a district"),
    "district.dimensions": ("各维度得分：本区 vs 全市中位数 vs 最优区", "Dimensions: this district vs city median vs best"),
    "district.this": ("本区", "This district"),
    "district.median": ("全市中位数", "City median"),
    "district.best": ("最优区", "Best district"),
    "district.indicators": ("指标明细", "Indicators"),
    "district.priorities": ("改进优先项", "Improvement priorities"),
    "district.quarantine": ("本区报送数据的质量问题", "Data-quality issues in this district's submissions"),
    "district.quarantine_none": ("本区报送数据没有被隔离的记录。", "No quarantined rows in this district's submissions."),
    "district.summary": (
        "综合得分 {score}，全市第 {rank} / {n} 名；供给侧第 {srank} 名，需求侧第 {drank} 名。",
        "Composite {score}, rank {rank} of {n}; supply side rank {srank}, demand side rank {drank}.",
    ),
    "district.scorecard": ("评分卡", "Scorecard"),
    "district.compare_link": ("与其他区对比", "Compare with other districts"),
    "district.priority_measure": (
        "优先度 = 权重 × 距目标差距 × 可行性。权重：该指标在综合得分中的实际权重；距目标差距：本区得分与目标值得分之差"
        "（0–100 分制，已达标为 0）；可行性：已做得比本区好的其他区所占比例（多数区已做到的，本区也能做到；各区都没做到的是"
        "全市共性问题）。按优先度从高到低排列；“达标可提分”为该指标达到目标值时综合得分可提高的分值。",
        "Priority = weight × gap to target × feasibility. Weight: the indicator's effective weight in the composite; "
        "gap: score points between this district and the target (0–100 scale, 0 when the target is met); feasibility: "
        "the share of the other districts already doing better (what most districts achieve is within reach; what none "
        "achieves is a city-wide problem). Sorted by priority, highest first; \"gain at target\" is the composite "
        "points gained if the indicator reached its target.",
    ),
    "district.gap_note": (
        "距目标：↓ 差距表示尚未达到目标值，数值为还差多少（按指标方向，原始单位）；✓ 已达标表示达到或超过目标值。",
        "Gap to target: ↓ short by how much the district still lacks (in the indicator's own unit, its good "
        "direction); ✓ met means at or beyond the target.",
    ),
    "district.gap_short": ("↓ 差距 {v}", "↓ short by {v}"),
    "district.gap_met": ("✓ 已达标", "✓ met"),
    "district.gap_met_by": ("✓ 已达标（超出 {v}）", "✓ met (beyond by {v})"),
    "district.gap_best_zero": ("全市最优", "best in city"),
    "district.gap_best_short": ("落后 {v}", "behind by {v}"),
    "col.priority": ("优先度", "Priority"),
    "col.weight_eff": ("权重", "Weight"),
    "col.feasibility": ("可行性", "Feasibility"),
    "col.gain_target": ("达标可提分", "Gain at target"),
    "district.trend": ("综合得分与排名走势", "Composite score and rank over time"),
    "district.trend_score": ("综合得分", "Composite"),
    "district.trend_rank": ("全市排名", "Rank in city"),
    "district.quarantine_hidden": (
        "您的角色只能查看本人所在区的问题数据，无法查看{name}的问题数据明细；如需核对，请联系{name}或评估人员。",
        "Your role may see only your own district's rejected rows, not {name}'s; ask {name} or an assessor to check.",
    ),
    "district.quarantine_more": ("仅显示前 {shown} 条，共 {total} 条；完整清单见“数据质量”页。",
                                 "Showing the first {shown} of {total}; the full list is on the Data quality page."),
    "district.reading_title": ("本区解读", "Reading"),
    "reading.district.head": ("{name}{period}综合得分 {score} 分，全市第 {rank} 名（共 {n} 个区）",
                              "In {period}, {name} scored {score}, rank {rank} of {n}"),
    "reading.district.up": ("，较上期上升 {k} 名", ", up {k} place(s) on the previous period"),
    "reading.district.down": ("，较上期下降 {k} 名", ", down {k} place(s) on the previous period"),
    "reading.district.same": ("，与上期持平", ", the same as the previous period"),
    "reading.district.sides": ("。供给侧第 {srank} 名，需求侧第 {drank} 名", ". Supply side rank {srank}, demand side rank {drank}"),
    "reading.district.supply_ahead": ("，供给明显强于用户感受", ", supply clearly ahead of what users experience"),
    "reading.district.demand_ahead": ("，用户感受明显好于供给", ", users' experience clearly ahead of supply"),
    "reading.district.dims": ("。与全市中位数相比，{strong}最强（{sd}），{weak}最弱（{wd}）",
                              ". Against the city median, {strong} is strongest ({sd}) and {weak} weakest ({wd})"),
    "reading.district.targets": ("。{met} 项指标已达到目标，{short} 项尚未达标",
                                 ". {met} indicator(s) meet their target, {short} do not"),
    "reading.district.priorities": ("；建议优先改进{items}，三项达到目标可使综合得分提高约 {gain} 分",
                                    "; fix first: {items}; reaching the target on these three would add about {gain} "
                                    "points to the composite"),
    "reading.district.end": ("。", "."),
    "reading.points": ("{v} 分", "{v} points"),
    # -- compare -----------------------------------------------------------------------------------------------
    "nav.compare": ("区对比", "Compare"),
    "compare.title": ("区对比", "Compare districts"),
    "compare.lead": ("选择两个或更多区，逐维度、逐指标并排比较；链接可直接分享。",
                     "Choose two or more districts to compare dimension by dimension and indicator by indicator; the "
                     "link can be shared."),
    "compare.choose": ("选择要对比的区", "Choose districts to compare"),
    "compare.need_two": ("请至少选择两个区。", "Choose at least two districts."),
    "compare.unknown": ("以下区代码不存在，已忽略：{codes}", "Unknown district codes, ignored: {codes}"),
    "compare.dimensions": ("各维度得分对比", "Dimension scores side by side"),
    "compare.indicators": ("各指标对比（数值与全市排名）", "Indicators side by side (value and rank in city)"),
    "compare.best_mark": ("▲ 为所选区中最好", "▲ marks the best of the chosen districts"),
    "compare.rank_of": ("第 {rank} 名", "#{rank}"),
    "compare.composite": ("综合得分", "Composite"),
    "compare.rag_note": ("各指标数值后的色块为对照目标值的达标状态（区级目标优先，否则为目录目标值）。",
                         "The chip after each value is its status against the target (the district's own target, "
                         "else the catalogue's)."),
    # dcc.Dropdown's own words (multi-select)
    "dropdown.select_all": ("全选", "Select all"),
    "dropdown.deselect_all": ("全不选", "Deselect all"),
    "dropdown.selected_count": ("已选 {num_selected} 项", "{num_selected} selected"),
    "dropdown.search": ("搜索", "Search"),
    "dropdown.clear_search": ("清除搜索", "Clear search"),
    "dropdown.clear_selection": ("清除所选", "Clear selection"),
    "dropdown.no_options_found": ("没有匹配的选项", "No options found"),
    # -- map ---------------------------------------------------------------------------------------------------
    "map.colour_by": ("着色依据", "Colour by"),
    "map.by_score": ("综合得分", "Composite score"),
    "map.by_rank": ("全市排名", "Rank"),
    "map.source": ("区界：{source}；简化后绘制，仅示意位置。", "Boundaries: {source}; simplified, for orientation only."),
    "map.tiles_note": ("无边界数据的区以方块示意：{names}", "Districts without boundaries shown as tiles: {names}"),
    "map.bad_file": ("配置的区界文件无法使用，改用内置区界：", "The configured boundary file cannot be used; the built-in boundaries are shown:"),
    "map.rank_axis": ("排名（1 = 最好）", "Rank (1 = best)"),
    # -- weights -----------------------------------------------------------------------------------------------
    "weights.title": ("权重设置", "Weights"),
    "weights.blend": ("需求侧权重（供需混合）", "Demand-side weight (supply/demand blend)"),
    "weights.blend_marks_supply": ("全供给", "supply only"),
    "weights.blend_marks_demand": ("全需求", "demand only"),
    "weights.dimensions": ("维度与指标权重（父节点内相对权重，实时归一化）", "Dimension and indicator weights (relative within parent, normalised live)"),
    "weights.ranking": ("实时排名", "Live ranking"),
    "weights.whatif": (
        "假设情景：此排名按当前滑块权重即时计算，不是已存储的评分结果；总览和区画像显示已存储的结果。",
        "What-if: this ranking is computed live from the sliders' weights, not a stored result; the overview and "
        "district pages show stored results.",
    ),
    "weights.effective": ("有效权重", "Effective weights"),
    "weights.ahp": ("AHP 两两比较", "AHP pairwise comparison"),
    "weights.ahp_note": (
        "比较行维度相对列维度的重要性（1/9–9）。一致性比率 CR < 0.10 为可接受。",
        "How much more important the row dimension is than the column (1/9–9). A consistency ratio CR < 0.10 is acceptable.",
    ),
    "weights.ahp_scope": ("比较对象", "Compare"),
    "weights.ahp_apply": ("采用 AHP 权重", "Use the AHP weights"),
    "weights.cr": ("一致性比率 CR = {cr}", "Consistency ratio CR = {cr}"),
    "weights.cr_ok": ("可接受", "acceptable"),
    "weights.cr_bad": ("不一致，请调整判断", "inconsistent: revise the judgements"),
    "weights.budget": ("预算分配法", "Budget allocation"),
    "weights.budget_note": ("把 100 点分给各维度；权重按点数比例。", "Spread 100 points over the dimensions; weights follow the points."),
    "weights.budget_apply": ("采用预算权重", "Use the budget weights"),
    "weights.budget_total": ("已分配 {n} / 100 点", "{n} of 100 points allocated"),
    "weights.compare": ("与已保存方案比较", "Compare with saved profiles"),
    "weights.compare_with": ("比较方案", "Compare with"),
    "weights.current": ("当前设置", "Current"),
    "weights.save": ("保存为命名方案", "Save as a named profile"),
    "weights.save_title": ("方案中文名称（显示在列表中）", "Profile title in Chinese (shown in the lists)"),
    "weights.save_title_en": ("英文名称（可选）", "English title (optional)"),
    "weights.save_name": ("方案代码（小写英文字母、数字、连字符，如 user-2026）", "Profile code (lower-case letters, digits, hyphens, e.g. user-2026)"),
    "weights.save_name_rule": (
        "方案代码用于文件名与链接，只能由小写英文字母、数字和连字符组成（如 user-2026）；留空则自动生成。",
        "The profile code names the file and the links: lower-case letters, digits and hyphens only (e.g. user-2026); "
        "leave it empty to have one made for you.",
    ),
    "weights.bad_name": ("方案代码“{name}”不符合规则：只能使用小写英文字母、数字和单个连字符，且不能以连字符开头或结尾（如 user-2026）。",
                         "The profile code '{name}' breaks the rule: lower-case letters, digits and single hyphens "
                         "only, not at the start or end (e.g. user-2026)."),
    "weights.invalid": ("权重无效：“{nodes}”下各项权重全为 0，无法计算排名。请至少把其中一项调高于 0。下方排名已清空，不是当前设置的结果。",
                        "Invalid weights: every weight under '{nodes}' is zero, so no ranking can be computed. Raise "
                        "at least one of them above 0. The ranking below is cleared: it is not a result of these settings."),
    "weights.save_author": ("作者", "Author"),
    "weights.save_rationale": ("理由", "Rationale"),
    "weights.save_button": ("保存", "Save"),
    "weights.saved": ("已保存方案 {name}（版本 {version}）。", "Saved profile {name} (version {version})."),
    "weights.save_error": ("保存失败：{error}", "Could not save: {error}"),
    "weights.save_missing": ("请填写中文名称、作者和理由。", "Fill in the title, the author and the rationale."),
    "weights.reset": ("重置为当前方案", "Reset to the profile"),
    "weights.server_ms": ("服务器重算用时 {ms} ms", "Server recompute {ms} ms"),
    # -- sensitivity -------------------------------------------------------------------------------------------
    "sens.title": ("敏感性分析", "Sensitivity analysis"),
    "sens.factors": ("不确定因素", "Uncertain factors"),
    "sens.n": ("样本量 N", "Sample size N"),
    "sens.run": ("运行", "Run"),
    "sens.cancel": ("取消", "Cancel"),
    "sens.status.idle": ("尚未运行。", "Not run yet."),
    "sens.status.queued": ("排队中…", "Queued…"),
    "sens.status.running": ("运行中… {pct}%", "Running… {pct}%"),
    "sens.status.done": ("完成，用时 {s} 秒（{failed} 个样本失败）。", "Done in {s} s ({failed} failed samples)."),
    "sens.status.cached": ("来自缓存（相同设定已运行过）。", "From the cache (this specification has run before)."),
    "sens.status.cancelled": ("已取消。", "Cancelled."),
    "sens.status.stored": ("显示本方案上次运行的结果（数据未变）。", "Showing this profile's last run (the data have not changed)."),
    "sens.status.error": ("出错：{error}", "Failed: {error}"),
    "sens.rank_intervals": ("排名区间（5–95%，点为中位数）", "Rank intervals (5–95%, dot = median)"),
    "sens.sobol": ("Sobol 敏感性指数（含 95% 置信区间）", "Sobol sensitivity indices (with 95% CIs)"),
    "sens.first_order": ("一阶 S1", "First order S1"),
    "sens.total_order": ("总效应 ST", "Total effect ST"),
    "sens.pairwise": ("两两比较：P(行区排在列区之前)", "Pairwise: P(row district ranks above column district)"),
    "sens.tornado": ("龙卷风图：单因素变动下的排名", "Tornado: rank as one factor moves at a time"),
    "sens.tornado_unit": ("分析对象", "Unit shown"),
    "sens.low": ("最差排名", "worst rank"),
    "sens.high": ("最佳排名", "best rank"),
    "sens.output": ("Sobol 指数针对", "Sobol indices of"),
    "sens.output_shift": ("平均排名变动（全部区）", "Mean absolute rank shift (all districts)"),
    "sens.failures": ("失败样本：{detail}", "Failed samples: {detail}"),
    "sens.status.failed_share": ("{failed} 个样本失败（占 {share}）。", "{failed} samples failed ({share})."),
    "sens.bad.title": ("本次分析结果不可靠，不予展示", "This run is not reliable and is not shown as a result"),
    "sens.bad.failed": ("{n} 个样本中有 {failed} 个计算失败（占 {share}，超过 {limit} 的上限），剩余样本不能代表所设定的不确定性。",
                        "{failed} of {n} samples failed ({share}, above the {limit} limit): the rest do not represent the "
                        "uncertainty that was set."),
    "sens.bad.s1_st": ("{factors}的一阶指数明显高于其总效应（{count} 处超出置信区间），这在数学上不可能，说明样本不足或计算有误。",
                       "The first-order index of {factors} lies above its total effect beyond both intervals ({count} "
                       "cases), which cannot be: too few samples or a failed computation."),
    "sens.bad.advice": ("请减少不确定因素或增大样本量后重新运行。",
                        "Run again with fewer factors or a larger sample."),
    "sens.read.title": ("结论解读", "What this means"),
    "sens.read.top": ("{names}在至少 95% 的模拟中位列前 {k} 名。", "{names} rank in the top {k} in at least 95% of the simulations."),
    "sens.read.contested": ("{names}目前位列前 {k} 名，但在部分模拟中会跌出前 {k} 名，名次并不稳固。",
                            "{names} rank in the top {k} now but fall out of it in some simulations: their place is not "
                            "secure."),
    "sens.read.fixed": ("{names}在 90% 的模拟中名次不变，结论稳健。", "{names} keep their rank in 90% of the simulations: a robust result."),
    "sens.read.all_fixed": ("所有区在 90% 的模拟中名次均不变，排名结论稳健。",
                            "Every district keeps its rank in 90% of the simulations: the ranking is robust."),
    "sens.read.widest": ("{names}的名次最不稳定（第 {low}–{high} 名），与相邻区难分先后。",
                         "{names} move most (ranks {low}–{high}) and cannot be told apart from their neighbours."),
    "sens.read.driver_alone": ("名次变动主要来自“{factor}”（总效应 {st}）。", "Rank changes come mainly from “{factor}” (total effect {st})."),
    "sens.read.driver_joint": ("名次变动主要来自“{factor}”与其他因素的共同作用（总效应 {st}）。",
                               "Rank changes come mainly from “{factor}” together with other factors (total effect {st})."),
    "sens.read.weak": ("{factors}对名次几乎没有影响。", "{factors} barely move the ranks."),
    "factor.data": ("数据抽样误差", "Sampling error of the data"),
    "ivparts.title": ("排名区间包含哪些不确定性", "What the rank intervals contain"),
    "ivparts.default": ("默认的排名区间同时包含数据抽样误差（问卷、回访等样本的误差）和方法选择（权重、供需比例等）的不确定性；可分别查看两部分。",
                        "By default the rank intervals combine the sampling error of the data (surveys, callbacks) and "
                        "the uncertainty of method choices (weights, supply/demand blend); each part can be shown alone."),
    "ivparts.method_only": ("当前排名区间只反映方法选择（权重等）的不确定性：指标数值尚无抽样误差记录，数据抽样误差未计入。",
                            "These rank intervals reflect method choices (weights etc.) only: the indicator values carry no "
                            "sampling errors yet, so the data's sampling error is not included."),
    "ivparts.both": ("数据与方法（默认）", "Data and method (default)"),
    "ivparts.method": ("仅方法选择", "Method choices only"),
    "ivparts.data": ("仅数据抽样误差", "Sampling error only"),
    "factor.drop": ("剔除单项指标", "Leaving out one indicator"),
    "factor.weights": ("维度权重（±50%）", "Dimension weights (±50%)"),
    "factor.blend": ("供需混合比例", "Supply/demand blend"),
    "factor.normalisation": ("归一化方法", "Normalisation method"),
    "factor.aggregation": ("聚合方法", "Aggregation method"),
    "factor.imputation": ("缺失值插补", "Imputation"),
    "factor.treatment": ("异常值处理", "Outlier treatment"),
    # -- data quality ------------------------------------------------------------------------------------------
    "dq.title": ("数据质量", "Data quality"),
    "dq.last_refresh": ("最近一次刷新", "Last refresh"),
    "dq.refresh_now": ("立即刷新", "Refresh now"),
    "dq.refresh_started": ("刷新已开始：载入收件箱中的新文件并重算指标与得分；完成后页面数据自动更新。",
                           "Refresh started: new inbox files are loaded and indicators and scores recomputed; the "
                           "pages pick up the new snapshot when it is done."),
    "dq.refresh_done": ("刷新完成：第 {id} 次运行，状态：{status}。页面已载入新的数据快照。",
                        "Refresh finished: run #{id}, status {status}. The page now shows the new snapshot."),
    "dq.refresh_running": ("刷新进行中…已用 {s} 秒", "Refreshing… {s} s so far"),
    "dq.refresh_busy": ("另一个刷新正在进行（{detail}），请稍后再试。",
                        "Another refresh is running ({detail}); try again shortly."),
    "dq.refresh_failed": ("刷新失败：{error}。上一个快照仍在使用。",
                          "Refresh failed: {error}. The previous snapshot is still being served."),
    "dq.status": ("状态", "Status"),
    "dq.history": ("刷新历史", "Refresh history"),
    "dq.files": ("逐文件核算", "Per-file accounting"),
    "dq.quarantine": ("隔离记录", "Quarantined rows"),
    "dq.coverage": ("指标覆盖度", "Indicator coverage"),
    "dq.coverage_note": ("格中数字为样本量（分母）；空白为缺失值。", "Cells show the sample size (denominator); blank = missing value."),
    "dq.filter_table": ("按表筛选", "Filter by table"),
    "dq.filter_district": ("按区筛选", "Filter by district"),
    "dq.filter_reason": ("按原因筛选", "Filter by reason"),
    "dq.rows_shown": ("显示 {shown} / {total} 条", "Showing {shown} of {total} rows"),
    "dq.missing": ("缺失值", "Missing values"),
    "dq.no_runs": ("尚无刷新记录；以下为载入文件记录。", "No refresh runs recorded yet; showing the loaded files."),
    "col.started": ("开始", "Started"),
    "col.finished": ("结束", "Finished"),
    "col.status": ("状态", "Status"),
    "col.rows": ("行数", "Rows"),
    "col.error": ("错误", "Error"),
    "col.file": ("文件", "File"),
    "col.table": ("表", "Table"),
    "col.rows_in": ("输入行", "Rows in"),
    "col.rows_loaded": ("已载入", "Loaded"),
    "col.rows_quarantined": ("已隔离", "Quarantined"),
    "col.rows_duplicate": ("重复", "Duplicates"),
    "col.rows_blank": ("空行", "Blank"),
    "col.check_kind": ("问题", "Problem"),
    "col.message": ("说明", "Message"),
    "cli.total": ("合计", "total"),
    "cli.resubmit_written": ("已将 {n} 行待更正数据写入 {out}。请在表中更正后另存为 {name}（UTF-8 CSV）再提交",
                             "{n} row(s) to correct written to {out}. Correct them in place, save as {name} (CSV UTF-8) "
                             "and submit it"),
    "cli.nothing_to_resubmit": ("{file} 没有待更正的隔离行", "{file} has no open quarantined rows to correct"),
    "col.balanced": ("平衡", "Balanced"),
    "col.loaded_at": ("载入时间", "Loaded at"),
    "col.row_number": ("行号", "Row"),
    "col.column": ("列", "Column"),
    "col.reason": ("原因", "Reason"),
    "col.original": ("原始记录", "Original row"),
    "col.units_covered": ("有值的区", "Units with a value"),
    "col.min_sample": ("最小样本量", "Smallest sample"),
    "col.median_sample": ("样本量中位数", "Median sample"),
    "status.ok": ("成功", "succeeded"),
    "status.failed": ("失败", "failed"),
    "status.running": ("运行中", "running"),
    "status.partial": ("部分成功", "partly loaded"),
    "status.rejected": ("已拒收", "rejected"),
    "status.unchanged": ("内容未变", "unchanged"),
    "status.interrupted": ("已中断", "interrupted"),
    "status.skipped": ("已跳过", "skipped"),
    "trigger.cron": ("定时", "scheduled"),
    "trigger.manual": ("手动", "manual"),
    "trigger.cli": ("命令行", "command line"),
    "trigger.inbox": ("收件箱", "inbox"),
    "col.trigger": ("触发方式", "Trigger"),
    "col.encoding": ("编码", "Encoding"),
    "col.note": ("说明", "Notes"),
    # -- methodology -------------------------------------------------------------------------------------------
    "method.title": ("方法说明", "Methodology"),
    "method.tree": ("指标体系与有效权重", "Framework and effective weights"),
    "method.tree.lead": ("百分数为有效权重（占综合得分的份额），条长为占上级的份额。",
                         "The percentage is the effective weight (share of the overall score); the bar, the share of "
                         "its parent."),
    "method.tree.of_parent": ("{code}：占上级 {share}", "{code}: {share} of its parent"),
    "method.tree.unweighted": ("不计入得分（权重为 0）：{items}", "Not in the score (weight 0): {items}"),
    "method.indicators": ("指标定义", "Indicator definitions"),
    "method.profile": ("当前权重方案", "Active weight profile"),
    "method.author": ("作者", "Author"),
    "method.date": ("日期", "Date"),
    "method.rationale": ("理由", "Rationale"),
    "method.methods": ("方法选择", "Method choices"),
    "method.pipeline": (
        "流程：原始记录 → 校验与隔离 → 指标 SQL → 插补 → 异常值处理 → 归一化 → 沿指标树加权聚合 → 供需混合 → 综合得分。"
        "各步骤的具体规则由所选权重方案的方法规格生成，见下。",
        "Pipeline: raw records → validation and quarantine → indicator SQL → imputation → outlier treatment → "
        "normalisation → weighted aggregation up the tree → supply/demand blend → composite. The rules of each step "
        "below are generated from the selected profile's method specification.",
    ),
    "method.rules": ("方法规则（由方案规格生成）", "Method rules (generated from the profile's specification)"),
    # -- method text generated from a profile's spec (app/views/methodology.py) ---------------------------------
    "mt.s.normalisation": ("归一化", "Normalisation"),
    "mt.s.aggregation": ("聚合", "Aggregation"),
    "mt.s.missing": ("缺失数据与异常值", "Missing data and outliers"),
    "mt.s.bands": ("分档", "Bands"),
    "mt.s.periods": ("评价期", "Periods"),
    "mt.norm.goalposts": (
        "各指标按指标目录中固定的目标值区间（goalposts，每项来源见指标定义）换算为 0–{scale} 分{clip}；不从数据中拟合，"
        "因此同一得分在各期、各年含义相同，新数据不会改变已有分数。",
        "Each indicator is scaled with its fixed goalposts from the catalog (each with its source, see the "
        "definitions) to 0–{scale}{clip}; nothing is fitted on the data, so a score means the same in every period and "
        "year, and new data do not move earlier scores.",
    ),
    "mt.norm.clip": ("，超出区间者截断", ", values beyond them clipped"),
    "mt.norm.fitted": ("方法 {method}（{desc}），拟合于{fit}，再用于所有期。",
                       "Method {method} ({desc}), fitted on {fit} and applied to every period."),
    "mt.fit.panel": ("全部完整期（新的一期加入后界值会变，以往各期的得分随之变动）",
                     "every complete period of the panel (the bounds move when a new period arrives, and earlier "
                     "scores with them)"),
    "mt.fit.reference": ("参照期 {first}–{last} 内的完整期，拟合一次后冻结（之后加入的各期不改变界值）",
                         "the complete periods of the reference window {first}–{last}, once, then frozen (periods "
                         "added later do not move the bounds)"),
    "mt.fit.period": ("单一期 {period}", "the single period {period}"),
    "mt.norm.overrides": ("以下指标另用其他方法：{items}。", "Indicators with another method: {items}."),
    "mt.agg": ("沿指标树逐级计算子项的{method}（{desc}），权重为同一上级下的相对权重；供给侧与需求侧按方案的混合比例"
               "（供给 {supply}、需求 {demand}）合成综合得分。",
               "Up the tree, each node is the {method} ({desc}) of its children, with weights relative among "
               "siblings; the supply and demand sides make the composite by the profile's blend (supply {supply}, "
               "demand {demand})."),
    "mt.agg.overrides": ("以下节点另用其他聚合方法：{items}。", "Nodes with another aggregation: {items}."),
    "mt.avail.any": ("一个节点只要任一子项有值即计算。", "A node is computed when any of its children has a value."),
    "mt.avail.share": ("一个节点至少需要 {share} 的子项有值，否则为缺失。",
                       "A node needs at least {share} of its children present, else it is missing."),
    "mt.missing.none": (
        "缺失数据不插补。样本量低于指标最小分母的值记为缺失（不记为零）；缺失子项不参与上级聚合，其权重在同一上级下有值的子项间按比例重新分配"
        "（即以其余子项的平均代替，须满足下述有值比例）。",
        "Missing data are not imputed. A value whose sample is below the indicator's minimum denominator is missing "
        "(never zero); a missing child is left out of its parent's aggregate and its weight is re-spread over the "
        "present siblings (in effect the mean of the others, as long as the availability threshold below is met).",
    ),
    "mt.missing.imputed": (
        "缺失数据以 {method}（{desc}）插补，插补值均有标记；样本量低于指标最小分母的值先记为缺失。不完整期不作为完整期插补的来源。",
        "Missing data are imputed by {method} ({desc}), every imputed value flagged; a value whose sample is below the "
        "indicator's minimum denominator is missing first. Partial periods are never a source for imputing complete ones.",
    ),
    "mt.treat.none": ("异常值不处理。", "Outliers are not treated."),
    "mt.treat.method": ("异常值按 {method}（{desc}）处理，于{by}判断；不完整期不参与判断。",
                        "Outliers: {method} ({desc}), decided over {by}; partial periods take no part in the decision."),
    "mt.treat.by.panel": ("全部完整期合并", "the pooled complete periods"),
    "mt.treat.by.period": ("每一期分别", "each period separately"),
    "mt.bands.absolute": ("绝对分档：{cuts}。依据：{source}。一个区的档次只取决于其自身得分。",
                          "Absolute bands: {cuts}. Basis: {source}. A district's band depends on its own score only."),
    "mt.bands.quantile": ("相对分档（本期得分分位数）：{cuts}。依据：{source}。每期各档的区数比例固定。",
                          "Relative bands (score quantiles of the period): {cuts}. Basis: {source}. Every period puts "
                          "the same share of districts in each band."),
    "mt.periods": (
        "按季度监测，按{cycle}考核。一期的数据若未覆盖其全部月份即为不完整期：照常显示并标注“不完整期”及已覆盖的月份，"
        "但从不用于拟合（归一化界值、异常值判断、插补），也从不作为默认评价期。",
        "Quarterly monitoring, assessment per {cycle}. A period whose months the data do not all cover is partial: it "
        "is shown, marked 'partial period' with the months covered, but never used to fit anything (normalisation "
        "bounds, outlier treatment, imputation) and never the default period.",
    ),
    "mt.cycle.year": ("年度", "year"),
    "mt.cycle.quarter": ("季度", "quarter"),
    # -- the methodology report (技术报告), /download/methodology.html ------------------------------------------
    "rpt.title": ("技术报告：{profile}", "Technical report: {profile}"),
    "rpt.download": ("下载技术报告（HTML，可打印为 A4）", "Download the technical report (HTML, prints to A4)"),
    "rpt.print_hint": ("在浏览器中选择“打印”，纸张 A4。", "Print from the browser on A4 paper."),
    "rpt.fingerprint": ("方法规格指纹 {spec}；指标体系指纹 {framework}；方案 {profile} v{version}",
                        "Specification fingerprint {spec}; framework fingerprint {framework}; profile {profile} "
                        "v{version}"),
    "rpt.s.framework": ("一、指标体系", "1. Framework"),
    "rpt.s.indicators": ("二、指标定义", "2. Indicator definitions"),
    "rpt.s.weights": ("三、权重及其来源", "3. Weights and how they were derived"),
    "rpt.s.method": ("四、方法", "4. Method"),
    "rpt.s.uncertainty": ("五、不确定性分析", "5. Uncertainty analysis"),
    "rpt.s.coverage": ("六、数据覆盖与隔离", "6. Data coverage and quarantine"),
    "rpt.node": ("节点", "Node"),
    "rpt.weight": ("相对权重", "Relative weight"),
    "rpt.effective": ("有效权重", "Effective weight"),
    "rpt.derived.manual": ("权重由人工设定，理由见上。", "The weights were set by hand; the rationale is above."),
    "rpt.derived.method": ("节点 {node} 的权重由 {method} 导出：{weights}。", "Weights of {node} derived by {method}: {weights}."),
    "rpt.unc.run": ("蒙特卡洛 {samples} 个样本（{sampler}，种子 {seed}），排名区间取第 {lo}–{hi} 百分位；Sobol 基样本 N = {sobol}，"
                    "自助法 {bootstrap} 次，置信水平 {confidence}。",
                    "Monte Carlo with {samples} samples ({sampler}, seed {seed}), rank intervals at the {lo}th–{hi}th "
                    "percentiles; Sobol base N = {sobol}, {bootstrap} bootstrap replicates, confidence {confidence}."),
    "rpt.unc.factors": ("不确定因素：{items}。", "Uncertain factors: {items}."),
    "rpt.unc.missing": ("未提供不确定性分析规格。", "No uncertainty specification was given."),
    "rpt.cov.span": ("数据完整覆盖的月份：{first} 至 {last}（{n} 个月）。",
                     "Months the data cover completely: {first} to {last} ({n} months)."),
    "rpt.cov.periods": ("完整期（{grain}）：{complete}；不完整期：{partial}。",
                        "Complete periods ({grain}): {complete}; partial periods: {partial}."),
    "rpt.cov.quarantine": ("隔离（未通过校验）的记录共 {n} 行。", "{n} rows quarantined (failed validation) in all."),
    "col.goalposts_source": ("目标值区间来源", "Goalposts source"),
    "col.n_values": ("n（有值的区·期）", "n (unit-periods with a value)"),
    "col.n_missing": ("缺失", "Missing"),
    "col.rows_quarantined": ("隔离行数", "Rows quarantined"),
    # -- partial periods in the period pickers ----------------------------------------------------------------
    "period.partial": ("不完整期：{months}", "partial period: {months}"),
    "period.partial_none": ("不完整期：不足一个月", "partial period: less than a month"),
    # -- figures -----------------------------------------------------------------------------------------------
    "fig.score": ("得分 (0–100)", "Score (0–100)"),
    "fig.rank": ("排名", "Rank"),
    "fig.weight": ("权重", "Weight"),
    "fig.probability": ("概率", "Probability"),
    "fig.index": ("指数", "Index"),
    "fig.composite_delta": ("综合得分变化", "Change in composite"),
    "fig.rank_up": ("上升", "up"),
    "fig.rank_down": ("下降", "down"),
    # -- weight history and publication (pages/history.py) ------------------------------------------------------
    "hist.title": ("权重历史与发布", "Weight history and publication"),
    "hist.lead": ("每次保存与发布都记录操作人、时间（北京时间与 UTC）、权重与方法的变化和理由，只增不改。",
                  "Every save and publication records who, when (Beijing time and UTC), the change in weights and "
                  "methods, and why; the record is append-only."),
    "hist.profile": ("权重方案", "Profile"),
    "hist.versions": ("版本", "Versions"),
    "hist.trail": ("审计记录", "Audit trail"),
    "hist.export": ("导出 CSV", "Export CSV"),
    "hist.publish": ("发布", "Publish"),
    "hist.publish_note": ("发布后，领导与区级人员默认看到该版本。", "Leaders and district officials see the published version."),
    "hist.rationale": ("发布理由（必填）", "Why this version (required)"),
    "hist.published": ("已发布", "published"),
    "hist.current": ("当前", "current"),
    "hist.done": ("已发布 {name} 第 {version} 版。", "Published {name} v{version}."),
    "hist.missing": ("请选择版本并填写理由。", "Choose a version and give a rationale."),
    "hist.error": ("发布失败：{error}", "Could not publish: {error}"),
    "hist.tampered": ("警告：审计记录校验失败，以下记录可能已被篡改或不完整；在修复前不会再追加新记录。（{error}）",
                      "Warning: the audit trail fails its check; the records below may be altered or incomplete, "
                      "and nothing more is appended until it is repaired. ({error})"),
    "hist.col.seq": ("序号", "#"),
    "hist.col.event": ("操作", "Event"),
    "hist.col.version": ("版本", "Version"),
    "hist.col.who": ("操作人", "Who"),
    "hist.col.role": ("角色", "Role"),
    "hist.col.at_shanghai": ("时间（北京）", "When (Beijing)"),
    "hist.col.at_utc": ("时间（UTC）", "When (UTC)"),
    "hist.col.rationale": ("理由", "Rationale"),
    "hist.col.changes": ("变化", "Changes"),
    "hist.col.date": ("日期", "Date"),
    "hist.col.author": ("作者", "Author"),
    "hist.col.hash": ("内容哈希", "Content hash"),
    "hist.col.status": ("状态", "Status"),
    "hist.event.save": ("保存", "saved"),
    "hist.event.publish": ("发布", "published"),
    "hist.first": ("首个版本", "first version"),
    "hist.against": ("与 {name} 相比", "against {name}"),
    "hist.version_n": ("第 {v} 版", "v{v}"),
    "hist.nochange": ("无变化", "no change"),
    "hist.more": ("另有 {n} 项", "+{n} more"),
    # -- closing the loop: targets, the rectification ledger (整改台账) and alerts (pages/targets, ledger, alerts) --
    "nav.ledger": ("整改台账", "Rectification ledger"),
    "nav.targets": ("目标值", "Targets"),
    "nav.alerts": ("预警", "Alerts"),
    "rag.red": ("未达标", "Below target"),
    "rag.amber": ("接近目标", "Near target"),
    "rag.green": ("已达标", "Target met"),
    "rag.none": ("无目标", "No target"),
    "rag.legend": ("红：低于目标且超出容差；黄：低于目标但在容差内；绿：达到或优于目标。",
                   "Red: below target beyond the tolerance; amber: below target within it; green: at or better than target."),
    "targets.title": ("目标值管理", "Targets"),
    "targets.lead": ("评估人员或领导为各区各指标设定评价周期的目标值，并写明理由；未设定时沿用指标目录的目标值。每次设定都保留版本和审计记录。",
                     "Assessors and leaders set a target per district and indicator for a cycle, with a reason; "
                     "without one the catalogue's target applies. Every change is kept as a version with an audit record."),
    "targets.form": ("设定目标值", "Set a target"),
    "targets.district": ("区", "District"),
    "targets.indicator": ("指标", "Indicator"),
    "targets.cycle": ("评价周期", "Cycle"),
    "targets.value": ("目标值", "Target value"),
    "targets.reason": ("设定理由（必填）", "Reason (required)"),
    "targets.save": ("保存目标值", "Save target"),
    "targets.saved": ("已保存：{district} · {indicator} 的目标值为 {value}（第 {version} 版）。",
                      "Saved: the target of {indicator} in {district} is {value} (version {version})."),
    "targets.missing": ("请选择区和指标，填写目标值和理由。未作任何更改。",
                        "Choose a district and an indicator, and give a value and a reason. Nothing was changed."),
    "targets.refused": ("只有评估人员、领导和管理员可以设定目标值。", "Only assessors, leaders and administrators can set targets."),
    "targets.current": ("已设定的目标值", "Targets set"),
    "targets.none": ("尚未设定任何区级目标值，各指标沿用指标目录的目标值。",
                     "No district targets yet: every indicator uses the catalogue's target."),
    "targets.catalog": ("目录目标值", "Catalogue target"),
    "targets.col.by": ("设定人", "Set by"),
    "targets.col.at": ("设定时间（北京时间）", "Set at (Beijing time)"),
    "targets.col.version": ("版本", "Version"),
    "targets.col.status": ("达标状态", "Status"),
    "targets.history": ("目标值变更记录（每次设定均保留）", "Every version of the targets (none is overwritten)"),
    "targets.met_card": ("目标达成情况", "Targets met"),
    "targets.met_line": ("{met}/{n} 项达标（{pct}）", "{met} of {n} met ({pct})"),
    "targets.met_note": ("各区达到或优于目标值的指标占比（区级目标优先，否则为目录目标值）。",
                         "Share of each district's indicators at or better than target (the district's own target, else the catalogue's)."),
    "targets.district_card": ("目标达成与整改", "Targets and rectification"),
    "targets.district_note": ("每项指标对照目标值的状态；对未达标或接近目标的指标，本区人员可直接立项整改。",
                              "Each indicator against its target; for one below or near target, this district's officials can open a rectification item."),
    "ledger.title": ("整改台账", "Rectification ledger"),
    "ledger.lead": ("逐项记录问题、整改措施、责任人、整改时限、佐证材料和进展；逾期事项排在最前。",
                    "Each problem with its action, owner, deadline, evidence and progress; overdue items first."),
    "ledger.open": ("立项整改", "Open an item"),
    "ledger.open_title": ("新建整改事项：{indicator}", "New rectification item: {indicator}"),
    "ledger.problem": ("存在问题", "Problem"),
    "ledger.action": ("整改措施", "Action"),
    "ledger.owner": ("责任人", "Owner"),
    "ledger.due": ("整改时限", "Due date"),
    "ledger.submit": ("提交", "Submit"),
    "ledger.cancel": ("取消", "Cancel"),
    "ledger.opened": ("已立项：{indicator}，编号 {item}。", "Opened: {indicator}, item {item}."),
    "ledger.missing": ("请填写存在问题、整改措施、责任人和整改时限。未作任何更改。",
                       "Give the problem, the action, the owner and the due date. Nothing was changed."),
    "ledger.filter.district": ("区", "District"),
    "ledger.filter.status": ("状态", "Status"),
    "ledger.filter.all": ("全部", "All"),
    "ledger.none": ("没有符合条件的整改事项。", "No rectification items match."),
    "ledger.count": ("共 {n} 项，其中逾期 {overdue} 项。", "{n} items, {overdue} overdue."),
    "ledger.value_change": ("立项时 {opened}，当前 {now}", "opened at {opened}, now {now}"),
    "ledger.value_na": ("当前无数值", "no current value"),
    "ledger.opened_by": ("立项人", "Opened by"),
    "ledger.comments": ("意见与进展", "Comments and progress"),
    "ledger.comment": ("填写意见或进展", "Add a comment or progress note"),
    "ledger.comment_add": ("添加意见", "Add comment"),
    "ledger.comment_done": ("已添加意见。", "Comment added."),
    "ledger.comment_empty": ("意见不能为空。未作任何更改。", "The comment is empty. Nothing was changed."),
    "ledger.evidence": ("佐证材料", "Evidence"),
    "ledger.evidence_none": ("尚无佐证材料。", "No evidence yet."),
    "ledger.upload": ("拖放或点击上传佐证材料（{types}，不超过 {mb} MB）",
                      "Drop or click to upload evidence ({types}, at most {mb} MB)"),
    "ledger.uploaded": ("已上传佐证材料：{name}。", "Evidence uploaded: {name}."),
    "ledger.set_status": ("更新状态", "Update status"),
    "ledger.status_done": ("状态已更新为 {status}。", "Status set to {status}."),
    "ledger.history": ("变更记录", "History of changes"),
    "ledger.overdue_days": ("已逾期 {days} 天", "{days} days overdue"),
    "ledger.download_district": ("导出本区台账（Excel）", "Download this district's ledger (XLSX)"),
    "ledger.download_city": ("导出全市台账（Excel）", "Download the city-wide ledger (XLSX)"),
    "ledger.detail": ("事项详情", "Item details"),
    "ledger.pick": ("点击列表中的事项查看详情并更新。", "Choose an item in the list to see and update it."),
    "ledger.not_yours": ("只能处理本区的整改事项。", "You can act on your own district's items only."),
    "ledger.read_only": ("您的角色可以查看并发表意见，不能修改整改事项。", "Your role can view and comment, not change items."),
    "ledger.status.open": ("待整改", "To do"),
    "ledger.status.in_progress": ("整改中", "In progress"),
    "ledger.status.done": ("已完成", "Done"),
    "ledger.status.overdue": ("逾期", "Overdue"),
    "ledger.h.opened": ("立项（{status}）", "opened ({status})"),
    "ledger.h.field": ("{field}由“{old}”改为“{new}”", "{field}: {old} → {new}"),
    "ledger.h.comment": ("发表意见", "commented"),
    "ledger.h.evidence": ("上传佐证材料 {name}", "uploaded evidence {name}"),
    "ledger.too_large": ("佐证材料“{name}”大小为 {size} MB，超过上限 {limit} MB，未上传。",
                         "The evidence file '{name}' is {size} MB, over the limit of {limit} MB; it was not uploaded."),
    "ledger.today": ("今天：{date}", "Today: {date}"),
    "alerts.title": ("预警", "Alerts"),
    "alerts.lead": ("每次数据刷新后自动生成：排名明显下降、指标跌破目标或区间、整改事项逾期、数据缺失或大量隔离。",
                    "Raised after each refresh: a large rank drop, an indicator falling below its target or band, "
                    "an overdue rectification item, data missing or largely quarantined."),
    "alerts.bell": ("预警（{n} 条未读）", "Alerts ({n} unread)"),
    "alerts.none": ("暂无与您相关的预警。", "No alerts concern you."),
    "alerts.unread_only": ("只看未读", "Unread only"),
    "alerts.mark_read": ("标为已读", "Mark as read"),
    "alerts.mark_all": ("全部标为已读", "Mark all as read"),
    "alerts.read": ("已读", "Read"),
    "alerts.marked": ("已标为已读 {n} 条。", "{n} marked as read."),
    "alerts.col.at": ("时间（北京时间）", "When (Beijing time)"),
    "alerts.col.kind": ("类型", "Kind"),
    "alerts.col.message": ("内容", "Message"),
    "alerts.col.state": ("状态", "State"),
    "alerts.unread": ("未读", "Unread"),
    "alerts.mark_selected": ("所选标为已读", "Mark selected as read"),
    "alerts.select_first": ("请先在表格中勾选预警。", "Tick alerts in the table first."),
    "alerts.many_note": ("共 {total} 条预警，当前显示 {n} 条；表格可滚动、排序，可按名称或代码查找、按上级单位或同类组筛选，"
                         "勾选后可批量标为已读。",
                         "{total} alerts, {n} shown; the table scrolls and sorts, search by name or code, filter by "
                         "parent unit or peer group, tick rows to mark them read together."),
    # -- assessment editions (pages/editions.py, the edition line on the overview, district page and exports) ---------
    "nav.editions": ("评估版本", "Editions"),
    "editions.title": ("评估版本", "Assessment editions"),
    "editions.lead": ("每年的评估结果一经发布即冻结：框架、权重方案、归一化边界、等级阈值与数据快照一并保存，新数据不会改写。",
                      "Each year's published assessment is frozen with its framework, weight profile, normalisation "
                      "bounds, band thresholds and data snapshot; new data never rewrite it."),
    "editions.none": ("尚无评估版本。用 govindex edition create --cycle 2025 --profile 方案名 生成草稿。",
                      "No editions yet. Create a draft with govindex edition create --cycle 2025 --profile NAME."),
    "editions.status.draft": ("草稿", "draft"),
    "editions.status.published": ("已发布", "published"),
    "editions.status.superseded": ("已被更正", "superseded"),
    "editions.col.id": ("版本", "Edition"),
    "editions.col.cycle": ("评估周期", "Cycle"),
    "editions.col.profile": ("权重方案", "Profile"),
    "editions.col.status": ("状态", "Status"),
    "editions.col.created": ("生成（人 / 时间）", "Created (who / when)"),
    "editions.col.published": ("发布（人 / 时间 / 理由）", "Published (who / when / why)"),
    "editions.col.snapshot": ("数据快照", "Data snapshot"),
    "editions.col.spec": ("方法哈希", "Method hash"),
    "editions.col.supersedes": ("更正", "Corrects"),
    "editions.col.source": ("数据粒度", "Values from"),
    "editions.col.partial": ("不完整期", "Partial"),
    "editions.diff": ("版本比较", "Compare editions"),
    "editions.diff.a": ("版本 A", "Edition A"),
    "editions.diff.b": ("版本 B", "Edition B"),
    "editions.diff.data": ("数据不同（数据快照或周期不同）", "Data differ (snapshot or cycle)"),
    "editions.diff.same_data": ("数据相同", "Same data"),
    "editions.diff.bounds": ("归一化边界随数据变化的指标：{codes}", "Normalisation bounds moved with the data for: {codes}"),
    "editions.diff.method": ("方法不同：{what}", "Method differs: {what}"),
    "editions.diff.same_method": ("方法相同", "Same method"),
    "editions.diff.none": ("两版结果完全相同。", "The two editions' results are identical."),
    "editions.diff.col.node": ("节点", "Node"),
    "editions.diff.col.a": ("A 得分", "Score A"),
    "editions.diff.col.b": ("B 得分", "Score B"),
    "editions.diff.col.delta": ("变化", "Change"),
    "editions.diff.col.rank_a": ("A 排名", "Rank A"),
    "editions.diff.col.rank_b": ("B 排名", "Rank B"),
    "editions.publish": ("发布", "Publish"),
    "editions.publish.reason": ("发布理由（必填）", "Why this edition stands (required)"),
    "editions.publish.done": ("已发布 {edition}。", "Published {edition}."),
    "editions.publish.denied": ("当前角色无权发布评估版本。", "Your role may not publish editions."),
    "editions.publish.pick": ("请选择一个草稿版本并填写理由。", "Choose a draft edition and give a reason."),
    "editions.trend.title": ("历年评估（已发布版本）", "Year on year (published editions)"),
    "editions.trend.none": ("尚无已发布的评估版本。", "No published editions yet."),
    "editions.trend.method": ("{cycle} 年与上一版方法不同（{what}），不仅是数据变化。",
                              "{cycle} differs from the previous edition in method ({what}), not only in data."),
    "editions.trend.partial": ("不完整期", "partial period"),
    "editions.showing.refresh": ("本页显示：未发布的刷新结果（数据快照 {snapshot}），不是正式评估版本。{published}",
                                 "This page shows an unpublished refresh (data snapshot {snapshot}), not an assessment "
                                 "edition. {published}"),
    "editions.showing.latest": ("最新已发布评估版本：{edition}（{cycle} 年，{when} 由 {who} 发布）。",
                                "Latest published edition: {edition} ({cycle}, published {when} by {who})."),
    "editions.showing.none": ("尚无已发布的评估版本。", "No assessment edition has been published yet."),
    "editions.export.line": ("数据来源", "Source"),
    "edition.err.generic": ("评估版本操作失败：{detail}", "Edition: {detail}"),
    "edition.err.cycle": ("未知的评估周期 {cycle}；有数据的周期：{available}。未作任何更改。",
                          "Unknown cycle {cycle}; cycles with data: {available}. Nothing was changed."),
    "edition.err.unknown": ("没有评估版本 {edition}。未作任何更改。", "No edition {edition}. Nothing was changed."),
    "edition.err.partial": ("{cycle} 年数据不完整，缺少月份：{months}；可等待数据补齐，或加 --allow-partial（所有数字将标注为不完整期）。未作任何更改。",
                            "Cycle {cycle} is incomplete, missing months: {months}; wait for them or pass "
                            "--allow-partial (every figure is then flagged). Nothing was changed."),
    "edition.err.published": ("评估版本 {edition} 已发布（或已被更正），不能再次发布。未作任何更改。",
                              "Edition {edition} is already published (or superseded); it cannot be published again. "
                              "Nothing was changed."),
    "edition.err.snapshot": ("评估版本 {edition} 所用的数据快照 {snapshot} 已不存在（当前为 {live}），请重新生成版本。未作任何更改。",
                             "Edition {edition} was computed on data snapshot {snapshot}, which no longer exists (now "
                             "{live}); create it again. Nothing was changed."),
    "edition.err.audit": ("审计记录无法写入，未发布：{detail}", "Not published: the audit trail cannot record it ({detail})."),
    "edition.err.taken": ("{standing} 已是该周期该方案的正式版本；新版本只能作为更正发布（生成时加 --supersedes {standing} --reason …）。未作任何更改。",
                          "{standing} already stands for this cycle and profile; a new edition replaces it only as a "
                          "correction (create it with --supersedes {standing} --reason …). Nothing was changed."),
    "edition.err.reason": ("请填写理由。未作任何更改。", "A reason is required. Nothing was changed."),
    "edition.err.role": ("角色 {role} 无权发布评估版本；可发布的角色：{roles}。未作任何更改。",
                         "Role {role} may not publish editions; roles that may: {roles}. Nothing was changed."),
    "edition.err.profile": ("未知的权重方案：{detail}。未作任何更改。", "Unknown weight profile: {detail}. Nothing was changed."),
}
# The loop's messages (targets, 整改台账, alerts: "loop.*") live with the store that raises them; t() knows them too.
MESSAGES.update(loop_messages.MESSAGES)

# Units of the catalogue's indicators, in words a Chinese reader uses ("%" and "分" need no English).
UNITS: dict[str, tuple[str, str]] = {
    "%": ("%", "%"),
    "0-100": ("分（0–100）", "points (0–100)"),
    "pp": ("个百分点", "pp"),
    "ratio": ("比值", "ratio"),
    "FTE per 1k visitors": ("人（全职当量）/千名访客", "FTE per 1k visitors"),
    "per 10k cases": ("件/万件", "per 10k cases"),
    "staff per 10 kiosks": ("人/10 台自助终端", "staff per 10 kiosks"),
    "per 100 cases": ("次/百件", "per 100 cases"),
    "days": ("日（日历日）", "calendar days"),
    "min": ("分钟", "min"),
    "hours": ("小时", "hours"),
    "1-5": ("分（1–5）", "points (1–5)"),
}

# Method names of the registries (indicators/{impute,treat,normalise,aggregate}.py) as people read them.
METHODS: dict[str, tuple[str, str]] = {
    "none": ("不处理", "none"),
    "mean": ("均值插补", "mean"),
    "median": ("中位数插补", "median"),
    "group_mean": ("组内均值插补", "group mean"),
    "within_parent": ("同维度相对位置插补", "within-parent position"),
    "locf": ("沿用上期值", "last observation carried forward"),
    "worst": ("最差观测值插补", "worst observed"),
    "coinr_default": ("缩尾后必要时取对数（COINr 默认）", "winsorise, else log (COINr default)"),
    "minmax": ("最小-最大归一化", "min–max"),
    "zscore": ("标准分数（z 分数）", "z-score"),
    "goalposts": ("固定目标值区间", "fixed goalposts"),
    "rank": ("排名", "rank"),
    "prank": ("百分位排名", "percentile rank"),
    "distance_to_target": ("距目标距离", "distance to target"),
    "distance_to_best": ("距最优距离", "distance to best"),
    "amean": ("算术平均", "arithmetic mean"),
    "gmean": ("几何平均", "geometric mean"),
    "hmean": ("调和平均", "harmonic mean"),
    "pmean": ("幂平均", "power mean"),
    "wmedian": ("加权中位数", "weighted median"),
}

# The exported workbooks (app/ui/exports.py): cover sheet, headers the pages do not have, words for colours.
MESSAGES.update({
    "export.overview": ("导出 Excel（排名与区间）", "Export XLSX (ranking and intervals)"),
    "export.overview_title": ("各区综合排名", "District ranking"),
    "export.cover": ("封面", "Cover"),
    "export.ranking_sheet": ("综合排名", "Ranking"),
    "export.profile": ("权重方案", "Weight profile"),
    "export.run": ("计算依据", "Scores from"),
    "export.coverage_label": ("数据覆盖", "Data coverage"),
    "export.coverage": ("{first}至{last}（{months} 个完整月），{units} 个区；已隔离问题数据 {q} 行",
                        "{first} to {last} ({months} complete months), {units} districts; {q} rows quarantined"),
    "export.coverage.none": ("尚无完整月份的数据，{units} 个区；已隔离问题数据 {q} 行",
                             "No complete month of data yet, {units} districts; {q} rows quarantined"),
    "export.exported_at": ("导出时间", "Exported at"),
    "export.colours_label": ("颜色说明", "Colours"),
    "export.colours": ("绿色表示更好（已达标、排名上升），红色表示更差（未达标、排名下降）；"
                       "“距目标”为负表示优于目标。",
                       "Green means better (target met, rank up), red worse (short of target, rank down); a negative "
                       "gap to target means better than the target."),
    "export.directions": ("指标方向", "Direction of each indicator"),
    "export.direction.up": ("↑ 越高越好", "↑ higher is better"),
    "export.direction.down": ("↓ 越低越好", "↓ lower is better"),
    "export.yes": ("是", "yes"),
    "export.no": ("否", "no"),
    "export.rank_of": ("第 {rank} 名 / 共 {n} 个区", "{rank} of {n}"),
    "export.quarantine_none": ("本区报送数据中没有您有权查看的隔离记录。",
                               "No quarantined rows of this district that you may see."),
    "export.col.rank_lo": ("排名区间下限", "Rank interval low"),
    "export.col.rank_hi": ("排名区间上限", "Rank interval high"),
    "export.col.rank_median": ("模拟排名中位数", "Simulated median rank"),
    "export.col.supply_rank": ("供给侧排名", "Supply-side rank"),
    "export.col.demand_rank": ("需求侧排名", "Demand-side rank"),
    "export.col.priority": ("改进优先度", "Improvement priority"),
    "export.col.n": ("样本量", "Sample size"),
    "export.col.imputed": ("插补指标数", "Indicators imputed"),
    "export.col.imputed_flag": ("插补值", "Imputed"),
    "export.col.shrunk_flag": ("收缩值（向全市水平收缩后计分）", "Shrunk (scored after shrinkage toward the city level)"),
    "export.col.shrunk_value": ("计分采用的收缩值", "Value scored after shrinkage"),
    "export.col.best_name": ("最优区", "Best district"),
    "export.col.rank_gain": ("排名可提升", "Rank places gained"),
    "export.col.new_rank": ("提升后排名", "Rank after"),
    "export.col.value_now": ("现值", "Value now"),
    "export.col.value_then": ("提升后数值", "Value after"),
    "export.col.bad_value": ("问题值", "Value found"),
})

# Indicator roles and retired indicators (indicators/catalog/README.md, "Roles and retired indicators").
MESSAGES.update({
    "role.scored": ("计分", "scored"),
    "mark.context": ("（背景指标）", " (context)"),
    "role.context": ("背景指标（不计分）", "context (not scored)"),
    "role.context_note": ("背景指标：计算并显示，但不参与加权、合成、蒙特卡洛与排名。{why}",
                          "Context indicator: computed and shown, never weighted, aggregated, simulated or ranked. {why}"),
    "col.role": ("角色", "Role"),
    "retired.title": ("已退役指标", "Retired indicators"),
    "retired.line": ("{id}（{when}退役）：{why}", "{id} (retired in {when}): {why}"),
    "profile.note.context": ("方案为背景指标 {code} 设定的权重不予采用（背景指标不计分）。",
                             "The profile's weight for context indicator {code} is not used (context indicators are "
                             "not scored)."),
    "profile.note.retired": ("方案中的 {code} 已从指标目录退役（{why}），其 {where} 设定已忽略。",
                             "{code} in the profile was retired from the catalog ({why}); its {where} entry is "
                             "ignored."),
})

# Pages at many units (app/ui/many_units.py): top/bottom N, search and filters, the map's fallback.
MESSAGES.update({
    "many.top_bottom": ("前 {n} 名与后 {n} 名（共 {total} 个单位，中间 {hidden} 个未画出，见下方排名表）",
                        "top {n} and bottom {n} (of {total} units; the {hidden} between are in the table below)"),
    "many.gap": ("⋯ 中间 {hidden} 个 ⋯", "⋯ {hidden} more ⋯"),
    "many.search": ("搜索单位（名称或代码）", "Search units (name or code)"),
    "many.parent": ("上级单位", "Parent unit"),
    "many.peer": ("同类组", "Peer group"),
    "many.all": ("全部", "All"),
    "many.shown": ("当前显示 {n} 个。", "{n} shown."),
    "many.pairwise_note": ("排名最前的 {n} 个单位（共 {total} 个）", "the {n} leading units (of {total})"),
    "many.coverage_note": ("缺失值最多（样本量最小）的 {n} 个单位（共 {total} 个）",
                           "the {n} units with the most missing values and smallest samples (of {total})"),
    "many.table_note": ("共 {total} 个单位；表格可滚动、排序，输入名称或代码即可查找。",
                        "{total} units; the table scrolls and sorts, and finds a unit by name or code."),
    "many.quadrant_note": ("共 {total} 个单位，每点一个单位（WebGL 绘制，不标名称；悬停看名称，点击进入该单位）。",
                           "{total} units, one point each (drawn with WebGL, unlabelled; hover for the name, click to "
                           "open the unit)."),
    "many.map_none": ("这 {total} 个单位没有可用的边界数据，地图不画方块示意；请在配置 app.map_geojson 中提供县级边界"
                      " GeoJSON。下图按上级单位汇总得分分布。",
                      "None of these {total} units has a boundary, so no tile grid is drawn; give county-level "
                      "boundaries as GeoJSON in app.map_geojson. The chart shows the scores by parent unit."),
    "many.by_parent": ("各上级单位的得分分布", "Scores by parent unit"),
    "many.no_parent": ("（无上级单位）", "(no parent)"),
    "many.map_partial": ("另有 {n} 个单位没有边界数据，未画出。", "{n} more units have no boundary and are not drawn."),
    "nmap.title": ("各省综合得分（点击省份查看其县级单位）", "Provinces' composite scores (click a province for its county-level units)"),
    "nmap.province_title": ("{name}：县级单位综合得分", "{name}: county-level units' composite scores"),
    "nmap.all": ("全国（按省）", "China (by province)"),
    "nmap.choose": ("地图范围", "Map of"),
    "nmap.rolled": ("省份按本级汇总数据计算的得分着色（不是县级得分的平均）。",
                    "Provinces are coloured by the score of their own rolled-up data (not the mean of their counties' scores)."),
    "nmap.median": ("单位表中没有省级单位：省份按其县级单位得分的中位数着色。",
                    "The unit table has no province level: provinces are coloured by the median of their county-level units' scores."),
    "many.movers_note": ("升降最多的前 {n} 个单位（共 {total} 个）", "the {n} biggest moves up and down (of {total} units)"),
    "col.parent": ("上级单位", "Parent"),
    "col.peer_group": ("同类组", "Peer group"),
    "many.col.unit": ("参评单位", "Unit"),
    "many.col.rank_peer": ("同类组内排名", "Rank in peer group"),
    "many.col.rank_parent": ("上级单位内排名", "Rank in parent unit"),
    "levels.lead": ("{name}下辖 {n} 个参评单位，按综合得分排名；点击名称进入该单位。",
                    "{n} units under {name}, ranked by composite score; click a name to open one."),
    "levels.n": ("有得分的下辖单位", "Units with a score"),
    "levels.mean": ("下辖单位平均得分", "Mean score of its units"),
    "levels.weighted": ("按人口加权平均", "Population-weighted mean"),
    "levels.range": ("最低 – 最高", "Lowest – highest"),
    "levels.note": ("以上是下辖单位综合得分的汇总，不等于用本级汇总数据计算的得分（总览地图按后者着色；见方法说明）。",
                    "These summarise its units' scores, which is not the score its pooled records give (the overview "
                    "map is coloured by the latter; see the methodology)."),
    "levels.index": ("参评单位较多：先选上级单位，再在其下辖单位中选择。卡片下方为下辖单位平均得分。",
                     "Many units: pick a parent unit first, then one of its units. Each card shows its units' mean "
                     "score."),
    "levels.card_n": ("下辖 {n} 个单位", "{n} units"),
})

# charts below the first screen: the placeholder until drawn (app/assets/graph-lazy.js)
MESSAGES.update({
    "chart.loading": ("图表加载中…", "Loading chart…"),
})



def norm_lang(value: object) -> str:
    """The language code to use for a query value (anything unknown falls back to Chinese)."""
    v = str(value or "").strip().lower()
    if v.startswith("en"):
        return "en"
    return DEFAULT_LANG


def t(key: str, lang: str = DEFAULT_LANG, **fmt: Any) -> str:
    """The message `key` in `lang`; `{name}` placeholders are filled from `fmt`. Unknown keys raise KeyError."""
    zh, en = MESSAGES[key]
    text = en if lang == "en" else zh
    return text.format(**fmt) if fmt else text


def pick(zh: str | None, en: str | None, lang: str) -> str:
    """Choose between a bilingual pair from the data (catalog, district table), falling back to whichever exists."""
    if lang == "en":
        return en or zh or ""
    return zh or en or ""


def _finite(x: object) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(float(x))


def fmt_num(x: object, lang: str = DEFAULT_LANG, decimals: int = 1) -> str:
    """A number with thousands separators, or a dash when missing. Large counts use 万 in Chinese."""
    if not _finite(x):
        return t("na", lang)
    v = float(x)  # type: ignore[arg-type]
    if lang == "zh" and abs(v) >= 100_000:
        return f"{v / 10_000:,.{max(decimals, 1)}f} 万"
    return f"{v:,.{decimals}f}"


def fmt_int(x: object, lang: str = DEFAULT_LANG) -> str:
    return fmt_num(x, lang, 0)


def fmt_pct(x: object, lang: str = DEFAULT_LANG, decimals: int = 1, ratio: bool = True) -> str:
    """A percentage: `ratio=True` means x is a share in [0, 1]."""
    if not _finite(x):
        return t("na", lang)
    v = float(x) * (100 if ratio else 1)  # type: ignore[arg-type]
    return f"{v:.{decimals}f}%"


def fmt_count(x: object, lang: str = DEFAULT_LANG) -> str:
    """A count as people read it: Chinese in 万 from ten thousand and in 亿 from a hundred million ('3,381.1 万',
    '1.25 亿', '850'); English with thousands separators. A dash when missing."""
    if not _finite(x):
        return t("na", lang)
    v = float(x)  # type: ignore[arg-type]
    if lang == "zh":
        if abs(v) >= 100_000_000:
            return f"{v / 100_000_000:,.2f} 亿"
        if abs(v) >= 10_000:
            return f"{v / 10_000:,.1f} 万"
    return f"{v:,.0f}"


def fmt_signed(x: object, lang: str = DEFAULT_LANG, decimals: int = 1) -> str:
    if not _finite(x):
        return t("na", lang)
    return f"{float(x):+.{decimals}f}"  # type: ignore[arg-type]


_ZH_QUARTERS = {1: "一", 2: "二", 3: "三", 4: "四"}


def _quarter(year: str, q: int, lang: str) -> str | None:
    """'2026年第三季度' / '2026 Q3'; None for a quarter number that is not 1–4."""
    if q not in _ZH_QUARTERS:
        return None
    return f"{year}年第{_ZH_QUARTERS[q]}季度" if lang == "zh" else f"{year} Q{q}"


def fmt_period(period: object, lang: str = DEFAULT_LANG) -> str:
    """'2024-03' → '2024年3月' / 'Mar 2024'; '2024-Q1' and '2024Q1' → '2024年第一季度' / '2024 Q1' (Chinese numerals for
    quarters, as official documents write them); '2024' → '2024年'; other strings as given."""
    if isinstance(period, (date, datetime)):
        period = period.strftime("%Y-%m")
    s = str(period or "")
    months = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
    if len(s) >= 7 and s[4] == "-" and s[:4].isdigit():
        rest = s[5:]
        if rest.upper().startswith("Q") and rest[1:].isdigit():
            return _quarter(s[:4], int(rest[1:]), lang) or s
        if rest[:2].isdigit() and (len(rest) == 2 or rest[2] == "-"):
            m = int(rest[:2])
            if 1 <= m <= 12:
                return f"{s[:4]}年{m}月" if lang == "zh" else f"{months[m - 1]} {s[:4]}"
    if len(s) == 6 and s[:4].isdigit() and s[4] in "Qq" and s[5].isdigit():  # '2024Q1' (the warehouse's form)
        return _quarter(s[:4], int(s[5]), lang) or s
    if len(s) == 4 and s.isdigit():
        return f"{s}年" if lang == "zh" else s
    return s


def fmt_period_marked(period: str, lang: str, partial: Mapping[str, tuple[str, ...]]) -> str:
    """fmt_period, plus '· 不完整期：2026-10' (the months the data cover completely) when the period is partial.

    `partial` is indicators.periods.partial_periods(periods, complete months): every place a period can be chosen
    shows it, so a partial quarter is never taken for a whole one."""
    label = fmt_period(period, lang)
    if period not in partial:
        return label
    months = partial[period]
    mark = t("period.partial", lang, months=", ".join(months)) if months else t("period.partial_none", lang)
    return f"{label} · {mark}"


SHANGHAI = ZoneInfo(LOCAL_TZ)


def to_shanghai(x: datetime) -> datetime:
    """`x` as Beijing wall time: an aware time is converted; a naive one is already Beijing time (the warehouse keeps
    naive timestamps in Asia/Shanghai, etl.contract.tables.LOCAL_TZ)."""
    return x.astimezone(SHANGHAI) if x.tzinfo is not None else x.replace(tzinfo=SHANGHAI)


def fmt_datetime(x: object, lang: str = DEFAULT_LANG, *, zone: bool = True) -> str:
    """The one way a time is shown: Beijing time, labelled ("2026年12月02日 09:21（北京时间）"); a date alone as a date.

    Aware datetimes (run history, audit trail: UTC) are converted; naive ones are taken as Beijing time already.
    ISO strings are parsed first. `zone=False` drops the label where a column header already says 北京时间.
    """
    if x is None:
        return t("na", lang)
    if isinstance(x, str):
        text = x
        try:
            x = datetime.fromisoformat(text)
        except ValueError:
            return text
        if len(text) == 10:  # a bare 'YYYY-MM-DD' is a date, not midnight
            x = x.date()
    if isinstance(x, datetime):
        x = to_shanghai(x)
        text = x.strftime("%Y年%m月%d日 %H:%M") if lang == "zh" else x.strftime("%d %b %Y %H:%M")
        if not zone:
            return text
        return f"{text}（{t('time.zone', lang)}）" if lang == "zh" else f"{text} ({t('time.zone', lang)})"
    if isinstance(x, date):
        return x.strftime("%Y年%m月%d日") if lang == "zh" else x.strftime("%d %b %Y")
    return str(x)


def status_label(value: object, lang: str = DEFAULT_LANG) -> str:
    """A run's or a file's status (succeeded, failed, partial, …) in words; an unknown one as given."""
    v = str(value or "").strip().lower()
    key = {"succeeded": "status.ok", "loaded": "status.ok", "ok": "status.ok"}.get(v, f"status.{v}")
    return t(key, lang) if key in MESSAGES else str(value or "")


def trigger_label(value: object, lang: str = DEFAULT_LANG) -> str:
    """What started a refresh run (cron, manual, cli, inbox) in words."""
    key = f"trigger.{str(value or '').strip().lower()}"
    return t(key, lang) if key in MESSAGES else str(value or "")


def missing_reason_label(reason: object, lang: str = DEFAULT_LANG) -> str:
    """Why an indicator value is missing (indicator_values.missing_reason) in words; '' when it is not missing."""
    key = f"missing_reason.{str(reason or '').strip()}"
    return t(key, lang) if key in MESSAGES else str(reason or "")


def interval_method_label(method: object, lang: str = DEFAULT_LANG) -> str:
    """How a value's 95% interval is computed (indicator_values.interval_method) in words."""
    key = f"interval_method.{str(method or '').strip()}"
    return t(key, lang) if key in MESSAGES else str(method or "")


def fmt_interval(value: object, ci_low: object, ci_high: object, n: object, lang: str = DEFAULT_LANG, *,
                 decimals: int = 1, method: object = None, reason: object = None) -> str:
    """A value with its 95% interval and n, for tables and hover texts: '72.4（95% 区间 65.1–79.0，样本量 54）';
    a census as such; a missing value with its reason (and the interval when known, so a reader sees why)."""
    def num(x: object) -> str:
        return fmt_num(x, lang, decimals)

    if not _finite(value):
        why = missing_reason_label(reason or "no_cases", lang)
        if _finite(ci_low) and _finite(ci_high):
            return t("interval.missing_with", lang, reason=why, low=num(ci_low), high=num(ci_high), n=fmt_count(n, lang))
        return t("interval.missing", lang, reason=why)
    if str(method or "") == "none":
        return t("interval.census", lang, value=num(value))
    if not (_finite(ci_low) and _finite(ci_high)):
        return num(value)
    return t("interval.text", lang, value=num(value), low=num(ci_low), high=num(ci_high), n=fmt_count(n, lang))


def unit_label(unit: object, lang: str = DEFAULT_LANG) -> str:
    """An indicator's unit in the reader's words (UNITS); an unknown unit as the catalogue gives it."""
    u = str(unit or "")
    if u in UNITS:
        zh, en = UNITS[u]
        return pick(zh, en, lang)
    return u


def _param_text(value: object) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def method_label(name: str, params: Mapping[str, Any] | None = None, lang: str = DEFAULT_LANG) -> str:
    """A method choice as people read it: '最小-最大归一化（0–100）', '算术平均'; parameters in brackets."""
    zh, en = METHODS.get(name, (name, name))
    text = pick(zh, en, lang)
    params = dict(params or {})
    if name == "minmax" and set(params) <= {"l", "u"}:
        lo, hi = params.get("l", 0.0), params.get("u", 1.0)
        return f"{text}（{_param_text(lo)}–{_param_text(hi)}）" if lang == "zh" else \
            f"{text} ({_param_text(lo)}–{_param_text(hi)})"
    if params:
        inner = ", ".join(f"{k} = {_param_text(v)}" for k, v in params.items())
        return f"{text}（{inner}）" if lang == "zh" else f"{text} ({inner})"
    return text


def check_label(check: object, lang: str = DEFAULT_LANG) -> str:
    """A quarantine check name (allowed, dtype, not_nullable, rule codes …) as the ingest catalogue's short words."""
    return bilingual_part(messages.label(str(check or "")), lang, messages.SEP)


def table_label(name: object, lang: str = DEFAULT_LANG) -> str:
    """A raw table by its Chinese title with the code beside: '服务事件（service_events）'; English: the code."""
    n = str(name or "")
    table = TABLES.get(n)
    if table is None or lang == "en":
        return n
    return f"{table.title_zh}（{n}）"


def bilingual_part(text: object, lang: str = DEFAULT_LANG, sep: str = " / ") -> str:
    """One language of a stored 'Chinese / English' text (the ingest's messages); a text without both as it is."""
    s = str(text or "")
    if sep not in s:
        return s
    zh, _, en = s.partition(sep)
    if not re.search(r"[\u4e00-\u9fff]", zh):  # not a 'zh / en' pair: a slash inside one text
        return s
    return en.strip() if lang == "en" else zh.strip()


def plotly_separators(lang: str) -> str:
    """Plotly's `separators` (decimal, thousands) for the language; both use '.' and ','."""
    return ".,"


def labels(keys: Mapping[str, str], lang: str) -> dict[str, str]:
    """Translate a mapping column → message key into column → label (for table headers)."""
    return {col: t(key, lang) for col, key in keys.items()}
