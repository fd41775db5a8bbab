"""A tiny random project model with a byte-level tokenizer, on one CPU thread."""

import pytest
import torch

from crawl2gpt.evaluation.models import ProjectModel
from crawl2gpt.training.config import model_config
from crawl2gpt.training.model import GPT

torch.set_num_threads(1)


class ByteTokenizer:
    """Ids 0-255 are UTF-8 bytes, 256 ends a text (the interface of `core.tokenizer`)."""

    eot_id = 256

    def encode_batch(self, texts):
        return [list(t.encode("utf-8")) + [self.eot_id] for t in texts]

    def decode(self, ids):
        return bytes(i for i in ids if i < 256).decode("utf-8", "replace")


def tiny_gpt(size="tiny", n_ctx=512, seed=0):
    torch.manual_seed(seed)
    return GPT(model_config(size, vocab_size=257, n_ctx=n_ctx)).eval()


@pytest.fixture(scope="module")
def tiny_model():
    """Banded attention (window 16), as GPT-3's alternating layers."""
    return ProjectModel(tiny_gpt(), ByteTokenizer(), batch_size=16)


@pytest.fixture(scope="module")
def benchmarks(shared_data):
    return shared_data / "benchmarks"
