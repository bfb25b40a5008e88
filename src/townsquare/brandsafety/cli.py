"""`townsquare brand-safety ...`: classify texts, rebuild the index, manage advertisers, print a report."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.progress import Progress

from townsquare.access.service import Principal
from townsquare.brandsafety import report, service
from townsquare.brandsafety.labeller import Labeller
from townsquare.brandsafety.schemas import AdvertiserCreate
from townsquare.cli.classify import _read
from townsquare.cli.common import clean_errors, console, fail, runtime
from townsquare.config import get_settings
from townsquare.db import transaction

app = typer.Typer(help="Brand safety: suitability labels, advertisers, reports.", no_args_is_help=True)
BATCH = 256
# Shell access to the server is operator-level access (as for `users`): it acts as the operator.
OPERATOR = Principal(actor="cli:operator", permissions=frozenset({"brandsafety:admin"}))


@app.command("classify")
@clean_errors
def classify(
    input: Path = typer.Option(..., "--input", "-i", help='JSONL, one {"id", "text"} per line.'),
    output: Path = typer.Option(..., "--output", "-o", help="JSONL, one {id, labels} per input line."),
) -> None:
    """Write {"id", "labels": [{category, name, risk, evidence}]} per line ([] for a safe post)."""
    if not input.exists():
        fail(f"{input} does not exist")
    rows = _read(input)
    labeller = Labeller.from_settings(get_settings())
    with output.open("w", encoding="utf-8") as out, Progress(console=console, transient=True) as bar:
        task = bar.add_task("labelling", total=len(rows))
        for start in range(0, len(rows), BATCH):
            chunk = rows[start : start + BATCH]
            for row, labels in zip(chunk, labeller.label([r["text"] for r in chunk]), strict=True):
                line = {"id": row["id"], "labels": [x.to_dict() for x in labels]}
                out.write(json.dumps(line, ensure_ascii=False) + "\n")
            bar.advance(task, len(chunk))
    console.print(f"labelled {len(rows):,} texts → {output}")


@app.command("evaluate")
@clean_errors
def evaluate_labels(
    output: Path = typer.Option(
        Path("bench/results/brand_safety_quality.json"), "--output", "-o", help="Where the figures go (JSON)."
    ),
    card: Path | None = typer.Option(None, "--card", help="Also write the section of this model card."),
) -> None:
    """Measure the labels on the held-out parts of training/brand_safety.jsonl (never tuned on)."""
    from townsquare.brandsafety import evaluate

    labeller = Labeller.from_settings(get_settings())
    result: dict[str, object] = {"models": labeller.classifier is not None, "rules": labeller.version()}
    for split in ("test", "fresh", "train", "dev"):
        rows = evaluate.load(split=split)
        predicted = [[x.to_dict() for x in labels] for labels in labeller.label([r["text"] for r in rows])]
        scores = evaluate.score(rows, predicted)
        scores.pop("errors")
        result[split] = scores
        console.print(
            f"{split:6s} {scores['rows']:4d} posts  macro-F1 {scores['macro_f1']:.3f}  "
            f"floor precision {scores['floor_precision']:.3f} ({scores['floor_labels']} floor labels)  "
            f"safe posts at high/floor {scores['safe_high_or_floor']:.1%}"
        )
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    if card is not None:
        evaluate.update_card(card, evaluate.render_section(result))
    console.print(f"wrote {output}" + (f" and the brand-safety section of {card}" if card else ""))


@app.command("train")
@clean_errors
def train_learned(
    output: Path | None = typer.Option(
        None, "--output", "-o", help="Artifact (default models/brandsafety/labels.npz)."
    ),
) -> None:
    """Train the learned check on the train and dev parts of the labelled set (never test or fresh)."""
    from townsquare.brandsafety import evaluate, learned, training

    encode = learned.sentence_encoder()
    if encode is None:
        fail("the sentence encoder (models/semantic, `pip install .[semantic]`) is needed to train")
    labeller = Labeller.from_settings(get_settings())
    model, figures = training.train(evaluate.load(), labeller.base, encode)
    target = output or learned.MODEL_FILE
    model.save(target, {"dev": figures})
    for name in (
        "dev_rules_only",
        "dev_cross_validated_fast_pooled",
        "dev_cross_validated_fast",
        "dev_cross_validated_full_pooled",
        "dev_cross_validated_full",
        "dev_cross_validated_gated",
        "dev_cross_validated_demoted",
        "dev_cross_validated_floor_checked",
    ):
        f = figures[name]
        console.print(
            f"{name:33s} macro-F1 {f['macro_f1']:.3f}  floor precision {f['floor_precision']:.3f} "
            f"({f['floor_labels']})  safe posts at high/floor {f['safe_high_or_floor']:.1%}"
        )
    floor_thr = figures["dev_cross_validated_floor_checked"]["floor_threshold"]
    console.print(
        f"gate {figures['dev_cross_validated_gated']['gate']}; floor check {floor_thr}; wrote {target}"
    )


@app.command("reindex")
@clean_errors
def reindex() -> None:
    """Label every stored post again from its stored signals, text and actions (and restate accounts)."""
    from townsquare.brandsafety.rebuild import reindex as run

    with runtime() as rt, Progress(console=console, transient=True) as bar:
        task = bar.add_task("indexing", total=None)
        done = run(rt, lambda n: bar.advance(task, n))
    console.print(f"indexed {done['posts']:,} posts and {done['accounts']:,} accounts not in good standing")


@app.command("advertiser")
@clean_errors
def advertiser(
    key: str, name: str = typer.Option(..., "--name", help="The advertiser's display name.")
) -> None:
    """Create an advertiser (as the operator)."""
    with runtime() as rt, transaction(rt.sessions) as session:
        service.create_advertiser(session, rt, OPERATOR, AdvertiserCreate(key=key, name=name))
    console.print(f"advertiser {key} created")


@app.command("member")
@clean_errors
def member(key: str, username: str) -> None:
    """Let a staff user (role `advertiser`) act for an advertiser."""
    with runtime() as rt, transaction(rt.sessions) as session:
        service.add_member(session, rt, OPERATOR, key, username)
    console.print(f"{username} acts for {key}")


@app.command("report")
@clean_errors
def print_report(
    key: str,
    since: str = typer.Option("1970-01-01", "--since"),
    until: str = typer.Option("9999-12-31", "--until"),
    csv: bool = typer.Option(False, "--csv", help="CSV instead of JSON."),
) -> None:
    """Print an advertiser's report (JSON or CSV) for [since, until)."""
    start, end = report.parse_range(since, until)
    with runtime() as rt, transaction(rt.sessions) as session:
        rep = report.build(session, rt, OPERATOR, key, start, end)
    typer.echo(report.report_csv(rep) if csv else json.dumps(rep, indent=2))
