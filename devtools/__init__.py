"""Development tools shared by the test suite (tests/) and the benchmarks (bench/); never imported by the app.

- `devtools.procs`: process trees (children, command lines, liveness, memory) through psutil.
"""
