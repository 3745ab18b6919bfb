"""A local stand-in for the BigBlueButton API (create, join, getMeetingInfo, isMeetingRunning, end).

Standard library only; see README.md. ``from bbb_emulator.server import Emulator``.
"""

from .server import Emulator, sign

__all__ = ["Emulator", "sign"]
