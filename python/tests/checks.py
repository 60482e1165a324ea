"""The tiny harness every Python test script shares: count checks, print failures, and give the
script's exit status (nonzero on any failure)."""
import sys

_counts = {"passed": 0, "failed": 0}


def check(ok, what):
    if ok:
        _counts["passed"] += 1
    else:
        _counts["failed"] += 1
        print("FAILED: " + what, file=sys.stderr)


def summary():
    """Prints the counts; returns the exit status."""
    print("%d passed, %d failed" % (_counts["passed"], _counts["failed"]))
    return 1 if _counts["failed"] else 0
