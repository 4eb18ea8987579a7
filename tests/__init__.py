"""The test suite. A regular package, so that a third-party `tests` package in site-packages
(ppi-python installs one) cannot shadow `tests.judge_helpers` and the other helpers."""
