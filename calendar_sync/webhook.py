from django.http import HttpResponse
from django.views.decorators.csrf import csrf_exempt


@csrf_exempt
def google_notifications(request):
    return HttpResponse(status=200)
