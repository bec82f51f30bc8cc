"""The method text and the methodology report (技术报告), generated from a profile's spec, the catalog and the data.

Nothing here states a method choice that the spec does not make: the sentences on normalisation, aggregation,
missing data, outliers, bands and periods are chosen and filled in from the ModelSpec (a profile's `[methods]`), so the
methodology page and the report change when the profile changes. Everything is a function of (framework, profile,
catalog, coverage[, uncertainty spec]) so a stored edition's spec can be rendered the same way later.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import polars as pl

from app.ui.i18n import fmt_int, pick, t
from etl.warehouse.snapshot import Snapshot
from indicators.aggregate import AGGREGATORS
from indicators.audit import GrainAudit, grain_audit
from indicators.catalog import Catalog, IndicatorDef
from indicators.framework import Framework
from indicators.impute import IMPUTERS
from indicators.normalise import NORMALISERS
from indicators.periods import complete_periods, partial_periods
from indicators.profile import WeightProfile
from indicators.reliability import DEFAULT_THRESHOLD as DEFAULT_RELIABILITY
from indicators.spec import BandSpec, MethodSpec, ModelSpec
from indicators.treat import TREATMENTS
from indicators.uncertainty.problem import UncertaintySpec

if TYPE_CHECKING:
    from app.state import AppContext


@dataclass(frozen=True)
class Coverage:
    """What the data cover: the span, the grain's periods (complete and partial), every indicator's n, quarantine."""

    months: tuple[str, ...] = ()  # the months the data cover completely, oldest first
    grain: str = "quarter"
    complete: tuple[str, ...] = ()
    partial: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # period → months it covers completely
    n_units: int = 0
    n_values: Mapping[str, int] = field(default_factory=dict)  # indicator → unit-periods with a value
    n_missing: Mapping[str, int] = field(default_factory=dict)  # indicator → unit-periods without one
    quarantine_total: int = 0
    quarantine_by_table: Mapping[str, int] = field(default_factory=dict)  # of the rows the snapshot holds


def coverage_from_snapshot(snapshot: Snapshot, grain: str = "quarter") -> Coverage:
    """The snapshot's coverage at `grain` (indicator values, complete months, quarantine)."""
    values = snapshot.values
    if "grain" in values.columns:
        values = values.filter(pl.col("grain") == grain)
    periods = sorted(values["period"].unique().to_list()) if values.height else []
    months = snapshot.complete_months
    counts = (
        values.group_by("indicator_id").agg(pl.col("value").is_not_null().sum().alias("n"),
                                            pl.col("value").is_null().sum().alias("missing"))
        if values.height else pl.DataFrame({"indicator_id": [], "n": [], "missing": []})
    )
    q = snapshot.quarantine
    by_table = (dict(q.group_by("table_name").len().sort("table_name").iter_rows())
                if q.height and "table_name" in q.columns else {})
    return Coverage(
        months=tuple(months),
        grain=grain,
        complete=complete_periods(periods, months),
        partial=partial_periods(periods, months),
        n_units=values["unit_code"].n_unique() if values.height else 0,
        n_values={r["indicator_id"]: int(r["n"]) for r in counts.iter_rows(named=True)},
        n_missing={r["indicator_id"]: int(r["missing"]) for r in counts.iter_rows(named=True)},
        quarantine_total=snapshot.quarantine_total,
        quarantine_by_table={str(k): int(v) for k, v in by_table.items()},
    )


# -- the method text ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class MethodSection:
    key: str  # normalisation | aggregation | missing | bands | periods
    title: str
    sentences: tuple[str, ...]


def _method_label(spec: MethodSpec) -> str:
    return spec.name + (f" {_params(spec.params)}" if spec.params else "")


def _params(params: Mapping[str, object]) -> str:
    shown = {k: v for k, v in params.items() if not isinstance(v, Mapping)}
    return "(" + ", ".join(f"{k}={v}" for k, v in shown.items()) + ")" if shown else ""


def _fit_text(spec: ModelSpec, lang: str) -> str:
    if spec.fit_on == "panel":
        return t("mt.fit.panel", lang)
    if spec.fit_on == "reference" and spec.reference is not None:
        return t("mt.fit.reference", lang, first=spec.reference[0], last=spec.reference[1])
    return t("mt.fit.period", lang, period=spec.fit_on)


