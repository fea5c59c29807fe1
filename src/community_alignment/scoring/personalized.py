"""The personalized preference model trained here (method `personalized`), in the spirit of LoRe.

Design (docs/benchmark.md, "The personalized model"): a frozen text encoder gives each candidate a
feature vector φ (models/features.py: all-MiniLM-L6-v2 embeddings, or feature hashing); annotator u
chooses among the valid candidates of a comparison by

    P_u(j) = softmax_j( φ_j · (b + V w_u) + c_j · g )

- b (d): the population direction; V (d × K): a shared low-rank reward basis; w_u (K): the user's
  weights on it; c_j · g: candidate features shared by everybody (standardised log length and the
  letter per turn, `metrics.choice_model.candidate_features`).
- Training (train annotators only): b, V, g and every train annotator's w_u jointly, by L-BFGS on the
  mean best-of-4 log-likelihood with ridge penalties (b, V) and a N(0, I) prior on the w_u.
- A new annotator: V, b, g frozen; w fitted by MAP from the k support comparisons with a Gaussian prior
  at the population: N(w̄, s · Σ_w), w̄ and Σ_w the mean and covariance of the train annotators' w_u
  (empirical Bayes). k = 0 gives w̄ (the population model). The prior scale s is chosen on the
  validation annotators' episodes (query NLL), never on a test annotator.

Differences from LoRe (facebookresearch/LoRe): best-of-4 softmax likelihood instead of pairwise
Bradley–Terry on chosen − rejected differences; a Gaussian prior around the population mean instead of
weights on the simplex; an explicit population term b (as the RBD fork's w̄) and shared length/letter
terms; a small open encoder instead of Skywork-Reward embeddings. PAL-B's K-head mixture is the same
family (a user is K numbers); we do not fine-tune the encoder.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field

import numpy as np

from ..metrics.choice_model import candidate_features, fit_map, log_softmax

WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = "personalized_config.json"


@dataclass
class PersonalizedConfig:
    features: str = "minilm"  # models.features.FEATURES
    hashing_dim: int = 512
    rank: int = 4  # K, the size of a user
    ridge: float = 1e-2  # on b and V (per parameter, on the mean log-likelihood)
    user_ridge: float = 1.0  # N(0, I / user_ridge) prior on the train annotators' weights
    max_iter: int = 600
    prior_scales: tuple[float, ...] = (0.25, 0.5, 1.0, 2.0, 4.0)  # grid for s, chosen on validation
    seed: int = 0

    def to_dict(self) -> dict:
        d = asdict(self)
        d["prior_scales"] = list(self.prior_scales)
        return d


@dataclass
class ChoiceData:
    """Comparisons as the model reads them."""

    phi: np.ndarray  # (n, 4, d) candidate text features
    common: np.ndarray  # (n, 4, c) shared candidate features
    valid: np.ndarray  # (n, 4) competing candidates (present, not a copy of the chosen text)
    present: np.ndarray  # (n, 4)
    chosen: np.ndarray  # (n,)
    annotators: np.ndarray  # (n,)

    def __len__(self) -> int:
        return len(self.chosen)

    def select(self, rows: np.ndarray) -> ChoiceData:
        return ChoiceData(
            self.phi[rows],
            self.common[rows],
            self.valid[rows],
            self.present[rows],
            self.chosen[rows],
            self.annotators[rows],
        )


def choice_data(
    candidates: list, lengths: np.ndarray, turn: np.ndarray, valid: np.ndarray, chosen, annotators, embed
) -> ChoiceData:
    """ChoiceData from candidate texts; `embed(texts) -> (m, d)` gives the text features."""
    present = np.array([[c is not None for c in cands] for cands in candidates], dtype=bool)
    flat = [(i, j, c) for i, cands in enumerate(candidates) for j, c in enumerate(cands) if c is not None]
    vecs = embed([c for _, _, c in flat])
    phi = np.zeros((len(candidates), 4, vecs.shape[1] if len(flat) else 1), dtype=np.float64)
    for (i, j, _), v in zip(flat, vecs):
        phi[i, j] = v
    common, _ = candidate_features(lengths, present, turn, letters_by_turn=True)
    return ChoiceData(
        phi, common, np.asarray(valid, bool) & present, present, np.asarray(chosen, np.int64), np.asarray(annotators)
    )


@dataclass
class LowRankPersonalizedModel:
    config: PersonalizedConfig = field(default_factory=PersonalizedConfig)
    b: np.ndarray | None = None
    V: np.ndarray | None = None
    g: np.ndarray | None = None
    w_mean: np.ndarray | None = None
    w_cov: np.ndarray | None = None
    prior_scale: float = 1.0
    train_stats: dict = field(default_factory=dict)

    # --- training -----------------------------------------------------------------------------

    def fit(self, data: ChoiceData) -> LowRankPersonalizedModel:
        from scipy.optimize import minimize

        cfg = self.config
        users, uidx = np.unique(data.annotators, return_inverse=True)
        n, d, K, c = len(data), data.phi.shape[2], cfg.rank, data.common.shape[2]
        U = len(users)
        Phi = data.phi.reshape(n * 4, d)
        C = data.common.reshape(n * 4, c)
        valid = data.valid
        Y = np.zeros((n, 4))
        Y[np.arange(n), data.chosen] = 1.0
        uid4 = np.repeat(uidx, 4)
        sizes = np.cumsum([0, d, d * K, U * K, c])

        def unpack(x):
            return (
                x[sizes[0] : sizes[1]],
                x[sizes[1] : sizes[2]].reshape(d, K),
                x[sizes[2] : sizes[3]].reshape(U, K),
                x[sizes[3] : sizes[4]],
            )

        def f(x):
            b, V, W, g = unpack(x)
            BV = Phi @ np.concatenate([b[:, None], V], 1)  # (4n, 1 + K)
            Wr = W[uid4]
            u = (BV[:, 0] + (BV[:, 1:] * Wr).sum(1) + C @ g).reshape(n, 4)
            lp = log_softmax(u, valid)
            loss = -lp[np.arange(n), data.chosen].sum() / n
            R = (np.where(valid, np.exp(lp), 0.0) - Y).reshape(-1) / n
            G = Phi.T @ np.concatenate([R[:, None], R[:, None] * Wr], 1)
            gW = np.zeros((U, K))
            np.add.at(gW, uid4, R[:, None] * BV[:, 1:])
            gg = C.T @ R
            loss += cfg.ridge * (b @ b + (V * V).sum()) + cfg.user_ridge * (W * W).sum() / n
            gb = G[:, 0] + 2 * cfg.ridge * b
            gV = G[:, 1:] + 2 * cfg.ridge * V
            gW += 2 * cfg.user_ridge * W / n
            return loss, np.concatenate([gb, gV.ravel(), gW.ravel(), gg])

        rng = np.random.default_rng(cfg.seed)
        x0 = np.concatenate([np.zeros(d), rng.normal(0, 0.01, d * K), rng.normal(0, 1.0, U * K), np.zeros(c)])
        res = minimize(f, x0, jac=True, method="L-BFGS-B", options={"maxiter": cfg.max_iter})
        self.b, self.V, W, self.g = unpack(res.x)
        self.w_mean = W.mean(0)
        self.w_cov = np.cov(W.T).reshape(K, K) + 1e-6 * np.eye(K)
        self.train_stats = {
            "train_comparisons": int(n),
            "train_annotators": int(U),
            "feature_dim": int(d),
            "objective": float(res.fun),
            "iterations": int(res.nit),
            "converged": bool(res.success),
            "optimizer_message": str(res.message),
        }
        return self

    # --- users ----------------------------------------------------------------------------------

    def offsets(self, data: ChoiceData) -> tuple[np.ndarray, np.ndarray]:
        """(population-part utilities (n, 4), user features Z = φ V (n, 4, K))."""
        off = data.phi @ self.b + data.common @ self.g
        return off, data.phi @ self.V

    def user_weights(
        self, data: ChoiceData, supports: list[np.ndarray], prior_scale: float | None = None
    ) -> np.ndarray:
        """(E, K) MAP weights of new users from their support rows (all supports of one size)."""
        K = self.config.rank
        if not supports:
            return np.zeros((0, K))
        k = len(supports[0])
        if k == 0:
            return np.tile(self.w_mean, (len(supports), 1))
        rows = np.concatenate(supports)
        off, Z = self.offsets(data.select(rows))
        s = self.prior_scale if prior_scale is None else prior_scale
        return fit_map(
            Z.reshape(len(supports), k, 4, K),
            data.valid[rows].reshape(len(supports), k, 4),
            data.chosen[rows].reshape(len(supports), k),
            self.w_mean,
            np.linalg.inv(self.w_cov) / s,
            offset=off.reshape(len(supports), k, 4),
        )

    def utilities(self, data: ChoiceData, rows: np.ndarray, w: np.ndarray | None = None) -> np.ndarray:
        """(len(rows), 4) utilities for a user with weights w (the population mean when None); NaN where absent."""
        off, Z = self.offsets(data.select(rows))
        u = off + Z @ (self.w_mean if w is None else w)
        return np.where(data.present[rows], u, np.nan)

    # --- persistence ----------------------------------------------------------------------------

    def save(self, folder: str) -> str:
        """Parameters as safetensors + the config as JSON (atomic writes)."""
        from safetensors.numpy import save

        from ..io_utils import atomic_write_bytes, atomic_write_text

        tensors = {
            "b": self.b,
            "V": self.V,
            "g": self.g,
            "w_mean": self.w_mean,
            "w_cov": self.w_cov,
            "prior_scale": np.array([self.prior_scale]),
        }
        atomic_write_bytes(
            os.path.join(folder, WEIGHTS_FILE),
            save({k: np.ascontiguousarray(v, np.float64) for k, v in tensors.items()}),
        )
        atomic_write_text(
            os.path.join(folder, CONFIG_FILE),
            json.dumps({"config": self.config.to_dict(), "train": self.train_stats}, indent=2),
        )
        return folder

    @classmethod
    def load(cls, folder: str) -> LowRankPersonalizedModel:
        from safetensors.numpy import load_file

        with open(os.path.join(folder, CONFIG_FILE), encoding="utf-8") as f:
            meta = json.load(f)
        cfg = meta["config"]
        cfg["prior_scales"] = tuple(cfg["prior_scales"])
        t = load_file(os.path.join(folder, WEIGHTS_FILE))
        return cls(
            PersonalizedConfig(**cfg),
            t["b"],
            t["V"],
            t["g"],
            t["w_mean"],
            t["w_cov"],
            float(t["prior_scale"][0]),
            meta["train"],
        )
