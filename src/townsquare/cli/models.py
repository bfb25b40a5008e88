"""`townsquare models`: train, evaluate and describe the detection models."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import typer

from townsquare.cli.common import clean_errors, console
from townsquare.config import PROJECT_ROOT, get_settings
from townsquare.detection.training import pipeline

app = typer.Typer(help="Detection models: train, evaluate.", no_args_is_help=True)
CARD = Path("MODEL_CARD.md")
QUALITY = PROJECT_ROOT / "bench" / "results" / "quality.json"
ONLY = typer.Option(None, "--only", help=f"Rebuild only these (repeatable): {', '.join(pipeline.TRAINABLE)}.")


@app.command("train")
@clean_errors
def train(
    only: list[str] = ONLY,
    sample: int = typer.Option(None, help="Use at most N rows per dataset split (quick runs and tests)."),
    epochs: float = typer.Option(None, help="Semantic tier fine-tuning epochs (default 0.5, as committed)."),
    models_dir: Path = typer.Option(None, help="Where to write the artifacts (default: the models setting)."),
) -> None:
    """Rebuild the model artifacts from the datasets with fixed seeds."""
    settings = get_settings()
    target = models_dir or settings.models_dir
    target.mkdir(parents=True, exist_ok=True)
    unknown = sorted(set(only or []) - set(pipeline.TRAINABLE))
    if unknown:
        raise ValueError(f"unknown model {', '.join(unknown)}; choose from {', '.join(pipeline.TRAINABLE)}")
    pipeline.train(
        settings.data_dir,
        target,
        settings.claims_dir,
        only=list(only) if only else None,
        sample=sample,
        log=console.print,
        semantic_epochs=epochs,
    )
    console.print(f"[green]trained[/green] → {target} (run `townsquare models eval` for the card)")


@app.command("eval")
@clean_errors
def evaluate(
    baseline: bool = typer.Option(True, help="Also train and score the TF-IDF + LR baselines."),
    fast_only: bool = typer.Option(False, help="Skip the semantic tier even when installed."),
    sample: int = typer.Option(None, help="Evaluate on at most N rows per split (not for the card)."),
    models_dir: Path = typer.Option(None, help="Artifacts to evaluate (default: the models setting)."),
    quality: Path = typer.Option(QUALITY, help="Where to write the JSON results."),
) -> None:
    """Evaluate every scorer on held-out data; write the model card and quality.json."""
    settings = get_settings()
    target = models_dir or settings.models_dir
    q = pipeline.evaluate(
        settings.data_dir,
        target,
        settings.claims_dir,
        with_baseline=baseline,
        sample=sample,
        log=console.print,
        fast_only=fast_only,
    )
    pipeline.write_outputs(q, target / CARD, quality)
    for bar in q["bars"]:
        mark = "[green]met[/green]" if bar["met"] else f"[red]missed by {abs(bar['gap'] or 0):.4f}[/red]"
        console.print(f"{bar['tier']:8} {bar['name']}: {bar['value']} ({bar['op']} {bar['target']}) {mark}")
    console.print(f"wrote {target / CARD} and {quality}")


@app.command("export-labels")
@clean_errors
def export_labels(
    output: Path = typer.Option(..., "--output", "-o", help="JSONL file to write."),
    since: datetime = typer.Option(None, help="Only decisions from this time on (ISO 8601)."),
) -> None:
    """Write every human decision on a post as a labelled example for the next training run."""
    from townsquare.cli.common import runtime
    from townsquare.db import transaction
    from townsquare.review.labels import write_jsonl

    with runtime() as rt, transaction(rt.sessions) as session, output.open("w", encoding="utf-8") as fh:
        n = write_jsonl(session, fh, since.replace(tzinfo=since.tzinfo or UTC) if since else None)
    console.print(f"wrote {n} labelled examples to {output}")