def _normalisation(spec: ModelSpec, lang: str) -> tuple[str, ...]:
    out = [_one_normalisation(spec.normalisation, spec, lang)]
    if spec.normalisation_overrides:
        items = "; ".join(f"{code}: {_method_label(m)}" for code, m in sorted(spec.normalisation_overrides.items()))
        out.append(t("mt.norm.overrides", lang, items=items))
    return tuple(out)


def _one_normalisation(m: MethodSpec, spec: ModelSpec, lang: str) -> str:
    params = NORMALISERS.resolve(m.name, m.params)
    if m.name == "goalposts":
        scale = params.get("scale", 100.0)
        return t("mt.norm.goalposts", lang, scale=f"{float(scale):g}",
                 clip=t("mt.norm.clip", lang) if params.get("clip", True) else "")
    return t("mt.norm.fitted", lang, method=_method_label(m), desc=NORMALISERS.get(m.name).doc,
             fit=_fit_text(spec, lang))


def _aggregation(spec: ModelSpec, profile: WeightProfile | None, framework: Framework, lang: str) -> tuple[str, ...]:
    weights = profile.resolved_weights(framework) if profile is not None else framework.weights(spec.weights)
    out = [t("mt.agg", lang, method=_method_label(spec.aggregation), desc=AGGREGATORS.get(spec.aggregation.name).doc,
             supply=f"{weights.get('supply', float('nan')):.0%}", demand=f"{weights.get('demand', float('nan')):.0%}")]
    if spec.aggregation_overrides:
        items = "; ".join(f"{code}: {_method_label(m)}" for code, m in sorted(spec.aggregation_overrides.items()))
        out.append(t("mt.agg.overrides", lang, items=items))
    key = "mt.avail.dims" if spec.availability_nodes == "dimensions" else "mt.avail.share"
    out.append(t(key, lang, share=f"{spec.availability:.0%}") if spec.availability > 0 else t("mt.avail.any", lang))
    return tuple(out)


def _missing(spec: ModelSpec, lang: str) -> tuple[str, ...]:
    imp = spec.imputation
    first = (t("mt.missing.none", lang) if imp.name == "none"
             else t("mt.missing.imputed", lang, method=_method_label(imp), desc=IMPUTERS.get(imp.name).doc))
    shrink = t("mt.shrink.eb", lang) if spec.shrinkage == "empirical_bayes" else t("mt.shrink.none", lang)
    tr = spec.treatment
    second = (t("mt.treat.none", lang) if tr.name == "none" and not spec.treatment_overrides
              else t("mt.treat.method", lang, method=_method_label(tr), desc=TREATMENTS.get(tr.name).doc,
                     by=t(f"mt.treat.by.{spec.treat_by}", lang)))
    return (first, t("mt.k_of_n", lang), shrink, second)


# -- the data audit: reliability and double counting ------------------------------------------------------------------
#: source tables that are inventories (the whole service-item catalogue, staffing rosters): indicators counted over
#: them have no sampling error
INVENTORY_TABLES = frozenset({"service_item", "centre_staffing"})


def census_indicators(catalog: Catalog) -> tuple[str, ...]:
    """Indicators computed only from inventory tables (no sampling error when the warehouse stores none)."""
    return tuple(d.id for d in catalog if set(d.tables) <= INVENTORY_TABLES)


def data_audit(snapshot: Snapshot, framework: Framework, catalog: Catalog,
               threshold: float = DEFAULT_RELIABILITY) -> GrainAudit | None:
    """Reliability per indicator and grain (quarter, year) and the pairs carrying the same information, from the
    snapshot's indicator values over complete periods; None when the snapshot holds no values."""
    if snapshot.values.height == 0:
        return None
    return grain_audit(framework, snapshot.values, snapshot.complete_months, threshold=threshold,
                       census=census_indicators(catalog))


def snapshot_audit(ctx: AppContext, threshold: float) -> GrainAudit | None:
    """`data_audit` of the context's snapshot at `threshold`, computed once per snapshot (app.server.warm fills the
    default profile's at start-up: it was most of a first visit's wait on the methodology page)."""
    return ctx.memo(("data-audit", ctx.snapshot().key, threshold),
                    lambda: data_audit(ctx.snapshot(), ctx.framework, ctx.catalog, threshold))


