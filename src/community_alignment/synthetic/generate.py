"""Deterministic writer of synthetic Community Alignment files (45 v1.1 columns, or the v1.0 layout).

Marginals follow the real file (turn patterns, missingness, country / language / wave mix, prompt
origin, letter-choice bias per turn, length bias) and the known quirks (``EMPTY STRING`` cells,
``<|end_of_text|>`` tails, duplicate candidates, unlabelled turns, multi-line cells, Hindi script).
Beside the CSV, a ``.probs.csv`` file holds the true choice probabilities of every labelled turn:
the annotator's own (``p_true_*``), averaged over the annotator's country (``p_country_*``) and
over everybody (``p_pooled_*``), with the ideal point and candidate positions.
"""

from __future__ import annotations

import csv
import dataclasses
import gzip
import io
import math
import os

import numpy as np

from ..data import schema
from . import model as M
from . import text as T

# --- marginals of the real file (shared/reference/ca_stats, copied) ------------------------------
COUNTRY_SHARE = {"india": 30543, "brazil": 16123, "italy": 14705, "united states": 14491, "france": 14394}
INDIA_HINDI_SHARE = 14178 / 30543
COUNTRY_LANG = {"brazil": "pt", "italy": "it", "united states": "en", "france": "fr"}
TURN_COUNT_SHARE = np.array([6457, 42616, 21415, 19768], dtype=float) / 90256
PREGENERATED_SHARE = 62295 / 90256
WAVE2_ROW_SHARE = {"en": 4335 / 30856, "pt": 4655 / 16123, "it": 3370 / 14705, "fr": 3257 / 14394, "hi": 3778 / 14178}
WAVE2_ACTIVITY = 1.75
# P(label missing | prompt present) per turn; P(feedback | labelled) per turn.
UNLABELLED = np.array([627 / 90256, 561 / 83799, 332 / 41183, 167 / 19768])
FEEDBACK = np.array([39046 / 89629, 38199 / 83238, 18736 / 40851, 8085 / 19601])
# P(candidate cell missing | turn shown), letters a..d, turns 2..4 (turn 1 handled by the quirks).
CELL_MISSING = np.array(
    [
        [0.0, 0.0, 0.0, 0.0],
        [16 / 83799, 15 / 83799, 119 / 83799, 285 / 83799],
        [12 / 41183, 8 / 41183, 110 / 41183, 231 / 41183],
        [14 / 19768, 12 / 19768, 56 / 19768, 135 / 19768],
    ]
)
DEMOGRAPHIC_MISSING = {"annotator_age": 0.040, "annotator_gender": 0.021, "annotator_education_level": 0.030}
WORDS_BY_LETTER = np.array([[105, 118, 128, 142], [100, 112, 122, 132], [100, 112, 122, 132], [100, 112, 122, 132]])
AGE_P = (0.36, 0.28, 0.20, 0.16)
EDU_P = (0.22, 0.24, 0.30, 0.19, 0.05)
POL_P = (0.07, 0.20, 0.30, 0.17, 0.06, 0.15, 0.05)
ETHNICITY_P = {
    "united states": (0.60, 0.12, 0.14, 0.07, 0.04, 0.03),
    "france": (0.85, 0.15),
    "italy": (0.93, 0.07),
    "india": (0.70, 0.30),
    "brazil": (0.50, 0.50),
}


@dataclasses.dataclass(frozen=True)
class Quirks:
    """Rates (per eligible cell / row) and a floor on the count, so small samples show every quirk."""

    empty_string: float = 24 / 90256 / 4
    end_of_text: float = 0.002
    duplicate_candidate: float = 0.003
    dual_language_annotators: float = 13 / 3603
    minimum: int = 3


@dataclasses.dataclass(frozen=True)
class GeneratorConfig:
    n_conversations: int = 2500
    seed: int = 0
    layout: str = "v1.1"  # or "v1.0" (44 columns, no wave)
    shuffle_columns: bool = True  # the real order is unknown: readers must map by header name
    conversations_per_prompt: float = 15.0  # pre-generated first prompts
    sets_per_prompt: int = 3
    prompt_popularity_exponent: float = 0.8  # Zipf exponent of pre-generated prompt popularity
    conversations_per_annotator: float = 90256 / 3603  # CA: ≈ 25 conversations per annotator
    activity_sd: float = 0.6  # lognormal spread of annotator activity (conversations per annotator)
    model: M.ChoiceModel = M.ChoiceModel()
    quirks: Quirks = Quirks()


