"""The ``ser-keras`` dispatcher: ``ser-keras <command> [flags]`` or
``python -m ser_keras.cli <command> [flags]`` runs one subcommand; ``ser-keras list`` (or
``--help``) lists them with the first sentence of their docstring."""

import sys

from ser_keras.cli import FOLDER_ROLES, SUBCOMMANDS, command_name, load_main, module_of, summary


def listing():
    """The subcommands by folder, one per line with its summary."""
    width = max(len(command_name(module)) for modules in SUBCOMMANDS.values() for module in modules)
    lines = [
        "usage: ser-keras COMMAND [flags]    (ser-keras COMMAND --help for its flags; each is also "
        "installed as ser-keras-COMMAND)"
    ]
    for folder, modules in SUBCOMMANDS.items():
        lines += ["", f"{folder}: {FOLDER_ROLES[folder]}" if folder in FOLDER_ROLES else f"{folder}:"]
        lines += [f"  {command_name(module):<{width}}  {summary(module)}" for module in modules]
    return "\n".join(lines) + "\n"


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] in ("list", "-h", "--help"):
        sys.stdout.write(listing())
        return 0
    module = module_of(argv[0]) if argv else None
    if module is None:
        sys.stderr.write(listing() + (f"\nerror: unknown command {argv[0]!r}\n" if argv else ""))
        return 2
    # argparse names the program after sys.argv[0]; make its usage line read "ser-keras table1".
    sys.argv[0] = f"ser-keras {command_name(module)}"
    return load_main(module)(argv[1:])


if __name__ == "__main__":
    sys.exit(main())