def _indicator_name(catalog: Catalog, code: str, lang: str) -> str:
    if code not in catalog:
        return code
    d = catalog.indicator(code)
    return pick(d.name_zh, d.name_en, lang)


def reliability_lines(audit: GrainAudit, catalog: Catalog, lang: str) -> list[str]:
    """One sentence per indicator below the threshold at its finest grain, with the grain at which it becomes
    reliable (or that none does)."""
    lines = []
    for r in audit.unreliable().iter_rows(named=True):
        verdict = (t("rel.reliable_at", lang, grain=t(f"grain.{r['reliable_at']}", lang)) if r["reliable_at"]
                   else t("rel.never", lang))
        lines.append(t("rel.flag", lang, name=_indicator_name(catalog, r["indicator"], lang),
                       grain=t(f"grain.{r['grain']}", lang), r=f"{r['reliability']:.2f}", verdict=verdict))
    return lines


def redundancy_lines(audit: GrainAudit, catalog: Catalog, lang: str, grain: str = "quarter") -> list[str]:
    """The pairs with |r| at or above the threshold at `grain` (strongest first)."""
    red = audit.redundant.filter(pl.col("grain") == grain).sort(pl.col("r").abs(), descending=True)
    return [t("dup.pair", lang, a=_indicator_name(catalog, r["code_a"], lang),
              b=_indicator_name(catalog, r["code_b"], lang), r=f"{r['r']:.2f}", grain=t(f"grain.{grain}", lang))
            for r in red.iter_rows(named=True)]


def reliability_rows(audit: GrainAudit, catalog: Catalog, lang: str) -> tuple[list[str], list[list[str]]]:
    """The reliability table (indicator × grain) as header and rows of text, the indicators below the threshold
    first."""
    wide = audit.reliability.wide()
    grains = [c for c in wide.columns if c != "indicator"]
    head = [t("rel.col.indicator", lang), *[t(f"rel.col.{g}", lang) for g in grains]]
    thr = audit.reliability.threshold
    rows = []
    for r in wide.iter_rows(named=True):
        vals = [r[g] for g in grains]
        if all(v is None for v in vals):
            continue
        rows.append((vals[0] is None or vals[0] >= thr, [_indicator_name(catalog, r["indicator"], lang),
                                                         *[t("na", lang) if v is None else f"{v:.2f}" for v in vals]]))
    rows.sort(key=lambda x: x[0])
    return head, [r for _, r in rows]


def band_cuts_text(bands: BandSpec, lang: str) -> str:
    """'优秀 ≥ 90、良好 80–90、一般 60–80、较差 < 60' (absolute) or with P75 … for quantile bands."""
    labels = bands.labels_en if lang == "en" else bands.labels_zh

    def cut(c: float) -> str:
        return f"P{c * 100:g}" if bands.method == "quantile" else f"{c:g}"

    parts = [f"{labels[0]} ≥ {cut(bands.cuts[0])}"]
    for i in range(1, len(bands.cuts)):
        parts.append(f"{labels[i]} {cut(bands.cuts[i])}–{cut(bands.cuts[i - 1])}")
    parts.append(f"{labels[-1]} < {cut(bands.cuts[-1])}")
    return ("; " if lang == "en" else "、").join(parts)


def _bands(spec: ModelSpec, lang: str) -> tuple[str, ...]:
    b = spec.bands
    return (t(f"mt.bands.{b.method}", lang, cuts=band_cuts_text(b, lang), source=b.source),)


def method_text(spec: ModelSpec, framework: Framework, lang: str, *, profile: WeightProfile | None = None,
                cycle: str = "year") -> tuple[MethodSection, ...]:
    """The rules of the method as sentences, each chosen and filled in from `spec` (nothing hard-coded)."""
    return (
        MethodSection("normalisation", t("mt.s.normalisation", lang), _normalisation(spec, lang)),
        MethodSection("aggregation", t("mt.s.aggregation", lang), _aggregation(spec, profile, framework, lang)),
        MethodSection("missing", t("mt.s.missing", lang), _missing(spec, lang)),
        MethodSection("bands", t("mt.s.bands", lang), _bands(spec, lang)),
        MethodSection("periods", t("mt.s.periods", lang), (t("mt.periods", lang, cycle=t(f"mt.cycle.{cycle}", lang)),)),
    )


