"""Run the same tests again and again, each time in a fresh process, until one fails: is a test flaky?

    python bench/repeat.py --times 20 --log repeat.log -- -m slow tests/search/test_scaleout.py -p no:randomly -x

Each repetition is ``python -m pytest ARGS`` in a process of its own. One line per
repetition goes to the log as it ends: its number, passed or FAILED, its duration,
the machine's load (1-minute average, from ``os.getloadavg``) at its start and end,
and pytest's last line. The first failure stops the loop; its whole output is kept
beside the log (``LOG.failed-N``). Exit code: 0 when every repetition passed, 1
otherwise. The load is whatever the machine has: this adds none of its own.
"""

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path


def arguments(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--times", type=int, default=20, help="repetitions at most (default 20)")
    parser.add_argument("--log", type=Path, default=Path("repeat.log"), help="where the lines go")
    parser.add_argument("pytest", nargs=argparse.REMAINDER, help="pytest's arguments, after --")
    args = parser.parse_args(argv)
    args.pytest = [a for a in args.pytest if a != "--"] if args.pytest[:1] == ["--"] else args.pytest
    return args


def once(pytest_args):
    """One repetition: ``(passed, seconds, load at start, load at end, output)``."""
    start_load, start = os.getloadavg()[0], time.monotonic()
    done = subprocess.run([sys.executable, "-m", "pytest", *pytest_args], capture_output=True, text=True)
    seconds = time.monotonic() - start
    return done.returncode == 0, seconds, start_load, os.getloadavg()[0], done.stdout + done.stderr


def main(argv=None):
    args = arguments(argv)
    with args.log.open("a") as log:
        log.write(f"# {time.strftime('%Y-%m-%d %H:%M:%S')} {os.cpu_count()} cores: pytest "
                  f"{' '.join(args.pytest)}\n")
        for number in range(1, args.times + 1):
            passed, seconds, load_start, load_end, output = once(args.pytest)
            last = output.strip().splitlines()[-1] if output.strip() else ""
            log.write(f"{number} {'passed' if passed else 'FAILED'} {seconds:.0f}s load {load_start:.2f}"
                      f"->{load_end:.2f} | {last}\n")
            log.flush()
            if not passed:
                Path(f"{args.log}.failed-{number}").write_text(output)
                return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
