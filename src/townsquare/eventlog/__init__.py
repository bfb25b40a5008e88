"""The event log: one tamper-evident record of everything Townsquare does.

- ``events``: appending events (per-transaction Merkle batches) and reading them.
- ``chain`` / ``chain_lock``: the hash chain over batches, sealed by one sealer at a time, and
  signed checkpoints.
- ``audit``: verification of batches, chain and checkpoints.
- ``query``: filtered reads for the audit API and pages; ``api``: the audit HTTP routes.
- ``reconcile``: replays the log and reports projections that disagree with it.
- ``crypto``: per-account encryption of personal data inside events.
"""