# -- the report ---------------------------------------------------------------------------------------------------
_CSS = """
@page { size: A4; margin: 16mm 14mm; }
body { font-family: "Noto Sans CJK SC", "Microsoft YaHei", "PingFang SC", sans-serif; font-size: 10.5pt;
       color: #111; max-width: 180mm; margin: 0 auto; line-height: 1.5; }
h1 { font-size: 17pt; margin: 0 0 4pt; } h2 { font-size: 13pt; margin: 14pt 0 4pt; border-bottom: 1px solid #999; }
h3 { font-size: 11pt; margin: 10pt 0 2pt; } .meta { color: #555; font-size: 9pt; }
table { border-collapse: collapse; width: 100%; margin: 4pt 0; font-size: 9pt; }
th, td { border: 1px solid #bbb; padding: 2pt 4pt; vertical-align: top; text-align: left; }
th { background: #eee; } td.num { text-align: right; white-space: nowrap; }
pre { white-space: pre-wrap; font-size: 8pt; background: #f6f6f6; padding: 3pt; margin: 2pt 0; }
.indicator { break-inside: avoid; page-break-inside: avoid; border-top: 1px solid #ddd; padding-top: 4pt; }
@media print { .noprint { display: none; } a { color: inherit; text-decoration: none; } }
"""


def _e(x: object) -> str:
    return html.escape(str(x), quote=True)


def _table(head: Sequence[str], rows: Sequence[Sequence[object]], numeric: Sequence[int] = ()) -> str:
    th = "".join(f"<th>{_e(h)}</th>" for h in head)
    body = "".join(
        "<tr>" + "".join(f"<td{' class=num' if j in numeric else ''}>{_e(v)}</td>" for j, v in enumerate(r)) + "</tr>"
        for r in rows
    )
    return f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


def formula_text(d: IndicatorDef) -> str:
    """An indicator's formula as reviewable text (the full query, or the rate form's parts)."""
    s = d.sql
    if s.query:
        return s.query.strip()
    parts = [f"numerator   = {s.numerator}", f"denominator = {s.denominator}", f"FROM  {s.from_}"]
    if s.where:
        parts.append(f"WHERE {s.where}")
    parts.append(f"unit = {s.unit}; period = {s.period}; value = numerator / denominator × {d.scale:g}")
    return "\n".join(parts)


def _node_name(framework: Framework, catalog: Catalog, code: str, lang: str) -> str:
    if code in catalog:
        d = catalog.indicator(code)
        return pick(d.name_zh, d.name_en, lang)
    try:
        n = catalog.node(code)
        return pick(n.name_zh, n.name_en, lang)
    except ValueError:
        return code


def _framework_section(framework: Framework, catalog: Catalog, profile: WeightProfile, lang: str) -> str:
    weights = profile.resolved_weights(framework)
    eff = profile.effective_weights(framework)
    rows: list[tuple[str, str, str, str]] = []

    def walk(code: str) -> None:  # depth first, so the table reads as the tree
        if code != framework.root:
            rows.append(("\u3000" * (framework.depth(code) - 1) + _node_name(framework, catalog, code, lang), code,
                         f"{weights.get(code, 0.0):.3f}", f"{eff[code]:.3f}" if code in eff else ""))
        for child in framework.children(code):
            walk(child)

    walk(framework.root)
    return (f"<h2>{_e(t('rpt.s.framework', lang))}</h2>"
            + _table([t("rpt.node", lang), t("col.code", lang), t("rpt.weight", lang), t("rpt.effective", lang)],
                     rows, numeric=(2, 3)))


