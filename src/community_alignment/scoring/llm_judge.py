"""An LLM as the judge: a causal LM reads the conversation and the candidates labelled A–D and says
which one the person chose; its probability for each letter, averaged over letter orders, is the score.

The prompt (PROMPT_VERSION; docs/llm_judge.md shows one rendered example). One user message to the
judge, rendered with the model's chat template and its generation prompt (`add_generation_prompt`):

    [system: the annotator profile, `training/conditioning.py::condition` — conditioning != none]
    user:  INSTRUCTION
           [SUPPORT_INTRO + <example 1> … </example 1> …   the person's earlier choices, oldest first]
           <conversation> User: … / Assistant: … </conversation>
           <response A> … </response A> … <response D> … </response D>
           QUESTION
    assistant: ▌ ← the answer position: the judge's next token after the generation prompt

Letters. Only the present candidates are shown, labelled A, B, … in display order (a comparison with
3 candidates shows A–C and the question names "A, B or C"); a comparison with one candidate gets
score 0 (= log 1) without a prompt. `letter_token_ids` finds, per tokenizer and template, the one
token the model emits for each letter at the answer position (the first token of an assistant
message "A" in the chat template's own rendering — ChatML gives "A", a SentencePiece template that
puts a space before the answer gives "▁A"), and refuses a letter that is not exactly one token.

Permutations. Each comparison is asked under `cyclic` (the k cyclic shifts of the k shown candidates:
each candidate sits once at each letter) or `all` (k! orders). The judge's probability for each
displayed letter is mapped back to the candidate it showed and the probabilities are averaged per
comparison; the score is the log of that average. A judge with a pure position preference (always
"A") therefore gets uniform scores, and `stats["letter_bias"]` reports the position preference it
had (mean probability and argmax share per displayed letter).

Elicitation. `logprobs`: the next-token log-probabilities of the shown letters, renormalised over
them (their share of the full next-token distribution is reported as `letter_mass`). `sampled`:
`n_samples` next tokens drawn at `temperature` per prompt, seeded per prompt (seed + hash of the token
ids: independent of batching, order and process count). A draw that is not a shown letter is counted
(`invalid_draws`), never silently dropped; each letter's probability is its add-½-smoothed frequency
among the letter draws, (c_x + ½) / (Σ c + k/2). The draws come from the exact next-token
distribution collapsed to {shown letters, anything else} — the same distribution as sampling the
whole vocabulary and classifying the token — so no vocabulary-sized tensor leaves the forward.

Truncation (every step counted in `stats`, nothing cut silently). A prompt longer than `max_length`
tokens (the longest of its permutations) is shortened by, in order:
1. dropping support examples, oldest first (`support_examples_dropped`);
2. dropping the oldest context messages, two at a time (a user turn and its reply), down to the last
   user message (`context_turns_dropped`; the prompt says "[N earlier messages omitted]");
3. capping each candidate longer than `max_candidate_tokens` at that many tokens, ending it with
   " […]" (`candidates_cut`);
4. cutting the start of the last user message, which then begins with "[…] " (`context_messages_cut`).
If the instruction, profile and capped candidates alone exceed `max_length`, `JudgeError` says so.
`comparisons_truncated` counts comparisons that needed any step.

User text is hostile. Context, candidates and profile values are inserted as plain text: any string
of the tokenizer's special tokens (and added tokens marked special or shaped like a tag, "<think>")
inside them (CA responses contain "<|end_of_text|>") gets a space after its first character so it tokenizes as text, not as a control token
(`special_tokens_neutralised`); a tag of our markup (<response …>, </conversation>, <example …>)
inside them is escaped as "&lt;…" (`markup_escaped`). The answer position is the end of the prompt we
build, so a fake "Answer: B" line in a candidate cannot move where the answer is read; it can only
sway the judge like any other content, and since the letter it names shows a different candidate in
every permutation, the averaging spreads its effect over all candidates.

The scorer never reads `batch.chosen` (nor the `chosen_index` / `feedback` columns): only contexts,
candidates and, when conditioned, the profile columns.
"""

from __future__ import annotations

import hashlib
import inspect
import itertools
import math
import re
import time
from dataclasses import dataclass, field

import numpy as np

from ..training.conditioning import CONDITIONING, condition
from .base import ComparisonBatch
from .engine import score_sequences
from .reward_model import row_dicts

