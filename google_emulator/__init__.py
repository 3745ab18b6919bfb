"""Local emulator of the Google Workspace endpoints used by Calendar Hub (OAuth token, Calendar v3,
Gmail vacation settings, Admin SDK Directory users) plus a control API and a TXT-only DNS server."""

__all__ = ["Emulator"]


def __getattr__(name):
    if name == "Emulator":
        from .server import Emulator

        return Emulator
    raise AttributeError(name)
