"""Typed errors. The CLI prints their message as one line and exits with code 2."""


class BottlenetError(Exception):
    """Base class: anything a user can cause by bad input."""


class TaskError(BottlenetError):
    """A task cannot be built: bad size, malformed or inconsistent table."""


class SpecError(BottlenetError):
    """A network or training setting is out of range or unknown."""


class ModelFileError(BottlenetError):
    """A file is not a bottlenet model file, or it is damaged."""


class ResourceError(BottlenetError):
    """The requested work cannot fit in this machine's memory."""
