"""The generative preference model of the synthetic sample (documented in docs/synthetic.md).

Annotators have an ideal point on the two Inglehart–Welzel axes (x: traditional −1 … secular +1;
y: survival −1 … self-expression +1) drawn around their country's mean, shifted by age, education,
political leaning and gender, plus individual noise. A candidate at position p with word count w,
shown at letter ℓ of turn t, has utility

    u = −κ·‖ideal − p‖² + λ·z(log w) + b[t, ℓ]

(z standardises within the candidate set); the annotator picks softmax(u). The letter biases b are
calibrated so that the letter-choice shares per turn match the real file.
"""

from __future__ import annotations

import dataclasses

import numpy as np

# (traditional→secular, survival→self-expression), loosely after the Inglehart–Welzel map.
COUNTRY_MEANS = {
    "united states": (-0.15, 0.55),
    "france": (0.45, 0.40),
    "italy": (0.15, 0.25),
    "brazil": (-0.50, 0.00),
    "india": (-0.55, -0.50),
}
SHIFTS = {
    "annotator_age": {"18-34": (0.15, 0.10), "35-45": (0.05, 0.05), "46-54": (-0.05, -0.05), "55+": (-0.15, -0.10)},
    "annotator_education_level": {
        "(At most) Complete Secondary": (-0.10, -0.10),
        "Some post-secondary": (0.0, 0.0),
        "Post-secondary graduate": (0.05, 0.05),
        "Some or complete graduate degree": (0.10, 0.10),
    },
    "annotator_political": {
        "Very left-leaning": (0.30, 0.20),
        "Somewhat left-leaning": (0.15, 0.10),
        "Somewhat right-leaning": (-0.15, -0.10),
        "Very right-leaning": (-0.30, -0.20),
    },
    "annotator_gender": {"female": (0.0, 0.05)},
}
#: Where a model's "default" answer sits: the secular / self-expression corner (monoculture).
DEFAULT_POSITION = (0.55, 0.55)

# Letter-choice shares per turn in the real file (ca_stats/choice_position_by_turn.csv).
LETTER_TARGETS = np.array(
    [
        [26849, 16047, 15554, 31179],
        [31090, 17148, 14881, 20119],
        [16057, 8572, 6976, 9246],
        [7933, 3946, 3364, 4358],
    ],
    dtype=float,
)
LETTER_TARGETS /= LETTER_TARGETS.sum(axis=1, keepdims=True)


@dataclasses.dataclass(frozen=True)
class ChoiceModel:
    """Parameters of the logit choice model."""

    kappa: float = 4.0
    length_weight: float = 0.35
    ideal_sd: float = 0.20

    def utilities(self, ideal: np.ndarray, pos: np.ndarray, log_len: np.ndarray, available: np.ndarray) -> np.ndarray:
        """Utilities without letter bias; ideal (n, 2) or (n, m, 2) against pos (n, 4, 2)."""
        if ideal.ndim == 2:
            dist = ((ideal[:, None, :] - pos) ** 2).sum(-1)
        else:
            dist = ((ideal[:, :, None, :] - pos[:, None]) ** 2).sum(-1)
        ll = np.where(available, log_len, np.nan)
        z = (ll - np.nanmean(ll, axis=1, keepdims=True)) / (np.nanstd(ll, axis=1, keepdims=True) + 0.1)
        z = np.nan_to_num(z)
        if ideal.ndim == 3:
            z = z[:, None, :]
            available = available[:, None, :]
        u = -self.kappa * dist + self.length_weight * z
        return np.where(available, u, -np.inf)


def softmax(u: np.ndarray) -> np.ndarray:
    m = np.max(u, axis=-1, keepdims=True)
    e = np.exp(u - m)
    return e / e.sum(axis=-1, keepdims=True)


def calibrate_bias(u: np.ndarray, turn: np.ndarray, iterations: int = 40) -> np.ndarray:
    """Letter biases b[turn, letter] so that mean choice probabilities match LETTER_TARGETS."""
    b = np.zeros((4, 4))
    for _ in range(iterations):
        p = softmax(u + b[turn])
        for t in range(4):
            sel = turn == t
            if sel.any():
                b[t] += np.log(LETTER_TARGETS[t]) - np.log(p[sel].mean(axis=0) + 1e-12)
                b[t] -= b[t].mean()
    return b


def ideal_points(rng: np.random.Generator, country: np.ndarray, demographics: dict, sd: float) -> np.ndarray:
    """Ideal points (n, 2): country mean + demographic shifts + N(0, sd²) noise."""
    out = np.array([COUNTRY_MEANS[c] for c in country], dtype=float)
    for column, shifts in SHIFTS.items():
        values = demographics[column]
        out += np.array([shifts.get(v, (0.0, 0.0)) for v in values], dtype=float)
    out += rng.normal(0.0, sd, size=out.shape)
    return np.clip(out, -1.2, 1.2)


def group_probabilities(
    model: ChoiceModel,
    ideals: np.ndarray,
    pos: np.ndarray,
    log_len: np.ndarray,
    available: np.ndarray,
    bias: np.ndarray,
    chunk: int = 4096,
) -> np.ndarray:
    """Choice probabilities averaged over a population of ideal points (m, 2), per comparison."""
    out = np.empty(pos.shape[:2])
    for s in range(0, len(pos), chunk):
        sl = slice(s, s + chunk)
        ideal = np.broadcast_to(ideals[None], (len(pos[sl]), *ideals.shape))
        u = model.utilities(ideal, pos[sl], log_len[sl], available[sl]) + bias[sl][:, None, :]
        out[sl] = softmax(u).mean(axis=1)
    return out
