"""Cohorts: definitions, their evaluation over the search backend, the privacy policy, and federation."""

BREAKDOWNS = ("sex", "age-band", "diagnosis", "year", "hospital")  # what a cohort's counts may be broken down by
