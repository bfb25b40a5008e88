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
    only: list[str] = typer.Option(
        None,
        "--only",
        help="Measure only these retrained heads again; carry the rest over from quality.json.",
    ),
) -> None:
    """Evaluate every scorer on held-out data; write the model card and quality.json."""
    import json

    settings = get_settings()
    target = models_dir or settings.models_dir
    previous = json.loads(quality.read_text(encoding="utf-8")) if only else None
    q = pipeline.evaluate(
        settings.data_dir,
        target,
        settings.claims_dir,
        with_baseline=baseline,
        sample=sample,
        log=console.print,
        fast_only=fast_only,
        only=list(only) if only else None,
        previous=previous,
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


@app.command("retrain")
@clean_errors
def retrain(
    labels: Path = typer.Option(..., "--labels", "-l", help="Reviewers' decisions (`models export-labels`)."),
    holdout: float = typer.Option(
        0.2, min=0.05, max=0.5, help="Share of the most recent decisions held out."
    ),
    report: Path = typer.Option(
        None, help="Where to write the comparison report (Markdown; JSON beside it)."
    ),
    sample: int = typer.Option(None, help="At most N rows per dataset split (quick runs and tests)."),
) -> None:
    """Fold reviewers' decisions into training; compare with live; register the candidate as shadow."""
    from townsquare.cli.common import runtime
    from townsquare.detection.training import retrain_flow

    with runtime() as rt:
        result = retrain_flow.run(rt, labels, holdout, report, sample, console.print)
    console.print(f"[green]registered[/green] {result['name']} as shadow; report: {result['report']}")
    console.print(
        "to put it live: `townsquare models publish "
        f"{result['name']} --reason ...` and a second holder of models:publish approves it"
    )


@app.command("versions")
@clean_errors
def versions_cmd() -> None:
    """Every registered model version and its state."""
    from townsquare.cli.common import runtime
    from townsquare.db import transaction
    from townsquare.detection import versions

    with runtime() as rt, transaction(rt.sessions) as session:
        rows = [versions.view(v) for v in versions.list_versions(session)]
    if not rows:
        console.print("no model versions registered yet (`townsquare models retrain` registers the first)")
    for r in rows:
        console.print(
            f"{r['state']:8} {r['name']}  created {r['created_at']}  live since {r['published_at'] or '-'}"
        )


@app.command("publish")
@clean_errors
def publish(
    name: str = typer.Argument(..., help="The shadow model version to put live."),
    reason: str = typer.Option(..., help="Why (recorded in the event log)."),
) -> None:
    """Request putting a shadow model version live; a second holder of models:publish approves it."""
    from townsquare.access.service import Principal
    from townsquare.cli.common import runtime
    from townsquare.db import transaction
    from townsquare.detection import versions

    operator = Principal(actor="cli:operator", permissions=frozenset())
    with runtime() as rt, transaction(rt.sessions) as session:
        approval = versions.request_publish(session, rt, operator, name, reason)
        approval_id, expires = approval.id, approval.expires_at
    console.print(f"approval #{approval_id} requested: put model version {name} live")
    console.print(
        f"a user holding models:publish must approve it (POST /v1/approvals/{approval_id}/approve) "
        f"before {expires:%Y-%m-%d %H:%M} UTC"
    )


@app.command("rollback")
@clean_errors
def rollback(reason: str = typer.Option(..., help="Why (recorded in the event log).")) -> None:
    """Put the previous live model version back live (one command; recorded as model.rolled_back)."""
    from townsquare.cli.common import runtime
    from townsquare.db import transaction
    from townsquare.detection import versions

    with runtime() as rt, transaction(rt.sessions) as session:
        out = versions.rollback(session, rt, "cli:operator", reason)
    console.print(f"[green]rolled back[/green]: {out['name']} is live again (was {out['previous']})")
