"""`crawl2gpt ablate`: does a data choice make a better model? (DCLM's method, at small scale.)

1. Build every configuration (or take finished builds: a `manifest.json` path); all must use
   one tokenizer, so losses compare token for token.
2. Train the same model shape on each build for the same token budget, once per seed.
3. Measure every model on what no build contains: the loss on a shared held-out reference set
   (`--reference`, tokenised with that tokenizer) and few-shot accuracy on `--tasks` through
   the evaluation harness. A build's own validation loss is kept in the JSON but not compared:
   each build holds out different text.
4. Per metric: mean and sd over seeds per configuration, the difference from the first
   configuration and whether it exceeds the noise: seed to seed, plus for task scores the
   finite example set (`compare`).
"""

from __future__ import annotations

import json
import os
import statistics
from pathlib import Path
from typing import Any

from crawl2gpt.experiments.compare import compare, verdict
from crawl2gpt.experiments.runs import (
    ModelShape,
    read_reference_texts,
    reference_sequences,
    sequence_loss,
    train_run,
    write_json,
)

REFERENCE_LOSS = "reference_loss"


class AblationError(ValueError):
    """An ablation cannot run as asked; the message names the build or file."""


def prepare_builds(configs: list[str], out_dir: str, overrides: list[str],
                   beam_args: list[str], reuse: bool) -> dict[str, str]:
    """Label (the config file's stem, or a finished build's folder name) -> manifest path."""
    from crawl2gpt.pipeline.build import run_build
    from crawl2gpt.pipeline.config import load_build_config
    builds: dict[str, str] = {}
    for path in configs:
        if Path(path).name == "manifest.json":
            label, manifest = Path(path).resolve().parent.name, path
        else:
            label = Path(path).stem
            manifest = os.path.join(out_dir, "builds", label, "manifest.json")
            if not (reuse and os.path.isfile(manifest)):
                config = load_build_config(path, overrides)
                run_build(config, os.path.dirname(manifest), beam_args)
        if label in builds:
            raise AblationError(f"{path}: two configurations are named {label!r}")
        builds[label] = manifest
    return builds


def shared_tokenizer(builds: dict[str, str]):
    """The one tokenizer every build's token shards were made with (checked by its files)."""
    from crawl2gpt.training.sample import load_tokenizer
    described = {}
    for label, manifest in builds.items():
        section = json.loads(Path(manifest).read_text()).get("tokens")
        if not section:
            raise AblationError(f"{manifest}: no token shards (the build config of {label!r} "
                                f"needs a [tokenize] table)")
        described[label] = section["tokenizer"]
    identities = {label: (t["vocab_size"], t["eot_id"], json.dumps(t.get("files_sha256"),
                                                                    sort_keys=True))
                  for label, t in described.items()}
    if len(set(identities.values())) > 1:
        raise AblationError(f"the builds use different tokenizers {identities}: losses would "
                            f"not compare; give every config the same tokenize.tokenizer")
    return load_tokenizer(None, next(iter(described.values())))


def headline_scores(summary: list[dict], metric: str) -> dict[str, tuple[float, float]]:
    """`<task> k<K> <metric>` -> (score on all examples, its standard error over the examples:
    the harness's 95 % half-width / 1.96) for the task's headline metric."""
    return {f"{s['task']} k{s['shots']} {s['metric']}": (s["value"], s["ci95"] / 1.96)
            for s in summary if s["subset"] == "all" and s["metric"] == metric}


def few_shot_metrics(model, tokenizer, tasks, shots, benchmarks: str, out_dir: str,
                     limit: int | None, name: str) -> dict[str, tuple[float, float]]:
    """Every task's headline scores through the evaluation harness (`headline_scores`)."""
    from crawl2gpt.evaluation.harness import run_eval
    from crawl2gpt.evaluation.models import ProjectModel
    wrapped = ProjectModel(model, tokenizer, batch_size=32)
    scores = {}
    for task in tasks:
        try:
            summary = run_eval(wrapped, [task], shots, benchmarks, os.path.join(out_dir, task.name),
                               limit=limit, model_name=name)
        except ValueError as e:
            raise AblationError(f"task {task.name}: {e} (a longer context: --set "
                                f"model.n_ctx=...)") from None
        scores.update(headline_scores(summary, task.metric))
    return scores


