"""`townsquare classify`: score a JSONL file of texts with every scorer."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.progress import Progress

from townsquare.cli.common import clean_errors, console, fail
from townsquare.config import get_settings
from townsquare.detection.loading import load_classifier

BATCH = 256


def _read(path: Path) -> list[dict[str, str]]:
    rows = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            fail(f"{path}:{n}: not valid JSON ({exc.msg})")
        if not isinstance(obj, dict) or not isinstance(obj.get("text"), str) or "id" not in obj:
            fail(f'{path}:{n}: each line needs "id" and a string "text"')
        if not obj["text"].strip():
            fail(f"{path}:{n}: field 'text' is empty")
        rows.append({"id": obj["id"], "text": obj["text"], "language": obj.get("language")})
    return rows


@clean_errors
def classify(
    input: Path = typer.Option(..., "--input", "-i", help='JSONL, one {"id", "text"} per line.'),
    output: Path = typer.Option(..., "--output", "-o", help="JSONL results, one per input line."),
) -> None:
    """Write {"id", "language", "scores"} for every input line (same shape as POST /v1/classify)."""
    if not input.exists():
        fail(f"{input} does not exist")
    rows = _read(input)
    classifier = load_classifier(get_settings())
    with output.open("w", encoding="utf-8") as out, Progress(console=console, transient=True) as bar:
        task = bar.add_task("classifying", total=len(rows))
        for start in range(0, len(rows), BATCH):
            chunk = rows[start : start + BATCH]
            results = classifier.classify([r["text"] for r in chunk], [r["language"] for r in chunk])
            for row, result in zip(chunk, results, strict=True):
                out.write(json.dumps({"id": row["id"], **result.to_dict()}, ensure_ascii=False) + "\n")
            bar.advance(task, len(chunk))
    console.print(f"classified {len(rows):,} texts → {output}")
