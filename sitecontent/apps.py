from django.apps import AppConfig


class SiteContentConfig(AppConfig):
    name = "sitecontent"
    verbose_name = "Site content"
