"""The exact tokens a reward model sees for (context messages, candidate response).

Two renderings, chosen by the tokenizer (never by sniffing model names):
- the tokenizer has a chat template → `apply_chat_template(context + [assistant: candidate])`,
  truncated from the left (the start of the context goes first);
- no chat template (e.g. all-MiniLM-L6-v2, a BERT) → a sentence pair
  `[CLS] <context> [SEP] <candidate> [SEP]` with the context rendered as "role: content" lines
  (PLAIN_TEMPLATE); the context keeps its last tokens, the candidate its first ones.
Every truncation is counted (`Encoder.truncated`); nothing is dropped.
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
    max_length: int = 256
    response_share: float = 0.6  # of the budget, reserved for the candidate when both are long
    truncated: int = 0
    encoded: int = 0
    _cache: dict = field(default_factory=dict, repr=False)

    @property
    def uses_chat_template(self) -> bool:
        return bool(getattr(self.tokenizer, "chat_template", None))

    def template_hash(self) -> str:
        """Hash of the rendering (chat template or PLAIN_TEMPLATE) for results provenance."""
        text = self.tokenizer.chat_template if self.uses_chat_template else "pair:" + PLAIN_TEMPLATE
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def _ids(self, text: str) -> list[int]:
        if text not in self._cache:
            self._cache[text] = self.tokenizer(text, add_special_tokens=False)["input_ids"]
        return self._cache[text]

    def encode(self, context: list[dict], response: str) -> list[int]:
        self.encoded += 1
        if self.uses_chat_template:
            ids = self.tokenizer.apply_chat_template(
                [*context, {"role": "assistant", "content": response}], tokenize=True, return_dict=False
            )
            ids = list(ids["input_ids"] if isinstance(ids, dict) else ids)
            if len(ids) > self.max_length:
                self.truncated += 1
                ids = ids[-self.max_length :]
            return ids
        ctx, resp = self._ids(render_plain(context)), self._ids(response)
        budget = self.max_length - 3
        if len(ctx) + len(resp) > budget:
            self.truncated += 1
            keep_resp = min(len(resp), max(budget - len(ctx), int(budget * self.response_share)))
            keep_ctx = budget - keep_resp
            ctx, resp = ctx[len(ctx) - keep_ctx :] if keep_ctx else [], resp[:keep_resp]
        t = self.tokenizer
        return [t.cls_token_id, *ctx, t.sep_token_id, *resp, t.sep_token_id]
