"""POST /v1/classify: score texts with every scorer without storing anything."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from townsquare.access.permissions import Principal, require
from townsquare.access.roles import CLASSIFY
from townsquare.content.api import ERRORS, RT
from townsquare.detection.schemas import ClassifyRequest, ClassifyResponse
from townsquare.errors import Invalid, Unavailable

router = APIRouter(prefix="/v1", tags=["detection"])


@router.post(
    "/classify",
    response_model=ClassifyResponse,
    responses={**ERRORS, 503: {"description": "The detection models are not loaded"}},
    summary="Score one text or many with every scorer",
)
def classify(
    data: ClassifyRequest, rt: RT, _: Annotated[Principal, Depends(require(CLASSIFY))]
) -> dict[str, Any]:
    if rt.classifier is None:
        raise Unavailable("detection models are turned off on this server (TOWNSQUARE_MODELS_ENABLED)")
    items = data.as_items()
    if len(items) > rt.settings.max_batch:
        raise Invalid(f"at most {rt.settings.max_batch} items per request", {"field": "items"})
    for i, item in enumerate(items):
        if len(item.text) > rt.settings.max_text_chars:
            field = "text" if data.items is None else f"items.{i}.text"
            raise Invalid(f"{field} is longer than {rt.settings.max_text_chars} characters", {"field": field})
    results = rt.classifier.classify([i.text for i in items], [i.language for i in items])
    return {
        "results": [{"id": item.id, **r.to_dict()} for item, r in zip(items, results, strict=True)],
        "versions": rt.classifier.versions(),
    }
