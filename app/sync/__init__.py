"""Sync: fetch in parallel, parse, decide what changed, store; then the offline extras.

(Placeholder until the sync engine lands; the facade imports `Syncer` from here.)
"""
