"""Entry point of the ``cellhub`` command: parses the verb and hands over to its module.

Exit codes: 0 every image succeeded, 1 some images failed (the rest were written),
2 usage errors (bad option, unknown model or format, threshold outside (0, 1)).
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from cellhub import __version__
from cellhub.errors import InvalidInput
from cellhub_local import (
    client_commands,
    evaluate_command,
    model_commands,
    models_command,
    package_command,
    segment_command,
    serve_command,
    train_command,
    tune_command,
)

EXIT_OK, EXIT_SOME_FAILED, EXIT_USAGE = 0, 1, 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cellhub", description="Cell Segmentation Hub: segment microscopy images and export."
    )
    parser.add_argument("--version", action="version", version=f"cellhub {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")
    segment_command.add_parser(verbs)
    models_command.add_parser(verbs)
    serve_command.add_parser(verbs)
    client_commands.add_parsers(verbs)
    model_commands.add_parsers(verbs)
    package_command.add_parser(verbs)
    evaluate_command.add_parser(verbs)
    train_command.add_parser(verbs)
    tune_command.add_parser(verbs)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        return int(args.run(args))
    except InvalidInput as exc:
        print(f"cellhub: error: {exc.reason} [{exc.code}]", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("cellhub: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
