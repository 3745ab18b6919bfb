"""Forms of the Domains page."""

from django import forms
from django.utils.translation import gettext_lazy as _

from controlhub.domains.services import domain_normalize


class DomainAddForm(forms.Form):
    name = forms.CharField(
        label=_("Domain"), max_length=300,
        widget=forms.TextInput(attrs={"placeholder": "example.com", "autocomplete": "off", "spellcheck": "false"}),
        help_text=_("The part after @ in your users' email addresses."),
    )

    def clean_name(self):
        return domain_normalize(self.cleaned_data["name"])
