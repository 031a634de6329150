"""Console URLs (namespace "console"): each page module owns its own patterns."""

from keys.console import create_wizard, credentials, event_history, iam, import_wizard, key_detail, key_list, signin

app_name = "console"
urlpatterns = [
    *signin.urlpatterns,
    *iam.urlpatterns,
    *key_list.urlpatterns,
    *create_wizard.urlpatterns,
    *key_detail.urlpatterns,
    *import_wizard.urlpatterns,
    *credentials.urlpatterns,
    *event_history.urlpatterns,
]