def run_ablation(builds: dict[str, str], out_dir: str, shape: ModelShape, tokens: int,
                 seeds: list[int], reference: list[str], reference_tokens: int = 65536,
                 tasks: list = (), shots: list = (0,), benchmarks: str = "",
                 limit: int | None = None, device: str = "cpu",
                 overrides: list[str] = ()) -> dict[str, Any]:
    """Train and measure every (build, seed); returns and writes `<out_dir>/ablation.json`."""
    if len(seeds) < 2:
        raise AblationError("the seed-to-seed noise needs at least 2 seeds (--seeds)")
    if not reference and not tasks:
        raise AblationError("nothing to compare on: give --reference and/or --tasks")
    tokenizer = shared_tokenizer(builds)
    os.makedirs(out_dir, exist_ok=True)
    metrics: dict[str, bool] = {REFERENCE_LOSS: False} if reference else {}
    texts = read_reference_texts(reference) if reference else []
    sequences = None
    result: dict[str, Any] = {"configs": list(builds), "builds": builds, "shape": shape.label,
                              "tokens": tokens, "seeds": seeds, "tasks": [t.name for t in tasks],
                              "shots": [str(k) for k in shots], "limit": limit, "runs": []}
    for label, manifest in builds.items():
        for seed in seeds:
            where = os.path.join(out_dir, "runs", label, f"seed{seed}")
            run = train_run(manifest, shape, tokens, where, seed, device, overrides=overrides)
            measured = {}
            if texts:
                if sequences is None:  # windows of the model's context, the same for all
                    sequences = reference_sequences(texts, tokenizer, run.model.config.n_ctx,
                                                    reference_tokens)
                    result["reference"] = {"paths": reference, "documents": len(texts),
                                           "sequences": len(sequences),
                                           "tokens": int(sequences[:, 1:].numel())}
                measured[REFERENCE_LOSS] = sequence_loss(run.model, sequences)
            scores = few_shot_metrics(run.model, tokenizer, tasks, shots, benchmarks,
                                      os.path.join(where, "eval"), limit,
                                      f"{label} seed {seed}") if tasks else {}
            metrics.update({name: True for name in scores})
            measured.update({name: value for name, (value, _) in scores.items()})
            result["runs"].append({"config": label, "seed": seed, "metrics": measured,
                                   "sampling_se": {n: se for n, (_, se) in scores.items()},
                                   "run": run.to_dict()})
            write_json(os.path.join(out_dir, "ablation.json"), result)
    result["metrics"] = metrics
    summarize(result)
    write_json(os.path.join(out_dir, "ablation.json"), result)
    return result


def summarize(result: dict[str, Any]) -> dict[str, Any]:
    """Fill `differences` and `verdicts` from the runs' metrics (seed order kept)."""
    result["differences"], result["verdicts"] = [], []
    for metric, higher in result["metrics"].items():
        runs = {c: [r for r in result["runs"] if r["config"] == c] for c in result["configs"]}
        values = {c: [r["metrics"][metric] for r in rs] for c, rs in runs.items()}
        sampling = {c: statistics.fmean(r["sampling_se"].get(metric, 0.0) for r in rs)
                    for c, rs in runs.items()}
        rows = compare(values, metric, result["configs"][0], sampling)
        result["differences"] += [d.to_dict() for d in rows]
        result["verdicts"].append(verdict(rows, higher))
    return result


def summary_lines(result: dict[str, Any]) -> list[str]:
    lines = [(f"{'metric':<34} {'config':<16} {'mean':>8} {'sd':>7} {'diff':>8} "
              f"{'2SE seed':>8} {'paired':>7} {'2SE ex.':>7} {'2SE all':>7} beyond noise")]
    for d in result["differences"]:
        lines.append(f"{d['metric'][:34]:<34} {d['config'][:16]:<16} {d['mean']:>8.4f} "
                     f"{d['sd']:>7.4f} {d['diff']:>+8.4f} {2 * d['se']:>8.4f} "
                     f"{2 * (d['paired_se'] or 0):>7.4f} {2 * d['sampling_se']:>7.4f} "
                     f"{2 * d['total_se']:>7.4f} {'yes' if d['exceeds_noise'] else 'no'}")
    return lines + result["verdicts"]
