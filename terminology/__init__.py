"""Code systems, normalization of messy diagnosis codes, and the cohort value sets.

Plain Python with no dependency on the server: the server and the mappers call it.
"""
