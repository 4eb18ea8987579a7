"""Statistics on verdicts: agreement, win rates, Bradley–Terry, judge calibration, reports.

The loaders read the database once per study (``frames`` through ``verdicts``,
``judge_scores``, ``style_frame``, ``card_frames`` and ``reading``); everything else here is
a pure function of arrays or DataFrames, so it can be tested on published values and reused
outside the app.
"""
