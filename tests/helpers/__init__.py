"""What more than one test module uses: factories, the real worker process, browser fixtures, Sentry capture, sample
files. A test module imports shared code from here, never from another test module
(tests/foundation/test_test_layout.py)."""
