"""churnguard: cross-cutting pieces shared by every stage (settings, names, CLI, the synthetic shop)."""
