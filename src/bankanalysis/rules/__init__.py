"""The bank's definitions, each written once: months, tiers, the KPI dictionary, disclosure."""
