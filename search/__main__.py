import sys

from .cli import main, process_started

if __name__ == "__main__":
    sys.exit(main(started=process_started()))
