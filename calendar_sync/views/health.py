from django.http import HttpResponse


def sync_health(request):
    return HttpResponse("")
