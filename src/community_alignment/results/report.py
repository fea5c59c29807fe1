"""report.md and the terminal summary, rendered from typed results alone (every number comes from the
contract; strings from a submission are escaped)."""

from __future__ import annotations

import re

from ..metrics.contract import HEADLINE, headline_of
from .types import Difference, Estimate, IndividualBlock, Results, ScorerBlock

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#!|~])")


def md_escape(s) -> str:
    """Text safe inside a Markdown table cell or sentence (never at a line start): no link, image, HTML,
    emphasis, code or cell break survives (newlines are collapsed to spaces)."""
    text = " ".join(str(s).split())
    return _MD_SPECIAL.sub(r"\\\1", text)


def pct(v) -> str:
    return "–" if v is None or v != v else f"{100 * v:.1f}"


def num(v, digits: int = 3) -> str:
    return "–" if v is None or v != v else f"{v:.{digits}f}"


def est(e: Estimate, as_pct: bool = True) -> str:
    f = pct if as_pct else num
    if e.value != e.value:
        return "–"
    if e.ci_low != e.ci_low:
        return f(e.value)
    return f"{f(e.value)} [{f(e.ci_low)}, {f(e.ci_high)}]"


def scorer_label(results: Results, name: str) -> str:
    return f"{results.submission['model']['name']} (model)" if name == "model" else name


HEADER = [
    "scorer",
    "top-1 [95% CI]",
    "top-1 macro (countries)",
    "worst country",
    "gap",
    "pairwise",
    "AUC",
    "NLL",
    "1−JSD",
    "ECE",
]


def headline_row(label: str, b: ScorerBlock) -> list[str]:
    s = b.axes[HEADLINE["axis"]].top1_accuracy if HEADLINE["axis"] in b.axes else None
    return [
        label,
        est(b.overall.top1_accuracy),
        est(headline_of(b)),
        f"{est(s.worst)} ({s.worst_group or '–'})" if s else "–",
        est(s.gap) if s else "–",
        pct(b.overall.pairwise_accuracy.value),
        pct(b.overall.pairwise_auc.value),
        num(b.overall.nll.value),
        est(b.distributional.fit, as_pct=False),
        num(b.overall.ece),
    ]


def headline_rows(results: Results) -> list[list[str]]:
    return [headline_row(md_escape(scorer_label(results, n)), b) for n, b in results.scorers.items()]


