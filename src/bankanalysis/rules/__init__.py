"""The bank's definitions, written once: months, tiers, KPIs and the small-group rule."""