def _at_least(rng: np.random.Generator, n: int, rate: float, minimum: int) -> np.ndarray:
    """Boolean mask over n items: Bernoulli(rate), raised to `minimum` hits when n allows."""
    mask = rng.random(n) < rate
    short = min(minimum, n) - int(mask.sum())
    if short > 0:
        mask[rng.choice(np.flatnonzero(~mask), size=short, replace=False)] = True
    return mask


def _annotators(cfg: GeneratorConfig, rng: np.random.Generator) -> dict:
    n = max(25, round(cfg.n_conversations / cfg.conversations_per_annotator))
    countries = list(COUNTRY_SHARE)
    share = np.array([COUNTRY_SHARE[c] for c in countries], dtype=float)
    share /= share.sum()
    per = np.maximum(3, np.floor(share * n).astype(int))
    per[0] += n - per.sum()
    country = np.repeat(np.array(countries, dtype=object), per)
    n = len(country)
    lang = np.array([COUNTRY_LANG.get(c, "") for c in country], dtype=object)
    india = country == "india"
    lang[india] = np.where(rng.random(int(india.sum())) < INDIA_HINDI_SHARE, "hi", "en")
    dual = np.zeros(n, dtype=bool)
    idx = np.flatnonzero(india)
    dual[idx[_at_least(rng, len(idx), cfg.quirks.dual_language_annotators, 1)]] = True
    wave_p = np.array([WAVE2_ROW_SHARE[x] for x in lang])
    wave_p = wave_p / (WAVE2_ACTIVITY - wave_p * WAVE2_ACTIVITY + wave_p)
    wave = np.where(rng.random(n) < wave_p, 2, 1)
    demo = {
        "annotator_age": rng.choice(schema.AGES, size=n, p=AGE_P).astype(object),
        "annotator_gender": rng.choice(["male", "female", "non-binary"], size=n, p=(0.495, 0.495, 0.01)).astype(object),
        "annotator_education_level": rng.choice(schema.EDUCATION_LEVELS, size=n, p=EDU_P).astype(object),
        "annotator_political": rng.choice(schema.POLITICAL, size=n, p=POL_P).astype(object),
        "annotator_ethnicity": np.array(
            [rng.choice(schema.ETHNICITY_BY_COUNTRY[c], p=ETHNICITY_P[c]) for c in country], dtype=object
        ),
    }
    ideal = M.ideal_points(rng, country, demo, cfg.model.ideal_sd)
    for col, p in DEMOGRAPHIC_MISSING.items():
        demo[col][rng.random(n) < p] = None
    ids = rng.choice(9 * 10**13, size=n, replace=False) + 10**13
    activity = rng.lognormal(0.0, cfg.activity_sd, size=n) * np.where(wave == 2, WAVE2_ACTIVITY, 1.0)
    return dict(id=ids, country=country, lang=lang, dual=dual, wave=wave, ideal=ideal, activity=activity, **demo)


def _assign_conversations(cfg: GeneratorConfig, rng: np.random.Generator, ann: dict) -> np.ndarray:
    """Annotator index per conversation: countries in their real shares, then by activity."""
    n = cfg.n_conversations
    countries = list(COUNTRY_SHARE)
    share = np.array([COUNTRY_SHARE[c] for c in countries], dtype=float)
    conv_country = rng.choice(len(countries), size=n, p=share / share.sum())
    out = np.empty(n, dtype=np.int64)
    for k, c in enumerate(countries):
        members = np.flatnonzero(ann["country"] == c)
        w = ann["activity"][members]
        sel = conv_country == k
        out[sel] = rng.choice(members, size=int(sel.sum()), p=w / w.sum())
    return out


