"""Date and time formats per language (``FORMAT_MODULE_PATH``): one way of writing a moment in each language.

Every page writes a date with a time through the ``DATETIME_FORMAT`` name (``SHORT_DATETIME_FORMAT`` is the same,
so a template that names either agrees with the others), always on the 24-hour clock, as meeting times are.
"""