def _indicators_section(catalog: Catalog, framework: Framework, coverage: Coverage, lang: str) -> str:
    out = [f"<h2>{_e(t('rpt.s.indicators', lang))} ({len(catalog)})</h2>"]
    for d in catalog:
        gp = f"{d.goalposts.low:g} – {d.goalposts.high:g}"
        n, missing = coverage.n_values.get(d.id), coverage.n_missing.get(d.id)
        facts = [
            (t("col.dimension", lang), _node_name(framework, catalog, d.parent, lang)),
            (t("col.unit", lang), d.unit),
            (t("col.direction", lang), t("dir.up" if d.direction > 0 else "dir.down", lang)),
            (t("col.goalposts", lang), gp),
            (t("col.goalposts_source", lang), d.goalposts_source),
            (t("col.target", lang), f"{d.target:g}" if d.target is not None else t("none", lang)),
            (t("col.weight", lang), f"{d.weight:g}"),
            (t("col.source", lang), d.source),
            (t("col.n_values", lang), f"{fmt_int(n, lang)}" if n is not None else "—"),
            (t("col.n_missing", lang), f"{fmt_int(missing, lang)}" if missing is not None else "—"),
        ]
        out.append(
            f"<div class=indicator id='def-{_e(d.id)}'><h3>{_e(pick(d.name_zh, d.name_en, lang))} · {_e(d.id)}</h3>"
            f"<p>{_e(pick(d.description_zh, d.description_en, lang))}</p>"
            + _table([k for k, _ in facts[:5]], [[v for _, v in facts[:5]]])
            + _table([k for k, _ in facts[5:]], [[v for _, v in facts[5:]]], numeric=(3, 4))
            + f"<pre>{_e(formula_text(d))}</pre></div>"
        )
    return "".join(out)


def _weights_section(profile: WeightProfile, lang: str) -> str:
    out = [f"<h2>{_e(t('rpt.s.weights', lang))}</h2>",
           f"<p><b>{_e(profile.title_en if lang == 'en' else profile.title_zh)}</b> · v{profile.version} · "
           f"{_e(profile.author)} · {_e(profile.date)}</p>",
           f"<p>{_e(pick(profile.rationale.zh, profile.rationale.en, lang))}</p>"]
    if not profile.derived_from:
        out.append(f"<p>{_e(t('rpt.derived.manual', lang))}</p>")
    for d in profile.derived_from:
        ws = ", ".join(f"{k} {v:.3f}" for k, v in d.weights.items())
        out.append(f"<p>{_e(t('rpt.derived.method', lang, node=d.node or '—', method=d.method, weights=ws))}</p>")
    return "".join(out)


def _method_section(sections: Sequence[MethodSection], lang: str) -> str:
    out = [f"<h2>{_e(t('rpt.s.method', lang))}</h2>"]
    for s in sections:
        out.append(f"<h3>{_e(s.title)}</h3>" + "".join(f"<p class='mt-{_e(s.key)}'>{_e(x)}</p>" for x in s.sentences))
    return "".join(out)


def _uncertainty_section(spec: UncertaintySpec | None, lang: str) -> str:
    out = [f"<h2>{_e(t('rpt.s.uncertainty', lang))}</h2>"]
    if spec is None:
        return out[0] + f"<p>{_e(t('rpt.unc.missing', lang))}</p>"
    out.append("<p>" + _e(t("rpt.unc.run", lang, samples=fmt_int(spec.samples, lang), sampler=spec.sampler,
                                seed=spec.seed, lo=f"{spec.interval[0] * 100:g}", hi=f"{spec.interval[1] * 100:g}",
                                sobol=spec.sobol_samples, bootstrap=spec.bootstrap,
                                confidence=spec.confidence)) + "</p>")
    factors = [f"{w.name} (level {w.level}, {w.distribution})" for w in spec.weight_noise]
    if spec.blend is not None:
        factors.append(f"blend {spec.blend.model_dump()}")
    factors += [f"normalisation: {_method_label(m)}" for m in spec.normalisation]
    factors += [f"aggregation: {_method_label(m)}" for m in spec.aggregation]
    if spec.imputation:
        factors.append("imputation on/off")
    if spec.drop_indicators:
        factors.append("drop one indicator")
    out.append(f"<p>{_e(t('rpt.unc.factors', lang, items='; '.join(factors) or t('none', lang)))}</p>")
    return "".join(out)


