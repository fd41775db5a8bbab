"""Training tests run torch on one thread: the machine's cores are shared, and one thread keeps
CPU matrix products bit-for-bit repeatable between a run and its resumed copy."""

import numpy as np
import pytest
import torch

from tests.training.corpus import write_corpus

torch.set_num_threads(1)

EOT = 256  # byte-level "tokenizer": ids 0-255 are bytes, 256 ends a document


def speech_docs(shared_data, folder):
    """Each speech as its raw bytes plus end-of-text (see speeches/README.md: 59 inaugural,
    65 State of the Union files, `*.txt`)."""
    files = sorted((shared_data / "speeches" / folder).glob("*.txt"))
    return [np.append(np.frombuffer(f.read_bytes(), np.uint8).astype(np.uint16), EOT)
            for f in files]


@pytest.fixture(scope="session")
def speech_corpus(shared_data, tmp_path_factory):
    """Two real sources, byte-tokenised: 8 speeches per row group, last row group held out."""
    root = tmp_path_factory.mktemp("speeches")
    docs = {name: speech_docs(shared_data, name) for name in ("inaugural", "state_union")}
    assert [len(d) for d in docs.values()] == [59, 65]  # the README's counts
    return write_corpus(root, docs, {"inaugural": 0.4, "state_union": 0.6}, vocab_size=EOT + 1,
                        eot_id=EOT, rows_per_group=8)
