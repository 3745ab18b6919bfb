from django.http import JsonResponse


def meetings_api(request):
    return JsonResponse({"meetings": []})