def _audit_section(audit: GrainAudit | None, catalog: Catalog, lang: str) -> str:
    """Reliability per indicator and grain, the indicators below the threshold, and the double-counting check."""
    out = [f"<h2>{_e(t('rel.title', lang))}</h2>"]
    if audit is None or audit.reliability.rows["reliability"].is_null().all():
        return out[0] + f"<p>{_e(t('rel.nodata', lang))}</p>"
    thr = f"{audit.reliability.threshold:g}"
    out.append(f"<p>{_e(t('rel.lead', lang, threshold=thr))}</p>")
    flags = reliability_lines(audit, catalog, lang)
    out.append("<ul class='rel-flags'>" + "".join(f"<li>{_e(x)}</li>" for x in flags) + "</ul>" if flags
               else f"<p>{_e(t('rel.none', lang, threshold=thr))}</p>")
    head, rows = reliability_rows(audit, catalog, lang)
    out.append(_table(head, rows, numeric=tuple(range(1, len(head)))))
    out.append(f"<h2>{_e(t('dup.title', lang))}</h2><p>{_e(t('dup.lead', lang, threshold='0.9'))}</p>")
    pairs = redundancy_lines(audit, catalog, lang)
    out.append("<ul class='dup-pairs'>" + "".join(f"<li>{_e(x)}</li>" for x in pairs) + "</ul>" if pairs
               else f"<p>{_e(t('dup.none', lang, threshold='0.9'))}</p>")
    return "".join(out)


def _partial_label(months: Sequence[str], lang: str) -> str:
    return t("period.partial", lang, months=", ".join(months)) if months else t("period.partial_none", lang)


def partial_period_label(period: str, months: Sequence[str], lang: str) -> str:
    """'2026Q4 · 不完整期：2026-10' — how a period picker shows a partial period."""
    return f"{period} · {_partial_label(months, lang)}"


def _coverage_section(coverage: Coverage, lang: str) -> str:
    out = [f"<h2>{_e(t('rpt.s.coverage', lang))}</h2>"]
    if coverage.months:
        out.append(f"<p>{_e(t('rpt.cov.span', lang, first=coverage.months[0], last=coverage.months[-1], n=len(coverage.months)))}</p>")
    partial = "; ".join(f"{p} ({_partial_label(m, lang)})" for p, m in coverage.partial.items()) or t("none", lang)
    out.append(f"<p>{_e(t('rpt.cov.periods', lang, grain=coverage.grain, complete=', '.join(coverage.complete) or t('none', lang), partial=partial))}</p>")
    out.append(f"<p>{_e(t('rpt.cov.quarantine', lang, n=fmt_int(coverage.quarantine_total, lang)))}</p>")
    if coverage.quarantine_by_table:
        out.append(_table([t("col.table", lang), t("col.rows_quarantined", lang)],
                          [(k, fmt_int(v, lang)) for k, v in coverage.quarantine_by_table.items()], numeric=(1,)))
    return "".join(out)


def methodology_report_html(framework: Framework, profile: WeightProfile, catalog: Catalog, coverage: Coverage,
                            lang: str = "zh", *, uncertainty: UncertaintySpec | None = None,
                            cycle: str = "year", audit: GrainAudit | None = None) -> str:
    """The technical report (技术报告) as one self-contained HTML page that prints to A4 from the browser."""
    spec = profile.model_spec(framework)
    sections = method_text(spec, framework, lang, profile=profile, cycle=cycle)
    title = t("rpt.title", lang, profile=profile.title_en if lang == "en" else profile.title_zh)
    fp = t("rpt.fingerprint", lang, spec=spec.fingerprint(), framework=framework.fingerprint(), profile=profile.name,
           version=profile.version)
    body = "".join([
        f"<h1>{_e(title)}</h1><p class=meta>{_e(fp)}</p><p class='meta noprint'>{_e(t('rpt.print_hint', lang))}</p>",
        _framework_section(framework, catalog, profile, lang),
        _indicators_section(catalog, framework, coverage, lang),
        _weights_section(profile, lang),
        _method_section(sections, lang),
        _uncertainty_section(uncertainty, lang),
        _audit_section(audit, catalog, lang),
        _coverage_section(coverage, lang),
    ])
    return (f"<!DOCTYPE html><html lang='{'en' if lang == 'en' else 'zh-CN'}'><head><meta charset='utf-8'>"
            f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>{body}</body></html>")
