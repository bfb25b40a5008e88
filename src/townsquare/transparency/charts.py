"""Server-drawn SVG bar charts: geometry computed here, drawn by the template (no script, no CDN)."""

from __future__ import annotations

from typing import Any

WIDTH = 640
LABEL_W = 260
BAR_MAX = WIDTH - LABEL_W - 70
ROW = 22


def bars(title: str, items: list[tuple[str, float]], unit: str = "") -> dict[str, Any]:
    """A horizontal bar chart of (label, value); zero rows are kept so a reader sees what was counted."""
    top = max((v for _, v in items), default=0) or 1
    rows = []
    for i, (label, value) in enumerate(items):
        y = 8 + i * ROW
        rows.append(
            {
                "y": y,
                "label": label[:42],
                "w": round(BAR_MAX * value / top, 1),
                "value": f"{value:g}{unit}",
                "vx": LABEL_W + round(BAR_MAX * value / top, 1) + 6,
            }
        )
    return {"title": title, "rows": rows, "height": 16 + len(rows) * ROW, "width": WIDTH, "x0": LABEL_W}


def series(title: str, points: list[tuple[str, float | None]], unit: str = "") -> dict[str, Any]:
    """A trend line over dates (None = no data that day), as a polyline and labelled points."""
    values = [v for _, v in points if v is not None]
    top = max(values, default=0) or 1
    h, left, w = 160, 50, WIDTH - 70
    step = w / max(len(points) - 1, 1)
    coords = []
    for i, (label, v) in enumerate(points):
        if v is None:
            continue
        coords.append({"x": round(left + i * step, 1), "y": round(10 + h - h * v / top, 1), "label": label,
                       "value": f"{v:g}{unit}"})  # fmt: skip
    return {
        "title": title,
        "points": coords,
        "line": " ".join(f"{c['x']},{c['y']}" for c in coords),
        "height": h + 40,
        "width": WIDTH,
        "top": f"{top:g}{unit}",
        "first": points[0][0] if points else "",
        "last": points[-1][0] if points else "",
    }