def _nc_positions(rng: np.random.Generator, n: int) -> np.ndarray:
    """Turn-1 sets: three negatively-correlated positions around a circle + the default answer."""
    theta = rng.uniform(0, 2 * np.pi, size=(n, 1)) + np.array([0, 2 * np.pi / 3, 4 * np.pi / 3])
    radius = rng.uniform(0.45, 1.0, size=(n, 3))
    nc = np.stack([radius * np.cos(theta), radius * np.sin(theta)], axis=-1)
    default = np.array(M.DEFAULT_POSITION) + rng.normal(0, 0.15, size=(n, 1, 2))
    pos = np.concatenate([nc, default], axis=1)
    order = np.argsort(rng.random((n, 4)), axis=1)
    return np.clip(np.take_along_axis(pos, order[..., None], axis=1), -1, 1)


def _lengths(rng: np.random.Generator, turn: np.ndarray) -> np.ndarray:
    mean = WORDS_BY_LETTER[turn]
    return np.maximum(25, np.round(mean * rng.lognormal(-0.06, 0.35, size=mean.shape))).astype(int)


@dataclasses.dataclass
class _Plan:
    """Everything numeric about the file, decided before any text is written."""

    conv_ids: np.ndarray
    annot: np.ndarray  # annotator index per conversation
    lang: np.ndarray
    n_turns: np.ndarray
    pregenerated: np.ndarray
    prompt_key: np.ndarray  # pre-generated: (lang, prompt, set); written: -1
    topic: np.ndarray
    first_template: np.ndarray
    detail: np.ndarray
    balanced10: np.ndarray
    balanced: np.ndarray
    # one row per shown turn
    t_conv: np.ndarray
    t_turn: np.ndarray
    pos: np.ndarray
    words: np.ndarray
    available: np.ndarray
    choice: np.ndarray  # -1 = unlabelled
    probs: np.ndarray
    p_country: np.ndarray
    p_pooled: np.ndarray
    p_language: np.ndarray
    p_letter_blind: np.ndarray
    set_seed: np.ndarray  # text seed of the candidate set (shared by identical pre-generated sets)
    feedback: np.ndarray


