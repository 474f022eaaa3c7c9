"""Cohorts: definitions, their evaluation over the search backend, the privacy policy, and federation."""

# What a cohort's counts may be broken down by; age-sex is the pyramid, its cells labelled "band|sex".
BREAKDOWNS = ("sex", "age-band", "age-sex", "diagnosis", "year", "hospital")
