"""How the OpenAPI schema describes the system accounts' token (drf-spectacular extension)."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class SystemTokenScheme(OpenApiAuthenticationExtension):
    target_class = "api.authentication.SystemTokenAuthentication"
    name = "systemToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Token <token>` of a system account (manage.py api_account).",
        }
