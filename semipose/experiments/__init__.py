"""Experiments above the API: several runs, one table (compare), their mean over seeds (seed_summary)."""
