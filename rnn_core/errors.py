"""The one error type for input a user can fix."""


class SequenceError(ValueError):
    """The input cannot be used as a sequence; the message says why and what to do."""