def plan(cfg: GeneratorConfig) -> tuple[_Plan, dict]:
    ss = np.random.SeedSequence(cfg.seed)
    r_ann, r_conv, r_cand, r_choice = (np.random.default_rng(s) for s in ss.spawn(4))
    ann = _annotators(cfg, r_ann)
    n = cfg.n_conversations
    annot = _assign_conversations(cfg, r_conv, ann)
    lang = ann["lang"][annot].copy()
    dual = ann["dual"][annot]
    lang[dual] = np.where(r_conv.random(int(dual.sum())) < 0.5, "hi", "en")
    n_turns = r_conv.choice(4, size=n, p=TURN_COUNT_SHARE) + 1
    pregenerated = r_conv.random(n) < PREGENERATED_SHARE
    n_topics = len(T.TOPICS["en"])
    topic = r_conv.integers(n_topics, size=n)
    first_template = r_conv.integers(len(T.FIRST_PROMPTS["en"]), size=n)
    detail = r_conv.integers(len(T.DETAILS["en"]), size=n)
    prompt_key = np.full(n, -1, dtype=np.int64)
    for li, lg in enumerate(schema.LANGUAGES):
        sel = np.flatnonzero(pregenerated & (lang == lg))
        k = max(2, math.ceil(len(sel) / cfg.conversations_per_prompt))
        zipf = 1.0 / np.arange(1, k + 1) ** cfg.prompt_popularity_exponent
        prompt = r_conv.choice(k, size=len(sel), p=zipf / zipf.sum())
        w = 0.6 ** np.arange(cfg.sets_per_prompt)
        sets = r_conv.choice(cfg.sets_per_prompt, size=len(sel), p=w / w.sum())
        prompt_key[sel] = (li * 100000 + prompt) * 100 + sets
        # a pre-generated prompt has one fixed text: topic/template/detail derived from its id
        pr = np.random.default_rng([cfg.seed, li, 7])
        ptopic, ptemp = pr.integers(n_topics, size=k), pr.integers(len(T.FIRST_PROMPTS["en"]), size=k)
        topic[sel], first_template[sel], detail[sel] = ptopic[prompt], ptemp[prompt], 0
    conv_ids = np.sort(r_conv.choice(9 * 10**14, size=n, replace=False) + 10**14)

    t_conv = np.repeat(np.arange(n), n_turns)
    t_turn = np.concatenate([np.arange(k) for k in n_turns])
    m = len(t_conv)
    pos = np.empty((m, 4, 2))
    first = t_turn == 0
    pos[first] = _nc_positions(r_cand, int(first.sum()))
    pos[~first] = np.clip(r_cand.normal(0.3, 0.45, size=(int((~first).sum()), 4, 2)), -1, 1)
    words = _lengths(r_cand, t_turn)
    set_seed = r_cand.integers(2**62, size=m)
    # identical candidate sets for conversations sharing a pre-generated prompt and set
    pk = prompt_key[t_conv]
    shared = first & (pk >= 0)
    _, first_of, inverse = np.unique(pk[shared], return_index=True, return_inverse=True)
    rows = np.flatnonzero(shared)
    pos[rows] = pos[rows[first_of]][inverse]
    words[rows] = words[rows[first_of]][inverse]
    set_seed[rows] = set_seed[rows[first_of]][inverse]
    available = r_cand.random((m, 4)) >= CELL_MISSING[t_turn]

    model = cfg.model
    ideal = ann["ideal"][annot[t_conv]]
    log_len = np.log(words)
    u = model.utilities(ideal, pos, log_len, available)
    bias = M.calibrate_bias(u, t_turn)
    probs = M.softmax(u + bias[t_turn])
    cum = probs.cumsum(axis=1)
    choice = (r_choice.random((m, 1)) > cum).sum(axis=1)
    choice = np.minimum(choice, 3)
    unlabelled = r_choice.random(m) < UNLABELLED[t_turn]
    choice[unlabelled] = -1
    feedback = (r_choice.random(m) < FEEDBACK[t_turn]) & ~unlabelled

    country_of = ann["country"][annot[t_conv]]
    p_country = np.empty_like(probs)
    pop = np.random.default_rng([cfg.seed, 99])
    for c in COUNTRY_SHARE:
        members = np.flatnonzero(ann["country"] == c)
        members = pop.choice(members, size=min(64, len(members)), replace=False)
        sel = country_of == c
        p_country[sel] = M.group_probabilities(
            model, ann["ideal"][members], pos[sel], log_len[sel], available[sel], bias[t_turn[sel]]
        )
    everyone = pop.choice(len(ann["id"]), size=min(128, len(ann["id"])), replace=False)
    p_pooled = M.group_probabilities(model, ann["ideal"][everyone], pos, log_len, available, bias[t_turn])
    # a pooled model that reads the language of the text (hi, fr, it, pt: one country each; en: US and
    # India-en annotators): averaged over annotators of that language, weighted by their activity
    p_language = np.empty_like(probs)
    for lg in schema.LANGUAGES:
        sel = lang[t_conv] == lg
        members = np.flatnonzero(ann["lang"] == lg)
        if not sel.any() or not len(members):
            p_language[sel] = p_pooled[sel]
            continue
        w = ann["activity"][members]
        members = pop.choice(members, size=min(64, len(members)), replace=False, p=w / w.sum())
        p_language[sel] = M.group_probabilities(
            model, ann["ideal"][members], pos[sel], log_len[sel], available[sel], bias[t_turn[sel]]
        )
    # the annotator's own utilities without the letter bias (an individual oracle blind to position)
    p_letter_blind = M.softmax(u)

    keys, key_counts = np.unique(prompt_key[prompt_key >= 0], return_counts=True)
    popular = set(keys[key_counts >= 10].tolist())
    balanced10 = np.array([k in popular for k in prompt_key])
    balanced = pregenerated & (np.random.default_rng([cfg.seed, 5]).random(n) < 0.5)
    p = _Plan(
        conv_ids=conv_ids,
        annot=annot,
        lang=lang,
        n_turns=n_turns,
        pregenerated=pregenerated,
        prompt_key=prompt_key,
        topic=topic,
        first_template=first_template,
        detail=detail,
        balanced10=balanced10,
        balanced=balanced,
        t_conv=t_conv,
        t_turn=t_turn,
        pos=pos,
        words=words,
        available=available,
        choice=choice,
        probs=probs,
        p_country=p_country,
        p_pooled=p_pooled,
        p_language=p_language,
        p_letter_blind=p_letter_blind,
        set_seed=set_seed,
        feedback=feedback,
    )
    return p, ann


