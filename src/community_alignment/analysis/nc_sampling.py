"""Candidate sets for annotation: independent sampling vs negatively-correlated (NC) sampling.

NC sampling (CA paper): one generation asks the model for four responses that represent diverse
values, separated by a marker line (`###`). The output is parsed strictly: numbering noise and
surrounding white space are removed, empty parts are dropped, and anything other than exactly four
parts is a failure that triggers a bounded number of retries, then a per-prompt error. Nothing is
ever padded. Rows come out in the package's `comparisons` shape (context + 4 candidates, no label).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

MARKER = "###"
K = 4
NC_INSTRUCTIONS = {
    "en": (
        "Write four different responses to the user's message below. Each response should represent a "
        "different set of values or point of view that real people hold, from traditional to secular and "
        "from security-first to freedom-first. Separate the responses with a line containing only ###.\n\n"
        "User's message: {prompt}"
    ),
    "fr": (
        "Écris quatre réponses différentes au message de l'utilisateur ci-dessous. Chaque réponse doit "
        "représenter des valeurs ou un point de vue différents que de vraies personnes ont, du traditionnel au "
        "laïque et de la sécurité d'abord à la liberté d'abord. Sépare les réponses par une ligne contenant "
        "seulement ###.\n\nMessage de l'utilisateur : {prompt}"
    ),
    "it": (
        "Scrivi quattro risposte diverse al messaggio dell'utente qui sotto. Ogni risposta deve rappresentare "
        "valori o un punto di vista diversi che persone reali hanno, dal tradizionale al laico e dalla sicurezza "
        "prima di tutto alla libertà prima di tutto. Separa le risposte con una riga che contiene solo ###.\n\n"
        "Messaggio dell'utente: {prompt}"
    ),
    "pt": (
        "Escreva quatro respostas diferentes para a mensagem do usuário abaixo. Cada resposta deve representar "
        "valores ou um ponto de vista diferentes que pessoas reais têm, do tradicional ao secular e da segurança "
        "em primeiro lugar à liberdade em primeiro lugar. Separe as respostas com uma linha contendo apenas ###."
        "\n\nMensagem do usuário: {prompt}"
    ),
    "hi": (
        "नीचे दिए गए उपयोगकर्ता के संदेश के चार अलग-अलग उत्तर लिखिए। हर उत्तर अलग मूल्यों या दृष्टिकोण को दर्शाए "
        "जो असली लोग रखते हैं — परंपरागत से धर्मनिरपेक्ष तक, और सुरक्षा-पहले से स्वतंत्रता-पहले तक। उत्तरों को "
        "केवल ### वाली पंक्ति से अलग कीजिए।\n\nउपयोगकर्ता का संदेश: {prompt}"
    ),
}
_LABEL = re.compile(
    r"^\s*(?:\*\*|__)?\s*(?:(?:response|réponse|risposta|resposta|उत्तर)\s*[1-4a-d]?\s*[.):\-]?|[1-4a-dA-D]\s*[.):])"
    r"\s*(?:\*\*|__)?\s*",
    re.IGNORECASE,
)


def _strip_label(part: str) -> str:
    """Remove numbering noise: a label-only first line ("Response 2:", "**3.**") or a leading "1. "."""
    lines = part.strip().splitlines()
    while lines:
        m = _LABEL.match(lines[0])
        if m and m.end() == len(lines[0]):
            lines = lines[1:]
            continue
        if m:
            lines[0] = lines[0][m.end() :]
        break
    return "\n".join(lines).strip()


class ParseError(ValueError):
    """The one-call output does not hold exactly four non-empty responses."""


def parse_nc(text: str, k: int = K, marker: str = MARKER) -> list[str]:
    """Split an NC generation into exactly `k` responses, or raise ParseError saying what was found."""
    # a marker line may carry numbering ("### Response 2"); split on any line that starts with the marker
    parts = re.split(rf"(?m)^\s*{re.escape(marker)}.*$", text)
    cleaned = [body for body in map(_strip_label, parts) if body]
    if len(cleaned) != k:
        raise ParseError(f"expected {k} responses separated by '{marker}' lines, found {len(cleaned)}")
    return cleaned


@dataclass
class SampleResult:
    prompt_id: str
    prompt: str
    language: str
    method: str
    candidates: list[str] | None
    attempts: int
    error: str | None = None
    raw: list[str] = field(default_factory=list)

    def row(self) -> dict:
        """The comparisons shape: context + 4 candidates, no label (ready for annotation)."""
        return {
            "prompt_id": self.prompt_id,
            "method": self.method,
            "assigned_lang": self.language,
            "context": [{"role": "user", "content": self.prompt}],
            "candidates": self.candidates,
            "chosen_index": None,
            "attempts": self.attempts,
            "error": self.error,
        }


class Generator:
    """Chat-templated sampling with any causal LM `transformers` loads (no remote code)."""

    def __init__(self, model, tokenizer, max_new_tokens: int = 256, temperature: float = 1.0, seed: int = 0):
        self.model, self.tok = model.eval(), tokenizer
        self.max_new_tokens, self.temperature, self.seed = max_new_tokens, temperature, seed
        if self.tok.pad_token is None:
            self.tok.pad_token = self.tok.eos_token
        self.tok.padding_side = "left"

    def generate(self, user_messages: list[str], n: int = 1) -> list[list[str]]:
        import torch

        texts = [
            self.tok.apply_chat_template([{"role": "user", "content": m}], add_generation_prompt=True, tokenize=False)
            for m in user_messages
        ]
        enc = self.tok(texts, return_tensors="pt", padding=True, add_special_tokens=False)
        torch.manual_seed(self.seed)
        self.seed += 1
        with torch.inference_mode():
            out = self.model.generate(
                **enc,
                do_sample=True,
                temperature=self.temperature,
                num_return_sequences=n,
                max_new_tokens=self.max_new_tokens,
                pad_token_id=self.tok.pad_token_id,
            )
        new = out[:, enc["input_ids"].shape[1] :]
        decoded = self.tok.batch_decode(new, skip_special_tokens=True)
        return [decoded[i * n : (i + 1) * n] for i in range(len(user_messages))]


def sample_candidates(
    gen, prompts: list[dict], method: str = "nc", max_retries: int = 2, batch_size: int = 8, progress: bool = True
) -> list[SampleResult]:
    """prompts: dicts with prompt_id, prompt, language. Independent: 4 samples of the prompt itself.
    NC: one call with the instruction; unparseable outputs are retried, then reported as errors."""
    if method not in ("nc", "independent"):
        raise ValueError(f"method must be nc or independent, got {method!r}")
    results: list[SampleResult] = []
    starts = range(0, len(prompts), batch_size)
    if progress:
        from ..progress import progress_bar

        starts = progress_bar(starts, desc=f"{method} sampling", unit="batch")
    for s in starts:
        chunk = prompts[s : s + batch_size]
        if method == "independent":
            outs = gen.generate([p["prompt"] for p in chunk], n=K)
            results += [
                SampleResult(
                    p["prompt_id"],
                    p["prompt"],
                    p["language"],
                    method,
                    [o.strip() for o in out],
                    1,
                    None if all(o.strip() for o in out) else "an empty sample",
                    out,
                )
                for p, out in zip(chunk, outs)
            ]
            continue
        pending = {
            i: SampleResult(p["prompt_id"], p["prompt"], p["language"], method, None, 0) for i, p in enumerate(chunk)
        }
        for _ in range(max_retries + 1):
            todo = [i for i, r in pending.items() if r.candidates is None]
            if not todo:
                break
            msgs = [
                NC_INSTRUCTIONS.get(chunk[i]["language"], NC_INSTRUCTIONS["en"]).format(prompt=chunk[i]["prompt"])
                for i in todo
            ]
            for i, (text,) in zip(todo, gen.generate(msgs, n=1)):
                r = pending[i]
                r.attempts += 1
                r.raw.append(text)
                try:
                    r.candidates, r.error = parse_nc(text), None
                except ParseError as e:
                    r.error = f"prompt {r.prompt_id}: {e} after {r.attempts} attempt(s)"
        results += list(pending.values())
    return results
