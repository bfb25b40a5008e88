"""The permission catalogue and the roles that bundle permissions (docs/access-matrix.yaml mirrors this)."""

from __future__ import annotations

# Platform ingest (service tokens)
POSTS_WRITE = "posts:write"
ACCOUNTS_WRITE = "accounts:write"
REPORTS_WRITE = "reports:write"
CLASSIFY = "classify"
NOTIFICATIONS_READ = "notifications:read"
APPEALS_FILE = "appeals:file"
# Reading moderation material
POSTS_READ = "posts:read"
ACCOUNTS_READ = "accounts:read"
ACTIONS_READ = "actions:read"
POLICIES_READ = "policies:read"
# Moderation: one permission per rung of the ladder, plus reversal and protected subjects
QUEUE_VIEW = "queue:view"
CASE_DECIDE = "case:decide"
ACTION_LABEL = "action:label"
ACTION_REDUCE_REACH = "action:reduce_reach"
ACTION_DEMONETISE = "action:demonetise"
ACTION_REMOVE = "action:remove"
ACTION_SUSPEND = "action:suspend"
ACTION_BAN = "action:ban"
ACTION_REINSTATE = "action:reinstate"
ACTION_PROTECTED = "action:protected"
BULK_DECIDE = "bulk:decide"
AUTOMATION_PAUSE = "automation:pause"
APPEALS_DECIDE = "appeals:decide"
COUNCIL_VOTE = "council:vote"
COUNCIL_MANAGE = "council:manage"
# Policy and detection configuration
POLICY_EDIT = "policy:edit"
POLICY_PUBLISH = "policy:publish"
TEXTBANK_EDIT = "textbank:edit"
THRESHOLDS_EDIT = "thresholds:edit"
APPROVALS_VIEW = "approvals:view"
# Accounts administration
ACCOUNTS_ERASE = "accounts:erase"
ACCOUNTS_TAG = "accounts:tag"
# Access administration
USERS_READ = "users:read"
USERS_MANAGE = "users:manage"
ROLES_GRANT = "roles:grant"
FREEZE_USER = "freeze:user"
FREEZE_GLOBAL = "freeze:global"
BREAKGLASS_GRANT = "breakglass:grant"
# Audit and reporting
AUDIT_READ = "audit:read"
AUDIT_EXPORT = "audit:export"
AUDIT_CHECKPOINT = "audit:checkpoint"
ALERTS_READ = "alerts:read"
TRANSPARENCY_EXPORT = "transparency:export"
# Brand safety: the ad server checks placements and sends impressions; advertisers manage their own
# profiles and read their own reports; a brand-safety admin sees every advertiser.
BRANDSAFETY_CHECK = "brandsafety:check"
BRANDSAFETY_IMPRESSIONS = "brandsafety:impressions"
BRANDSAFETY_PROFILES = "brandsafety:profiles"
BRANDSAFETY_REPORTS = "brandsafety:reports"
BRANDSAFETY_ADMIN = "brandsafety:admin"

ALL_PERMISSIONS: frozenset[str] = frozenset(
    {
        POSTS_WRITE,
        ACCOUNTS_WRITE,
        REPORTS_WRITE,
        CLASSIFY,
        NOTIFICATIONS_READ,
        APPEALS_FILE,
        POSTS_READ,
        ACCOUNTS_READ,
        ACTIONS_READ,
        POLICIES_READ,
        QUEUE_VIEW,
        CASE_DECIDE,
        ACTION_LABEL,
        ACTION_REDUCE_REACH,
        ACTION_DEMONETISE,
        ACTION_REMOVE,
        ACTION_SUSPEND,
        ACTION_BAN,
        ACTION_REINSTATE,
        ACTION_PROTECTED,
        BULK_DECIDE,
        AUTOMATION_PAUSE,
        APPEALS_DECIDE,
        COUNCIL_VOTE,
        COUNCIL_MANAGE,
        POLICY_EDIT,
        POLICY_PUBLISH,
        TEXTBANK_EDIT,
        THRESHOLDS_EDIT,
        APPROVALS_VIEW,
        ACCOUNTS_ERASE,
        ACCOUNTS_TAG,
        USERS_READ,
        USERS_MANAGE,
        ROLES_GRANT,
        FREEZE_USER,
        FREEZE_GLOBAL,
        BREAKGLASS_GRANT,
        AUDIT_READ,
        AUDIT_EXPORT,
        AUDIT_CHECKPOINT,
        ALERTS_READ,
        TRANSPARENCY_EXPORT,
        BRANDSAFETY_CHECK,
        BRANDSAFETY_IMPRESSIONS,
        BRANDSAFETY_PROFILES,
        BRANDSAFETY_REPORTS,
        BRANDSAFETY_ADMIN,
    }
)

