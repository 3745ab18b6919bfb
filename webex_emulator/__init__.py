"""A local stand-in for the Webex Meetings REST API: OAuth refresh grant, meetings, personal rooms.

Standard library only; see README.md. ``from webex_emulator.server import Emulator``.
"""

from .server import Emulator

__all__ = ["Emulator"]