def _columns(cfg: GeneratorConfig) -> list[str]:
    cols = list(schema.COLUMNS_V11 if cfg.layout == "v1.1" else schema.COLUMNS_V10)
    if cfg.shuffle_columns:
        order = np.random.default_rng([cfg.seed, 13]).permutation(len(cols))
        cols = [cols[i] for i in order]
    return cols


def _bool(v: bool) -> str:
    return "True" if v else "False"


def write(path: str, cfg: GeneratorConfig | None = None, probs_path: str | None = None, progress: bool = False) -> dict:
    """Write the CSV (gzip when `path` ends in .gz) and its `.probs.csv`; return a small summary."""
    cfg = cfg or GeneratorConfig()
    if cfg.layout not in ("v1.1", "v1.0"):
        raise ValueError(f"layout must be 'v1.1' or 'v1.0', got {cfg.layout!r}")
    p, ann = plan(cfg)
    probs_path = probs_path or _probs_path(path)
    columns = _columns(cfg)
    q = cfg.quirks
    r_q = np.random.default_rng([cfg.seed, 21])
    m = len(p.t_conv)
    first_cells = np.flatnonzero(p.t_turn == 0)
    empty_lit = np.zeros((m, 4), dtype=bool)
    hit = first_cells[_at_least(r_q, len(first_cells), q.empty_string * 4, q.minimum)]
    labelled_hit = p.choice[hit]
    letter = np.where(
        labelled_hit >= 0, (labelled_hit + 1 + r_q.integers(3, size=len(hit))) % 4, r_q.integers(4, size=len(hit))
    )
    empty_lit[hit, letter] = True
    eot = _at_least(r_q, m, q.end_of_text, q.minimum)
    dup = _at_least(r_q, m, q.duplicate_candidate, q.minimum) & (p.choice >= 0)
    dup_target = (np.maximum(p.choice, 0) + 1 + r_q.integers(3, size=m)) % 4

    turn_start = np.concatenate([[0], np.cumsum(p.n_turns)[:-1]])
    opener = _open(path)
    probs_f = _open(probs_path)
    try:
        w = csv.writer(opener, lineterminator="\n")
        w.writerow(columns)
        pw = csv.writer(probs_f, lineterminator="\n")
        pw.writerow(_PROB_HEADER)
        iterator = range(cfg.n_conversations)
        if progress:
            from ..progress import progress_bar

            iterator = progress_bar(iterator, desc="synthetic conversations", unit="conv")
        for i in iterator:
            a = p.annot[i]
            lg = p.lang[i]
            tp = T.TOPICS[lg][p.topic[i]]
            row = {
                "conversation_id": str(p.conv_ids[i]),
                "annotator_id": str(ann["id"][a]),
                "assigned_lang": lg,
                "wave": str(ann["wave"][a]),
                "is_pregenerated_first_prompt": _bool(p.pregenerated[i]),
                "in_balanced_subset": _bool(p.balanced[i]),
                "in_balanced_subset_10": _bool(p.balanced10[i]),
                "annotator_country": ann["country"][a],
            }
            for c in schema.DEMOGRAPHIC_COLUMNS[1:]:
                row[c] = ann[c][a] or ""
            for k, turn in enumerate(schema.TURNS):
                if k >= p.n_turns[i]:
                    for c in schema.turn_columns(turn):
                        row[c] = ""
                    continue
                j = turn_start[i] + k
                _turn_cells(row, turn, k, j, i, p, lg, tp, empty_lit, eot, dup, dup_target)
                if p.choice[j] >= 0:
                    pw.writerow(_prob_row(p, ann, i, k, j))
            w.writerow([row[c] for c in columns])
    finally:
        opener.close()
        probs_f.close()
    labelled = p.choice >= 0
    return {
        "path": path,
        "probs_path": probs_path,
        "conversations": cfg.n_conversations,
        "annotators": int(len(np.unique(p.annot))),
        "comparisons": int(labelled.sum()),
        "columns": len(columns),
    }