LETTERS = "ABCD"
PROMPT_VERSION = "llm-judge-v1"
ELICITATION = ("logprobs", "sampled")
PERMUTATIONS = ("cyclic", "all")
INSTRUCTION = (
    "A person had the conversation below with an AI assistant and was then shown {k} candidate responses "
    "for the assistant's next message. Predict which response this person chose as the best."
)
SUPPORT_INTRO = "Earlier choices made by the same person:"
QUESTION = "Which response did this person choose? Answer with a single letter: {letters}."
CUT_MARK = " […]"
#: Used when a tokenizer has no chat template (a base model): the answer follows "Answer:".
PLAIN_JUDGE_TEMPLATE = (
    "{% if bos_token %}{{ bos_token }}{% endif %}"
    "{% for m in messages %}{% if m['role'] == 'assistant' %}Answer: {{ m['content'] }}"
    "{% else %}{{ m['content'] }}\n\n{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}Answer:{% endif %}"
)
_MARKUP = re.compile(r"<(?=/?\s*(?:conversation|response|example)\b)", re.IGNORECASE)
_ROLE_NAMES = {"user": "User", "assistant": "Assistant", "system": "System"}


class JudgeError(ValueError):
    """A tokenizer, template or configuration the judge cannot use, with what to do about it."""


@dataclass(frozen=True)
class SupportExample:
    """One earlier choice of the same annotator: the context, the candidates (None = absent) and the
    index (0–3) of the chosen one. Rendered as a worked example with compact letters."""

    context: list[dict]
    candidates: list[str | None]
    chosen: int

    @classmethod
    def from_batch(cls, batch: ComparisonBatch, i: int) -> SupportExample:
        """Comparison `i` of a support batch (whose labels are known by design) as an example."""
        return cls(list(batch.contexts[i]), list(batch.candidates[i]), int(batch.chosen[i]))


@dataclass
class JudgeConfig:
    conditioning: str = "none"  # none | country | demographics (training/conditioning.py)
    elicitation: str = "logprobs"  # logprobs | sampled
    n_samples: int = 20  # draws per prompt (sampled)
    temperature: float = 1.0  # of the sampled draws
    permutations: str = "cyclic"  # cyclic (k shifts) | all (k!)
    max_length: int = 2048  # tokens per prompt, generation prompt included
    max_candidate_tokens: int = 384  # cap per candidate (truncation step 3)
    batch_size: int = 8
    seed: int = 0
    support_k: int | None = None  # at most this many support examples (the most recent); None = all given
    template_kwargs: dict = field(default_factory=dict)  # e.g. {"enable_thinking": False} for Qwen3

    def __post_init__(self) -> None:
        checks = [
            (self.conditioning in CONDITIONING, f"conditioning must be one of {CONDITIONING}"),
            (self.elicitation in ELICITATION, f"elicitation must be one of {ELICITATION}"),
            (self.permutations in PERMUTATIONS, f"permutations must be one of {PERMUTATIONS}"),
            (int(self.n_samples) >= 1, "n_samples must be ≥ 1"),
            (float(self.temperature) > 0, "temperature must be > 0"),
            (int(self.max_length) >= 16, "max_length must be ≥ 16"),
            (int(self.max_candidate_tokens) >= 1, "max_candidate_tokens must be ≥ 1"),
            (int(self.batch_size) >= 1, "batch_size must be ≥ 1"),
            (self.support_k is None or int(self.support_k) >= 0, "support_k must be ≥ 0 or None"),
        ]
        for ok, msg in checks:
            if not ok:
                raise JudgeError(f"JudgeConfig: {msg}")


def _tokenizer_name(tokenizer) -> str:
    return getattr(tokenizer, "name_or_path", None) or type(tokenizer).__name__


def _apply(tokenizer, messages: list[dict], generation: bool, template: str | None, kwargs: dict) -> list[int]:
    ids = tokenizer.apply_chat_template(
        messages,
        add_generation_prompt=generation,
        tokenize=True,
        return_dict=False,
        chat_template=template,
        **kwargs,
    )
    return list(ids["input_ids"] if isinstance(ids, dict) else ids)


