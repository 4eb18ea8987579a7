"""Statistics on verdicts: agreement, win rates, Bradley–Terry, judge calibration, reports.

Everything here except ``frames`` (which reads the database) is a pure function of arrays or
DataFrames, so it can be tested on published values and reused outside the app.
"""
