"""The model interface against brute force: one forward per token, no batching, no padding."""

import pytest
import torch

from crawl2gpt.evaluation.harness import evaluate_task
from crawl2gpt.evaluation.models import HFModel, LogLikelihoodModel, ProjectModel
from crawl2gpt.evaluation.tasks import all_tasks
from tests.evaluation.conftest import ByteTokenizer, tiny_gpt

TASKS = all_tasks()


@torch.no_grad()
def brute_force(gpt, context, continuation):
    """Chain rule, token by token: sum log P(x_j | everything before it), and greedy-ness."""
    total, greedy, seq = 0.0, True, list(context)
    for token in continuation:
        window = seq[-gpt.config.n_ctx:]
        logprobs = gpt(torch.tensor([window]))[0, -1].double().log_softmax(-1)
        total += logprobs[token].item()
        greedy &= int(logprobs.argmax()) == token
        seq.append(token)
    return total, greedy


@pytest.mark.parametrize("size", ["tiny", "tiny-dense"])
def test_choice_loglikelihoods_equal_brute_force(benchmarks, size):
    gpt = tiny_gpt(size, n_ctx=256)
    model = ProjectModel(gpt, ByteTokenizer(), batch_size=4)
    rows = evaluate_task(model, TASKS["copa"], benchmarks, k=1, limit=3)
    for row in rows:
        assert len(row["loglikelihoods"]) == 2
    # the same requests by hand: the 1-shot prompt and " " + each choice, byte-encoded
    from crawl2gpt.evaluation.harness import make_prompts
    from crawl2gpt.evaluation.tasks import read_examples
    examples = read_examples(TASKS["copa"].resolve(benchmarks), "multiple_choice")
    prompts = make_prompts(model, TASKS["copa"], examples[:3], examples, 1, seed=1234)
    for row, prompt in zip(rows, prompts):
        context = list(prompt.contexts[0].encode())
        expected = [brute_force(gpt, context, list(c.encode()))[0] for c in prompt.continuations]
        assert row["loglikelihoods"] == pytest.approx(expected, abs=1e-4)
        assert row["tokens"] == [len(c.encode()) for c in prompt.continuations]


def test_context_longer_than_n_ctx_loses_its_left_end():
    gpt = tiny_gpt("tiny", n_ctx=64)
    model = ProjectModel(gpt, ByteTokenizer())
    context, continuation = list(range(1, 100)), [7, 8, 9]
    (ll, greedy), = model.loglikelihood([(context, continuation)])
    # one window of 64 inputs: the last 62 context tokens and the first 2 continuation tokens
    expected, expected_greedy = brute_force(gpt, context[-62:], continuation)
    assert ll == pytest.approx(expected, abs=1e-4) and greedy == expected_greedy


def _rows(model, benchmarks, task, k, limit):
    return evaluate_task(model, TASKS[task], benchmarks, k=k, limit=limit)


@pytest.mark.parametrize("task, k", [("copa", 2), ("winograd_wsc", 1), ("arc_easy", 0),
                                     ("lambada_openai_small", 0)])
def test_batch_size_does_not_change_results(benchmarks, task, k):
    """float64 weights: within 1e-5; float32: the same predictions, sums within float32
    rounding (1e-6 relative: sums of ~200 nats differ by ~1e-5 from matmul blocking alone)."""
    for dtype, tolerance in ((torch.float64, {"abs": 1e-5}), (torch.float32, {"rel": 1e-6})):
        gpt = tiny_gpt("tiny", n_ctx=1024).to(dtype)
        one = _rows(ProjectModel(gpt, ByteTokenizer(), batch_size=1), benchmarks, task, k, 16)
        many = _rows(ProjectModel(gpt, ByteTokenizer(), batch_size=16), benchmarks, task, k, 16)
        assert [r["prediction"] for r in one] == [r["prediction"] for r in many]
        assert [r["correct"] for r in one] == [r["correct"] for r in many]
        for a, b in zip(one, many):
            assert a["loglikelihoods"] == pytest.approx(b["loglikelihoods"], **tolerance)


def test_generation_does_not_depend_on_batch_size(benchmarks):
    gpt = tiny_gpt("tiny", n_ctx=256)
    one = _rows(ProjectModel(gpt, ByteTokenizer(), batch_size=1), benchmarks,
                "two_digit_addition", 1, 16)
    many = _rows(ProjectModel(gpt, ByteTokenizer(), batch_size=16), benchmarks,
                 "two_digit_addition", 1, 16)
    assert [r["prediction"] for r in one] == [r["prediction"] for r in many]


