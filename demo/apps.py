from django.apps import AppConfig


def _product_404(request, exception):
    """With DEBUG (the demo runs with it) Django answers an unknown URL with its technical page, which lists every
    URL pattern of the site; the product's own page is shown instead unless ``DEBUG_404`` asks for Django's."""
    from django.conf import settings
    from django.views import defaults

    if getattr(settings, "DEBUG_404", False):
        return _technical_404(request, exception)
    return defaults.page_not_found(request, exception)


_technical_404 = None


class DemoConfig(AppConfig):
    name = "demo"
    verbose_name = "Demo (emulated Google Workspace)"

    def ready(self):
        global _technical_404
        from django.views import debug

        if _technical_404 is None:
            _technical_404 = debug.technical_404_response
            debug.technical_404_response = _product_404  # what Django's handler calls when DEBUG is on
