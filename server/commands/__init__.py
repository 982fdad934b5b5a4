"""Subcommands of `movecoach`; each module defines `add_parser(subparsers)`."""
