"""Outreach: playbooks, eligibility rules, control group, the queue store and the effect report.

The daily job calls `outreach.daily.build_daily_queues(store, scored, customers, as_of, config)` with
a store from `outreach.store.open_store()`; agents work queues through `churnguard queue ...`.
"""
