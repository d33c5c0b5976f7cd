"""The Forsta Horizons respondent data API (seed 004) on the reference platform.

- respondent_data.py: read, filter, stream; data_writes.py: add, update, merge, delete;
  records.py: what a record is; filter_expr.py: filterExpression; user_vars.py: user variables.
"""
