"""The error type for input a user can fix."""

from .messages import UserError


class SequenceError(UserError):
    """The input cannot be used as a sequence; the message says why and what to do."""
