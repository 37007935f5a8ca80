"""A module of the program itself, imported from its main folder."""


def queue_name(base: str, stack: str) -> str:
    if not base:
        raise ValueError("the queue needs a name")
    return f"{base}-{stack}"