ACTION_PERMISSION: dict[str, str] = {
    "label": ACTION_LABEL,
    "reduce_reach": ACTION_REDUCE_REACH,
    "demonetise": ACTION_DEMONETISE,
    "remove": ACTION_REMOVE,
    "suspend": ACTION_SUSPEND,
    "ban": ACTION_BAN,
}

_READ = {POSTS_READ, ACCOUNTS_READ, ACTIONS_READ, POLICIES_READ}
_TRIAGE = _READ | {QUEUE_VIEW, ACTION_LABEL, REPORTS_WRITE}
_MODERATOR = _TRIAGE | {CASE_DECIDE, ACTION_REDUCE_REACH, ACTION_DEMONETISE, ACTION_REMOVE, ACTION_SUSPEND}
_SENIOR = _MODERATOR | {
    ACTION_BAN,
    ACTION_REINSTATE,
    ACTION_PROTECTED,
    BULK_DECIDE,
    APPROVALS_VIEW,
    ACCOUNTS_TAG,
    AUTOMATION_PAUSE,
    COUNCIL_MANAGE,
}

ROLES: dict[str, frozenset[str]] = {
    "platform": frozenset(
        {
            POSTS_WRITE,
            ACCOUNTS_WRITE,
            REPORTS_WRITE,
            CLASSIFY,
            NOTIFICATIONS_READ,
            APPEALS_FILE,
            POSTS_READ,
            ACCOUNTS_READ,
            ACTIONS_READ,
            BRANDSAFETY_CHECK,
            BRANDSAFETY_IMPRESSIONS,
        }
    ),
    "triage": frozenset(_TRIAGE),
    "moderator": frozenset(_MODERATOR),
    "senior_moderator": frozenset(_SENIOR),
    "election_integrity": frozenset(
        _MODERATOR | {ACTION_PROTECTED, BULK_DECIDE, APPROVALS_VIEW, AUTOMATION_PAUSE}
    ),
    # Overturning a decision to leave content up means acting on it, so the content rungs are included.
    "appeals_reviewer": frozenset(
        _READ
        | {
            APPEALS_DECIDE,
            ACTION_REINSTATE,
            ACTION_LABEL,
            ACTION_REDUCE_REACH,
            ACTION_DEMONETISE,
            ACTION_REMOVE,
            QUEUE_VIEW,
            COUNCIL_MANAGE,
        }
    ),
    # Council members see only the redacted packets of their referrals: no posts, handles or actions
    # (which would undo the redaction), only the published policies.
    "council_member": frozenset({POLICIES_READ, COUNCIL_VOTE}),
    "policy_editor": frozenset(
        {POLICIES_READ, POSTS_READ, POLICY_EDIT, TEXTBANK_EDIT, THRESHOLDS_EDIT, APPROVALS_VIEW}
    ),
    "policy_publisher": frozenset(
        {POLICIES_READ, POSTS_READ, POLICY_PUBLISH, APPROVALS_VIEW, COUNCIL_MANAGE}
    ),
    "auditor": frozenset(
        _READ
        | {
            AUDIT_READ,
            AUDIT_EXPORT,
            AUDIT_CHECKPOINT,
            ALERTS_READ,
            QUEUE_VIEW,
            TRANSPARENCY_EXPORT,
            USERS_READ,
            APPROVALS_VIEW,
        }
    ),
    # An advertiser's staff: its own profiles, checks with them, its own impressions and reports.
    "advertiser": frozenset({BRANDSAFETY_CHECK, BRANDSAFETY_PROFILES, BRANDSAFETY_REPORTS}),
    # Runs brand safety for the platform: every advertiser, their profiles and reports; post labels.
    "brand_safety_admin": frozenset(
        {
            BRANDSAFETY_CHECK,
            BRANDSAFETY_PROFILES,
            BRANDSAFETY_REPORTS,
            BRANDSAFETY_ADMIN,
            POSTS_READ,
            ACCOUNTS_READ,
        }
    ),
    # The admin holds every permission: no one may grant more than they hold, and the admin grants all roles.
    "admin": ALL_PERMISSIONS,
}


def permissions_of(roles: set[str] | frozenset[str]) -> frozenset[str]:
    """The union of the permissions of these roles."""
    out: set[str] = set()
    for role in roles:
        out |= ROLES.get(role, frozenset())
    return frozenset(out)


