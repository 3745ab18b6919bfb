"""Sign-in by emailed one-time link: ask for a link, then confirm (a POST, so mail scanners that open links
do not use them up)."""

from django.contrib.auth import login
from django.shortcuts import redirect, render
from django.views import View

from controlhub.forms_people import SignInLinkForm
from controlhub.services import invitations


class SignInLinkRequestView(View):
    template_name = "registration/signin_link.html"

    def get(self, request):
        return render(request, self.template_name, {"form": SignInLinkForm()})

    def post(self, request):
        form = SignInLinkForm(request.POST)
        if not form.is_valid():
            return render(request, self.template_name, {"form": form})
        invitations.signin_link_request(email=form.cleaned_data["email"], base_url=request.build_absolute_uri("/"))
        # The same answer whether or not the address is known: no account enumeration.
        return render(request, "registration/signin_link_sent.html", {"email": form.cleaned_data["email"]})


class SignInLinkConfirmView(View):
    template_name = "registration/signin_link_confirm.html"

    def get(self, request, kind, uidb64, token):
        person = invitations.signin_link_person(kind, uidb64, token)
        return render(request, self.template_name, {"person": person, "valid": person is not None},
                      status=200 if person else 400)

    def post(self, request, kind, uidb64, token):
        person = invitations.signin_link_person(kind, uidb64, token)
        if person is None:
            return render(request, self.template_name, {"person": None, "valid": False}, status=400)
        try:
            user = invitations.signin_link_consume(person=person)
        except invitations.SignInRefused:
            return render(request, self.template_name, {"person": person, "valid": False, "refused": True},
                          status=403)
        login(request, user, backend="controlhub.auth.EmailOrUsernameBackend")
        return redirect("me")