def test_greedy_generation_follows_the_argmax():
    gpt = tiny_gpt("tiny", n_ctx=128)
    model = ProjectModel(gpt, ByteTokenizer())
    context = list(b"\nasinoc =")
    text = model.greedy_generate([context], max_new_tokens=6, stop=[])[0]
    seq = list(context)
    with torch.no_grad():
        for _ in range(6):
            seq.append(int(gpt(torch.tensor([seq]))[0, -1].argmax()))
    assert text == ByteTokenizer().decode(seq[len(context):])
    # beam search of width 1 is greedy search
    assert model.beam_generate(context, 6, stop=[], width=1) == text


def test_hf_export_scores_like_the_checkpoint(tmp_path):
    from crawl2gpt.training.export import export_hf
    gpt = tiny_gpt("tiny-dense", n_ctx=128)
    export_hf(gpt, tmp_path, eot_id=256)
    ours = ProjectModel(gpt, ByteTokenizer(), batch_size=3)
    hf = HFModel(tmp_path, ByteTokenizer(), batch_size=2)
    requests = [(list(b"The man turned on the faucet,"), list(b" water flowed.")),
                (list(b"Q: 1 + 1 ="), list(b" 2")), ([], list(b"hello"))]
    for (a, ga), (b, gb) in zip(ours.loglikelihood(requests), hf.loglikelihood(requests)):
        assert a == pytest.approx(b, abs=1e-3) and ga == gb
    assert hf.n_ctx == 128


def test_unconditional_and_partial_scores_equal_brute_force(benchmarks):
    gpt = tiny_gpt("tiny", n_ctx=512)
    model = ProjectModel(gpt, ByteTokenizer(), batch_size=5)
    from crawl2gpt.evaluation.harness import make_prompts
    from crawl2gpt.evaluation.tasks import read_examples
    for task, key in (("arc_easy", "unconditional"), ("winograd_wsc", "loglikelihoods")):
        examples = read_examples(TASKS[task].resolve(benchmarks), TASKS[task].format)[:2]
        rows = evaluate_task(model, TASKS[task], benchmarks, k=0, limit=2)
        prompts = make_prompts(model, TASKS[task], examples, examples, 0, seed=1234)
        for row, prompt in zip(rows, prompts):
            if task == "arc_easy":  # P(choice | "Answer:")
                pairs = [("Answer:", c) for c in prompt.continuations]
            else:  # the shared continuation after each substitution
                pairs = [(c, prompt.continuations[0]) for c in prompt.contexts]
            expected = [brute_force(gpt, list(c.encode()), list(x.encode()))[0]
                        for c, x in pairs]
            assert row[key] == pytest.approx(expected, abs=1e-4)


NEXT_TOKEN = {2: (0.632, 0.368, 0.0), 0: (0.554, 0.446, 0.0), 1: (0.0, 1.0, 0.0)}


class TwoTokenModel(LogLikelihoodModel):
    """Vocabulary: 0 = "a", 1 = end-of-text, 2 = the prompt. The next-token distribution
    depends on the last token only: after the prompt P(a) = 0.632, after "a" P(a) = 0.554."""

    n_ctx, eot_id = 16, 1

    def encode(self, text):
        return [0] * len(text)

    def decode(self, ids):
        return "a" * sum(1 for i in ids if i == 0)

    def logits_at(self, ids, positions):
        probs = torch.tensor([[NEXT_TOKEN[int(row[p])] for p in where]
                              for row, where in zip(ids, positions)])
        return probs.clamp_min(1e-30).log()


def test_beam_search_ranks_by_gnmt_length_penalty():
    # Hypotheses of at most 2 tokens (log-probs by hand from the table):
    #   ""   = [eot]:    log 0.368 = -1.000, penalty ((5+1)/6)^0.6 = 1      -> -1.000
    #   "a"  = [a, eot]: log(0.632 * 0.446) = -1.266, penalty (7/6)^0.6    -> -1.154
    #   "aa" = [a, a]:   log(0.632 * 0.554) = -1.049, penalty (7/6)^0.6    -> -0.956
    model = TwoTokenModel()
    assert model.beam_generate([2], max_new_tokens=2, stop=[], width=4) == "aa"
    # without the length penalty the short answer wins: -1.000 > -1.049
    assert model.beam_generate([2], max_new_tokens=2, stop=[], width=4, alpha=0.0) == ""
    assert model.greedy_generate([[2]], max_new_tokens=2, stop=[]) == ["aa"]
