from django.http import HttpResponse
from django.shortcuts import render


def meetings(request):
    return render(request, "controlhub/placeholder.html", {})


def sync_health(request):
    return HttpResponse("")
