"""The exact tokens a reward model sees for (context messages, candidate response).

Two renderings, chosen by the tokenizer (never by sniffing model names):
- the tokenizer has a chat template → `apply_chat_template(context + [assistant: candidate])`,
  truncated from the left (the start of the context goes first);
- no chat template (e.g. all-MiniLM-L6-v2, a BERT) → a sentence pair
  `[CLS] <context> [SEP] <candidate> [SEP]` with the context rendered as "role: content" lines
  (PLAIN_TEMPLATE).
Truncation leaves the answer visible: the **candidate has priority**. A sequence that does not fit in
`max_length` keeps at most the last `context_tokens` tokens of the context (the end of the
conversation: the current prompt) and the candidate whole; only a candidate longer than the rest of the
budget is cut (its first tokens kept). Capping the context of over-long sequences, instead of filling the
budget with older turns, keeps sequences short (the sample's mean: ≈ 265 tokens at max_length 384 vs
≈ 325 uncapped) — a documented choice: the candidates, not the earlier turns, are what a reward model
must tell apart.
In both renderings a leading system message (the annotator profile of a conditioned model) is never
cut: truncation removes the oldest conversation turns after it.
Every truncation is counted (`Encoder.stats()`: sequences truncated, candidates kept whole, candidate
tokens kept); nothing is dropped.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

PLAIN_TEMPLATE = "{role}: {content}"


def render_plain(messages: list[dict]) -> str:
    """The context as the plain-text rendering models without a chat template see."""
    return "\n".join(PLAIN_TEMPLATE.format(role=m["role"], content=m["content"]) for m in messages)


@dataclass
class Encoder:
    tokenizer: object
    max_length: int = 384
    context_tokens: int = 48  # what an over-long sequence keeps of its context (the end: the current prompt)
    truncated: int = 0
    encoded: int = 0
    candidates_whole: int = 0
    candidate_tokens: int = 0
    candidate_tokens_kept: int = 0
    _cache: dict = field(default_factory=dict, repr=False)

    def reset_stats(self) -> None:
        self.truncated = self.encoded = self.candidates_whole = self.candidate_tokens = self.candidate_tokens_kept = 0

    def stats(self) -> dict[str, int]:
        """Truncation counts since the last reset (what a submission's `truncation` block records)."""
        return {
            "sequences": self.encoded,
            "truncated": self.truncated,
            "candidates": self.encoded,
            "candidates_whole": self.candidates_whole,
            "candidate_tokens": self.candidate_tokens,
            "candidate_tokens_kept": self.candidate_tokens_kept,
        }

    def _count(self, total: int, kept: int, truncated: bool) -> None:
        self.truncated += int(truncated)
        self.candidate_tokens += total
        self.candidate_tokens_kept += kept
        self.candidates_whole += int(kept == total)

    @property
    def uses_chat_template(self) -> bool:
        return bool(getattr(self.tokenizer, "chat_template", None))

    def template_hash(self) -> str:
        """Hash of the rendering (chat template or PLAIN_TEMPLATE) for results provenance."""
        text = self.tokenizer.chat_template if self.uses_chat_template else "pair:" + PLAIN_TEMPLATE
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def _ids(self, text: str) -> list[int]:
        if text not in self._cache:
            self._cache[text] = self.tokenizer(text, add_special_tokens=False, verbose=False)["input_ids"]
        return self._cache[text]

    def encode(self, context: list[dict], response: str) -> list[int]:
        """Token ids for (context, response). Leading system messages (the annotator profile) are
        always kept; what is cut is the oldest part of the conversation after them."""
        self.encoded += 1
        n_sys = next((i for i, m in enumerate(context) if m["role"] != "system"), len(context))
        system, rest = context[:n_sys], context[n_sys:]
        if self.uses_chat_template:
            return self._encode_chat(system, rest, response)
        sys_ids = self._ids(render_plain(system) + "\n") if system else []
        ctx, resp = self._ids(render_plain(rest)), self._ids(response)
        budget = self.max_length - 3 - len(sys_ids)
        if budget <= 0:
            raise ValueError(f"max_length {self.max_length} leaves no room after the {len(sys_ids)}-token profile")
        total = len(resp)
        over = len(ctx) + len(resp) > budget
        if over:
            keep_ctx = min(len(ctx), self.context_tokens, budget - 1)
            keep_resp = min(len(resp), budget - keep_ctx)
            ctx, resp = ctx[len(ctx) - keep_ctx :] if keep_ctx else [], resp[:keep_resp]
        self._count(total, len(resp), over)
        t = self.tokenizer
        return [t.cls_token_id, *sys_ids, *ctx, t.sep_token_id, *resp, t.sep_token_id]

    def _encode_chat(self, system: list[dict], rest: list[dict], response: str) -> list[int]:
        def render(msgs: list[dict]) -> list[int]:
            ids = self.tokenizer.apply_chat_template(
                [*system, *msgs, {"role": "assistant", "content": response}], tokenize=True, return_dict=False
            )
            return list(ids["input_ids"] if isinstance(ids, dict) else ids)

        ids = render(rest)
        total = len(self._ids(response))
        if len(ids) <= self.max_length:
            self._count(total, total, False)
            return ids
        while len(rest) > 1 and len(ids) > self.max_length:  # drop the oldest turns, keep the profile
            rest = rest[1:]
            ids = render(rest)
        if len(ids) > self.max_length:  # still too long: keep the end (the response)
            ids = ids[-self.max_length :]
        self._count(total, min(total, len(ids)), True)
        return ids
