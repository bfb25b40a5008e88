"""Import every domain's tables so `Base.metadata` is complete (Alembic and tests use it)."""

from townsquare import stamps  # issue 15: change stamps
from townsquare.access import models as access_models
from townsquare.appeals import models as appeals_models
from townsquare.bans import models as bans_models
from townsquare.brandsafety import models as brandsafety_models
from townsquare.campaigns import models as campaigns_models
from townsquare.content import models as content_models
from townsquare.db import Base
from townsquare.detection import models as detection_models
from townsquare.elections import models as elections_models
from townsquare.enforcement import models as enforcement_models
from townsquare.eventlog import crypto, events
from townsquare.policy import models as policy_models
from townsquare.review import models as review_models
from townsquare.stream import models as stream_models
from townsquare.transparency import models as transparency_models  # issue 14

__all__ = [
    "appeals_models",
    "bans_models",
    "brandsafety_models",
    "access_models",
    "Base",
    "content_models",
    "crypto",
    "detection_models",
    "enforcement_models",
    "events",
    "policy_models",
    "review_models",
    "campaigns_models",
    "elections_models",
    "transparency_models",
    "stream_models",
    "stamps",
]
