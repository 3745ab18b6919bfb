"""Sign-in by emailed one-time link: ask for a link, then confirm (a POST, so mail scanners that open links
do not use them up)."""

from django.contrib.auth import login
from django.shortcuts import redirect, render
from django.utils.translation import ngettext
from django.views import View

from controlhub.people import invitations
from controlhub.people.forms import SignInLinkForm
from controlhub.people.services import email_normalize
from controlhub.tenancy.throttle import client_ip, throttle_hit


class SignInLinkRequestView(View):
    template_name = "registration/signin_link.html"

    def get(self, request):
        return render(request, self.template_name, {"form": SignInLinkForm()})

    def post(self, request):
        form = SignInLinkForm(request.POST)
        if not form.is_valid():
            return render(request, self.template_name, {"form": form})
        email = form.cleaned_data["email"]
        by_client = throttle_hit(scope="signin_link_ip", key=client_ip(request))
        if not by_client.allowed:
            # About the asker, not the address: saying so tells nothing about who has an account.
            minutes = by_client.minutes_left()
            throttled = ngettext(
                "Too many sign-in links were requested from your network. Try again in %(minutes)d minute.",
                "Too many sign-in links were requested from your network. Try again in %(minutes)d minutes.",
                minutes,
            ) % {"minutes": minutes}
            response = render(request, self.template_name, {"form": form, "throttled": throttled}, status=429)
            response["Retry-After"] = str(by_client.seconds_left())
            return response
        # Counted for every address, known or not; over the limit no mail goes out, and the page is the same.
        if throttle_hit(scope="signin_link_address", key=email_normalize(email)).allowed:
            invitations.signin_link_request(email=email, base_url=request.build_absolute_uri("/"))
        # The same answer whether or not the address is known: no account enumeration.
        return render(request, "registration/signin_link_sent.html", {"email": email})


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