# Election integrity and the claims library (issue 17): appended as one block so parallel work merges cleanly.
ELECTIONS_READ = "elections:read"  # elections, the mode's history, the war room
ELECTIONS_MANAGE = "elections:manage"  # create and change elections, record race calls
CLAIMS_EDIT = "claims:edit"  # propose a claim for the known-false-claims library
CLAIMS_PUBLISH = "claims:publish"  # approve someone else's proposed claim (a new library version)
_ELECTION_PERMISSIONS = frozenset({ELECTIONS_READ, ELECTIONS_MANAGE, CLAIMS_EDIT, CLAIMS_PUBLISH})
ALL_PERMISSIONS = ALL_PERMISSIONS | _ELECTION_PERMISSIONS
_ELECTION_GRANTS: dict[str, frozenset[str]] = {
    "triage": frozenset({ELECTIONS_READ}),
    "moderator": frozenset({ELECTIONS_READ}),
    "senior_moderator": frozenset({ELECTIONS_READ}),
    "election_integrity": frozenset({ELECTIONS_READ, ELECTIONS_MANAGE, CLAIMS_EDIT}),
    "policy_editor": frozenset({CLAIMS_EDIT}),
    "policy_publisher": frozenset({CLAIMS_PUBLISH}),
    "auditor": frozenset({ELECTIONS_READ}),
}
ROLES = {role: perms | _ELECTION_GRANTS.get(role, frozenset()) for role, perms in ROLES.items()}
ROLES["admin"] = ALL_PERMISSIONS
# A fact-checker reads the war room and writes and publishes claims (never their own: two people).
ROLES["fact_checker"] = frozenset(
    {POLICIES_READ, POSTS_READ, APPROVALS_VIEW, ELECTIONS_READ, CLAIMS_EDIT, CLAIMS_PUBLISH}
)

# Transparency (issue 14): appended as one block so parallel work merges cleanly.
TRANSPARENCY_READ = "transparency:read"  # read reports, health, prevalence, orders; edit nothing
TRANSPARENCY_PUBLISH = "transparency:publish"  # approve publishing someone else's report (two people)
ORDERS_WRITE = "orders:write"  # record orders from Member State authorities
RECIPIENTS_WRITE = "recipients:write"  # the platform posts its monthly active recipients
REPORTS_READ = "reports:read"  # a reporter's reports and their outcomes (for the platform's users)
_TRANSPARENCY_PERMISSIONS = frozenset(
    {TRANSPARENCY_READ, TRANSPARENCY_PUBLISH, ORDERS_WRITE, RECIPIENTS_WRITE, REPORTS_READ}
)
ALL_PERMISSIONS = ALL_PERMISSIONS | _TRANSPARENCY_PERMISSIONS
_TRANSPARENCY_GRANTS: dict[str, frozenset[str]] = {
    "platform": frozenset({RECIPIENTS_WRITE, REPORTS_READ}),
    "senior_moderator": frozenset({TRANSPARENCY_READ, ORDERS_WRITE}),
    "auditor": frozenset({TRANSPARENCY_READ}),
    "policy_publisher": frozenset({TRANSPARENCY_READ, TRANSPARENCY_PUBLISH}),
}
ROLES = {role: perms | _TRANSPARENCY_GRANTS.get(role, frozenset()) for role, perms in ROLES.items()}
ROLES["admin"] = ALL_PERMISSIONS
# Stream ingest and operations (issue 15): appended as one block so parallel work merges cleanly.
STREAM_READ = "stream:read"  # the backlog, workers and the dead-letter stream
STREAM_MANAGE = "stream:manage"  # retry a dead-lettered message
OPS_METRICS = "ops:metrics"  # scrape /metrics (Prometheus)
_STREAM_PERMISSIONS = frozenset({STREAM_READ, STREAM_MANAGE, OPS_METRICS})
ALL_PERMISSIONS = ALL_PERMISSIONS | _STREAM_PERMISSIONS
ROLES["admin"] = ALL_PERMISSIONS
# Runs the service: watches the backlog, workers and metrics, retries dead-lettered messages.
ROLES["operator"] = frozenset({STREAM_READ, STREAM_MANAGE, OPS_METRICS})
STAFF_ROLES = tuple(r for r in ROLES if r != "platform")

# Model versions (issue 12): putting a retrained model version live is a two-person approval.
MODELS_PUBLISH = "models:publish"  # approve someone else's request to put a model version live
ALL_PERMISSIONS = ALL_PERMISSIONS | frozenset({MODELS_PUBLISH})
ROLES["policy_publisher"] = ROLES["policy_publisher"] | frozenset({MODELS_PUBLISH})
ROLES["admin"] = ALL_PERMISSIONS