def letter_token_ids(
    tokenizer, letters: str = LETTERS, chat_template: str | None = None, **template_kwargs
) -> dict[str, int]:
    """The single token the model emits for each answer letter right after the generation prompt.

    Read off the template's own rendering of a conversation that ends in the assistant answering just
    the letter: the tokens after the generation prompt start with the letter's token (how the model
    saw answers in training — "A" after ChatML's "assistant\\n", "▁A" after a template that adds a
    space). Raises JudgeError, naming the tokenizer and the letter, when that token is not exactly the
    letter (the letter is split, merged, preceded by a lone space token, or unknown to the vocabulary).
    """
    template = chat_template or getattr(tokenizer, "chat_template", None) or PLAIN_JUDGE_TEMPLATE
    name = _tokenizer_name(tokenizer)
    probe = [{"role": "user", "content": "Which response is best? Answer with a single letter."}]
    prompt = _apply(tokenizer, probe, True, template, template_kwargs)
    out: dict[str, int] = {}
    for letter in letters:
        full = _apply(tokenizer, [*probe, {"role": "assistant", "content": letter}], False, template, template_kwargs)
        if full[: len(prompt)] != prompt:
            raise JudgeError(
                f"tokenizer {name!r}: the chat template does not render the generation prompt as a prefix of "
                f"a conversation whose assistant answers {letter!r}; the answer position is undefined"
            )
        tail = full[len(prompt) :]
        first = tokenizer.decode(tail[:1]) if tail else ""
        if first.strip() != letter:
            shown = tokenizer.convert_ids_to_tokens(tail[:4])
            hint = (
                " The template opens the answer with a tag (a reasoning block?): pass template_kwargs such "
                "as {'enable_thinking': False}."
                if first.strip().startswith("<")
                else ""
            )
            raise JudgeError(
                f"tokenizer {name!r}: the answer letter {letter!r} is not exactly one token after the "
                f"generation prompt (the assistant's answer starts with tokens {shown}); the judge reads "
                f"one next-token probability per letter.{hint}"
            )
        out[letter] = int(tail[0])
    if len(set(out.values())) != len(out):
        raise JudgeError(f"tokenizer {name!r}: letters {letters!r} share token ids {out}")
    return out


def _control_strings(tokenizer) -> list[str]:
    """Strings the tokenizer turns into control tokens when they occur in text: its special tokens
    and the added tokens marked special or shaped like a tag ("<think>"); not whitespace runs or
    single characters. Longest first, for one regex alternation."""
    found = {t for t in (getattr(tokenizer, "all_special_tokens", None) or []) if isinstance(t, str)}
    for tok in (getattr(tokenizer, "added_tokens_decoder", None) or {}).values():
        content = getattr(tok, "content", str(tok))
        if getattr(tok, "special", False) or (content.startswith("<") and content.endswith(">")):
            found.add(content)
    return sorted((t for t in found if len(t) >= 2 and t.strip()), key=len, reverse=True)


def _permutations(k: int, mode: str) -> list[tuple[int, ...]]:
    """Display orders: perm[p] = which shown candidate (0..k-1) sits at letter p."""
    if mode == "cyclic":
        return [tuple((p + s) % k for p in range(k)) for s in range(k)]
    return list(itertools.permutations(range(k)))


def _letters_phrase(k: int) -> str:
    ls = list(LETTERS[:k])
    return ls[0] if k == 1 else ", ".join(ls[:-1]) + " or " + ls[-1]


def _transcript(messages: list[dict], omitted: int = 0) -> str:
    lines = [f"[{omitted} earlier messages omitted]"] if omitted else []
    lines += [f"{_ROLE_NAMES.get(m['role'], str(m['role']).title())}: {m['content']}" for m in messages]
    return "\n\n".join(lines)


def _block(transcript: str, shown: list[str]) -> str:
    parts = [f"<conversation>\n{transcript}\n</conversation>"]
    parts += [f"<response {LETTERS[p]}>\n{text}\n</response {LETTERS[p]}>" for p, text in enumerate(shown)]
    return "\n\n".join(parts)


def judge_user_message(transcript: str, shown: list[str], support: list[tuple[str, list[str], int]] = ()) -> str:
    """The judge's user message: instruction, support examples (transcript, shown candidates, chosen
    display position), the conversation, the candidates in display order, the question."""
    k = len(shown)
    parts = [INSTRUCTION.format(k=k)]
    if support:
        parts.append(SUPPORT_INTRO)
        for n, (s_transcript, s_shown, s_chosen) in enumerate(support, 1):
            body = _block(s_transcript, s_shown)
            parts.append(f"<example {n}>\n{body}\n\nChosen: {LETTERS[s_chosen]}\n</example {n}>")
    parts.append(_block(transcript, shown))
    parts.append(QUESTION.format(letters=_letters_phrase(k)))
    return "\n\n".join(parts)