def _turn_cells(row, turn, k, j, i, p: _Plan, lg, tp, empty_lit, eot, dup, dup_target) -> None:
    if k == 0:
        prompt = T.FIRST_PROMPTS[lg][p.first_template[i]].format(t=tp) + T.DETAILS[lg][p.detail[i]]
    else:
        prompt = T.FOLLOW_UPS[lg][(p.set_seed[j] >> 3) % len(T.FOLLOW_UPS[lg])]
    rng = np.random.default_rng(p.set_seed[j])
    texts: list = []
    for x in range(4):
        x_pos, y_pos = p.pos[j, x]
        texts.append(
            T.candidate_text(lg, tp, float(x_pos), float(y_pos), int(p.words[j, x]), rng) if p.available[j, x] else None
        )
    if dup[j] and texts[p.choice[j]] is not None:
        texts[dup_target[j]] = texts[p.choice[j]]
    if eot[j] and texts[3] is not None:
        texts[3] = texts[3] + "<|end_of_text|>"
    joined = T.joined_responses(texts)
    cells = ["EMPTY STRING" if empty_lit[j, x] else (t or "") for x, t in enumerate(texts)]
    row[f"{turn}_turn_prompt"] = prompt
    for x, cell in zip(schema.LETTERS, cells):
        row[f"{turn}_turn_response_{x}"] = cell
    row[f"{turn}_turn_responses"] = joined
    row[f"{turn}_turn_preferred_response"] = f"response_{schema.LETTERS[p.choice[j]]}" if p.choice[j] >= 0 else ""
    row[f"{turn}_turn_feedback"] = T.FEEDBACK[lg][int(p.set_seed[j] % 3)].format(t=tp) if p.feedback[j] else ""


#: The probability vectors beside each labelled turn: the annotator's own (`p_true`), averaged over the
#: annotator's country / everybody / the annotators of the text's language, and the annotator's own
#: without the letter bias.
PROBABILITY_LEVELS = ("p_true", "p_country", "p_pooled", "p_language", "p_letter_blind")

_PROB_HEADER = (
    ["conversation_id", "turn", "annotator_id", "annotator_country", "chosen_index", "ideal_x", "ideal_y"]
    + [f"{k}_{x}" for k in PROBABILITY_LEVELS for x in schema.LETTERS]
    + [f"pos_{d}_{x}" for d in "xy" for x in schema.LETTERS]
)


def _prob_row(p: _Plan, ann: dict, i: int, k: int, j: int) -> list[str]:
    a = p.annot[i]
    f4 = lambda v: f"{v:.6f}"  # noqa: E731
    return (
        [str(p.conv_ids[i]), str(k + 1), str(ann["id"][a]), ann["country"][a], str(p.choice[j])]
        + [f4(v) for v in ann["ideal"][a]]
        + [f4(v) for v in p.probs[j]]
        + [f4(v) for v in p.p_country[j]]
        + [f4(v) for v in p.p_pooled[j]]
        + [f4(v) for v in p.p_language[j]]
        + [f4(v) for v in p.p_letter_blind[j]]
        + [f4(v) for v in p.pos[j, :, 0]]
        + [f4(v) for v in p.pos[j, :, 1]]
    )


def _probs_path(path: str) -> str:
    base = path[:-3] if path.endswith(".gz") else path
    base = base[:-4] if base.endswith(".csv") else base
    return base + ".probs.csv" + (".gz" if path.endswith(".gz") else "")


def _open(path: str):
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    if path.endswith(".gz"):
        raw = open(path, "wb")
        gz = gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9)
        return _GzText(gz, raw)
    return open(path, "w", encoding="utf-8", newline="")


class _GzText(io.TextIOWrapper):
    """A text stream over a gzip file with mtime 0 (reproducible bytes); closes both layers."""

    def __init__(self, gz, raw):
        super().__init__(gz, encoding="utf-8", newline="")
        self._raw = raw

    def close(self):
        super().close()
        self._raw.close()
