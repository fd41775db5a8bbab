"""The one interface the harness scores through, for our checkpoints and local HF causal LMs.

`loglikelihood([(context_ids, continuation_ids)])` returns, per request, the summed log-prob
of the continuation and whether every continuation token is the greedy choice. Requests are
sorted by length and batched with right padding: in a causal model a position never attends
to later ones, so padding changes nothing a request reads and results do not depend on batch
size, up to the rounding of the batched matrix products (float64 models: ~1e-12; float32:
~1e-7 relative). Log-softmax is taken in the logits' precision, sums in float64. Generation
recomputes the padded batch each step (no KV cache: the answers scored here are a few tokens),
reading each row at its own last real position, for the same reason. A context too long for
n_ctx loses tokens from its left.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from pathlib import Path

import torch

from crawl2gpt.evaluation.scoring import cut_at_stop, gnmt_length_penalty
from crawl2gpt.training.model import band_mask

Request = tuple[list[int], list[int]]


def progress(items: Iterable, total: int, desc: str, enabled: bool) -> Iterable:
    if not enabled:
        return items
    try:
        from tqdm import tqdm
    except ImportError:  # tqdm comes with transformers; without it, no bar
        return items
    return tqdm(items, total=total, desc=desc, unit="batch", leave=False)


class LogLikelihoodModel(ABC):
    """A causal LM with its tokenizer, scored in batches of `batch_size` sequences."""

    n_ctx: int
    eot_id: int
    batch_size: int = 8
    show_progress: bool = False

    @abstractmethod
    def encode(self, text: str) -> list[int]: ...

    @abstractmethod
    def decode(self, ids: Sequence[int]) -> str: ...

    @abstractmethod
    def logits_at(self, ids: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
        """Token ids (B, T) -> logits (B, P, V) at `positions` (B, P), float32 or float64.

        Only the read positions go through the output projection: full (B, T, V) logits of a
        50k vocabulary at T = 2048 would take 400 MB per sequence."""

    @property
    def device(self) -> torch.device:
        return torch.device("cpu")

    def num_params(self) -> int | None:
        return None

    def _batches(self, order: list[int], desc: str) -> Iterable[list[int]]:
        size = self.batch_size
        chunks = [order[i:i + size] for i in range(0, len(order), size)]
        return progress(chunks, len(chunks), desc, self.show_progress)

    def _padded(self, rows: Sequence[Sequence[int]]) -> torch.Tensor:
        width = max(len(r) for r in rows)
        ids = torch.full((len(rows), width), self.eot_id, dtype=torch.long)
        for i, r in enumerate(rows):
            ids[i, :len(r)] = torch.tensor(r, dtype=torch.long)
        return ids.to(self.device)

    def _next_token_logits(self, rows: Sequence[Sequence[int]]) -> torch.Tensor:
        """Logits (B, V) after the last token of each row."""
        last = torch.tensor([[len(r) - 1] for r in rows], device=self.device)
        return self.logits_at(self._padded(rows), last)[:, 0]

    def _window(self, context: list[int], continuation: list[int]) -> tuple[list[int], int]:
        """Model input for one request (context cut from the left to fit) and its length."""
        if not continuation:
            raise ValueError("a continuation must have at least one token")
        if len(continuation) > self.n_ctx:
            raise ValueError(f"continuation of {len(continuation)} tokens exceeds n_ctx "
                             f"{self.n_ctx}")
        # one window for the whole request: the last token is a target, never an input
        tokens = ((context or [self.eot_id]) + continuation)[-(self.n_ctx + 1):]
        return tokens[:-1], len(continuation)

    @torch.no_grad()
    def loglikelihood(self, requests: Sequence[Request]) -> list[tuple[float, bool]]:
        windows = [self._window(list(c), list(x)) for c, x in requests]
        targets = [list(x) for _, x in requests]
        order = sorted(range(len(requests)), key=lambda i: (-len(windows[i][0]), i))
        results: list[tuple[float, bool]] = [(0.0, False)] * len(requests)
        for batch in self._batches(order, "loglikelihood"):
            width = max(windows[i][1] for i in batch)
            positions = torch.tensor([[min(len(windows[i][0]) - windows[i][1] + j,
                                           len(windows[i][0]) - 1)  # short rows repeat
                                       for j in range(width)] for i in batch], device=self.device)
            logits = self.logits_at(self._padded([windows[i][0] for i in batch]), positions)
            for row, i in enumerate(batch):
                # log-softmax in the logits' own precision (a float64 copy of (n, V) cost more
                # than the forward pass and adds no accuracy to float32 logits), float64 sums
                scores = logits[row, :windows[i][1]].log_softmax(-1)  # (n, V)
                target = torch.tensor(targets[i], device=scores.device)
                picked = scores.gather(1, target[:, None])[:, 0]
                # greedy iff argmax == target; amax (a fast reduction) rules most rows out first
                greedy = bool((picked == scores.amax(-1)).all()) and bool(
                    (scores.argmax(-1) == target).all())
                results[i] = (picked.double().sum().item(), greedy)
        return results

    @torch.no_grad()
    def greedy_generate(self, contexts: Sequence[list[int]], max_new_tokens: int,
                        stop: Sequence[str] = ("\n",)) -> list[str]:
        """Greedy continuation of each context, cut at the first stop string or end-of-text."""
        keep = self.n_ctx - max_new_tokens
        outputs: list[str] = [""] * len(contexts)
        order = sorted(range(len(contexts)), key=lambda i: (-len(contexts[i]), i))
        for batch in self._batches(order, "generate"):
            rows = [list(contexts[i] or [self.eot_id])[-keep:] for i in batch]
            new: list[list[int]] = [[] for _ in batch]
            live = list(range(len(batch)))
            for _ in range(max_new_tokens):
                if not live:
                    break
                logits = self._next_token_logits([rows[r] + new[r] for r in live])
                still = []
                for j, r in enumerate(live):
                    token = int(logits[j].argmax())
                    if token == self.eot_id:
                        continue
                    new[r].append(token)
                    if not cut_at_stop(self.decode(new[r]), stop)[1]:
                        still.append(r)
                live = still
            for r, i in enumerate(batch):
                outputs[i] = cut_at_stop(self.decode(new[r]), stop)[0]
        return outputs

    @torch.no_grad()
    def beam_generate(self, context: list[int], max_new_tokens: int,
                      stop: Sequence[str] = ("\n",), width: int = 4, alpha: float = 0.6) -> str:
        """Beam search (GPT-3 §2.4: width 4, GNMT length penalty); the best finished answer."""
        prefix = list(context or [self.eot_id])[-(self.n_ctx - max_new_tokens):]
        beams: list[tuple[list[int], float]] = [([], 0.0)]
        finished: list[tuple[float, str]] = []
        for _ in range(max_new_tokens):
            logits = self._next_token_logits([prefix + b for b, _ in beams])
            logprobs = logits.double().log_softmax(-1)
            candidates = []
            for (tokens, score), row in zip(beams, logprobs):
                top = row.topk(min(width, row.numel()))
                candidates += [(score + v, tokens + [t])
                               for v, t in zip(top.values.tolist(), top.indices.tolist())]
            candidates.sort(key=lambda c: -c[0])
            beams = []
            for score, tokens in candidates[:width]:  # the best `width` go on or finish
                ended = tokens[-1] == self.eot_id
                text, stopped = cut_at_stop(self.decode(tokens[:-1] if ended else tokens), stop)
                if ended or stopped:
                    finished.append((score / gnmt_length_penalty(len(tokens), alpha), text))
                else:
                    beams.append((tokens, score))
            if not beams:
                break
        finished += [(s / gnmt_length_penalty(len(t), alpha), self.decode(t)) for t, s in beams]
        return max(finished, key=lambda f: f[0])[1]


def _full_precision(logits: torch.Tensor) -> torch.Tensor:
    """Half-precision logits as float32; float32 and float64 as they are."""
    return logits if logits.dtype in (torch.float32, torch.float64) else logits.float()


class ProjectModel(LogLikelihoodModel):
    """A `training.model.GPT` with a tokenizer (`core.tokenizer.Tokenizer` or any object
    with `encode_batch` (appending end-of-text), `decode` and `eot_id`)."""

    def __init__(self, model, tokenizer, batch_size: int = 8, show_progress: bool = False):
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.n_ctx = model.config.n_ctx
        self.eot_id = tokenizer.eot_id
        self.batch_size = batch_size
        self.show_progress = show_progress

    @classmethod
    def from_checkpoint(cls, path: str | Path, tokenizer_path: str | None = None,
                        device: str = "cpu", **options) -> ProjectModel:
        from crawl2gpt.training.checkpoint import load_model
        from crawl2gpt.training.sample import load_tokenizer
        model, state = load_model(path, device)
        return cls(model, load_tokenizer(tokenizer_path, state.get("tokenizer", {})), **options)

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def num_params(self) -> int:
        return self.model.num_params()

    def encode(self, text: str) -> list[int]:
        return self.tokenizer.encode_batch([text])[0][:-1] if text else []

    def decode(self, ids: Sequence[int]) -> str:
        return self.tokenizer.decode(list(ids))

    def logits_at(self, ids: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
        # GPT.forward without the output projection of every position (same steps, in order)
        m, config = self.model, self.model.config
        x = m.drop(m.wte(ids) + m.wpe(torch.arange(ids.shape[1], device=ids.device)))
        band = band_mask(ids.shape[1], config.window, ids.device) if config.banded else None
        for block in m.h:
            x = block(x, band)
        x = x.gather(1, positions[..., None].expand(-1, -1, x.shape[-1]))  # (B, P, C)
        return _full_precision(m.lm_head(m.ln_f(x))[..., :config.vocab_size])


class HFModel(LogLikelihoodModel):
    """A local Hugging Face causal LM folder (e.g. `crawl2gpt export`'s), never downloaded.

    The tokenizer is the folder's own (AutoTokenizer), or a `core.tokenizer.Tokenizer` given.
    """

    def __init__(self, path: str | Path, tokenizer=None, device: str = "cpu",
                 batch_size: int = 8, show_progress: bool = False):
        from transformers import AutoModelForCausalLM, AutoTokenizer
        self.model = AutoModelForCausalLM.from_pretrained(str(path), local_files_only=True)
        self.model.to(device).eval()
        config = self.model.config
        self.n_ctx = getattr(config, "n_positions", None) or config.max_position_embeddings
        if tokenizer is None:
            hf = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
            self._encode = lambda text: hf(text, add_special_tokens=False)["input_ids"]
            self._decode = hf.decode
            if hf.eos_token_id is None:
                raise ValueError(f"{path}: the tokenizer has no end-of-text (eos) token; "
                                 f"pass a tokenizer")
            self.eot_id = hf.eos_token_id
        else:
            self._encode = lambda text: tokenizer.encode_batch([text])[0][:-1]
            self._decode = tokenizer.decode
            self.eot_id = tokenizer.eot_id
        self.batch_size = batch_size
        self.show_progress = show_progress

    @property
    def device(self) -> torch.device:
        return self.model.device

    def num_params(self) -> int:
        return sum(p.numel() for p in self.model.parameters())

    def encode(self, text: str) -> list[int]:
        return list(self._encode(text)) if text else []

    def decode(self, ids: Sequence[int]) -> str:
        return self._decode(list(ids))

    def logits_at(self, ids: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
        hidden = self.model.base_model(input_ids=ids).last_hidden_state
        hidden = hidden.gather(1, positions[..., None].expand(-1, -1, hidden.shape[-1]))
        return _full_precision(self.model.get_output_embeddings()(hidden))


def load_model(path: str | Path, tokenizer_path: str | None = None, device: str = "cpu",
               batch_size: int = 8, show_progress: bool = True) -> LogLikelihoodModel:
    """A HF folder (has config.json) or one of our checkpoints (a step or run folder)."""
    options = {"device": device, "batch_size": batch_size, "show_progress": show_progress}
    if (Path(path) / "config.json").is_file():
        tokenizer = None
        if tokenizer_path:
            from crawl2gpt.core.tokenizer import Tokenizer
            tokenizer = Tokenizer.from_path(tokenizer_path)
        return HFModel(path, tokenizer, **options)
    return ProjectModel.from_checkpoint(path, tokenizer_path, **options)