@dataclass
class JudgePrompts:
    """The prompts of one batch: `sequences[m]` asks about comparison `where[m][0]` showing candidate
    `where[m][1][p]` at letter p; `base` holds 0 (= log 1) for single-candidate comparisons."""

    n: int
    base: np.ndarray
    where: list[tuple[int, list[int]]] = field(default_factory=list)
    sequences: list[list[int]] = field(default_factory=list)
    single: int = 0


@dataclass
class _Parts:
    """One comparison's cleaned prompt material and its truncation state."""

    system: list[dict]  # [] or the profile system message
    support: list[tuple[list[dict], list[str], int]]  # (context, shown candidates, chosen position)
    context: list[dict]
    shown: list[str]  # present candidates in original order
    omitted: int = 0


class LLMJudgeScorer:
    """Scores = log of the judge's permutation-averaged choice probability per candidate (NaN where
    a candidate is absent). See the module docstring for the prompt, elicitation and truncation."""

    kind = "llm_judge"
    #: the scores are the judge's own log-probabilities: evaluated at temperature 1, never refitted
    scores_are_log_probabilities = True

    def __init__(self, model, tokenizer, name: str, config: JudgeConfig | None = None, accelerator=None):
        self.model = model.eval() if hasattr(model, "eval") else model
        self.tokenizer, self.name = tokenizer, name
        self.config = config or JudgeConfig()
        self.accelerator = accelerator
        own = getattr(tokenizer, "chat_template", None)
        self.template_source = "chat" if own else "plain"
        self.template = own or PLAIN_JUDGE_TEMPLATE
        self.letter_ids = letter_token_ids(tokenizer, LETTERS, self.template, **self.config.template_kwargs)
        self._letter_index = list(self.letter_ids.values())
        try:
            self._keep_last = "logits_to_keep" in inspect.signature(model.forward).parameters
        except (TypeError, ValueError):  # pragma: no cover - exotic callables
            self._keep_last = False
        specials = _control_strings(tokenizer)
        self._special = re.compile("|".join(map(re.escape, specials))) if specials else None
        self._fold_system = False
        self._counts: dict[str, int] = {}
        self._q: list[np.ndarray] = []
        self._invalid = 0
        self.stats: dict = {}
        self.overhead_tokens = len(
            self._render(_Parts([], [], [{"role": "user", "content": ""}], [""] * 4), (0, 1, 2, 3))
        )
        need = self.overhead_tokens + 4 * self.config.max_candidate_tokens
        if need > self.config.max_length:
            raise JudgeError(
                f"max_length {self.config.max_length} cannot hold the judge prompt ({self.overhead_tokens} tokens "
                f"without text) and 4 candidates of max_candidate_tokens {self.config.max_candidate_tokens} "
                f"({need} tokens); raise max_length or lower max_candidate_tokens"
            )

    # ---------------------------------------------------------------- text
    def _clean(self, text: str) -> str:
        if self._special is not None:
            text, n = self._special.subn(lambda m: m.group(0)[0] + " " + m.group(0)[1:], text)
            self._counts["special_tokens_neutralised"] = self._counts.get("special_tokens_neutralised", 0) + n
        text, n = _MARKUP.subn("&lt;", text)
        self._counts["markup_escaped"] = self._counts.get("markup_escaped", 0) + n
        return text

    def _clean_messages(self, messages: list[dict]) -> list[dict]:
        return [{"role": m["role"], "content": self._clean(str(m["content"]))} for m in messages]

    def _ids(self, text: str) -> list[int]:
        return self.tokenizer(text, add_special_tokens=False, verbose=False)["input_ids"]

    def _render(self, parts: _Parts, perm: tuple[int, ...]) -> list[int]:
        support = [(_transcript(c), s, ch) for c, s, ch in parts.support]
        user = judge_user_message(_transcript(parts.context, parts.omitted), [parts.shown[q] for q in perm], support)
        messages = [*parts.system, {"role": "user", "content": user}]
        if self._fold_system and parts.system:
            messages = [{"role": "user", "content": parts.system[0]["content"] + "\n\n" + user}]
        try:
            return _apply(self.tokenizer, messages, True, self.template, self.config.template_kwargs)
        except Exception as e:  # templates without a system role raise (Gemma): fold the profile in
            if not parts.system or self._fold_system:
                raise JudgeError(f"the chat template of {_tokenizer_name(self.tokenizer)!r} failed: {e}") from e
            self._fold_system = True
            return self._render(parts, perm)

    def _fit(self, parts: _Parts, perms: list[tuple[int, ...]]) -> list[list[int]]:
        """Render every permutation; shorten by the documented rule until the longest fits."""
        limit, c = self.config.max_length, self._counts

        def render() -> list[list[int]]:
            return [self._render(parts, p) for p in perms]

        seqs = render()
        if max(map(len, seqs)) <= limit:
            return seqs
        c["comparisons_truncated"] += 1
        while parts.support and max(map(len, seqs)) > limit:  # 1. support, oldest first
            parts.support = parts.support[1:]
            c["support_examples_dropped"] += 1
            seqs = render()
        while len(parts.context) > 1 and max(map(len, seqs)) > limit:  # 2. oldest turns
            drop = min(2, len(parts.context) - 1)
            parts.context, parts.omitted = parts.context[drop:], parts.omitted + drop
            c["context_turns_dropped"] += 1
            seqs = render()
        if max(map(len, seqs)) > limit:  # 3. cap long candidates
            cap = self.config.max_candidate_tokens
            for q, text in enumerate(parts.shown):
                ids = self._ids(text)
                if len(ids) > cap:
                    parts.shown[q] = self.tokenizer.decode(ids[:cap]).rstrip("\ufffd") + CUT_MARK
                    c["candidates_cut"] += 1
            seqs = render()
        if max(map(len, seqs)) > limit and parts.context:  # 4. the start of the last user message
            last = parts.context[-1]
            ids = self._ids(last["content"])
            over = max(map(len, seqs)) - limit
            keep = len(ids) - over - 8  # "[…] " and token merges at the seam
            if keep > 0:
                text = "[…] " + self.tokenizer.decode(ids[-keep:]).lstrip("\ufffd")
                parts.context = [*parts.context[:-1], {"role": last["role"], "content": text}]
                c["context_messages_cut"] += 1
                seqs = render()
        if max(map(len, seqs)) > limit:
            raise JudgeError(
                f"max_length {limit} is too small for this judge prompt: after dropping support examples and "
                f"context and capping the {len(parts.shown)} candidates at {self.config.max_candidate_tokens} "
                f"tokens it still needs {max(map(len, seqs))} tokens; raise max_length or lower "
                "max_candidate_tokens"
            )
        return seqs

    def _parts(self, batch: ComparisonBatch, i: int, present: list[int], row: dict | None, support) -> _Parts:
        system: list[dict] = []
        if row is not None:
            system = self._clean_messages(condition([], row, self.config.conditioning))
        examples = []
        chosen_support = list(support or [])
        if self.config.support_k is not None:  # the most recent k
            chosen_support = chosen_support[-self.config.support_k :] if self.config.support_k else []
        for n, ex in enumerate(chosen_support):
            shown_idx = [j for j, t in enumerate(ex.candidates) if t is not None]
            if ex.chosen not in shown_idx:
                raise JudgeError(
                    f"support example {n} of comparison {i}: chosen index {ex.chosen} is not a present candidate"
                )
            shown = [self._clean(ex.candidates[j]) for j in shown_idx]
            examples.append((self._clean_messages(ex.context), shown, shown_idx.index(ex.chosen)))
        return _Parts(
            system=system,
            support=examples,
            context=self._clean_messages(batch.contexts[i]),
            shown=[self._clean(batch.candidates[i][j]) for j in present],
        )

    # ---------------------------------------------------------------- model
    def _forward(self, ids, mask):
        """(batch, 4): log-probabilities of the letter tokens among the whole next-token distribution
        at the last position (at `temperature` for sampled elicitation)."""
        import torch

        kw = {"logits_to_keep": 1} if self._keep_last else {}
        last = self.model(input_ids=ids, attention_mask=mask, **kw).logits[:, -1].float()
        if self.config.elicitation == "sampled" and self.config.temperature != 1.0:
            last = last / self.config.temperature
        return torch.log_softmax(last, -1)[:, self._letter_index]

    def _device_info(self) -> tuple[str, str]:
        try:
            p = next(iter(self.model.parameters()))
            return str(p.dtype).replace("torch.", ""), str(p.device)
        except (AttributeError, StopIteration, TypeError):
            return "unknown", "unknown"

    # ---------------------------------------------------------------- scoring
    def build_prompts(self, batch: ComparisonBatch, support: list[list[SupportExample]] | None = None) -> JudgePrompts:
        """Every judge prompt of `batch` (all letter orders, truncated by the documented rule) as token
        ids; resets the truncation / neutralisation counters. `support[i]`: comparison i's examples."""
        cfg = self.config
        n = len(batch.candidates)  # not len(batch): that reads the labels
        if support is not None and len(support) != n:
            raise JudgeError(f"support has {len(support)} entries for {n} comparisons")
        self._counts = dict.fromkeys(
            (
                "comparisons_truncated",
                "support_examples_dropped",
                "context_turns_dropped",
                "candidates_cut",
                "context_messages_cut",
                "special_tokens_neutralised",
                "markup_escaped",
            ),
            0,
        )
        mask = batch.present()
        rows = row_dicts(batch) if cfg.conditioning != "none" else None
        out = JudgePrompts(n=n, base=np.full((n, 4), np.nan))
        for i in range(n):
            present = [int(j) for j in np.flatnonzero(mask[i])]
            if len(present) == 1:
                out.base[i, present[0]] = 0.0
                out.single += 1
            if len(present) < 2:
                continue
            perms = _permutations(len(present), cfg.permutations)
            parts = self._parts(batch, i, present, rows[i] if rows else None, support[i] if support else None)
            for perm, ids in zip(perms, self._fit(parts, perms)):
                out.where.append((i, [present[q] for q in perm]))
                out.sequences.append(ids)
        return out

    def scores_from_letter_logprobs(self, prompts: JudgePrompts, logp: np.ndarray) -> np.ndarray:
        """(n, 4) scores from each prompt's letter log-probabilities ((m, 4), as `_forward` returns):
        per prompt a distribution over its shown letters (logprobs or smoothed draws), mapped back to
        the candidates and averaged over the letter orders; log of the average."""
        q, self._invalid = self._letter_distributions(logp, prompts.where, prompts.sequences)
        self._q = q
        out = prompts.base.copy()
        sums: dict[int, list] = {}
        for (i, cands), qp in zip(prompts.where, q):
            acc = sums.setdefault(i, [[] for _ in range(4)])
            for p, j in enumerate(cands):
                acc[j].append(qp[p])
        for i, acc in sums.items():
            for j, vals in enumerate(acc):
                if vals:  # log of the mean probability, in log space
                    out[i, j] = float(np.logaddexp.reduce(vals) - math.log(len(vals)))
        return out

    def score(self, batch: ComparisonBatch, support: list[list[SupportExample]] | None = None) -> np.ndarray:
        """(n, 4) log of the judge's permutation-averaged choice probability; NaN where absent.
        `self.stats` describes the run afterwards."""
        t0 = time.perf_counter()
        prompts = self.build_prompts(batch, support)
        logp = score_sequences(
            prompts.sequences, self._forward, self.config.batch_size, self.accelerator, desc=f"judging {self.name}"
        )
        out = self.scores_from_letter_logprobs(prompts, logp)
        self._record_stats(prompts, logp, time.perf_counter() - t0)
        return out

    def _letter_distributions(self, logp: np.ndarray, prompts, seqs) -> tuple[list[np.ndarray], int]:
        """Per prompt, log-probabilities over its k shown letters (logprobs or smoothed draws)."""
        cfg, out, invalid = self.config, [], 0
        for (_, cands), lp, ids in zip(prompts, logp, seqs):
            k = len(cands)
            lp = np.asarray(lp[:k], dtype=np.float64)
            if cfg.elicitation == "logprobs":
                out.append(lp - np.logaddexp.reduce(lp))
                continue
            p = np.exp(lp)
            p5 = np.append(p, max(0.0, 1.0 - p.sum()))
            digest = hashlib.blake2b(np.asarray(ids, dtype=np.int64).tobytes(), digest_size=16).digest()
            rng = np.random.default_rng([int(cfg.seed), *np.frombuffer(digest, dtype=np.uint32).tolist()])
            counts = rng.multinomial(int(cfg.n_samples), p5 / p5.sum())
            invalid += int(counts[k])
            out.append(np.log((counts[:k] + 0.5) / (counts[:k].sum() + 0.5 * k)))
        return out, invalid

    def _record_stats(self, prompts: JudgePrompts, logp: np.ndarray, seconds: float) -> None:
        cfg, n, invalid = self.config, prompts.n, self._invalid
        prob_sum, shown_n, argmax = np.zeros(4), np.zeros(4), np.zeros(4)
        mass = []
        for (_, cands), qp, lp in zip(prompts.where, self._q, logp):
            k = len(cands)
            pr = np.exp(qp)
            prob_sum[:k] += pr
            shown_n[:k] += 1
            top = np.flatnonzero(pr == pr.max())
            argmax[top] += 1.0 / len(top)  # exact ties share the credit
            mass.append(float(np.exp(np.asarray(lp[:k], dtype=np.float64)).sum()))
        n_prompts = len(prompts.where)
        dtype, device = self._device_info()
        self.stats = {
            "method": self.kind,
            "model": self.name,
            "prompt_version": PROMPT_VERSION,
            "template": self.template_source,
            "template_hash": hashlib.sha256(self.template.encode()).hexdigest()[:16],
            "system_role_folded_into_user": self._fold_system,
            "conditioning": cfg.conditioning,
            "elicitation": cfg.elicitation,
            "n_samples": cfg.n_samples if cfg.elicitation == "sampled" else None,
            "temperature": cfg.temperature if cfg.elicitation == "sampled" else None,
            "permutations": cfg.permutations,
            "max_length": cfg.max_length,
            "max_candidate_tokens": cfg.max_candidate_tokens,
            "support_k": cfg.support_k,
            "template_kwargs": dict(cfg.template_kwargs),
            "seed": cfg.seed,
            "comparisons": n,
            "single_candidate_comparisons": prompts.single,
            "prompts_scored": n_prompts,
            "distinct_prompts": len({tuple(s) for s in prompts.sequences}),
            **self._counts,
            "letter_mass": float(np.mean(mass)) if mass else None,
            "invalid_draws": invalid if cfg.elicitation == "sampled" else None,
            "invalid_draw_share": (
                invalid / (n_prompts * cfg.n_samples) if cfg.elicitation == "sampled" and n_prompts else None
            ),
            "letter_bias": {
                "mean_probability": {
                    LETTERS[p]: (float(prob_sum[p] / shown_n[p]) if shown_n[p] else None) for p in range(4)
                },
                "argmax_share": {LETTERS[p]: (float(argmax[p] / n_prompts) if n_prompts else None) for p in range(4)},
                "prompts_shown": {LETTERS[p]: int(shown_n[p]) for p in range(4)},
            },
            "letter_token_ids": dict(self.letter_ids),
            "logits_to_keep": self._keep_last,
            "dtype": dtype,
            "device": device,
            "processes": self.accelerator.num_processes if self.accelerator else 1,
            "seconds": seconds,
            "comparisons_per_second": n / seconds if seconds > 0 else None,
        }

    def truncation_stats(self) -> dict[str, int]:
        """The counts of the last `score` call (what a submission's `truncation` block records)."""
        return {k: int(v) for k, v in self.stats.items() if isinstance(v, int) and not isinstance(v, bool)}


def load_llm_judge(
    model: str, revision: str | None = None, config: JudgeConfig | None = None, accelerator=None
) -> LLMJudgeScorer:
    """Load a local or Hub causal LM as a judge: safetensors only, no remote code, bf16 on a GPU and
    fp32 on CPU, moved to the accelerator's device. A tokenizer without a chat template (a base model)
    is prompted with PLAIN_JUDGE_TEMPLATE (the answer follows "Answer:"); `stats["template"]` says so."""
    import torch

    from ..models.loading import load_causal_lm

    device = (
        accelerator.device if accelerator is not None else torch.device("cuda" if torch.cuda.is_available() else "cpu")
    )
    dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
    loaded = load_causal_lm(model, revision, dtype=dtype)
    loaded.model.to(device)
    return LLMJudgeScorer(loaded.model, loaded.tokenizer, loaded.name, config or JudgeConfig(), accelerator)
