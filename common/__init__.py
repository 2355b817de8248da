"""The ground every stage stands on: typed settings and the names both sides must agree on.

It imports no other churnguard package; the stages (features, training, models, serving, outreach)
and the shell (churnguard) import it.
"""