def terminal_summary(results: Results) -> str:
    rows = [HEADER] + [headline_row(scorer_label(results, n), b) for n, b in results.scorers.items()]
    widths = [max(len(r[i]) for r in rows) for i in range(len(HEADER))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    for key in ("individual", "individual_seen"):
        if results.extras.get(key) is not None:
            lines.append(individual_headline(_block(results.extras[key])))
    p = results.protocol
    h = results.headline
    lines.insert(
        0,
        f"protocol {p['id']} ({'ranked' if p['ranked'] else 'NOT ranked'}); {p['evaluated']} comparisons, "
        f"{p['annotators']} annotators, {p['prompt_groups']} prompt groups, {p['qualifying_sets']} sets with ≥ "
        f"{results.settings['min_set_annotators']} raters\nheadline ({h['name']}): {est(Estimate(h['value'], h['ci_low'], h['ci_high']))}\n",
    )
    return "\n".join(lines)


def _table(header, rows) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(out + ["| " + " | ".join(str(c) for c in r) + " |" for r in rows])


def render_report(results: Results, plots: dict[str, str]) -> str:
    p, sub, st = results.protocol, results.submission, results.settings
    m = sub.get("model", {})
    ds = p["dataset"]
    parts = [f"# Community Alignment benchmark: {md_escape(m.get('name', '?'))}", ""]
    if ds["synthetic"]:
        parts += ["> **Synthetic data.** Evaluated on the embedded synthetic sample, not the real dataset.", ""]
    if not p["ranked"]:
        parts += [f"> **Track `{p['track']}`: not ranked** (a subsampled or filtered evaluation).", ""]
    h = results.headline
    parts += [
        f"Protocol `{md_escape(p['id'])}` (version {p['version']}, track `{p['track']}`): {p['evaluated']} comparisons "
        f"({p.get('uninformative', 0)} with fewer than two competing candidates left out), {p['annotators']} annotators, "
        f"{p['prompt_groups']} prompt groups; split by {ds['split_by']}, test fingerprint `{ds['fingerprint'][:16]}…`.",
        "",
        f"Model: method `{md_escape(m.get('method'))}`, conditioning `{md_escape(m.get('conditioning'))}`, base "
        f"`{md_escape(m.get('base_model'))}`, dtype `{md_escape(m.get('dtype'))}`, max length {m.get('max_length')}, "
        f"temperature {num(results.model.temperature)} ({md_escape(results.model.temperature_note or 'fixed')})"
        + (f", reference `{md_escape(m.get('ref_model'))}`, β = {m.get('beta')}" if m.get("ref_model") else "")
        + f". Submission sha256 `{sub.get('sha256', '')[:16]}…`.",
        "",
        f"**Headline — {h['name']}: {est(Estimate(h['value'], h['ci_low'], h['ci_high']))}.** 95% CIs: {st['ci']} "
        f"({st['resamples']} replicates). Tie policy: {st['tie_policy']}. Groups enter macro / worst / gap with ≥ "
        f"{st['min_group_annotators']} distinct annotators. References' accuracy metrics are expected values "
        "(random: exactly 1/k; oracles: under the generator's true choice probabilities).",
        "",
    ]
    trunc = sub.get("truncation") or {}
    if trunc.get("candidates"):
        whole = trunc.get("candidates_whole", 0) / trunc["candidates"]
        kept = trunc.get("candidate_tokens_kept", 0) / max(trunc.get("candidate_tokens", 1), 1)
        parts += [
            f"What the model saw: {pct(whole)}% of candidates whole, {pct(kept)}% of candidate tokens kept, "
            f"{trunc.get('truncated', 0)} of {trunc.get('sequences', 0)} sequences truncated (max length {m.get('max_length')}).",
            "",
        ]
    parts += ["## Headline", "", _table(HEADER, headline_rows(results)), ""]
    if results.versus:
        rows = []
        for ref, d in results.versus.items():
            ov, mac = d.get("overall"), d.get("macro")
            sig = [
                k.split(" / ", 1)[1] for k, x in d.items() if " / " in k and x.significant and x.difference.value > 0
            ]
            worse = [
                k.split(" / ", 1)[1] for k, x in d.items() if " / " in k and x.significant and x.difference.value < 0
            ]
            rows.append(
                [
                    md_escape(ref),
                    f"{est(ov.difference)} (p = {num(ov.p, 4)})" if ov else "–",
                    f"{est(mac.difference)} (p = {num(mac.p, 4)})" if mac else "–",
                    md_escape(", ".join(sig) or "none"),
                    md_escape(", ".join(worse) or "none"),
                ]
            )
        parts += [
            "## Model − reference (paired, same replicates)",
            "",
            _table(
                [
                    "reference",
                    "top-1 difference",
                    "macro difference",
                    "countries better (Holm)",
                    "countries worse (Holm)",
                ],
                rows,
            ),
            "",
        ]
    if results.noise_floor:
        tests = ", ".join(
            f"{a.replace('_', ' ')} p = {num(v['p'], 3)} (chance gap ≤ {pct(v['p95_gap'])} in 95%)"
            for a, v in results.noise_floor.items()
        )
        parts += [
            "Gap tests — is the model's top-1 gap between groups larger than chance? Group labels permuted across "
            f"annotators ({next(iter(results.noise_floor.values()))['permutations']} permutations), the model's own "
            f"credits kept: {tests}.",
            "",
        ]
    model = results.model
    refs = [(n, b) for n, b in results.scorers.items() if n != "model"]
    for axis, block in model.axes.items():
        header = ["group", "n", "annotators", "top-1 [95% CI]", "pairwise [95% CI]", "NLL"] + [
            md_escape(n) for n, _ in refs
        ]
        rows = []
        for g, b in block.groups.items():
            row = [
                md_escape(g) + ("" if b.eligible else " ⁽*⁾"),
                b.n,
                b.annotators,
                est(b.top1_accuracy),
                est(b.pairwise_accuracy),
                num(b.nll.value),
            ]
            for _, rb in refs:
                gb = rb.axes.get(axis).groups.get(g) if axis in rb.axes else None
                row.append(pct(gb.top1_accuracy.value) if gb else "–")
            rows.append(row)
        s = block.top1_accuracy
        floor = results.noise_floor.get(axis, {})
        parts += [
            f"## By {axis.replace('_', ' ')}",
            "",
            f"Top-1 macro {est(s.macro)}, worst {est(s.worst)} ({md_escape(s.worst_group or '–')}), gap {est(s.gap)}"
            + (f"; gap test p = {num(floor.get('p'), 3)}" if floor else "")
            + f". ⁽*⁾ fewer than {st['min_group_annotators']} annotators or missing: reported, not in macro / worst / gap.",
            "",
        ]
        if axis in plots:
            parts += [f"![{axis}]({plots[axis]})", ""]
        parts += [_table(header, rows), ""]
    if "heatmap" in plots:
        parts += ["## Country × language", "", f"![heatmap]({plots['heatmap']})", ""]
    d = model.distributional
    rows = [
        [md_escape(scorer_label(results, n)), est(b.distributional.fit, as_pct=False)]
        for n, b in results.scorers.items()
    ]
    parts += [
        "## Distributional fit",
        "",
        f"{st['distributional_metric']} between each scorer's mean choice distribution and the observed vote shares, "
        f"on the **{d.sets}** candidate sets judged by ≥ {st['min_set_annotators']} distinct annotators in the evaluated "
        f"split ({d.comparisons} comparisons; never a subsample). Ten votes are a noisy estimate of the shares, so even "
        "the true distribution scores below 1 (see the individual oracle on the synthetic sample).",
        "",
        _table(["scorer", "1 − JSD [95% CI]"], rows),
        "",
    ]
    if d.by_country:
        parts += [
            f"By country (sets with ≥ {st.get('min_group_set_annotators', 5)} raters of that country): "
            + ", ".join(f"{md_escape(c)} {num(v['value'])} ({v['sets']} sets)" for c, v in d.by_country.items()),
            "",
        ]
    for key in ("individual", "individual_seen"):
        if results.extras.get(key) is not None:
            parts += individual_section(
                results.extras[key], plots.get("kshot" if key == "individual" else "kshot_seen")
            )
    training = sub.get("training")
    if isinstance(training, dict) and training:
        parts += ["## Training", "", *(f"- {md_escape(k)}: {md_escape(v)}" for k, v in training.items()), ""]
    return "\n".join(parts)


# --- the individual track ---------------------------------------------------------------------

SETTING_LABEL = {
    "unseen": "unseen annotators (track `unseen_annotators`: people the model never saw)",
    "seen": "seen annotators (the prompt split, track `main`: every test annotator was seen in training; "
    "labelled, not comparable with the unseen view)",
}


def _block(b) -> IndividualBlock:
    return b if isinstance(b, IndividualBlock) else IndividualBlock.from_dict(b)


def diff(d: Difference, digits_p: int = 3) -> str:
    return f"{est(d.difference)} (p = {num(d.p, digits_p)})"


def individual_headline(b: IndividualBlock) -> str:
    h = b.headline
    if not h.get("available"):
        return f"individual ({b.setting}): no annotator reaches k = {h.get('k')}"
    g, o, gap = h["gain"], h["gain_vs_random_other"], h["gap_closed"]
    text = (
        f"individual ({SETTING_LABEL[b.setting].split(' (')[0]}, {h['method']}, {h['view']}), k = {h['k']} on "
        f"{h['annotators']} annotators: top-1 {pct(h['top1_population'])} → {pct(h['top1'])}; gain "
        f"{est(Estimate(g['value'], g['ci_low'], g['ci_high']))} (p = {num(g['p'])}), vs random other user "
        f"{est(Estimate(o['value'], o['ci_low'], o['ci_high']))} (p = {num(o['p'])})"
    )
    if gap.get("value") is not None and gap["value"] == gap["value"]:
        text += f"; gap to the individual oracle closed {est(Estimate(gap['value'], gap['ci_low'], gap['ci_high']))}% (p = {num(h['gap_p'])})"
    return text + ("; counts" if h.get("counts") else "; does not count (not significantly above both controls)")


def individual_section(block, plot: str | None = None) -> list[str]:
    b = _block(block)
    d, a = b.design, b.annotators
    few = a["too_few"]
    few_list = ", ".join(f"{x['annotator']} ({x['comparisons']} comparisons)" for x in few["annotators"][:20])
    per_k = ", ".join(f"k = {k}: {v['annotators']}" for k, v in a["per_k"].items())
    parts = [
        f"## Few-shot personalization: {SETTING_LABEL[b.setting]}",
        "",
        f"Episodes (protocol.episodes): per annotator, ⌈{num(d['query_share'], 2)} · conversations⌉ form the query set "
        f"(the same for every k), the rest the support pool; support = the first k comparisons of a hashed order of "
        f"the pool's conversations, {d['draws']} draws per k (averaged); k ∈ {d['k_sweep']}. Evaluated annotators: "
        f"{a['evaluated']} ({per_k}). Too few (query < {d['min_query']} comparisons): {few['count']}"
        + (f" — {md_escape(few_list)}" if few_list else "")
        + f". CIs: {d.get('bootstrap', 'bootstrap over annotators')}.",
        "",
        f"**{md_escape(individual_headline(b))}.**",
        "",
    ]
    t = b.tuning.get("adapted", {})
    if "pooled_weights" in t:
        w = ", ".join(f"{k} {num(v, 2)}" for k, v in t["pooled_weights"].items())
        parts += [
            f"Adaptation (every submission, from its scores alone): pooled fit on {md_escape(t.get('fitted_on', ''))} "
            f"({t['pooled_fit_comparisons']} comparisons; weights {w}; score unit {num(t['score_scale'], 3)}), "
            f"prior precision λ = {num(t['lambda'], 3)} on the score's weight and {num(t.get('lambda_features'), 3)} on "
            f"the others ({md_escape(t['lambda_criterion'])}).",
            "",
        ]
    elif t:
        parts += [f"Adaptation: {md_escape(t.get('fitted_on', ''))}.", ""]
    if plot:
        parts += [f"![k-shot curve]({plot})", ""]
    header = [
        "k",
        "annotators",
        "top-1 mean [95% CI]",
        "10th pct annotator",
        "share below k = 0",
        "NLL",
        "pairwise",
        "random other user",
        "gain vs k = 0",
        "gain vs random other",
        "counts",
        "gap closed",
        "individual oracle",
    ]
    for view, methods in b.views.items():
        for method, curve in methods.items():
            rows = []
            for k, p in sorted(curve.points.items(), key=lambda x: int(x[0])):
                oracle = p.references.get("oracle_individual", {}).get("top1")
                rows.append(
                    [
                        k,
                        p.annotators,
                        est(p.top1.mean),
                        pct(p.top1.p10.value),
                        pct(p.top1.below_population.value),
                        num(p.nll.mean.value),
                        pct(p.pairwise.value),
                        pct(p.other_top1.value),
                        diff(p.vs_population["top1"]) if p.k else "–",
                        diff(p.vs_random_other["top1"]) if p.k else "–",
                        ("yes" if p.counts else "no") if p.k else "–",
                        f"{est(p.gap_closed)} (p = {num(p.gap_p)})"
                        if p.k and p.gap_closed.value == p.gap_closed.value
                        else "–",
                        pct(oracle),
                    ]
                )
            parts += [
                f"### {method} ({view}{': expected values under the true probabilities' if view == 'expected' else ': drawn choices'})",
                "",
                md_escape(curve.description) + ".",
                "",
                _table(header, rows),
                "",
            ]
            hk = str(d["headline_k"])
            for axis, groups in curve.by_group.items():
                g_rows = [
                    [
                        md_escape(g),
                        pts[hk].annotators,
                        est(pts[hk].top1),
                        diff(pts[hk].vs_population),
                        diff(pts[hk].vs_random_other),
                    ]
                    for g, pts in groups.items()
                    if hk in pts
                ]
                if g_rows:
                    parts += [
                        f"By {axis} at k = {hk} (Holm across groups in the `significant` flags of results.json):",
                        "",
                        _table([axis, "annotators", "top-1", "gain vs k = 0", "gain vs random other"], g_rows),
                        "",
                    ]
    return parts
