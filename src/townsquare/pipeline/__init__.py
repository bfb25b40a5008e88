"""The decision path, in stages: score -> decide -> store -> enforce -> route.

Every entry point calls this package: the HTTP API (`content.api`), the bulk CLI (`content.bulk`) and the
stream workers. Follow one new post from the API to its action:

1. `content/api.py`       the route validates the request and calls
2. `pipeline/ingest.py`   `ingest_posts` (singles, batches, groups): duplicates sorted out, then `write`,
                          which runs
3. `pipeline/score.py`    text banks, models and election scorers (`detect`),
4. `pipeline/decide.py`   the decision context and the live/shadow decisions (`plan`), stored by `write`,
5. `pipeline/enforce.py`  the automated content action of a live verdict, applied by
6. `enforcement/service.py` (state, strike, statement of reasons, notice, events).

Then `pipeline/route.py` routes what was decided: review cases, ban-evasion milestones, brand-safety
labels, elections and campaigns. `changes.py` handles edits, deletions and view counts; `reports.py` user
reports (a reported post is decided again); `refresh.py` syncs the runtime before a decision; `views.py`
is what the API answers about a decision. `content/` keeps storage (models, repository) and read views.
"""
